//! Configuration keys of the datagen connector and its tasks.

use std::time::Duration;

use aqueduct_sdk::{ConfigDef, ConfigType, Importance, Props, Result, Validator};

/// The topic to write to.
pub const TOPIC_CONFIG: &str = "kafka.topic";
/// Total number of records across all tasks; `-1` for unlimited.
pub const ITERATIONS_CONFIG: &str = "iterations";
/// Milliseconds between records; `0` to produce batches as fast as possible.
pub const MAX_INTERVAL_CONFIG: &str = "max.interval";
/// Records per poll when `max.interval` is 0.
pub const BATCH_SIZE_CONFIG: &str = "batch.size";
/// Set by the connector on each task configuration: the task's index, from 0.
pub const TASK_ID_CONFIG: &str = "task.id";
/// Set by the connector on each task configuration: how many tasks share the ids.
pub const TASK_COUNT_CONFIG: &str = "task.count";

/// The keys a user configures.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(TOPIC_CONFIG, ConfigType::String, None, Importance::High, "Topic to write to.")
        .validator(Validator::NonEmpty)
        .define(
            ITERATIONS_CONFIG,
            ConfigType::Long,
            Some("-1"),
            Importance::Medium,
            "Total number of records to generate across all tasks; -1 for unlimited.",
        )
        .validator(Validator::at_least(-1.0))
        .define(
            MAX_INTERVAL_CONFIG,
            ConfigType::Long,
            Some("0"),
            Importance::Medium,
            "Milliseconds to wait between records (one record per poll); 0 to generate batches as fast as possible.",
        )
        .validator(Validator::at_least(0.0))
        .define(
            BATCH_SIZE_CONFIG,
            ConfigType::Int,
            Some("1000"),
            Importance::Low,
            "Records per poll when max.interval is 0.",
        )
        .validator(Validator::at_least(1.0))
}

/// The keys of a task configuration: the user's keys plus the connector's `task.id` and `task.count`.
pub fn task_config_def() -> ConfigDef {
    config_def()
        .define(TASK_ID_CONFIG, ConfigType::Int, Some("0"), Importance::Low, "This task's index, set by the connector.")
        .validator(Validator::at_least(0.0))
        .define(
            TASK_COUNT_CONFIG,
            ConfigType::Int,
            Some("1"),
            Importance::Low,
            "The number of tasks, set by the connector.",
        )
        .validator(Validator::at_least(1.0))
}

/// A parsed task configuration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskConfig {
    pub topic: String,
    /// `None` when unlimited.
    pub iterations: Option<i64>,
    /// `None` when records are produced in batches as fast as possible.
    pub interval: Option<Duration>,
    pub batch_size: usize,
    pub task_id: i64,
    pub task_count: i64,
}

impl TaskConfig {
    pub fn parse(props: &Props) -> Result<Self> {
        let config = task_config_def().parse(props)?;
        let iterations = config.long(ITERATIONS_CONFIG).unwrap_or(-1);
        let interval_ms = config.long(MAX_INTERVAL_CONFIG).unwrap_or(0);
        let task_id = config.long(TASK_ID_CONFIG).unwrap_or(0);
        let task_count = config.long(TASK_COUNT_CONFIG).unwrap_or(1).max(1);
        if task_id >= task_count {
            return Err(aqueduct_sdk::ConnectError::config(format!(
                "Invalid value {task_id} for configuration {TASK_ID_CONFIG}: must be below {TASK_COUNT_CONFIG} ({task_count})"
            )));
        }
        Ok(TaskConfig {
            topic: config.string(TOPIC_CONFIG).unwrap_or_default().to_owned(),
            iterations: (iterations >= 0).then_some(iterations),
            interval: (interval_ms > 0).then(|| Duration::from_millis(interval_ms.unsigned_abs())),
            batch_size: usize::try_from(config.int(BATCH_SIZE_CONFIG).unwrap_or(1000)).unwrap_or(1).max(1),
            task_id,
            task_count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_and_bounds() {
        let c = TaskConfig::parse(&props(&[("kafka.topic", "users")])).expect("valid");
        assert_eq!(c.iterations, None);
        assert_eq!(c.interval, None);
        assert_eq!(c.batch_size, 1000);
        assert_eq!((c.task_id, c.task_count), (0, 1));
        assert!(TaskConfig::parse(&props(&[])).is_err());
        assert!(TaskConfig::parse(&props(&[("kafka.topic", "u"), ("iterations", "-2")])).is_err());
        assert!(TaskConfig::parse(&props(&[("kafka.topic", "u"), ("task.id", "3"), ("task.count", "3")])).is_err());
        let c = TaskConfig::parse(&props(&[("kafka.topic", "u"), ("max.interval", "250"), ("iterations", "0")]))
            .expect("valid");
        assert_eq!(c.interval, Some(Duration::from_millis(250)));
        assert_eq!(c.iterations, Some(0));
    }
}
