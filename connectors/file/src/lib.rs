//! Kafka Connect's file connectors for Aqueduct.
//!
//! - [`FileStreamSourceConnector`] (`FileStreamSource`) tails a text file and produces one record
//!   per complete line, with the byte position after the line as its source offset.
//! - [`FileStreamSinkConnector`] (`FileStreamSink`) appends the value of every record it is given
//!   to a file, one line per record, and syncs the file before consumer offsets are committed.
//!
//! Both are meant for demos and tests, like their Kafka Connect counterparts: one task each.
//! The runtime registers them through [`plugins`].

#![warn(missing_docs)]

pub mod config;
mod render;
pub mod sink;
pub mod source;

use aqueduct_sdk::{ConnectorFactory, PluginDescriptor};

pub use render::render_value;
pub use sink::{FileStreamSinkConnector, FileStreamSinkTask};
pub use source::{FileStreamSourceConnector, FileStreamSourceTask};

/// The source plugin: `connector.class=FileStreamSource` or Kafka Connect's class names.
pub const SOURCE_PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "FileStreamSource",
    aliases: &["org.apache.kafka.connect.file.FileStreamSourceConnector", "FileStreamSourceConnector"],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Source(|| Box::new(FileStreamSourceConnector::new())),
};

/// The sink plugin: `connector.class=FileStreamSink` or Kafka Connect's class names.
pub const SINK_PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "FileStreamSink",
    aliases: &["org.apache.kafka.connect.file.FileStreamSinkConnector", "FileStreamSinkConnector"],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Sink(|| Box::new(FileStreamSinkConnector::new())),
};

/// Every plugin of this crate, for the runtime to register.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![SOURCE_PLUGIN, SINK_PLUGIN]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugins_answer_to_kafka_class_names() {
        let plugins = plugins();
        assert_eq!(plugins.len(), 2);
        assert!(SOURCE_PLUGIN.answers_to("org.apache.kafka.connect.file.FileStreamSourceConnector"));
        assert!(SOURCE_PLUGIN.answers_to("FileStreamSource"));
        assert!(SINK_PLUGIN.answers_to("FileStreamSinkConnector"));
        assert_eq!(SOURCE_PLUGIN.factory.kind(), "source");
        assert_eq!(SINK_PLUGIN.factory.kind(), "sink");
        assert!(SOURCE_PLUGIN.factory.config_def().key("batch.size").is_some());
        assert!(SINK_PLUGIN.factory.config_def().key("file").is_some());
    }
}
