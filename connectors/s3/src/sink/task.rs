//! The sink task: hands each record to its partition's [`PartitionWriter`], reports records it
//! cannot write, and tells the runtime only the offsets whose objects exist.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aqueduct_sdk::{
    async_trait, ConnectError, ErrorKind, Props, Result, SinkRecord, SinkTask, SinkTaskContext, TopicPartition,
    TopicPartitionOffsets, Value,
};
use tracing::info;

use super::config::{NullValues, SinkConfig};
use super::partition_writer::PartitionWriter;
use crate::storage::Store;

/// The S3 sink task.
#[derive(Default)]
pub struct S3SinkTask {
    running: Option<Running>,
}

struct Running {
    config: Arc<SinkConfig>,
    context: Arc<dyn SinkTaskContext>,
    store: Store,
    writers: HashMap<TopicPartition, PartitionWriter>,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl S3SinkTask {
    /// A new, unstarted task.
    pub fn new() -> Self {
        Self::default()
    }

    fn running(&mut self) -> Result<&mut Running> {
        self.running.as_mut().ok_or_else(|| ConnectError::fatal("S3 sink task used before start or after stop"))
    }
}

impl Running {
    fn writer(&mut self, tp: &TopicPartition) -> &mut PartitionWriter {
        let config = &self.config;
        self.writers.entry(tp.clone()).or_insert_with(|| PartitionWriter::new(tp.clone(), Arc::clone(config)))
    }

    /// Writes one record, or skips it as `behavior.on.null.values` and `errors.tolerance` say.
    async fn take(&mut self, record: &SinkRecord) -> Result<()> {
        let tp = record.topic_partition();
        if self.writer(&tp).has(record) {
            return Ok(()); // given again after a retriable failure: written already
        }
        let result = if record.value == Value::Null {
            match self.config.null_values {
                NullValues::Ignore => Ok(()),
                NullValues::Fail => Err(ConnectError::data(format!(
                    "record {}-{}@{} has a null value; set behavior.on.null.values=ignore to skip tombstones",
                    record.topic, record.kafka_partition, record.kafka_offset
                ))),
            }
            .map(|()| false)
        } else {
            let store = self.store.clone();
            self.writer(&tp).write(&store, record, now_ms()).await.map(|()| true)
        };
        match result {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.writer(&tp).skip(record);
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::Data => {
                let Some(reporter) = self.context.errant_record_reporter() else { return Err(e) };
                reporter.report(record, &e).await?;
                self.writer(&tp).skip(record);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl SinkTask for S3SinkTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>, props: Props) -> Result<()> {
        let config = SinkConfig::parse(&props)?;
        let store = Store::new(&config.storage).await;
        store.check_bucket().await?;
        info!(connector = %config.connector, bucket = store.bucket(), format = ?config.format, flush_size = config.flush_size,
            "started S3 sink task");
        self.running = Some(Running { config: Arc::new(config), context, store, writers: HashMap::new() });
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        let running = self.running()?;
        for record in records {
            running.take(record).await?;
        }
        let touched: std::collections::BTreeSet<TopicPartition> =
            records.iter().map(SinkRecord::topic_partition).collect();
        for tp in touched {
            if let Some(writer) = running.writers.get_mut(&tp) {
                writer.send_parts(&running.store).await?;
            }
        }
        Ok(())
    }

    async fn pre_commit(&mut self, offsets: &TopicPartitionOffsets) -> Result<TopicPartitionOffsets> {
        let running = self.running()?;
        let now = now_ms();
        let mut durable = TopicPartitionOffsets::new();
        for tp in offsets.keys() {
            let Some(writer) = running.writers.get_mut(tp) else { continue };
            if let Some(offset) = writer.committable(&running.store, now).await? {
                durable.insert(tp.clone(), offset);
            }
        }
        Ok(durable)
    }

    async fn open(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let running = self.running()?;
        for tp in partitions {
            running.writer(tp);
        }
        Ok(())
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let running = self.running()?;
        for tp in partitions {
            if let Some(writer) = running.writers.remove(tp) {
                writer.abort(&running.store).await;
            }
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(running) = self.running.take() {
            for (_, writer) in running.writers {
                writer.abort(&running.store).await;
            }
        }
        Ok(())
    }
}
