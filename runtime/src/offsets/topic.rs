//! Offsets in a compacted Kafka topic (`offset.storage.topic`), Kafka Connect's layout.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use aqueduct_sdk::{OffsetMap, Props};
use async_trait::async_trait;
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::store::{entry_key, LoggedOffset, OffsetCache, OffsetStore};
use super::topic_reader::{read_to_end, QuietEof, ReadUntil};
use crate::kafka::{KafkaClients, TopicSpec};

/// Reads the whole topic at start, then writes each flush and waits for Kafka's acks.
pub struct TopicOffsetStore {
    topic: String,
    producer: FutureProducer,
    cache: OffsetCache,
    clients: KafkaClients,
}

impl TopicOffsetStore {
    /// Creates the topic when missing (compacted) and loads every offset in it.
    pub async fn open(clients: &KafkaClients, spec: TopicSpec) -> Result<Self> {
        clients.ensure_topic(&spec).await?;
        let producer: FutureProducer =
            clients.producer_config(&Props::new()).create().context("creating offset topic producer")?;
        let store =
            TopicOffsetStore { topic: spec.name, producer, cache: OffsetCache::default(), clients: clients.clone() };
        let count = store.read(ReadUntil::LastStable).await?;
        tracing::info!(topic = %store.topic, records = count, "loaded source offsets");
        Ok(store)
    }

    /// Reads the whole topic again into the cache (values already newer there stay).
    async fn read(&self, until: ReadUntil) -> Result<usize> {
        let reader = |isolation: &str| -> Result<BaseConsumer<QuietEof>> {
            let settings = Props::from([
                ("isolation.level".to_owned(), isolation.to_owned()),
                ("enable.partition.eof".to_owned(), "true".to_owned()),
            ]);
            self.clients
                .consumer_config("aqueduct-offset-reader", &settings)
                .create_with_context(QuietEof)
                .context("creating offset topic consumer")
        };
        let (committed, uncommitted) = (reader("read_committed")?, reader("read_uncommitted")?);
        let (topic, cache) = (self.topic.clone(), self.cache.clone());
        tokio::task::spawn_blocking(move || read_to_end(&committed, &uncommitted, &topic, &cache, until))
            .await
            .context("offset reader thread")?
    }
}

#[async_trait]
impl OffsetStore for TopicOffsetStore {
    fn get(&self, connector: &str, partition: &OffsetMap) -> Option<OffsetMap> {
        self.cache.get(connector, partition)
    }
    fn all(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)> {
        self.cache.all(connector)
    }
    async fn write(&self, connector: &str, offsets: Vec<(OffsetMap, Option<OffsetMap>)>) -> Result<()> {
        let mut deliveries = Vec::with_capacity(offsets.len());
        for (partition, offset) in &offsets {
            let (key, value) = offset_record(connector, partition, offset.as_ref())?;
            let mut record = FutureRecord::to(&self.topic).key(&key);
            if let Some(value) = &value {
                record = record.payload(value);
            }
            let delivery = self
                .producer
                .send_result(record)
                .map_err(|(e, _)| anyhow::anyhow!("queueing offset record for {connector}: {e}"))?;
            deliveries.push(delivery);
        }
        let mut logged = Vec::with_capacity(offsets.len());
        for ((partition, offset), delivery) in offsets.into_iter().zip(deliveries) {
            match delivery.await {
                Ok(Ok(d)) => logged.push((partition, offset, (d.partition, d.offset))),
                Ok(Err((e, _))) => bail!("writing offsets of {connector} to {}: {e}", self.topic),
                Err(_) => bail!("writing offsets of {connector} to {}: producer closed", self.topic),
            }
        }
        self.committed(connector, logged);
        Ok(())
    }
    fn topic(&self) -> Option<&str> {
        Some(&self.topic)
    }
    fn committed(&self, connector: &str, offsets: Vec<LoggedOffset>) {
        for (partition, offset, at) in offsets {
            self.cache.apply_at(connector, &partition, offset, at);
        }
    }
    async fn refresh(&self) -> Result<()> {
        // A task's predecessor was fenced just before; others' open transactions end soon
        // (their successors start too) or time out (transaction.timeout.ms, 60 s by default).
        let count = self.read(ReadUntil::Stable(Duration::from_secs(120))).await?;
        tracing::debug!(topic = %self.topic, records = count, "source offsets read again");
        Ok(())
    }
}

/// The key and value of an offset record, as Kafka Connect writes them: key
/// `["<connector>", {partition}]`, value the offset as JSON, or none (a tombstone) to delete it.
pub fn offset_record(
    connector: &str,
    partition: &OffsetMap,
    offset: Option<&OffsetMap>,
) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let key = serde_json::to_vec(&entry_key(connector, partition))?;
    let value = offset.map(serde_json::to_vec).transpose()?;
    Ok((key, value))
}
