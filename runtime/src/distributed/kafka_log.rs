//! A compacted internal topic read from its beginning and then tailed, with read-to-end
//! barriers and acknowledged writes: Kafka Connect's `KafkaBasedLog`.
//!
//! One thread owns the consumer and hands every record, in offset order per partition, to the
//! owner's `apply` function. [`KafkaLog::read_to_end`] returns once that thread has consumed
//! every partition up to the end offsets taken when it was called (transaction markers
//! included: the consumer position moves past them), so a caller that wrote a record and then
//! read to the end sees its own write applied.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aqueduct_sdk::{ConnectError, Props, Result, ResultExt};
use rdkafka::admin::{AdminOptions, ResourceSpecifier};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::oneshot;

use crate::kafka::{KafkaClients, TopicSpec};

/// How long one consumer poll blocks; also the longest wait before a barrier is noticed.
const POLL: Duration = Duration::from_millis(50);
/// Timeout of metadata and end-offset requests.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long opening waits for the first read to the end.
const OPEN_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// One record as read from the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// The key bytes (Kafka Connect's internal topics always have one).
    pub key: Option<Vec<u8>>,
    /// The value bytes; `None` is a tombstone.
    pub value: Option<Vec<u8>>,
}

/// How a [`KafkaLog`] is opened.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// The topic, created with these settings when missing.
    pub spec: TopicSpec,
    /// Names the clients (`client.id`) and the reader thread, e.g. `configs`.
    pub purpose: String,
    /// Read only committed records (the config topic, which exactly-once clusters write in
    /// transactions).
    pub read_committed: bool,
    /// Refuse a topic with more than one partition (the config topic: its order is the log's).
    pub single_partition: bool,
}

type Barrier = oneshot::Sender<Result<()>>;

/// A compacted topic being tailed; dropping it stops the reader thread within a poll interval.
pub struct KafkaLog {
    topic: String,
    partitions: usize,
    producer: FutureProducer,
    barriers: mpsc::Sender<Barrier>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

impl KafkaLog {
    /// Creates the topic when missing, checks it is compacted (and has one partition when
    /// asked), starts the reader thread at the beginning of every partition, and returns once
    /// everything in the topic has been applied.
    pub async fn open(
        clients: &KafkaClients,
        options: LogOptions,
        apply: impl FnMut(LogRecord) + Send + 'static,
    ) -> Result<Self> {
        let topic = options.spec.name.clone();
        clients.ensure_topic(&options.spec).await?;
        verify_compacted(clients, &topic).await?;
        let client_id = format!("aqueduct-{}", options.purpose);
        let settings = Props::from([
            ("client.id".to_owned(), client_id.clone()),
            ("enable.partition.eof".to_owned(), "false".to_owned()),
            (
                "isolation.level".to_owned(),
                if options.read_committed { "read_committed" } else { "read_uncommitted" }.to_owned(),
            ),
        ]);
        let consumer: BaseConsumer = clients
            .consumer_config(&format!("{client_id}-reader"), &settings)
            .create()
            .fatal(|| format!("creating the consumer of {topic}"))?;
        let producer: FutureProducer = clients
            .producer_config(&Props::from([("client.id".to_owned(), client_id)]))
            .create()
            .fatal(|| format!("creating the producer of {topic}"))?;
        let (consumer, partitions) = {
            let topic = topic.clone();
            tokio::task::spawn_blocking(move || assign_all(consumer, &topic))
                .await
                .map_err(|e| ConnectError::fatal(format!("assigning {}: {e}", options.spec.name)))??
        };
        if options.single_partition && partitions.len() != 1 {
            return Err(ConnectError::config(format!(
                "topic {topic} must have a single partition to keep connector configurations consistent, \
                 but has {}",
                partitions.len()
            )));
        }
        let (barriers, requests) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let reader = Reader { consumer, topic: topic.clone(), partitions: partitions.clone(), stop: stop.clone() };
        let reader = std::thread::Builder::new()
            .name(format!("aqueduct-{}-log", options.purpose))
            .spawn(move || reader.run(apply, requests))
            .fatal(|| format!("starting the reader thread of {topic}"))?;
        let log = KafkaLog { topic, partitions: partitions.len(), producer, barriers, stop, reader: Some(reader) };
        log.read_to_end(OPEN_READ_TIMEOUT).await?;
        tracing::info!(topic = %log.topic, partitions = log.partitions, "read internal topic to its end");
        Ok(log)
    }

