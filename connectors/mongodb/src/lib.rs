//! MongoDB connectors for Aqueduct, compatible with the MongoDB Kafka connector's configs.
//!
//! - [`MongoSourceConnector`] (`MongoSource`, `com.mongodb.kafka.connect.MongoSourceConnector`,
//!   `io.debezium.connector.mongodb.MongoDbConnector`): change streams on collections, a database
//!   or the deployment; optional copy of the existing documents first; the resume token is the
//!   source offset. Events as the MongoDB connector's change documents or Debezium envelopes.
//! - [`MongoSinkConnector`] (`MongoSink`, `com.mongodb.kafka.connect.MongoSinkConnector`): bulk
//!   writes with the MongoDB connector's id and write-model strategies, and change-data-capture
//!   handlers for MongoDB change events and Debezium envelopes.
//!
//! See the crate README for every key, the event shapes and the Extended JSON dialects.

#![warn(missing_docs)]

pub mod client;
pub mod convert;
pub mod errors;
pub mod extjson;
pub mod sink;
pub mod source;

use aqueduct_sdk::{ConnectorFactory, PluginDescriptor};
/// The driver this crate uses (with its `bson`), for tests and tools that talk to the same servers.
pub use mongodb;

pub use sink::{MongoSinkConnector, MongoSinkTask};
pub use source::{MongoSourceConnector, MongoSourceTask};

/// The source plugin.
pub const SOURCE_PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "MongoSource",
    aliases: &[
        "com.mongodb.kafka.connect.MongoSourceConnector",
        "io.debezium.connector.mongodb.MongoDbConnector",
        "MongoSourceConnector",
    ],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Source(|| Box::new(MongoSourceConnector::new())),
};

/// The sink plugin.
pub const SINK_PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "MongoSink",
    aliases: &["com.mongodb.kafka.connect.MongoSinkConnector", "MongoSinkConnector"],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Sink(|| Box::new(MongoSinkConnector::new())),
};

/// Every plugin of this crate, for the runtime to register.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![SOURCE_PLUGIN, SINK_PLUGIN]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugins_answer_to_their_class_names() {
        assert!(SOURCE_PLUGIN.answers_to("com.mongodb.kafka.connect.MongoSourceConnector"));
        assert!(SOURCE_PLUGIN.answers_to("io.debezium.connector.mongodb.MongoDbConnector"));
        assert!(SINK_PLUGIN.answers_to("com.mongodb.kafka.connect.MongoSinkConnector"));
        assert_eq!(plugins().len(), 2);
        assert!(SOURCE_PLUGIN.factory.config_def().key("startup.mode").is_some());
        assert!(SINK_PLUGIN.factory.config_def().key("writemodel.strategy").is_some());
    }

    #[test]
    fn tasks_are_named_as_the_kafka_connect_connector_stood_in_for_names_them() {
        let source = SOURCE_PLUGIN.factory.new_source().expect("a source");
        let task = |class| source.kafka_connect_task_class(class);
        assert_eq!(
            task("com.mongodb.kafka.connect.MongoSourceConnector"),
            Some("com.mongodb.kafka.connect.source.MongoSourceTask")
        );
        assert_eq!(
            task("io.debezium.connector.mongodb.MongoDbConnector"),
            Some("io.debezium.connector.mongodb.MongoDbConnectorTask")
        );
        let sink = SINK_PLUGIN.factory.new_sink().expect("a sink");
        assert_eq!(
            sink.kafka_connect_task_class("com.mongodb.kafka.connect.MongoSinkConnector"),
            Some("com.mongodb.kafka.connect.sink.MongoSinkTask")
        );
    }

    #[test]
    fn example_configs_are_valid() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut checked = 0;
        for dir in ["mongodb-source", "mongodb-sink"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("configs dir") {
                let path = entry.expect("entry").path();
                let json: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
                let Some(config) = json.get("config").and_then(|c| c.as_object()) else { continue };
                let props: aqueduct_sdk::Props = config
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                    .collect();
                let class = props.get("connector.class").cloned().unwrap_or_default();
                let result = if SOURCE_PLUGIN.answers_to(&class) {
                    source::config::SourceConfig::parse(&props).map(|_| ())
                } else {
                    assert!(SINK_PLUGIN.answers_to(&class), "{}: unknown class {class}", path.display());
                    sink::config::SinkConfig::parse(&props).map(|_| ())
                };
                result.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                checked += 1;
            }
        }
        assert!(checked >= 5, "{checked} connector configs checked");
    }
}
