//! The test's own Kafka clients: create topics, produce, read a topic back, read a group's offsets.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::common::kafka;

const TIMEOUT: Duration = Duration::from_secs(10);

fn config() -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", kafka());
    c
}

/// Creates `topic` with `partitions` partitions (replication factor 1).
pub fn create_topic(topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = config().create().expect("admin client");
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let results = rt.block_on(admin.create_topics(&[new], &AdminOptions::new())).expect("create topics");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
    }
}

/// A producer of string values to chosen partitions; `Drop` flushes.
pub struct StringProducer(ThreadedProducer<DefaultProducerContext>);

impl StringProducer {
    /// A producer with acks from all replicas.
    pub fn new() -> Self {
        StringProducer(config().set("acks", "all").set("linger.ms", "5").create().expect("producer"))
    }

    /// Queues one record with a null key.
    pub fn send(&self, topic: &str, partition: i32, value: &str) {
        let mut record = BaseRecord::<(), str>::to(topic).partition(partition).payload(value);
        loop {
            match self.0.send(record) {
                Ok(()) => return,
                Err((e, r)) => {
                    assert!(
                        matches!(e.rdkafka_error_code(), Some(rdkafka::types::RDKafkaErrorCode::QueueFull)),
                        "producing to {topic}: {e}"
                    );
                    record = r;
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    /// Waits until every queued record is acknowledged.
    pub fn flush(&self) {
        self.0.flush(TIMEOUT).expect("flush producer");
    }
}

/// One record as read back: partition, key and value bytes, headers.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Record {
    /// The value as UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8(self.value.clone().unwrap_or_default()).expect("UTF-8 value")
    }
}

/// Every record of every partition of `topic`, partition by partition in offset order.
pub fn read_topic(topic: &str) -> Vec<Record> {
    let consumer: BaseConsumer = config().set("group.id", "interop-reader").create().expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT).expect("topic metadata");
    let partitions: Vec<i32> = metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    let mut high = HashMap::new();
    let mut assignment = TopicPartitionList::new();
    for p in partitions {
        let (low, hi) = consumer.fetch_watermarks(topic, p, TIMEOUT).expect("watermarks");
        if hi > low {
            high.insert(p, hi);
            assignment.add_partition_offset(topic, p, Offset::Beginning).expect("assignment");
        }
    }
    let mut by_partition: HashMap<i32, Vec<Record>> = HashMap::new();
    if high.is_empty() {
        return Vec::new();
    }
    consumer.assign(&assignment).expect("assign");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut remaining = high.clone();
    while !remaining.is_empty() {
        assert!(Instant::now() < deadline, "timed out reading {topic}; partitions left {remaining:?}");
        let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
        let message = message.expect("reading the topic");
        by_partition.entry(message.partition()).or_default().push(Record {
            partition: message.partition(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers: message
                .headers()
                .map(|hs| hs.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect())
                .unwrap_or_default(),
        });
        if remaining.get(&message.partition()).is_some_and(|hi| message.offset() + 1 >= *hi) {
            remaining.remove(&message.partition());
        }
    }
    let mut keys: Vec<i32> = by_partition.keys().copied().collect();
    keys.sort_unstable();
    keys.into_iter().flat_map(|p| by_partition.remove(&p).unwrap_or_default()).collect()
}

/// The number of records in `topic` (sum of high watermarks of its partitions; nothing is deleted).
pub fn count(topic: &str) -> i64 {
    end_offsets(topic).values().sum()
}

/// The end offset (high watermark) of each partition of `topic`.
pub fn end_offsets(topic: &str) -> HashMap<i32, i64> {
    let consumer: BaseConsumer = config().create().expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT).expect("topic metadata");
    let partitions: Vec<i32> = metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    partitions.into_iter().map(|p| (p, consumer.fetch_watermarks(topic, p, TIMEOUT).expect("watermarks").1)).collect()
}

/// The offsets `group` committed for `topic`'s partitions (absent when none).
pub fn committed(group: &str, topic: &str, partitions: i32) -> HashMap<i32, i64> {
    let consumer: BaseConsumer = config().set("group.id", group).create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let committed = consumer.committed_offsets(tpl, TIMEOUT).expect("committed offsets");
    committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}
