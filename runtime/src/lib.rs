//! The Aqueduct worker runtime: runs connectors' source and sink tasks over Kafka, keeps
//! source offsets in Kafka, and serves a Kafka Connect-compatible REST API.

pub mod connector_config;
pub mod converter;
pub mod dead_letter;
pub mod distributed;
pub mod embedded;
pub mod exactly_once;
pub mod herder;
pub mod kafka;
pub mod offsets;
pub mod plugin_loader;
pub mod plugin_version;
pub mod plugins;
pub mod process;
pub mod rest;
pub mod sink_offsets;
pub mod sink_worker;
pub mod source_worker;
pub mod standalone;
pub mod static_member;
pub mod status;
pub mod task_context;
pub mod transforms;
pub mod worker_config;
