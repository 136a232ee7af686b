//! Elasticsearch sink for Aqueduct, compatible with Confluent's
//! `io.confluent.connect.elasticsearch.ElasticsearchSinkConnector` configs.
//!
//! Records become bulk writes (`index`, `create` for data streams, `update` with `doc_as_upsert`
//! for `write.method=upsert`, `delete` for tombstones) sent asynchronously with bounded
//! concurrency; each item's answer is handled on its own (429/5xx retried with backoff, version
//! conflicts of replays settled, malformed documents per `behavior.on.malformed.documents` and to
//! the dead-letter topic), and consumer offsets are committed only up to acknowledged records.
//!
//! Layout, one concern per file: [`config`] (keys and typed config), [`document`] (values as
//! documents, keys as ids), [`mapping`] (schemas as index mappings), [`bulk`] (request lines and
//! item outcomes), [`retry`] (backoff), [`offsets`] (what may be committed), [`writer`] (queue,
//! dispatch, in-flight bound, retries), [`client`] (HTTP), [`task`], [`connector`].
//! See the crate README for every key and where it differs from Confluent's.

#![warn(missing_docs)]

pub mod bulk;
pub mod client;
pub mod config;
pub mod connector;
pub mod document;
pub mod mapping;
pub mod offsets;
pub mod retry;
pub mod task;
pub mod writer;

use aqueduct_sdk::{ConnectorFactory, PluginDescriptor};

pub use connector::ElasticsearchSinkConnector;
pub use task::ElasticsearchSinkTask;

/// The sink plugin.
pub const SINK_PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "ElasticsearchSinkConnector",
    aliases: &["io.confluent.connect.elasticsearch.ElasticsearchSinkConnector", "ElasticsearchSink"],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Sink(|| Box::new(ElasticsearchSinkConnector::new())),
};

/// Every plugin of this crate, for the runtime to register.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![SINK_PLUGIN]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_answers_to_confluents_class() {
        assert!(SINK_PLUGIN.answers_to("io.confluent.connect.elasticsearch.ElasticsearchSinkConnector"));
        assert!(SINK_PLUGIN.factory.config_def().key("behavior.on.malformed.documents").is_some());
        assert_eq!(plugins().len(), 1);
    }

    #[test]
    fn example_configs_are_valid() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/elasticsearch-sink");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).expect("configs dir") {
            let path = entry.expect("entry").path();
            let json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
            let Some(config) = json.get("config").and_then(|c| c.as_object()) else { continue };
            let props: aqueduct_sdk::Props = config
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect();
            assert!(SINK_PLUGIN.answers_to(props.get("connector.class").map_or("", String::as_str)));
            config::SinkConfig::parse(&props).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
        assert!(checked >= 1, "{checked} connector configs checked");
    }
}