    /// The topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The number of partitions of the topic.
    pub fn partitions(&self) -> usize {
        self.partitions
    }

    /// Waits until every record written before this call has been applied. Retriable error on
    /// timeout or when the end offsets cannot be read.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<()> {
        let (reply, done) = oneshot::channel();
        self.barriers
            .send(reply)
            .map_err(|_| ConnectError::fatal(format!("the reader of {} has stopped", self.topic)))?;
        match tokio::time::timeout(timeout, done).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ConnectError::fatal(format!("the reader of {} has stopped", self.topic))),
            Err(_) => {
                Err(ConnectError::retriable(format!("timed out after {timeout:?} reading {} to its end", self.topic)))
            }
        }
    }

    /// Writes `records` (key, value or `None` for a tombstone) in order and waits until Kafka
    /// acknowledged all of them (acks from all in-sync replicas, idempotent producer). On a
    /// timeout the records may still be written later; the error is retriable.
    pub async fn send(&self, records: Vec<(Vec<u8>, Option<Vec<u8>>)>, timeout: Duration) -> Result<()> {
        let mut deliveries = Vec::with_capacity(records.len());
        for (key, value) in &records {
            let mut record = FutureRecord::to(&self.topic).key(key);
            if let Some(value) = value {
                record = record.payload(value);
            }
            let delivery = self.producer.send_result(record).map_err(|(e, _)| {
                ConnectError::retriable(format!("queueing a record for {}", self.topic)).with_source(e)
            })?;
            deliveries.push(delivery);
        }
        let acks = async {
            for delivery in deliveries {
                match delivery.await {
                    Ok(Ok(_)) => {}
                    Ok(Err((e, _))) => return Err(write_error(&self.topic, e)),
                    Err(_) => return Err(ConnectError::fatal(format!("writing to {}: producer closed", self.topic))),
                }
            }
            Ok(())
        };
        match tokio::time::timeout(timeout, acks).await {
            Ok(result) => result,
            Err(_) => Err(ConnectError::retriable(format!("timed out after {timeout:?} writing to {}", self.topic))),
        }
    }

    /// Stops the reader thread and waits for it to exit.
    pub async fn close(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = tokio::task::spawn_blocking(move || reader.join()).await;
        }
    }
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Errors the broker will give again (authorization, oversized records, bad topic) are fatal.
fn write_error(topic: &str, e: KafkaError) -> ConnectError {
    use rdkafka::types::RDKafkaErrorCode::*;
    let fatal = matches!(
        e.rdkafka_error_code(),
        Some(
            TopicAuthorizationFailed | ClusterAuthorizationFailed | MessageSizeTooLarge | InvalidRecord | InvalidTopic
        )
    );
    let message = format!("writing to {topic}");
    if fatal {
        ConnectError::fatal(message).with_source(e)
    } else {
        ConnectError::retriable(message).with_source(e)
    }
}

/// Kafka Connect refuses internal topics whose `cleanup.policy` includes `delete`: compaction
/// keeps the latest record of every key forever, deletion would lose configurations. When the
/// policy cannot be read (e.g. no DescribeConfigs permission) it warns and goes on, as Kafka
/// Connect does.
async fn verify_compacted(clients: &KafkaClients, topic: &str) -> Result<()> {
    let admin = clients.admin().map_err(|e| ConnectError::fatal(format!("{e:#}")))?;
    let opts = AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT));
    let policy = match admin.describe_configs([&ResourceSpecifier::Topic(topic)], &opts).await {
        Ok(results) => match results.into_iter().next() {
            Some(Ok(resource)) => resource.get("cleanup.policy").and_then(|e| e.value.clone()),
            Some(Err(code)) => {
                tracing::warn!(topic, %code, "cannot read cleanup.policy; not verifying it");
                return Ok(());
            }
            None => None,
        },
        Err(e) => {
            tracing::warn!(topic, error = %e, "cannot read cleanup.policy; not verifying it");
            return Ok(());
        }
    };
    match policy {
        Some(p) if p.split(',').any(|s| s.trim() == "delete") => Err(ConnectError::config(format!(
            "topic {topic} must have cleanup.policy=compact to keep Kafka Connect's internal state, \
             but has cleanup.policy={p}"
        ))),
        _ => Ok(()),
    }
}

