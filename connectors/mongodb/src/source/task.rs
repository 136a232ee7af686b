//! The source task: one [`Reader`] per assigned scope feeding a bounded queue that `poll` drains.

use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::serde_json::json;
use aqueduct_sdk::{
    async_trait, offset_map, ConnectError, OffsetMap, Props, Result, SourceRecord, SourceTask, SourceTaskContext,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::info;

use crate::client::{connect, hosts};
use crate::source::config::SourceConfig;
use crate::source::reader::{Item, Reader, Target};
use crate::source::records::RecordBuilder;

/// The source partition key, as in the MongoDB connector.
pub const NS_FIELD: &str = "ns";
/// How long an idle `poll` waits before returning an empty batch.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Reads change streams (and copies) of the namespaces assigned to it.
#[derive(Default)]
pub struct MongoSourceTask {
    rx: Option<mpsc::Receiver<Item>>,
    readers: Vec<JoinHandle<()>>,
    max_batch: usize,
    /// A failure seen after records were already gathered, reported by the next poll.
    pending_error: Option<ConnectError>,
}

impl MongoSourceTask {
    /// A new, unstarted task.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The scopes of a task: its namespaces, or the configured database / deployment.
pub fn scopes(config: &SourceConfig) -> Vec<Target> {
    if config.task_namespaces.is_empty() {
        if config.database.is_empty() {
            return vec![Target::Deployment];
        }
        return vec![Target::Database(config.database.clone())];
    }
    config
        .task_namespaces
        .iter()
        .map(|ns| match ns.split_once('.') {
            Some((db, coll)) => Target::Collection { db: db.to_owned(), coll: coll.to_owned() },
            None => Target::Database(ns.clone()),
        })
        .collect()
}

/// The source partition of a scope: `{"ns": "mongodb://<hosts>/<db>[.<coll>]"}`, or
/// `offset.partition.name` (suffixed with `/<db>.<coll>` when the connector watches several namespaces).
pub fn partition(config: &SourceConfig, target: &Target, several: bool) -> OffsetMap {
    let scope = match target {
        Target::Collection { db, coll } => format!("{db}.{coll}"),
        Target::Database(db) => db.clone(),
        Target::Deployment => String::new(),
    };
    let name = match (config.partition_name.as_str(), several) {
        ("", _) => format!("mongodb://{}/{scope}", hosts(&config.uri)),
        (name, false) => name.to_owned(),
        (name, true) => format!("{name}/{scope}"),
    };
    offset_map([(NS_FIELD, json!(name))])
}

#[async_trait]
impl SourceTask for MongoSourceTask {
    async fn start(&mut self, context: SourceTaskContext, props: Props) -> Result<()> {
        let config = Arc::new(SourceConfig::parse(&props)?);
        let client = connect(&config.uri, config.uri_key, "aqueduct-mongodb-source").await?;
        let (tx, rx) = mpsc::channel(config.queue_size);
        let several = props.get(crate::source::TASK_NAMESPACE_COUNT).is_some_and(|n| n != "1");
        for target in scopes(&config) {
            let partition = partition(&config, &target, several);
            let stored = context.offset(&partition);
            info!(connector = %context.connector(), task = context.task_id(), namespace = %target,
                partition = ?partition, resuming = stored.is_some(), "starting MongoDB reader");
            let reader = Reader {
                client: client.clone(),
                config: config.clone(),
                target,
                builder: RecordBuilder::new(config.clone(), partition),
                tx: tx.clone(),
                connector: context.connector().to_owned(),
                task: context.task_id(),
                stored,
                context: context.clone(),
            };
            self.readers.push(tokio::spawn(reader.run()));
        }
        self.max_batch = config.max_batch;
        self.rx = Some(rx);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        let Some(rx) = self.rx.as_mut() else { return Err(ConnectError::fatal("the source task is not started")) };
        let first = match tokio::time::timeout(IDLE_POLL, rx.recv()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(None) => return Err(ConnectError::fatal("every MongoDB reader of this task stopped")),
            Ok(Some(item)) => item?,
        };
        let mut batch = vec![first];
        while batch.len() < self.max_batch {
            match rx.try_recv() {
                Ok(Ok(record)) => batch.push(record),
                Ok(Err(e)) => {
                    self.pending_error = Some(e);
                    break;
                }
                Err(_) => break,
            }
        }
        Ok(batch)
    }

    async fn stop(&mut self) -> Result<()> {
        self.rx = None;
        for reader in self.readers.drain(..) {
            reader.abort();
        }
        Ok(())
    }
}
