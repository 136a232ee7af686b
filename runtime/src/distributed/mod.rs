//! Distributed mode: workers sharing connectors and tasks through Kafka, as Kafka Connect's
//! `DistributedHerder` — group membership, and the config and status topics.

pub mod group;
