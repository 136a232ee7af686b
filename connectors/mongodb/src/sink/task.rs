//! The sink task: every `put` becomes bulk writes (one per target collection), durable when
//! `put` returns, so `pre_commit` may report every offset it was given.

use std::collections::BTreeMap;
use std::sync::Arc;

use aqueduct_sdk::{
    async_trait, ConnectError, ErrantRecordReporter, Props, Result, SinkRecord, SinkTask, SinkTaskContext,
};
use mongodb::{Client, Database};
use tracing::{debug, warn};

use crate::client::connect;
use crate::sink::bulk::{execute, WriteOp};
use crate::sink::config::SinkConfig;
use crate::sink::write_model::plan;

/// Writes records to MongoDB.
#[derive(Default)]
pub struct MongoSinkTask {
    config: Option<Arc<SinkConfig>>,
    client: Option<Client>,
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
    connector: String,
}

impl MongoSinkTask {
    /// A new, unstarted task.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hands a bad record to the errant record reporter (which fails the task unless
    /// `errors.tolerance=all`), or fails with the error when there is no reporter.
    async fn report(&self, record: &SinkRecord, error: ConnectError) -> Result<()> {
        match &self.reporter {
            Some(reporter) => {
                warn!(connector = %self.connector, topic = %record.topic, partition = record.kafka_partition,
                    offset = record.kafka_offset, error = %error, "record not written");
                reporter.report(record, &error).await
            }
            None => Err(error),
        }
    }

    /// Writes the records of one collection, in order, retrying transient failures.
    async fn write(&self, config: &SinkConfig, db: &Database, coll: &str, records: &[&SinkRecord]) -> Result<()> {
        let mut ops: Vec<WriteOp> = Vec::with_capacity(records.len());
        let mut owners: Vec<usize> = Vec::with_capacity(records.len());
        for (i, record) in records.iter().enumerate() {
            match plan(config, record) {
                Ok(planned) => {
                    owners.extend(std::iter::repeat_n(i, planned.len()));
                    ops.extend(planned);
                }
                Err(why) => {
                    let error = ConnectError::data(format!(
                        "cannot write record {}-{}@{} to {}.{coll}: {why}",
                        record.topic,
                        record.kafka_partition,
                        record.kafka_offset,
                        db.name()
                    ));
                    self.report(record, error).await?;
                }
            }
        }
        let mut start = 0;
        let mut attempt = 0u32;
        while start < ops.len() {
            match execute(db, coll, &ops[start..], config.ordered, config.max_batch).await {
                Ok(errors) => {
                    let mut resume = ops.len();
                    for e in &errors {
                        let record = records[owners[start + e.index]];
                        let error = ConnectError::data(format!(
                            "MongoDB refused record {}-{}@{} in {}.{coll}: error {}: {}",
                            record.topic,
                            record.kafka_partition,
                            record.kafka_offset,
                            db.name(),
                            e.code,
                            e.message
                        ));
                        self.report(record, error).await?;
                        resume = start + e.index + 1;
                    }
                    // Ordered writes stop at the first failure: go on after it once reported.
                    start = if config.ordered && !errors.is_empty() { resume } else { ops.len() };
                }
                Err(interrupted) => {
                    for e in &interrupted.errors {
                        let record = records[owners[start + e.index]];
                        self.report(
                            record,
                            ConnectError::data(format!(
                                "MongoDB refused a write to {}.{coll}: error {}: {}",
                                db.name(),
                                e.code,
                                e.message
                            )),
                        )
                        .await?;
                    }
                    start += interrupted.done;
                    if !interrupted.error.is_retriable() {
                        return Err(interrupted.error);
                    }
                    if attempt >= config.retries {
                        return Err(interrupted.error);
                    }
                    attempt += 1;
                    warn!(connector = %self.connector, collection = %coll, attempt, delay = ?config.retry_delay,
                        error = %interrupted.error, "bulk write failed; retrying");
                    tokio::time::sleep(config.retry_delay).await;
                }
            }
        }
        debug!(connector = %self.connector, collection = %coll, writes = ops.len(), "bulk write done");
        Ok(())
    }
}

#[async_trait]
impl SinkTask for MongoSinkTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>, props: Props) -> Result<()> {
        let config = SinkConfig::parse(&props)?;
        self.client = Some(connect(&config.uri, "connection.uri", "aqueduct-mongodb-sink").await?);
        self.reporter = context.errant_record_reporter();
        self.connector = props.get("name").cloned().unwrap_or_default();
        self.config = Some(Arc::new(config));
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        let (Some(config), Some(client)) = (self.config.clone(), self.client.clone()) else {
            return Err(ConnectError::fatal("the sink task is not started"));
        };
        let db = client.database(&config.database);
        let mut by_collection: BTreeMap<&str, Vec<&SinkRecord>> = BTreeMap::new();
        for record in records {
            let coll = if config.collection.is_empty() { record.topic.as_str() } else { config.collection.as_str() };
            by_collection.entry(coll).or_default().push(record);
        }
        for (coll, records) in by_collection {
            self.write(&config, &db, coll, &records).await?;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        self.client = None;
        Ok(())
    }
}
