//! Amazon S3 connectors for Aqueduct, with Confluent's class names and keys:
//!
//! - [`sink::S3SinkConnector`] (`io.confluent.connect.s3.S3SinkConnector`) writes each Kafka
//!   partition into objects `<topics.dir>/<topic>/<encoded partition>/<topic>+<partition>+<start offset><ext>`,
//!   rotated by `flush.size`, `rotate.interval.ms` or `rotate.schedule.interval.ms`, in JSON,
//!   Avro, Parquet or raw bytes; consumer offsets are committed only after an object exists,
//!   and deterministic rotation makes the objects exactly once across crashes.
//! - [`source::S3SourceConnector`] (`io.confluent.connect.s3.source.S3SourceConnector`) reads
//!   those objects back into their topics and partitions, resuming at object and record.

#![warn(missing_docs)]

pub mod format;
pub mod partitioner;
pub mod sink;
pub mod source;
pub mod storage;

use aqueduct_sdk::PluginDescriptor;

/// Every plugin of this crate, for the runtime to register.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![sink::PLUGIN, source::PLUGIN]
}
