//! The S3 source reads back what the sink wrote: same topics, partitions and order; resumes
//! from a stored offset within an object.

use std::sync::Arc;

use aqueduct_connector_s3::sink::S3SinkTask;
use aqueduct_connector_s3::source::{S3SourceConnector, S3SourceTask};
use aqueduct_sdk::testing::{MemoryOffsets, QuietConnectorContext, RecordingSinkContext};
use aqueduct_sdk::{Connector, Props, SinkTask, SourceRecord, SourceTask, SourceTaskContext, Value};

use crate::common::*;

fn source_props(bucket: &str, extra: &[(&str, &str)]) -> Props {
    let mut props = sink_props(
        bucket,
        &[
            ("connector.class", "io.confluent.connect.s3.source.S3SourceConnector"),
            ("s3.poll.interval.ms", "100"),
            ("record.batch.max.size", "4"),
        ],
    );
    props.remove("flush.size");
    props.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    props
}

/// Polls until `n` records came or nothing more arrives for a few polls.
async fn drain(task: &mut S3SourceTask, offsets: &MemoryOffsets, n: usize) -> Vec<SourceRecord> {
    let mut out = Vec::new();
    let mut idle = 0;
    while out.len() < n && idle < 5 {
        let batch = task.poll().await.expect("poll");
        if batch.is_empty() {
            idle += 1;
        }
        for r in &batch {
            offsets.store(r);
        }
        out.extend(batch);
    }
    out
}

async fn write_objects(bucket: &str) {
    let mut sink = S3SinkTask::new();
    sink.start(Arc::new(RecordingSinkContext::default()), sink_props(bucket, &[])).await.expect("start sink");
    let mut records = Vec::new();
    for partition in 0..2 {
        records.extend((0..9).map(|o| numbered("orders", partition, o)));
    }
    sink.put(&records).await.expect("put");
}

fn n(record: &SourceRecord) -> i64 {
    record.value.map_get("n").and_then(Value::as_i64).expect("n")
}

#[tokio::test]
async fn reads_every_object_back_into_its_topic_and_partition_in_order() {
    let bucket = bucket("source").await;
    write_objects(&bucket).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = S3SourceTask::new();
    task.start(SourceTaskContext::new("s3-source", 0, offsets.clone()), source_props(&bucket, &[]))
        .await
        .expect("start");
    let records = drain(&mut task, &offsets, 18).await;
    assert_eq!(records.len(), 18);
    for partition in 0..2 {
        let of: Vec<i64> = records.iter().filter(|r| r.kafka_partition == Some(partition)).map(n).collect();
        assert_eq!(of, (0..9).collect::<Vec<_>>(), "partition {partition} in order");
    }
    assert!(records.iter().all(|r| r.topic == "orders"));
    let last = records.iter().rfind(|r| r.kafka_partition == Some(0)).expect("a record");
    assert_eq!(last.source_offset["lastFileRead"], "topics/orders/partition=0/orders+0+0000000006.json");
    assert_eq!(last.source_offset["fileOffset"], 3);
    assert_eq!(last.source_offset["eof"], true);
}

#[tokio::test]
async fn a_restarted_task_resumes_after_the_stored_record_and_sees_new_objects() {
    let bucket = bucket("resume").await;
    write_objects(&bucket).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let props = source_props(&bucket, &[("record.batch.max.size", "1")]);
    let mut first = S3SourceTask::new();
    first.start(SourceTaskContext::new("s3-source", 0, offsets.clone()), props.clone()).await.expect("start");
    // Stop in the middle of an object: five records, i.e. two into the second object of a stream.
    let seen = drain(&mut first, &offsets, 5).await;
    drop(first);
    let mut second = S3SourceTask::new();
    second.start(SourceTaskContext::new("s3-source", 0, offsets.clone()), props).await.expect("restart");
    let rest = drain(&mut second, &offsets, 100).await;
    let mut all: Vec<(Option<i32>, i64)> = seen.iter().chain(&rest).map(|r| (r.kafka_partition, n(r))).collect();
    assert_eq!(all.len(), 18, "nothing produced twice or skipped: {all:?}");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 18);

    // A new object appears: the running task picks it up at its next listing.
    let mut sink = S3SinkTask::new();
    sink.start(Arc::new(RecordingSinkContext::default()), sink_props(&bucket, &[])).await.expect("sink");
    sink.put(&(9..12).map(|o| numbered("orders", 1, o)).collect::<Vec<_>>()).await.expect("put");
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let new = drain(&mut second, &offsets, 3).await;
    assert_eq!(new.iter().map(n).collect::<Vec<_>>(), [9, 10, 11]);
}

#[tokio::test]
async fn tasks_share_the_streams_without_overlap() {
    let bucket = bucket("shares").await;
    write_objects(&bucket).await;
    let mut connector = S3SourceConnector::default();
    connector.start(Arc::new(QuietConnectorContext::default()), source_props(&bucket, &[])).await.expect("connector");
    let mut all = Vec::new();
    for props in connector.task_configs(3).expect("task configs") {
        let offsets = Arc::new(MemoryOffsets::default());
        let mut task = S3SourceTask::new();
        task.start(SourceTaskContext::new("s3-source", 0, offsets.clone()), props).await.expect("start");
        all.extend(drain(&mut task, &offsets, 100).await.iter().map(|r| (r.kafka_partition, n(r))));
    }
    all.sort();
    assert_eq!(all.len(), 18);
    all.dedup();
    assert_eq!(all.len(), 18, "each record read by one task");
}
