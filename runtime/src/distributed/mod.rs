//! Distributed mode: workers sharing connectors and tasks through Kafka, as Kafka Connect's
//! `DistributedHerder` — group membership, and the config and status topics.

pub mod config_topic;
pub mod group;
pub mod herder;
pub mod kafka_log;
pub mod settings;
pub mod status_topic;
