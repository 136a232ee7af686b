//! Reading an offsets topic past a transaction a crashed exactly-once task left open, against
//! the real broker: the offsets written after it are hidden from `read_committed` readers until
//! it ends; `refresh` waits for that and then sees them, and never goes back to older values.

mod support;
use support::{kafka, unique};

use std::sync::Arc;
use std::time::Duration;

use aqueduct_runtime::kafka::{KafkaClients, TopicSpec};
use aqueduct_runtime::offsets::{offset_record, OffsetStore, TopicOffsetStore};
use aqueduct_runtime::worker_config::WorkerConfig;
use aqueduct_sdk::{offset_map, OffsetMap, Props};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;
use serde_json::json;

fn n(v: i64) -> OffsetMap {
    offset_map([("n", json!(v))])
}

/// Clients of the test broker, and an offsets topic `topic` of one partition.
fn offsets_topic(topic: &str) -> (KafkaClients, TopicSpec) {
    let config = WorkerConfig::from_props(Props::from([("bootstrap.servers".to_owned(), kafka())])).expect("config");
    (KafkaClients::new(&config), TopicSpec::compacted(topic, 1, -1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_reads_past_a_transaction_once_it_ends() {
    let topic = unique("refresh-offsets");
    let (clients, spec) = offsets_topic(&topic);
    let writer = TopicOffsetStore::open(&clients, spec.clone()).await.expect("store");
    let p = offset_map([("p", json!(0))]);

    // A crashed exactly-once task's transaction stays open on the offsets topic...
    let zombie = transactional("zombie").await;
    zombie.begin_transaction().expect("begin");
    let (key, value) = offset_record("other", &p, Some(&n(99))).expect("record");
    let value = value.expect("value");
    zombie.send(FutureRecord::to(&topic).key(&key).payload(&value), Duration::from_secs(10)).await.expect("sent");
    // ...and another connector's offset is written after it.
    writer.write("c", vec![(p.clone(), Some(n(5)))]).await.expect("write");

    let reader = TopicOffsetStore::open(&clients, spec.clone()).await.expect("reader");
    assert_eq!(reader.get("c", &p), None, "hidden behind the open transaction (read_committed)");

    // The task's successor fences it: here the zombie aborts after a while.
    let z = zombie.clone();
    let abort = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        tokio::task::spawn_blocking(move || z.abort_transaction(Duration::from_secs(30))).await
    });
    reader.refresh().await.expect("refresh waits for the transaction to end");
    assert_eq!(reader.get("c", &p), Some(n(5)));
    assert_eq!(reader.get("other", &p), None, "the aborted offset is not read");
    abort.await.expect("join").expect("join").expect("abort");

    // A newer value written through the reader survives reading the topic again.
    reader.write("c", vec![(p.clone(), Some(n(6)))]).await.expect("write");
    reader.refresh().await.expect("refresh");
    assert_eq!(reader.get("c", &p), Some(n(6)));
}

/// A transactional producer, ready.
async fn transactional(id: &str) -> Arc<FutureProducer> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("transactional.id", unique(id))
        .create()
        .expect("producer");
    let producer = Arc::new(producer);
    let p = producer.clone();
    tokio::task::spawn_blocking(move || p.init_transactions(Duration::from_secs(30)))
        .await
        .expect("join")
        .expect("init");
    producer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_reads_to_a_last_stable_offset_that_follows_a_commit_marker() {
    let topic = unique("stable-end-offsets");
    let (clients, spec) = offsets_topic(&topic);
    drop(TopicOffsetStore::open(&clients, spec.clone()).await.expect("creates the topic"));
    let p = offset_map([("p", json!(0))]);
    let send = |producer: Arc<FutureProducer>, connector: &'static str, offset: OffsetMap| {
        let topic = topic.clone();
        let p = p.clone();
        async move {
            let (key, value) = offset_record(connector, &p, Some(&offset)).expect("record");
            let value = value.expect("value");
            producer
                .send(FutureRecord::to(&topic).key(&key).payload(&value), Duration::from_secs(10))
                .await
                .expect("sent");
        }
    };
    // Offset 0 a committed offset, 1 its commit marker (never delivered to a reader), 2 a
    // record of a transaction left open: the last stable offset is 2.
    let task = transactional("committed").await;
    task.begin_transaction().expect("begin");
    send(task.clone(), "c", n(1)).await;
    let t = task.clone();
    tokio::task::spawn_blocking(move || t.commit_transaction(Duration::from_secs(30)))
        .await
        .expect("join")
        .expect("commit");
    let zombie = transactional("zombie").await;
    zombie.begin_transaction().expect("begin");
    send(zombie.clone(), "other", n(99)).await;

    let reader = tokio::time::timeout(Duration::from_secs(30), TopicOffsetStore::open(&clients, spec))
        .await
        .expect("opening does not wait for the open transaction")
        .expect("reader");
    assert_eq!(reader.get("c", &p), Some(n(1)));
    assert_eq!(reader.get("other", &p), None, "behind the open transaction");
    let z = zombie.clone();
    tokio::task::spawn_blocking(move || z.abort_transaction(Duration::from_secs(30)))
        .await
        .expect("join")
        .expect("abort");
}
