//! Exactly-once sources (KIP-618) against the real broker: a datagen source is killed with
//! SIGKILL three times mid-stream; a `read_committed` consumer then sees every record exactly
//! once. The same run at least once shows the duplicates that mode allows.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::Message;
use serde_json::{json, Value};

use crate::common::{free_port, unique, Worker};
use crate::topics::{high_watermark, read_partition};

/// What a `read_committed` consumer sees in partition 0 of `topic`: how often each id occurs.
/// Panics if a record's value does not belong to its key.
fn committed_ids(topic: &str) -> BTreeMap<i64, u32> {
    let mut ids = BTreeMap::new();
    for m in read_partition(topic, true) {
        let key: i64 = m.key().and_then(|k| std::str::from_utf8(k).ok()?.parse().ok()).expect("numeric key");
        let value: Value = m.payload().and_then(|v| serde_json::from_slice(v).ok()).expect("JSON value");
        assert_eq!(value["id"], json!(key), "value of record {key}: {value}");
        *ids.entry(key).or_insert(0) += 1;
    }
    ids
}

/// Runs datagen (`records` of them, one every 5 ms, so the kills land mid-stream) into a fresh
/// topic, killing the worker three times once the topic has grown, then lets it finish;
/// returns what a `read_committed` consumer sees. `boundary` is the `transaction.boundary`
/// with exactly-once support, `None` for at least once.
fn datagen_killed_three_times(boundary: Option<&str>, records: i64) -> BTreeMap<i64, u32> {
    let exactly_once = boundary.is_some();
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = unique("e2e-eos");
    let worker_extra = json!({
        "offset.storage.topic": unique("e2e-offsets"),
        "rest.port": free_port(),
        "exactly.once.source.support": if exactly_once { "enabled" } else { "disabled" },
        "offset.flush.interval.ms": 2000,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter.schemas.enable": false,
    });
    let connector = json!({"name": format!("{topic}-gen"), "config": {
        "connector.class": "DatagenSource", "kafka.topic": topic, "iterations": records, "max.interval": 5,
        "exactly.once.support": if exactly_once { "required" } else { "requested" },
        "transaction.boundary": boundary.unwrap_or("poll"), "transaction.boundary.interval.ms": 100,
    }});
    let connectors = [connector];
    let started = std::time::Instant::now();
    for run in 1..=3 {
        let worker = Worker::start(&dir.path().join(format!("run{run}")), worker_extra.clone(), &connectors);
        let goal = records * run / 4;
        worker.wait(&format!("{goal} records written"), Duration::from_secs(120), || {
            (high_watermark(&topic) >= goal).then_some(())
        });
        worker.kill9();
        let seen: u32 = committed_ids(&topic).values().sum();
        println!("run {run}: killed with {seen} of {records} records committed at {:?}", started.elapsed());
        assert!(i64::from(seen) < records, "the stream ended before the kill; nothing was tested");
    }
    let worker = Worker::start(&dir.path().join("run4"), worker_extra, &connectors);
    let ids = worker.wait("every record", Duration::from_secs(180), || {
        let ids = committed_ids(&topic);
        (ids.len() as i64 >= records).then_some(ids)
    });
    println!("all {records} records committed at {:?}", started.elapsed());
    assert!(worker.terminate(Duration::from_secs(30)), "clean shutdown");
    ids
}

fn assert_exactly_once(ids: &BTreeMap<i64, u32>, records: i64) {
    let expected: Vec<i64> = (0..records).collect();
    assert_eq!(ids.keys().copied().collect::<Vec<_>>(), expected, "every id, nothing else");
    let duplicated: Vec<(&i64, &u32)> = ids.iter().filter(|(_, n)| **n > 1).take(10).collect();
    assert!(duplicated.is_empty(), "records seen more than once: {duplicated:?}");
    let sum: i64 = ids.keys().sum();
    assert_eq!(sum, records * (records - 1) / 2, "checksum of ids");
}

#[test]
fn exactly_once_source_with_a_transaction_per_poll_survives_three_kill_9s() {
    // A transaction per one-record poll: fewer records keep the test short.
    assert_exactly_once(&datagen_killed_three_times(Some("poll"), 400), 400);
}

#[test]
fn exactly_once_source_with_interval_transactions_survives_three_kill_9s() {
    assert_exactly_once(&datagen_killed_three_times(Some("interval"), 3000), 3000);
}

#[test]
fn at_least_once_source_duplicates_after_kill_9() {
    let records = 3000;
    let ids = datagen_killed_three_times(None, records);
    assert_eq!(ids.len() as i64, records, "every id");
    let duplicates: u32 = ids.values().map(|n| n - 1).sum();
    println!("at least once: {duplicates} duplicates after three kill -9s");
    assert!(duplicates > 0, "a kill -9 between offset flushes re-sends records");
}
