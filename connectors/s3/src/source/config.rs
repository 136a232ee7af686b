//! Configuration of the S3 source: the sink's storage, format and partitioner keys (so a sink
//! configuration runs nearly unchanged), plus polling.

use aqueduct_sdk::{ConfigDef, ConfigType, ConnectError, Importance, Props, Result, Validator};

use crate::format::{self, Format};
use crate::partitioner;
use crate::storage::config::{self as storage, StorageConfig};

/// `s3.poll.interval.ms`: how often the bucket is listed for new objects.
pub const POLL_INTERVAL_MS: &str = "s3.poll.interval.ms";
/// `record.batch.max.size`: records per poll.
pub const BATCH_MAX_SIZE: &str = "record.batch.max.size";
/// Which share of the folders a task reads (set by the connector).
pub const TASK_INDEX: &str = "aqueduct.s3.task.index";
/// How many tasks share the folders (set by the connector).
pub const TASK_COUNT: &str = "aqueduct.s3.task.count";

/// The source's settings.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The connector's name, for logs.
    pub connector: String,
    /// The bucket and object layout.
    pub storage: StorageConfig,
    /// How objects are encoded.
    pub format: Format,
    /// Listing period in milliseconds.
    pub poll_interval_ms: u64,
    /// Records per poll.
    pub batch_max_size: usize,
    /// This task's share.
    pub task_index: u64,
    /// Number of shares.
    pub task_count: u64,
}

/// Every key the source understands.
pub fn config_def() -> ConfigDef {
    let def = ConfigDef::new()
        .define(
            POLL_INTERVAL_MS,
            ConfigType::Long,
            Some("60000"),
            Importance::Medium,
            "How often the bucket is listed for new objects, in milliseconds.",
        )
        .validator(Validator::at_least(1.0))
        .group("Connector")
        .define(BATCH_MAX_SIZE, ConfigType::Int, Some("200"), Importance::Medium, "Records returned per poll.")
        .validator(Validator::at_least(1.0))
        .group("Connector")
        .define(
            TASK_INDEX,
            ConfigType::Long,
            Some("0"),
            Importance::Low,
            "Set by the connector: this task's share of the folders.",
        )
        .group("Internal")
        .define(TASK_COUNT, ConfigType::Long, Some("1"), Importance::Low, "Set by the connector: the number of tasks.")
        .validator(Validator::at_least(1.0))
        .group("Internal");
    partitioner::define(format::define(storage::define(def)))
}

impl SourceConfig {
    /// Parses and checks a configuration; the first problem is an error naming its key.
    pub fn parse(props: &Props) -> Result<SourceConfig> {
        let config = config_def().parse(props)?;
        // The partitioner keys are accepted as the sink's; object names alone say where records go.
        partitioner::Partitioner::from_config(&config)?;
        let task_count = config.long(TASK_COUNT).unwrap_or(1).max(1) as u64;
        let task_index = config.long(TASK_INDEX).unwrap_or(0).max(0) as u64;
        if task_index >= task_count {
            return Err(ConnectError::config(format!(
                "{TASK_INDEX}={task_index} must be below {TASK_COUNT}={task_count}"
            )));
        }
        Ok(SourceConfig {
            connector: props.get("name").cloned().unwrap_or_default(),
            storage: StorageConfig::from_config(&config),
            format: Format::from_config(&config)?,
            poll_interval_ms: config.long(POLL_INTERVAL_MS).unwrap_or(60_000).max(1) as u64,
            batch_max_size: config.int(BATCH_MAX_SIZE).unwrap_or(200).max(1) as usize,
            task_index,
            task_count,
        })
    }
}
