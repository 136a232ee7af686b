//! Reading what landed in a topic, for the checks of the e2e tests.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::common::{kafka, unique, wait_for, Worker};

/// Every record of partition 0 of `topic`, from its start to its end (`read_committed`: only
/// those of committed transactions). Waits up to a minute for the topic to be readable.
pub fn read_partition(topic: &str, read_committed: bool) -> Vec<OwnedMessage> {
    read_partition_at(topic, 0, read_committed)
}

/// Every record of `partition` of `topic`, as [`read_partition`] reads partition 0.
pub fn read_partition_at(topic: &str, partition: i32, read_committed: bool) -> Vec<OwnedMessage> {
    let isolation = if read_committed { "read_committed" } else { "read_uncommitted" };
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("group.id", unique("e2e-reader"))
        .set("isolation.level", isolation)
        .set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning).expect("partition");
    consumer.assign(&tpl).expect("assign");
    let mut records = Vec::new();
    wait_for(&format!("the end of {topic}"), Duration::from_secs(60), || loop {
        match consumer.poll(Duration::from_millis(500))? {
            Err(KafkaError::PartitionEOF(_)) => return Some(()),
            Err(e) => {
                eprintln!("reading {topic}: {e}; retrying");
                return None;
            }
            Ok(m) => records.push(m.detach()),
        }
    });
    records
}

/// The end offset of partition 0 of `topic` (records of open transactions and transaction
/// markers included), 0 while it does not exist.
pub fn high_watermark(topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", kafka()).create().expect("consumer");
    consumer.fetch_watermarks(topic, 0, Duration::from_secs(5)).map(|(_, high)| high).unwrap_or(0)
}

/// A record's value as text (empty for none).
pub fn text(m: &OwnedMessage) -> String {
    String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned()
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

/// Creates `topic` with `partitions` partitions.
pub fn create_topic(topic: &str, partitions: i32) {
    block_on(async {
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", kafka()).create().expect("admin");
        let created = admin
            .create_topics(&[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))], &AdminOptions::new())
            .await
            .expect("create topic");
        assert!(created.iter().all(Result::is_ok), "{created:?}");
    });
}

/// Produces keyed records `(partition, key, value)` in order; `None` values are tombstones.
pub fn produce(topic: &str, records: &[(i32, String, Option<String>)]) {
    block_on(async {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", kafka())
            .set("linger.ms", "5")
            .set("enable.idempotence", "true")
            .create()
            .expect("producer");
        let mut pending = Vec::new();
        for (p, k, v) in records {
            let mut r = FutureRecord::to(topic).partition(*p).key(k.as_str());
            if let Some(v) = v {
                r = r.payload(v.as_str());
            }
            pending.push(producer.send_result(r).unwrap_or_else(|(e, _)| panic!("produce: {e}")));
        }
        for p in pending {
            p.await.expect("delivery").unwrap_or_else(|(e, _)| panic!("produce: {e}"));
        }
        producer.flush(Duration::from_secs(30)).expect("flush");
    });
}

/// Every message of partition 0 of `topic` up to its end, once it holds at least `min`; a
/// timeout shows the end of `worker`'s log.
pub fn read_at_least(worker: &Worker, topic: &str, min: usize) -> Vec<OwnedMessage> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("group.id", unique("e2e-reader"))
        .set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning).expect("partition");
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    worker.wait(&format!("{min} messages on {topic}"), Duration::from_secs(60), || {
        match consumer.poll(Duration::from_millis(500))? {
            Err(KafkaError::PartitionEOF(_)) => return (out.len() >= min).then(|| std::mem::take(&mut out)),
            Err(_) => {}
            Ok(m) => out.push(m.detach()),
        }
        None
    })
}

/// A message's headers, values as text.
pub fn header_texts<C: FromIterator<(String, String)>>(m: &OwnedMessage) -> C {
    m.headers()
        .into_iter()
        .flat_map(|h| h.iter())
        .map(|h| (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
        .collect()
}
