//! The embedded transport (`transport=embedded`): one pipeline in one process, no Kafka.
//!
//! A topic is an in-process bounded log ([`Bus`]); source tasks append to it, sink tasks read
//! it as members of their connector's group (`connect-<name>`) and split its partitions. The
//! source and sink loops are the Kafka ones: conversion, `errors.tolerance`, retries, pauses,
//! `pre_commit` and statuses are the same code; only where records go and come from differs.
//!
//! Acknowledgement: a record's source offset becomes committable only once every sink group
//! subscribed to its topic when it was sent committed it (see [`log`]); the source stores its
//! offsets (`offset.storage.file.filename`) only up to such records. After a crash the source
//! resumes from its stored offset, and everything not acknowledged is sent again.
//!
//! Memory: each topic holds at most `embedded.buffer.max.records` records (converted bytes,
//! or the records themselves when converters are skipped); each source task has at most
//! 10,000 records awaiting acknowledgement and each sink task a batch of at most 500.

mod bus;
pub mod dead_letter_file;
pub mod log;
#[cfg(test)]
mod loop_tests;
mod member;
pub mod record;
pub mod subscription;
#[cfg(test)]
mod tests;

pub use bus::Bus;
pub use member::{Member, Polled};
pub use record::{EmbeddedRecord, Payload};
pub use subscription::Subscription;

use crate::worker_config::WorkerConfig;

/// The embedded transport's worker keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedSettings {
    /// `embedded.buffer.max.records`: records a topic holds before its sources wait.
    pub max_records: usize,
    /// `embedded.converters.skip`: pass schemas and values through unconverted.
    pub skip_converters: bool,
}

impl EmbeddedSettings {
    /// Reads the keys of a worker config.
    pub fn from_config(config: &WorkerConfig) -> Self {
        EmbeddedSettings {
            max_records: usize::try_from(config.long("embedded.buffer.max.records")).unwrap_or(10_000).max(1),
            skip_converters: config.boolean("embedded.converters.skip"),
        }
    }
}

/// The group name of a sink connector, as Kafka Connect names its consumer group.
pub fn group_of(connector: &str) -> String {
    format!("connect-{connector}")
}

/// Why a worker config cannot run embedded, if it cannot: offsets must be in a file, and
/// exactly-once source support needs Kafka transactions.
pub fn config_errors(config: &WorkerConfig) -> Vec<String> {
    let mut errors = Vec::new();
    if config.string("offset.storage.file.filename").is_empty() {
        errors.push(
            "transport=embedded keeps source offsets in a file: set offset.storage.file.filename (offset.storage.topic needs Kafka)"
                .to_owned(),
        );
    }
    if config.string("exactly.once.source.support") == "enabled" {
        errors.push(
            "exactly.once.source.support=enabled needs Kafka transactions: it cannot be used with transport=embedded"
                .to_owned(),
        );
    }
    errors
}
