//! `PostgresCdcSource`: change data capture from PostgreSQL in Debezium's event format.
//!
//! Streams logical replication with the built-in `pgoutput` plugin over a real replication
//! connection (the [`pgwire-replication`](https://crates.io/crates/pgwire-replication) crate
//! speaks the protocol; this module decodes pgoutput itself), after an optional consistent
//! snapshot taken from the slot's exported snapshot. Configured with Debezium's PostgreSQL
//! connector keys; also answers to `io.debezium.connector.postgresql.PostgresConnector`.
//!
//! Modules, one concern each:
//! - [`config`]: the keys and the typed configuration;
//! - [`catalog`]: start-up checks, publication, slot state, catalog queries;
//! - [`replication`]: the replication connection (slot creation, streaming, confirmation);
//! - [`pgoutput`]: the pgoutput message decoder;
//! - [`types`], [`text`]: column types and values, as Debezium maps them;
//! - [`table`]: table schemas, keys, topics; [`events`]: envelopes and the `source` block;
//! - [`snapshot`]: the snapshot reader; [`changes`]: stream events to records;
//! - [`offsets`]: the offset layout and resume rules; [`task`]: the task's life cycle.

pub mod catalog;
pub mod changes;
pub mod config;
pub mod events;
pub mod offsets;
pub mod pgoutput;
pub mod replication;
pub mod snapshot;
pub mod table;
pub mod task;
pub mod text;
pub mod types;

use std::sync::Arc;

use aqueduct_sdk::{
    async_trait, ConfigDef, Connector, ConnectorContext, ConnectorFactory, ExactlyOnceSupport, PluginDescriptor, Props,
    Result, SourceConnector, SourceTask,
};
use tracing::info;

pub use config::CdcConfig;
pub use task::PostgresCdcTask;

/// The `PostgresCdcSource` connector: validates the configuration and runs one task (a
/// replication slot has one reader).
#[derive(Debug, Default)]
pub struct PostgresCdcConnector {
    props: Props,
}

impl PostgresCdcConnector {
    /// A new, unstarted connector.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Connector for PostgresCdcConnector {
    fn kafka_connect_task_class(&self, _kafka_connect_class: &str) -> Option<&'static str> {
        Some("io.debezium.connector.postgresql.PostgresConnectorTask")
    }

    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        let cfg = CdcConfig::parse(&props)?;
        info!(connector = %cfg.connector_name, server = %cfg.server(), topic_prefix = %cfg.topic_prefix,
            "starting the PostgreSQL CDC connector");
        self.props = props;
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>> {
        Ok(vec![self.props.clone()])
    }
}

impl SourceConnector for PostgresCdcConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(PostgresCdcTask::new())
    }

    /// Streaming resumes at the exact change (commit LSN and event serial) and an interrupted snapshot after the last row read.
    fn exactly_once_support(&self, _props: &Props) -> Option<ExactlyOnceSupport> {
        Some(ExactlyOnceSupport::Supported)
    }
}

/// The plugin: `connector.class=PostgresCdcSource` or Debezium's class name.
pub const PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "PostgresCdcSource",
    aliases: &["io.debezium.connector.postgresql.PostgresConnector", "PostgresConnector"],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Source(|| Box::new(PostgresCdcConnector::new())),
};

/// The plugins of this module.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![PLUGIN]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_to_debezium_class_name() {
        assert!(PLUGIN.answers_to("io.debezium.connector.postgresql.PostgresConnector"));
        assert!(PLUGIN.answers_to("PostgresCdcSource"));
        assert_eq!(PLUGIN.factory.kind(), "source");
        assert!(PLUGIN.factory.config_def().key("slot.name").is_some());
        assert_eq!(plugins().len(), 1);
    }
}
