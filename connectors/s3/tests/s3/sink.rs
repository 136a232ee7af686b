//! The S3 sink task against moto: object names and contents, rotation, commits, errors.

use std::sync::Arc;
use std::time::Duration;

use aqueduct_connector_s3::sink::S3SinkTask;
use aqueduct_sdk::{Schema, SchemaType, SinkRecord, SinkTask, Struct, TopicPartition, TopicPartitionOffsets, Value};

use aqueduct_sdk::testing::RecordingSinkContext;

use crate::common::*;

async fn started(props: aqueduct_sdk::Props, context: Arc<RecordingSinkContext>) -> S3SinkTask {
    let mut task = S3SinkTask::new();
    task.start(context, props).await.expect("start");
    task
}

fn next_offsets(records: &[SinkRecord]) -> TopicPartitionOffsets {
    let mut offsets = TopicPartitionOffsets::new();
    for r in records {
        offsets.insert(r.topic_partition(), r.kafka_offset + 1);
    }
    offsets
}

fn batch(topic: &str, partition: i32, offsets: std::ops::Range<i64>) -> Vec<SinkRecord> {
    offsets.map(|o| numbered(topic, partition, o)).collect()
}

#[tokio::test]
async fn objects_hold_flush_size_records_and_offsets_commit_only_past_them() {
    let bucket = bucket("flush").await;
    let mut task = started(sink_props(&bucket, &[]), Arc::default()).await;
    let mut records = batch("orders", 0, 0..7);
    records.extend(batch("orders", 1, 0..5));
    task.put(&records).await.expect("put");
    let durable = task.pre_commit(&next_offsets(&records)).await.expect("pre_commit");
    assert_eq!(
        durable,
        TopicPartitionOffsets::from([(TopicPartition::new("orders", 0), 6), (TopicPartition::new("orders", 1), 3)]),
        "offsets stop at the first record not in a committed object"
    );
    assert_eq!(
        keys(&bucket, "").await,
        [
            "topics/orders/partition=0/orders+0+0000000000.json",
            "topics/orders/partition=0/orders+0+0000000003.json",
            "topics/orders/partition=1/orders+1+0000000000.json",
        ]
    );
    assert_eq!(
        lines(&bucket, "topics/orders/partition=0/orders+0+0000000003.json").await,
        [r#"{"n":3}"#, r#"{"n":4}"#, r#"{"n":5}"#]
    );
    task.stop().await.expect("stop");
}

#[tokio::test]
async fn a_redelivered_batch_writes_nothing_twice() {
    let bucket = bucket("redeliver").await;
    let mut task = started(sink_props(&bucket, &[]), Arc::default()).await;
    task.put(&batch("t", 0, 0..5)).await.expect("put");
    task.put(&batch("t", 0, 0..5)).await.expect("put again, as after a retriable failure");
    task.put(&batch("t", 0, 5..9)).await.expect("put");
    let objects = keys(&bucket, "").await;
    assert_eq!(objects.len(), 3, "{objects:?}");
    let mut all = Vec::new();
    for key in &objects {
        all.extend(lines(&bucket, key).await);
    }
    let expected: Vec<String> = (0..9).map(|n| format!(r#"{{"n":{n}}}"#)).collect();
    assert_eq!(all, expected);
}

#[tokio::test]
async fn a_task_consuming_again_from_the_committed_offset_rewrites_the_same_objects() {
    let bucket = bucket("replay").await;
    let mut first = started(sink_props(&bucket, &[("flush.size", "4")]), Arc::default()).await;
    first.put(&batch("t", 0, 0..10)).await.expect("put");
    let before = keys(&bucket, "").await;
    let mut bytes = Vec::new();
    for key in &before {
        bytes.push(get(&bucket, key).await);
    }
    // The worker died before the consumer offset of the second object was committed: a new task
    // consumes again from offset 4.
    drop(first);
    let mut second = started(sink_props(&bucket, &[("flush.size", "4")]), Arc::default()).await;
    second.put(&batch("t", 0, 4..12)).await.expect("put");
    let after = keys(&bucket, "").await;
    assert_eq!(
        after,
        [
            "topics/t/partition=0/t+0+0000000000.json",
            "topics/t/partition=0/t+0+0000000004.json",
            "topics/t/partition=0/t+0+0000000008.json"
        ]
    );
    for (key, old) in before.iter().zip(&bytes) {
        assert_eq!(&get(&bucket, key).await, old, "{key} rewritten identically");
    }
    assert_eq!(lines(&bucket, &after[2]).await.len(), 4);
}

#[tokio::test]
async fn a_schema_change_starts_a_new_object() {
    let bucket = bucket("schema").await;
    let mut task = started(sink_props(&bucket, &[("flush.size", "100")]), Arc::default()).await;
    let v1 = Schema::struct_builder().field("id", Schema::int64()).build();
    let v2 = Schema::struct_builder()
        .field("id", Schema::int64())
        .field("name", Schema::optional(SchemaType::String))
        .build();
    let row = |schema: &aqueduct_sdk::SchemaRef, offset: i64| {
        let mut s = Struct::new(Arc::clone(schema)).put("id", offset).expect("id");
        if schema.fields.len() > 1 {
            s = s.put("name", "x").expect("name");
        }
        record("t", 0, offset, Some(Arc::clone(schema)), Value::Struct(s))
    };
    let records = vec![row(&v1, 0), row(&v1, 1), row(&v2, 2), row(&v2, 3)];
    task.put(&records).await.expect("put");
    assert_eq!(
        task.pre_commit(&next_offsets(&records)).await.expect("pre_commit"),
        TopicPartitionOffsets::from([(TopicPartition::new("t", 0), 2)])
    );
    assert_eq!(keys(&bucket, "").await, ["topics/t/partition=0/t+0+0000000000.json"]);
    assert_eq!(lines(&bucket, "topics/t/partition=0/t+0+0000000000.json").await, [r#"{"id":0}"#, r#"{"id":1}"#]);
}

#[tokio::test]
async fn rotate_interval_spans_record_time() {
    let bucket = bucket("interval").await;
    // Record timestamps are one second apart; each object spans less than 2.5 s of them.
    let mut task =
        started(sink_props(&bucket, &[("flush.size", "100"), ("rotate.interval.ms", "2500")]), Arc::default()).await;
    task.put(&batch("t", 0, 0..8)).await.expect("put");
    assert_eq!(
        keys(&bucket, "").await,
        ["topics/t/partition=0/t+0+0000000000.json", "topics/t/partition=0/t+0+0000000003.json"]
    );
    assert_eq!(lines(&bucket, "topics/t/partition=0/t+0+0000000003.json").await.len(), 3);
}

#[tokio::test]
async fn a_scheduled_rotation_flushes_a_quiet_partitions_tail() {
    let bucket = bucket("schedule").await;
    let props =
        sink_props(&bucket, &[("flush.size", "100"), ("rotate.schedule.interval.ms", "1000"), ("timezone", "UTC")]);
    let mut task = started(props, Arc::default()).await;
    let records = batch("t", 0, 0..2);
    task.put(&records).await.expect("put");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let durable = task.pre_commit(&next_offsets(&records)).await.expect("pre_commit");
    assert_eq!(durable, TopicPartitionOffsets::from([(TopicPartition::new("t", 0), 2)]));
    assert_eq!(lines(&bucket, "topics/t/partition=0/t+0+0000000000.json").await.len(), 2);
}

#[tokio::test]
async fn field_and_time_partitioners_write_the_documented_paths() {
    let bucket = bucket("paths").await;
    let schema = Schema::struct_builder().field("region", Schema::string()).field("ts", Schema::int64()).build();
    let row = |offset: i64, region: &str, ts: i64| {
        let s = Struct::new(Arc::clone(&schema)).put("region", region).and_then(|s| s.put("ts", ts)).expect("row");
        record("orders", 1, offset, Some(Arc::clone(&schema)), Value::Struct(s))
    };
    let mut field = started(
        sink_props(
            &bucket,
            &[
                ("topics.dir", "by-field"),
                ("partitioner.class", "io.confluent.connect.storage.partitioner.FieldPartitioner"),
                ("partition.field.name", "region"),
            ],
        ),
        Arc::default(),
    )
    .await;
    field.put(&[row(0, "eu", 0), row(1, "us", 0), row(2, "eu", 0)]).await.expect("put");
    assert_eq!(
        keys(&bucket, "by-field/").await,
        ["by-field/orders/region=eu/orders+1+0000000000.json", "by-field/orders/region=us/orders+1+0000000001.json"]
    );
    assert_eq!(lines(&bucket, "by-field/orders/region=eu/orders+1+0000000000.json").await.len(), 2);

    let mut time = started(
        sink_props(
            &bucket,
            &[
                ("topics.dir", "by-time"),
                ("partitioner.class", "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"),
                ("path.format", "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH"),
                ("partition.duration.ms", "3600000"),
                ("timestamp.extractor", "RecordField"),
                ("timestamp.field", "ts"),
                ("timezone", "UTC"),
                ("locale", "en-US"),
            ],
        ),
        Arc::default(),
    )
    .await;
    // 2024-03-05T07:59:59.999Z, then 08:00:00.000Z
    time.put(&[row(0, "eu", 1_709_625_599_999), row(1, "eu", 1_709_625_600_000), row(2, "eu", 1_709_625_600_001)])
        .await
        .expect("put");
    assert_eq!(
        keys(&bucket, "by-time/").await,
        [
            "by-time/orders/year=2024/month=03/day=05/hour=07/orders+1+0000000000.json",
            "by-time/orders/year=2024/month=03/day=05/hour=08/orders+1+0000000001.json",
        ]
    );
}

#[tokio::test]
async fn tombstones_follow_behavior_on_null_values_and_errors_tolerance() {
    let bucket = bucket("nulls").await;
    let tombstone = |o| record("t", 0, o, None, Value::Null);
    let mut ignoring = started(
        sink_props(&bucket, &[("behavior.on.null.values", "ignore"), ("topics.dir", "ignore")]),
        Arc::default(),
    )
    .await;
    let records = vec![numbered("t", 0, 0), tombstone(1), numbered("t", 0, 2), numbered("t", 0, 3)];
    ignoring.put(&records).await.expect("put");
    assert_eq!(
        lines(&bucket, "ignore/t/partition=0/t+0+0000000000.json").await,
        [r#"{"n":0}"#, r#"{"n":2}"#, r#"{"n":3}"#]
    );

    let mut failing = started(sink_props(&bucket, &[("topics.dir", "fail")]), Arc::default()).await;
    let err = failing.put(&records).await.expect_err("a tombstone fails the task");
    assert!(err.to_string().contains("behavior.on.null.values"), "{err}");

    let context = Arc::new(RecordingSinkContext::tolerant());
    let mut reporting = started(sink_props(&bucket, &[("topics.dir", "dlq")]), Arc::clone(&context)).await;
    reporting.put(&records).await.expect("put");
    assert_eq!(context.reported().iter().map(|(r, _)| r.kafka_offset).collect::<Vec<_>>(), [1]);
    assert_eq!(lines(&bucket, "dlq/t/partition=0/t+0+0000000000.json").await.len(), 3);
}

#[tokio::test]
async fn a_missing_bucket_fails_start_naming_it() {
    let mut task = S3SinkTask::new();
    let err = task
        .start(Arc::new(RecordingSinkContext::default()), sink_props("no-such-bucket-here", &[]))
        .await
        .expect_err("start fails");
    assert!(!err.is_retriable(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("no-such-bucket-here") && text.contains("does not exist"), "{text}");
}

#[tokio::test]
async fn a_large_object_streams_in_parts_and_appears_only_when_complete() {
    let bucket = bucket("multipart").await;
    let props =
        sink_props(&bucket, &[("flush.size", "60"), ("s3.part.size", "5242880"), ("format.class", "ByteArrayFormat")]);
    let mut task = started(props, Arc::default()).await;
    let blob = |o: i64| record("big", 0, o, None, Value::Bytes(vec![b'a' + (o % 26) as u8; 200 * 1024]));
    task.put(&(0..40).map(blob).collect::<Vec<_>>()).await.expect("put");
    // 8 MB written: one 5 MiB part is up, the object is not visible yet.
    let uploads = client(&endpoint()).list_multipart_uploads().bucket(&bucket).send().await.expect("list uploads");
    assert_eq!(uploads.uploads().len(), 1, "a multipart upload is in progress");
    assert!(keys(&bucket, "").await.is_empty(), "no object before it is complete");
    task.put(&(40..60).map(blob).collect::<Vec<_>>()).await.expect("put");
    let key = "topics/big/partition=0/big+0+0000000000.bin";
    let bytes = get(&bucket, key).await;
    assert_eq!(bytes.len(), 60 * (200 * 1024 + 1));
    for (o, chunk) in bytes.chunks(200 * 1024 + 1).enumerate() {
        assert!(chunk[..200 * 1024].iter().all(|b| *b == b'a' + (o % 26) as u8), "record {o} intact");
    }
}

#[test]
fn example_configs_parse() {
    use aqueduct_connector_s3::sink::SinkConfig;
    use aqueduct_connector_s3::source::SourceConfig;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut seen = 0;
    for (dir, sink) in [("s3-sink", true), ("s3-source", false)] {
        for entry in std::fs::read_dir(root.join(dir)).expect("configs dir") {
            let path = entry.expect("entry").path();
            let json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
            let props: aqueduct_sdk::Props = json["config"]
                .as_object()
                .expect("a config object")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            let plugin = if sink { aqueduct_connector_s3::sink::PLUGIN } else { aqueduct_connector_s3::source::PLUGIN };
            assert!(plugin.answers_to(&props["connector.class"]), "{}", path.display());
            if sink {
                SinkConfig::parse(&props).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            } else {
                SourceConfig::parse(&props).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 2);
}
