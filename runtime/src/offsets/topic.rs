//! Offsets in a compacted Kafka topic (`offset.storage.topic`), Kafka Connect's layout.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use aqueduct_sdk::{OffsetMap, Props};
use async_trait::async_trait;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::Value as Json;

use super::store::{entry_key, parse_entry_key, OffsetCache, OffsetStore};
use crate::kafka::{KafkaClients, TopicSpec};

/// Reads the whole topic at start, then writes each flush and waits for Kafka's acks.
pub struct TopicOffsetStore {
    topic: String,
    producer: FutureProducer,
    cache: OffsetCache,
}

impl TopicOffsetStore {
    /// Creates the topic when missing (compacted) and loads every offset in it.
    pub async fn open(clients: &KafkaClients, spec: TopicSpec) -> Result<Self> {
        clients.ensure_topic(&spec).await?;
        let producer: FutureProducer =
            clients.producer_config(&Props::new()).create().context("creating offset topic producer")?;
        let cache = OffsetCache::default();
        // Committed records only (transactional writes of exactly-once tasks included); a
        // partition is read once its end is reached, which for read_committed is the last
        // stable offset.
        let settings = Props::from([
            ("isolation.level".to_owned(), "read_committed".to_owned()),
            ("enable.partition.eof".to_owned(), "true".to_owned()),
        ]);
        let consumer: BaseConsumer = clients
            .consumer_config("aqueduct-offset-reader", &settings)
            .create()
            .context("creating offset topic consumer")?;
        let topic = spec.name.clone();
        let loaded = cache.clone();
        let count = tokio::task::spawn_blocking(move || read_to_end(&consumer, &topic, &loaded))
            .await
            .context("offset reader thread")??;
        tracing::info!(topic = %spec.name, records = count, "loaded source offsets");
        Ok(TopicOffsetStore { topic: spec.name, producer, cache })
    }
}

/// Reads every partition of `topic` from the beginning up to its end offset at start.
fn read_to_end(consumer: &BaseConsumer, topic: &str, cache: &OffsetCache) -> Result<usize> {
    let timeout = Duration::from_secs(30);
    let metadata = consumer.fetch_metadata(Some(topic), timeout).with_context(|| format!("metadata of {topic}"))?;
    let partitions: Vec<i32> = metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    if partitions.is_empty() {
        bail!("offset topic {topic} has no partitions");
    }
    let mut assignment = TopicPartitionList::new();
    let mut remaining = std::collections::HashMap::new();
    for p in partitions {
        let (low, high) =
            consumer.fetch_watermarks(topic, p, timeout).with_context(|| format!("end offset of {topic}-{p}"))?;
        if high > low {
            assignment.add_partition_offset(topic, p, Offset::Beginning)?;
            remaining.insert(p, high);
        }
    }
    if remaining.is_empty() {
        return Ok(0);
    }
    consumer.assign(&assignment).context("assigning offset topic")?;
    let mut count = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !remaining.is_empty() {
        if std::time::Instant::now() > deadline {
            bail!("timed out reading offset topic {topic}; partitions left: {:?}", remaining.keys());
        }
        let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
        let message = match message {
            Ok(message) => message,
            Err(KafkaError::PartitionEOF(p)) => {
                remaining.remove(&p);
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("reading {topic}")),
        };
        count += 1;
        if let Some(key) = message.key() {
            match serde_json::from_slice::<Json>(key).ok().as_ref().and_then(parse_entry_key) {
                Some((connector, partition)) => {
                    let offset = match message.payload().map(serde_json::from_slice::<Json>) {
                        Some(Ok(Json::Object(o))) => Some(o),
                        _ => None,
                    };
                    cache.apply(&connector, &partition, offset);
                }
                None => tracing::warn!(topic, offset = message.offset(), "ignoring offset record with an unknown key"),
            }
        }
        if remaining.get(&message.partition()).is_some_and(|high| message.offset() + 1 >= *high) {
            remaining.remove(&message.partition());
        }
    }
    Ok(count)
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
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => bail!("writing offsets of {connector} to {}: {e}", self.topic),
                Err(_) => bail!("writing offsets of {connector} to {}: producer closed", self.topic),
            }
        }
        self.committed(connector, offsets);
        Ok(())
    }
    fn topic(&self) -> Option<&str> {
        Some(&self.topic)
    }
    fn committed(&self, connector: &str, offsets: Vec<(OffsetMap, Option<OffsetMap>)>) {
        for (partition, offset) in offsets {
            self.cache.apply(connector, &partition, offset);
        }
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