/// Assigns every partition of `topic` from its beginning; returns the partition ids.
fn assign_all(consumer: BaseConsumer, topic: &str) -> Result<(BaseConsumer, Vec<i32>)> {
    let metadata =
        consumer.fetch_metadata(Some(topic), REQUEST_TIMEOUT).retriable(|| format!("reading metadata of {topic}"))?;
    let partitions: Vec<i32> = metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    if partitions.is_empty() {
        return Err(ConnectError::retriable(format!("topic {topic} has no partitions yet")));
    }
    let mut assignment = TopicPartitionList::new();
    for p in &partitions {
        assignment.add_partition_offset(topic, *p, Offset::Beginning).fatal(|| format!("assigning {topic}-{p}"))?;
    }
    consumer.assign(&assignment).fatal(|| format!("assigning {topic}"))?;
    Ok((consumer, partitions))
}

/// The reader thread's state.
struct Reader {
    consumer: BaseConsumer,
    topic: String,
    partitions: Vec<i32>,
    stop: Arc<AtomicBool>,
}

impl Reader {
    fn run(self, mut apply: impl FnMut(LogRecord), barriers: mpsc::Receiver<Barrier>) {
        // Barriers waiting for the position to reach these end offsets (partitions with records).
        let mut waiting: Vec<(HashMap<i32, i64>, Barrier)> = Vec::new();
        let mut last_warning: Option<Instant> = None;
        while !self.stop.load(Ordering::Relaxed) {
            while let Ok(reply) = barriers.try_recv() {
                match self.end_offsets() {
                    Ok(ends) => waiting.push((ends, reply)),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            match self.consumer.poll(POLL) {
                Some(Ok(m)) => apply(LogRecord {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                }),
                Some(Err(KafkaError::PartitionEOF(_))) | None => {}
                Some(Err(e)) => {
                    if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                        tracing::warn!(topic = %self.topic, error = %e, "reading internal topic");
                        last_warning = Some(Instant::now());
                    }
                }
            }
            if !waiting.is_empty() {
                self.release_reached(&mut waiting);
            }
        }
        for (_, reply) in waiting {
            let _ = reply.send(Err(ConnectError::fatal(format!("the reader of {} has stopped", self.topic))));
        }
        tracing::debug!(topic = %self.topic, "internal topic reader stopped");
    }

    /// The end offset of every partition that has records.
    fn end_offsets(&self) -> Result<HashMap<i32, i64>> {
        let mut ends = HashMap::new();
        for p in &self.partitions {
            let (low, high) = self
                .consumer
                .fetch_watermarks(&self.topic, *p, REQUEST_TIMEOUT)
                .retriable(|| format!("reading the end offset of {}-{p}", self.topic))?;
            if high > low {
                ends.insert(*p, high);
            }
        }
        Ok(ends)
    }

    /// Answers the barriers whose end offsets the consumer position has reached.
    fn release_reached(&self, waiting: &mut Vec<(HashMap<i32, i64>, Barrier)>) {
        let positions: HashMap<i32, i64> = match self.consumer.position() {
            Ok(list) => list
                .elements_for_topic(&self.topic)
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(o) => Some((e.partition(), o)),
                    _ => None,
                })
                .collect(),
            Err(e) => {
                tracing::debug!(topic = %self.topic, error = %e, "reading consumer position");
                return;
            }
        };
        let reached = |ends: &HashMap<i32, i64>| ends.iter().all(|(p, end)| positions.get(p).is_some_and(|o| o >= end));
        let (done, pending): (Vec<_>, Vec<_>) =
            std::mem::take(waiting).into_iter().partition(|(ends, _)| reached(ends));
        *waiting = pending;
        for (_, reply) in done {
            let _ = reply.send(Ok(()));
        }
    }
}
