//! The MongoDB source: change streams on collections, a database or the deployment, with an
//! optional copy of the existing documents first.

pub mod config;
pub mod reader;
pub mod records;
pub mod task;

use std::sync::Arc;

use aqueduct_sdk::{
    async_trait, ConfigDef, ConnectError, Connector, ConnectorContext, Props, Result, SourceConnector, SourceTask,
};
use regex::Regex;
use tracing::info;

use crate::client::connect;
use crate::errors::to_connect_error;
use config::{source_config_def, SourceConfig, COLLECTION_INCLUDE_LIST, DATABASE_INCLUDE_LIST, TASK_NAMESPACES};
pub use task::MongoSourceTask;

/// Internal task key: how many namespaces the connector watches in all (partition naming).
pub const TASK_NAMESPACE_COUNT: &str = "aqueduct.mongodb.namespace.count";

/// `MongoSource`: resolves the namespaces to watch and gives each task its share.
#[derive(Default)]
pub struct MongoSourceConnector {
    props: Props,
    /// `db.coll` names, one task each (bounded by `tasks.max`); empty: one task for the whole scope.
    namespaces: Vec<String>,
}

impl MongoSourceConnector {
    /// A new, unstarted connector.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Collections matching Debezium's include lists (regular expressions matched in full).
async fn resolve_includes(config: &SourceConfig) -> Result<Vec<String>> {
    let anchored = |items: &[String]| -> Result<Vec<Regex>> {
        items
            .iter()
            .map(|r| Regex::new(&format!("^(?:{r})$")).map_err(|e| ConnectError::config(format!("{r:?}: {e}"))))
            .collect()
    };
    let colls = anchored(&config.collection_include)?;
    let dbs = anchored(&config.database_include)?;
    let client = connect(&config.uri, config.uri_key, "aqueduct-mongodb-source").await?;
    let err = |e| to_connect_error(e, || "listing databases and collections to match the include lists".into());
    let mut found = Vec::new();
    let databases = match config.database.as_str() {
        "" => client.list_database_names().await.map_err(err)?,
        db => vec![db.to_owned()],
    };
    for db in databases.iter().filter(|d| !matches!(d.as_str(), "admin" | "config" | "local")) {
        if !dbs.is_empty() && !dbs.iter().any(|r| r.is_match(db)) {
            continue;
        }
        let names =
            client.database(db).list_collection_names().filter(mongodb::bson::doc! {"type": "collection"}).await;
        for coll in names.map_err(err)? {
            let full = format!("{db}.{coll}");
            if !coll.starts_with("system.") && (colls.is_empty() || colls.iter().any(|r| r.is_match(&full))) {
                found.push(full);
            }
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(ConnectError::config(format!(
            "no collection matches {COLLECTION_INCLUDE_LIST}={:?} / {DATABASE_INCLUDE_LIST}={:?}",
            config.collection_include, config.database_include
        )));
    }
    Ok(found)
}

#[async_trait]
impl Connector for MongoSourceConnector {
    fn kafka_connect_task_class(&self, kafka_connect_class: &str) -> Option<&'static str> {
        match kafka_connect_class {
            "com.mongodb.kafka.connect.MongoSourceConnector" => {
                Some("com.mongodb.kafka.connect.source.MongoSourceTask")
            }
            "io.debezium.connector.mongodb.MongoDbConnector" => {
                Some("io.debezium.connector.mongodb.MongoDbConnectorTask")
            }
            _ => None,
        }
    }

    fn config_def(&self) -> ConfigDef {
        source_config_def()
    }

    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        let config = SourceConfig::parse(&props)?;
        self.namespaces = if !config.collections.is_empty() {
            config.collections.iter().map(|c| format!("{}.{c}", config.database)).collect()
        } else if !config.collection_include.is_empty() || !config.database_include.is_empty() {
            resolve_includes(&config).await?
        } else {
            Vec::new()
        };
        info!(connector = %props.get("name").cloned().unwrap_or_default(), namespaces = ?self.namespaces,
            database = %config.database, "starting MongoDB source connector");
        self.props = props;
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>> {
        if self.namespaces.is_empty() {
            return Ok(vec![self.props.clone()]);
        }
        let tasks = max_tasks.clamp(1, self.namespaces.len());
        let mut shares: Vec<Vec<&String>> = vec![Vec::new(); tasks];
        for (i, ns) in self.namespaces.iter().enumerate() {
            shares[i % tasks].push(ns);
        }
        shares
            .into_iter()
            .map(|share| {
                let mut props = self.props.clone();
                let list =
                    serde_json::to_string(&share).map_err(|e| ConnectError::fatal("task config").with_source(e))?;
                props.insert(TASK_NAMESPACES.into(), list);
                props.insert(TASK_NAMESPACE_COUNT.into(), self.namespaces.len().to_string());
                Ok(props)
            })
            .collect()
    }
}

impl SourceConnector for MongoSourceConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(MongoSourceTask::new())
    }
}
