//! `DatagenSource`: a deterministic record generator for demos and tests.
//!
//! Accepts the key names of Confluent's `DatagenConnector` (`kafka.topic`, `iterations`,
//! `max.interval`) and produces `aqueduct.datagen.User` structs whose every field is a pure
//! function of the record id, so runs can be compared byte for byte. See [`generator`] for the
//! record shape and [`source`] for how ids are split across tasks and resumed.
//!
//! The runtime registers the plugin through [`plugins`].

#![warn(missing_docs)]

pub mod config;
pub mod generator;
pub mod source;

use aqueduct_sdk::{ConnectorFactory, PluginDescriptor};

pub use source::{DatagenConnector, DatagenTask};

/// The plugin: `connector.class=DatagenSource` or Confluent's class names.
pub const PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "DatagenSource",
    aliases: &["io.confluent.kafka.connect.datagen.DatagenConnector", "DatagenConnector"],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Source(|| Box::new(DatagenConnector::new())),
};

/// Every plugin of this crate, for the runtime to register.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![PLUGIN]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_answers_to_confluent_names() {
        assert_eq!(plugins().len(), 1);
        assert!(PLUGIN.answers_to("io.confluent.kafka.connect.datagen.DatagenConnector"));
        assert!(PLUGIN.answers_to("DatagenSource"));
        assert_eq!(PLUGIN.factory.kind(), "source");
        assert!(PLUGIN.factory.config_def().key("kafka.topic").is_some());
    }
}
