//! `PostgresSink`: a JDBC-style sink (Confluent's `JdbcSinkConnector` keys) writing records to
//! PostgreSQL tables, with upserts, deletes, Debezium change events, auto-create/evolve, and an
//! optional exactly-once mode that stores consumed offsets with the rows.
//!
//! Modules, one concern each: [`config`] (keys), [`ops`] (records to row operations),
//! [`types`] and [`render`] (type mapping), [`table`] and [`ddl`] (catalog, create/alter),
//! [`toast`] (unchanged TOAST values), [`writer`] (statements), [`keys`] (key equality),
//! [`plan`] (statement order), [`apply`] (one transaction), [`conn`] (connection, error kinds),
//! [`offsets`] (exactly once), [`task`] (the `SinkTask`).

pub mod apply;
pub mod config;
pub mod conn;
pub mod ddl;
pub mod keys;
pub mod offsets;
pub mod ops;
pub mod plan;
pub mod render;
pub mod table;
pub mod task;
pub mod toast;
pub mod types;
pub mod writer;

use std::sync::Arc;

use aqueduct_sdk::{
    async_trait, ConfigDef, Connector, ConnectorContext, ConnectorFactory, KeyValidation, PluginDescriptor, Props,
    Result, SinkConnector, SinkTask,
};
use tracing::info;

pub use config::SinkConfig;
pub use task::PostgresSinkTask;

/// The plugin: `PostgresSink`, also answering to the Confluent and Debezium JDBC sink class names.
pub const PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "PostgresSink",
    aliases: &[
        "io.confluent.connect.jdbc.JdbcSinkConnector",
        "io.debezium.connector.jdbc.JdbcSinkConnector",
        "JdbcSinkConnector",
    ],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Sink(|| Box::new(PostgresSinkConnector::default())),
};

/// The plugins of this module.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![PLUGIN]
}

/// The connector: validates the configuration and runs `tasks.max` identical tasks (Kafka
/// spreads the topic partitions over them).
#[derive(Debug, Default)]
pub struct PostgresSinkConnector {
    props: Props,
}

#[async_trait]
impl Connector for PostgresSinkConnector {
    fn kafka_connect_task_class(&self, kafka_connect_class: &str) -> Option<&'static str> {
        match kafka_connect_class {
            "io.confluent.connect.jdbc.JdbcSinkConnector" => Some("io.confluent.connect.jdbc.sink.JdbcSinkTask"),
            "io.debezium.connector.jdbc.JdbcSinkConnector" => Some("io.debezium.connector.jdbc.JdbcSinkConnectorTask"),
            _ => None,
        }
    }

    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    fn validate(&self, props: &Props) -> Vec<KeyValidation> {
        config::validate(props)
    }

    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        let config = SinkConfig::parse(&props)?;
        info!(connector = %config.connector, url = %config.url_for_logs, "starting PostgresSink connector");
        self.props = props;
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }
}

impl SinkConnector for PostgresSinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(PostgresSinkTask::new())
    }
}
