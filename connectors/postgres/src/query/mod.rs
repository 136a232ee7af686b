//! `PostgresQuerySource`: copies tables (or a custom query) by polling them with SQL, with the
//! semantics of Confluent's JDBC source connector, for databases where the connector has no
//! replication rights. Also answers to `io.confluent.connect.jdbc.JdbcSourceConnector`.
//!
//! Modules, one concern each:
//! - [`config`]: the keys and the typed configuration;
//! - [`tables`]: finding the tables to copy and splitting them across tasks;
//! - [`columns`]: column types, Connect schemas and value decoding;
//! - [`querier`]: one table's SQL, offset and records; [`cursor`]: reading a pass in pieces;
//! - [`task`]: the task's life cycle.

pub mod columns;
pub mod config;
pub mod cursor;
pub mod querier;
pub mod tables;
pub mod task;

use std::sync::Arc;

use aqueduct_sdk::{
    async_trait, ConfigDef, Connector, ConnectorContext, ConnectorFactory, PluginDescriptor, Props, Result,
    SourceConnector, SourceTask,
};
use tracing::{info, warn};

pub use config::QueryConfig;
pub use task::PostgresQueryTask;

use crate::sink::conn::Db;

/// The `PostgresQuerySource` connector: finds the tables at start and spreads them across
/// tasks round-robin (one task for a custom query).
#[derive(Debug, Default)]
pub struct PostgresQueryConnector {
    props: Props,
    query_mode: bool,
    tables: Vec<String>,
}

impl PostgresQueryConnector {
    /// A new, unstarted connector.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Connector for PostgresQueryConnector {
    fn kafka_connect_task_class(&self, _kafka_connect_class: &str) -> Option<&'static str> {
        Some("io.confluent.connect.jdbc.source.JdbcSourceTask")
    }

    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        let cfg = QueryConfig::parse(&props)?;
        self.query_mode = cfg.query.is_some();
        if !self.query_mode {
            let mut db = Db::new(cfg.connection.clone(), cfg.url_for_logs.clone());
            self.tables = tables::find(&mut db, &cfg).await?;
            if self.tables.is_empty() {
                warn!(connector = %cfg.connector, url = %cfg.url_for_logs, "no tables to copy");
            }
        }
        info!(connector = %cfg.connector, url = %cfg.url_for_logs, mode = ?cfg.mode, tables = self.tables.len(),
            "starting the PostgreSQL query source");
        self.props = props;
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>> {
        if self.query_mode {
            return Ok(vec![self.props.clone()]);
        }
        Ok(tables::split(&self.tables, max_tasks)
            .into_iter()
            .map(|group| {
                let mut props = self.props.clone();
                props.insert(config::TASK_TABLES.to_owned(), group.join(","));
                props
            })
            .collect())
    }
}

impl SourceConnector for PostgresQueryConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(PostgresQueryTask::new())
    }
}

/// The plugin: `connector.class=PostgresQuerySource` or Confluent's class name.
pub const PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "PostgresQuerySource",
    aliases: &["io.confluent.connect.jdbc.JdbcSourceConnector", "JdbcSourceConnector"],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Source(|| Box::new(PostgresQueryConnector::new())),
};

/// The plugins of this module.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![PLUGIN]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_to_confluent_class_name() {
        assert!(PLUGIN.answers_to("io.confluent.connect.jdbc.JdbcSourceConnector"));
        assert!(PLUGIN.answers_to("JdbcSourceConnector"));
        assert_eq!(PLUGIN.factory.kind(), "source");
        assert!(PLUGIN.factory.config_def().key("incrementing.column.name").is_some());
    }
}
