//! The worker keys naming distributed mode's internal topics (Kafka Connect's names and rules),
//! parsed and checked before any I/O.

use aqueduct_sdk::{ConnectError, Props, Result};

use crate::kafka::TopicSpec;
use crate::worker_config::{strip_prefix, WorkerConfig};

/// Where the config and status topics live and how they are created when missing.
#[derive(Debug, Clone, PartialEq)]
pub struct InternalTopics {
    /// `config.storage.topic` (required): connector and task configs, target states, session
    /// keys; one partition, compacted.
    pub config_topic: String,
    /// `config.storage.replication.factor`; -1 (the default here) for the broker default.
    pub config_replication_factor: i32,
    /// Other `config.storage.*` keys: topic configs used when the topic is created.
    pub config_topic_settings: Vec<(String, String)>,
    /// `status.storage.topic` (required): connector, task and topic statuses; compacted.
    pub status_topic: String,
    /// `status.storage.partitions` (default 5, Kafka Connect's); -1 for the broker default.
    pub status_partitions: i32,
    /// `status.storage.replication.factor`; -1 (the default here) for the broker default.
    pub status_replication_factor: i32,
    /// Other `status.storage.*` keys: topic configs used when the topic is created.
    pub status_topic_settings: Vec<(String, String)>,
}

impl InternalTopics {
    /// Reads the `config.storage.*` and `status.storage.*` keys of a worker config; every
    /// invalid key is named (a [`ConnectError::config`]).
    pub fn from_worker(worker: &WorkerConfig) -> Result<Self> {
        Self::from_props(worker.props())
    }

    /// As [`InternalTopics::from_worker`], from raw worker properties.
    pub fn from_props(props: &Props) -> Result<Self> {
        let mut problems = Vec::new();
        let config_topic = topic_name(props, "config.storage.topic", &mut problems);
        let status_topic = topic_name(props, "status.storage.topic", &mut problems);
        let config_replication_factor = count(props, "config.storage.replication.factor", -1, &mut problems);
        let status_replication_factor = count(props, "status.storage.replication.factor", -1, &mut problems);
        let status_partitions = count(props, "status.storage.partitions", 5, &mut problems);
        if !problems.is_empty() {
            return Err(ConnectError::config(problems.join("; ")));
        }
        if config_topic == status_topic {
            return Err(ConnectError::config(format!(
                "config.storage.topic and status.storage.topic must differ, both are {config_topic:?}"
            )));
        }
        Ok(InternalTopics {
            config_topic,
            config_replication_factor,
            config_topic_settings: topic_settings(props, "config.storage."),
            status_topic,
            status_partitions,
            status_replication_factor,
            status_topic_settings: topic_settings(props, "status.storage."),
        })
    }

    /// The config topic as Kafka Connect creates it: one partition, compacted.
    pub fn config_topic_spec(&self) -> TopicSpec {
        let mut spec = TopicSpec::compacted(&self.config_topic, 1, self.config_replication_factor);
        spec.configs.extend(self.config_topic_settings.iter().cloned());
        spec
    }

    /// The status topic as Kafka Connect creates it: compacted.
    pub fn status_topic_spec(&self) -> TopicSpec {
        let mut spec = TopicSpec::compacted(&self.status_topic, self.status_partitions, self.status_replication_factor);
        spec.configs.extend(self.status_topic_settings.iter().cloned());
        spec
    }
}

fn topic_name(props: &Props, key: &str, problems: &mut Vec<String>) -> String {
    match props.get(key).map(|v| v.trim()) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => {
            problems.push(format!("Missing required configuration \"{key}\" which has no default value."));
            String::new()
        }
    }
}

/// A partition count or replication factor: at least 1, or -1 for the broker default.
fn count(props: &Props, key: &str, default: i32, problems: &mut Vec<String>) -> i32 {
    let Some(text) = props.get(key) else { return default };
    match text.trim().parse::<i32>() {
        Ok(n) if n >= 1 || n == -1 => n,
        _ => {
            problems.push(format!(
                "Invalid value {text} for configuration {key}: must be at least 1, or -1 for the broker default"
            ));
            default
        }
    }
}

/// Topic configs under `prefix`, without the keys Kafka Connect reserves (`topic`,
/// `partitions`, `replication.factor`) and without `cleanup.policy`, which is always `compact`.
fn topic_settings(props: &Props, prefix: &str) -> Vec<(String, String)> {
    strip_prefix(props, prefix)
        .into_iter()
        .filter(|(k, v)| match k.as_str() {
            "topic" | "partitions" | "replication.factor" => false,
            "cleanup.policy" => {
                if v != "compact" {
                    tracing::warn!(key = %format!("{prefix}{k}"), value = %v, "ignored: internal topics are compacted");
                }
                false
            }
            _ => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn reads_names_defaults_and_topic_settings() {
        let topics = InternalTopics::from_props(&props(&[
            ("config.storage.topic", "cfg"),
            ("status.storage.topic", "st"),
            ("config.storage.replication.factor", "1"),
            ("config.storage.min.insync.replicas", "1"),
            ("config.storage.cleanup.policy", "delete"),
        ]))
        .expect("valid");
        assert_eq!(topics.status_partitions, 5);
        assert_eq!(topics.status_replication_factor, -1);
        let spec = topics.config_topic_spec();
        assert_eq!((spec.name.as_str(), spec.partitions, spec.replication_factor), ("cfg", 1, 1));
        assert_eq!(
            spec.configs,
            vec![
                ("cleanup.policy".to_owned(), "compact".to_owned()),
                ("min.insync.replicas".to_owned(), "1".to_owned())
            ]
        );
        assert_eq!(topics.status_topic_spec().partitions, 5);
    }

    #[test]
    fn names_every_bad_key() {
        let err = InternalTopics::from_props(&props(&[("status.storage.partitions", "0")])).expect_err("invalid");
        let text = err.to_string();
        for key in ["config.storage.topic", "status.storage.topic", "status.storage.partitions"] {
            assert!(text.contains(key), "{text}");
        }
        let same = props(&[("config.storage.topic", "t"), ("status.storage.topic", "t")]);
        assert!(InternalTopics::from_props(&same).is_err());
    }
}
