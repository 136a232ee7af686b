//! The sink task: `put` converts records into bulk writes and queues them (creating indices and
//! mappings first); the [`Writer`] sends them in the background; `pre_commit` reports per
//! partition the offset after the highest contiguous acknowledged record.

use std::collections::HashSet;
use std::sync::Arc;

use aqueduct_sdk::{
    async_trait, ConnectError, ErrantRecordReporter, Props, Result, SinkRecord, SinkTask, SinkTaskContext,
    TopicPartition, TopicPartitionOffsets,
};
use tracing::{info, warn};

use crate::bulk;
use crate::client::EsClient;
use crate::config::SinkConfig;
use crate::mapping;
use crate::retry;
use crate::writer::{Write, Writer};

/// Writes records to Elasticsearch.
#[derive(Default)]
pub struct ElasticsearchSinkTask {
    config: Option<Arc<SinkConfig>>,
    client: Option<EsClient>,
    writer: Option<Writer>,
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
    /// Indices (or data streams) known to exist with their mapping.
    indices: HashSet<String>,
}

impl ElasticsearchSinkTask {
    /// A new, unstarted task.
    pub fn new() -> Self {
        Self::default()
    }

    fn parts(&self) -> Result<(Arc<SinkConfig>, &EsClient, &Writer)> {
        match (&self.config, &self.client, &self.writer) {
            (Some(c), Some(cl), Some(w)) => Ok((c.clone(), cl, w)),
            _ => Err(ConnectError::fatal("the Elasticsearch sink task is not started")),
        }
    }

    /// Creates the indices these records go to, with mappings from their schemas unless
    /// `schema.ignore`; transient failures are retried `max.retries` times, then the batch is
    /// handed back to the runtime (nothing of it was queued).
    async fn ensure_indices(&mut self, records: &[SinkRecord]) -> Result<()> {
        let (config, client, _) = self.parts()?;
        let client = client.clone();
        let mut new: Vec<(String, Option<serde_json::Value>)> = Vec::new();
        for r in records {
            let index = config.index_name(&r.topic);
            if self.indices.contains(&index) || new.iter().any(|(i, _)| *i == index) {
                continue;
            }
            let schema =
                r.value_schema.as_deref().filter(|_| !config.ignores_schema(&r.topic) && config.data_stream.is_none());
            let mapping = match schema.map(mapping::build) {
                Some(Ok(m)) => Some(m),
                Some(Err(e)) => {
                    warn!(connector = %config.name, index, error = %e, "no mapping from this schema; dynamic mapping");
                    None
                }
                None => None,
            };
            new.push((index, mapping));
        }
        for (index, mapping) in new {
            let mut attempt = 0;
            loop {
                match client.ensure_index(&index, config.data_stream.is_some(), mapping.as_ref()).await {
                    Ok(()) => break,
                    Err(e) if !e.retriable => return Err(ConnectError::fatal(e.message)),
                    Err(e) if attempt >= config.max_retries => return Err(ConnectError::retriable(e.message)),
                    Err(e) => {
                        let wait = retry::wait(attempt, config.retry_backoff);
                        warn!(connector = %config.name, index, attempt = attempt + 1, ?wait, error = %e.message,
                            "creating the index failed; retrying");
                        attempt += 1;
                        tokio::time::sleep(wait).await;
                    }
                }
            }
            info!(connector = %config.name, index, mapping = mapping.is_some(), "index ready");
            self.indices.insert(index);
        }
        Ok(())
    }

    /// A record that cannot be converted: reported (dead-lettered with `errors.tolerance=all`),
    /// then skipped with `drop.invalid.message`, else the task fails.
    async fn invalid(&self, config: &SinkConfig, record: &SinkRecord, why: String) -> Result<()> {
        let error = ConnectError::data(format!(
            "cannot convert record {}-{}@{}: {why}",
            record.topic, record.kafka_partition, record.kafka_offset
        ));
        if let Some(reporter) = &self.reporter {
            reporter.report(record, &error).await?;
        }
        if config.drop_invalid {
            warn!(connector = %config.name, error = %error, "dropping invalid record (drop.invalid.message=true)");
            return Ok(());
        }
        Err(error)
    }
}

#[async_trait]
impl SinkTask for ElasticsearchSinkTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>, props: Props) -> Result<()> {
        let config = Arc::new(SinkConfig::parse(&props)?);
        let client = EsClient::new(&config)?;
        info!(connector = %config.name, urls = ?config.urls, write_method = ?config.write_method,
            "starting Elasticsearch sink task");
        self.reporter = context.errant_record_reporter();
        self.writer = Some(Writer::start(config.clone(), client.clone(), context));
        self.client = Some(client);
        self.config = Some(config);
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        if let Some(e) = self.parts()?.2.failure() {
            return Err(e);
        }
        self.ensure_indices(records).await?;
        let (config, _, _) = self.parts()?;
        let mut writes = Vec::with_capacity(records.len());
        for record in records {
            let index = config.index_name(&record.topic);
            match bulk::build(&config, record, &index) {
                // The record is kept (shared) for the dead-letter queue until its write is answered.
                Ok(Some(op)) => writes.push(Write::new(op, record.clone())),
                Ok(None) => {} // an ignored tombstone: nothing outstanding
                Err(why) => self.invalid(&config, record, why).await?,
            }
        }
        self.parts()?.2.enqueue(writes);
        Ok(())
    }

    async fn flush(&mut self, _offsets: &TopicPartitionOffsets) -> Result<()> {
        self.parts()?.2.flush().await
    }

    async fn pre_commit(&mut self, offsets: &TopicPartitionOffsets) -> Result<TopicPartitionOffsets> {
        let (config, _, writer) = self.parts()?;
        if let Some(e) = writer.failure() {
            return Err(e);
        }
        if config.flush_synchronously {
            writer.flush().await?;
        }
        Ok(writer.committable(offsets))
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        if let Some(writer) = &self.writer {
            writer.close(partitions).await;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(writer) = self.writer.take() {
            let buffered = writer.buffered();
            if buffered > 0 {
                info!(buffered, "stopping with records not yet acknowledged; they are consumed again after a restart");
            }
            writer.stop();
        }
        Ok(())
    }
}
