//! The S3 sink in the real worker against Apache Kafka and moto: 3 partitions, flush.size
//! objects, a kill -9 mid-run, and afterwards every record in exactly one object; then the S3
//! source reads the objects back into a topic.

use std::collections::BTreeSet;
use std::time::Duration;

use aqueduct_connector_s3::format::Format;
use aqueduct_connector_s3::sink::SinkConfig;
use aqueduct_connector_s3::storage::Store;
use aqueduct_sdk::{Props, Value};
use serde_json::json;

use crate::common::{unique, Worker};
use crate::topics::{create_topic, produce, read_partition_at, text};

const MOTO: &str = "http://127.0.0.1:9000";
const PARTITIONS: i32 = 3;
const FLUSH: usize = 1000;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

fn store(bucket: &str) -> Store {
    let config = sink_config("check", "t", bucket, "JsonFormat");
    let props: Props = config["config"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    block_on(Store::new(&SinkConfig::parse(&props).expect("sink config").storage))
}

fn create_bucket(bucket: &str) {
    let status = std::process::Command::new("curl")
        .args(["-sf", "-X", "PUT", &format!("{MOTO}/{bucket}")])
        .status()
        .expect("curl");
    assert!(status.success(), "create bucket {bucket} on moto (scripts/services.sh up s3)");
}

/// A JsonConverter envelope with a struct schema: typed columns for Parquet.
fn value(partition: i32, n: i64) -> String {
    json!({
        "schema": {"type": "struct", "name": "e2e.Order", "optional": false, "fields": [
            {"field": "p", "type": "int32", "optional": false},
            {"field": "n", "type": "int64", "optional": false},
            {"field": "note", "type": "string", "optional": true},
        ]},
        "payload": {"p": partition, "n": n, "note": format!("order {n}")},
    })
    .to_string()
}

fn produce_range(topic: &str, range: std::ops::Range<i64>) {
    let records: Vec<(i32, String, Option<String>)> =
        (0..PARTITIONS).flat_map(|p| range.clone().map(move |n| (p, format!("k{n}"), Some(value(p, n))))).collect();
    produce(topic, &records);
}

fn sink_config(name: &str, topic: &str, bucket: &str, format: &str) -> serde_json::Value {
    json!({"name": name, "config": {
        "connector.class": "io.confluent.connect.s3.S3SinkConnector",
        "topics": topic,
        "tasks.max": "1",
        "s3.bucket.name": bucket,
        "s3.region": "us-east-1",
        "store.url": MOTO,
        "aws.access.key.id": "test",
        "aws.secret.access.key": "test",
        "format.class": format,
        "flush.size": FLUSH.to_string(),
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
    }})
}

/// Checks the bucket holds exactly `per_partition` records per partition, each in one object
/// named by its first offset, every object `flush.size` records.
fn check_objects(bucket: &str, topic: &str, format: &Format, per_partition: i64) {
    let store = store(bucket);
    let keys = block_on(store.list(&format!("topics/{topic}/"), None, None)).expect("list").objects;
    let objects_per_partition = per_partition / FLUSH as i64;
    assert_eq!(keys.len() as i64, i64::from(PARTITIONS) * objects_per_partition, "{keys:#?}");
    let mut seen = BTreeSet::new();
    for key in &keys {
        let bytes = block_on(store.get(key)).expect("get");
        let records = format.read(&bytes).expect("read object");
        assert_eq!(records.len(), FLUSH, "{key}");
        let field = |v: &Value, name: &str| match v {
            Value::Struct(s) => s.get(name).and_then(Value::as_i64),
            other => other.map_get(name).and_then(Value::as_i64),
        };
        let first = &records[0].value;
        let (p, start) = (field(first, "p").expect("p"), field(first, "n").expect("n"));
        let expected = format!("topics/{topic}/partition={p}/{topic}+{p}+{start:010}{}", format.extension());
        assert_eq!(key, &expected, "named by partition and first offset");
        for (i, r) in records.iter().enumerate() {
            assert_eq!(field(&r.value, "n"), Some(start + i as i64), "{key} record {i}");
            assert!(seen.insert((p, start + i as i64)), "record {p}/{} in two objects", start + i as i64);
        }
    }
    assert_eq!(seen.len() as i64, i64::from(PARTITIONS) * per_partition);
}

fn sink_survives_kill9(format_class: &str, format: Format) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = unique("e2e-s3");
    let bucket = unique("e2e-s3").to_lowercase();
    create_bucket(&bucket);
    create_topic(&topic, PARTITIONS);
    // 5,500 records per partition: five objects each, and a tail of 500 buffered when killed.
    produce_range(&topic, 0..5_500);
    let worker_extra = json!({"offset.storage.topic": unique("e2e-offsets"), "offset.flush.interval.ms": 1000});
    let connector = sink_config(&format!("{topic}-sink"), &topic, &bucket, format_class);
    let worker = Worker::start(&dir.path().join("run1"), worker_extra.clone(), std::slice::from_ref(&connector));
    let store = store(&bucket);
    let prefix = format!("topics/{topic}/");
    worker.wait("the first 15 objects", Duration::from_secs(120), || {
        let n = block_on(store.list(&prefix, None, None)).map(|l| l.objects.len()).unwrap_or(0);
        (n >= 15).then_some(())
    });
    worker.kill9();

    produce_range(&topic, 5_500..10_000);
    let worker = Worker::start(&dir.path().join("run2"), worker_extra, &[connector]);
    worker.wait("all 30 objects", Duration::from_secs(180), || {
        let n = block_on(store.list(&prefix, None, None)).map(|l| l.objects.len()).unwrap_or(0);
        (n >= 30).then_some(())
    });
    // Give a replay the chance to write a stray object before checking there is none.
    std::thread::sleep(Duration::from_secs(2));
    check_objects(&bucket, &topic, &format, 10_000);
    assert!(worker.terminate(Duration::from_secs(30)), "clean shutdown");
    (dir, topic, bucket)
}

#[test]
fn json_objects_hold_every_record_exactly_once_across_a_kill9_and_the_source_reads_them_back() {
    let (dir, topic, bucket) =
        sink_survives_kill9("io.confluent.connect.s3.format.json.JsonFormat", Format::Json { gzip: false });
    // Back into a new topic (renamed by RegexRouter), each record into the partition it came from.
    let restored = format!("{topic}-restored");
    create_topic(&restored, PARTITIONS);
    let source = json!({"name": format!("{topic}-source"), "config": {
        "connector.class": "io.confluent.connect.s3.source.S3SourceConnector",
        "tasks.max": "2",
        "s3.bucket.name": bucket,
        "s3.region": "us-east-1",
        "store.url": MOTO,
        "aws.access.key.id": "test",
        "aws.secret.access.key": "test",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
        "s3.poll.interval.ms": "1000",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "rename",
        "transforms.rename.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.rename.regex": ".*",
        "transforms.rename.replacement": restored,
    }});
    let worker =
        Worker::start(&dir.path().join("run3"), json!({"offset.storage.topic": unique("e2e-offsets")}), &[source]);
    for partition in 0..PARTITIONS {
        let read = worker.wait("the restored partition", Duration::from_secs(120), || {
            let records = read_partition_at(&restored, partition, false);
            (records.len() >= 10_000).then_some(records)
        });
        let numbers: Vec<i64> = read
            .iter()
            .map(|m| {
                let v: serde_json::Value = serde_json::from_str(&text(m)).expect("json value");
                assert_eq!(v["p"], partition, "back in its partition");
                v["n"].as_i64().expect("n")
            })
            .collect();
        assert_eq!(numbers, (0..10_000).collect::<Vec<_>>(), "partition {partition} restored in order, once");
    }
    assert!(worker.terminate(Duration::from_secs(30)), "clean shutdown");
}

#[test]
fn parquet_objects_hold_every_record_exactly_once_across_a_kill9() {
    sink_survives_kill9(
        "io.confluent.connect.s3.format.parquet.ParquetFormat",
        Format::Parquet { codec: aqueduct_connector_s3::format::ParquetCodec::Snappy },
    );
}

#[test]
fn a_missing_bucket_fails_the_task_with_its_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = unique("e2e-s3-nobucket");
    create_topic(&topic, 1);
    let bucket = unique("missing").to_lowercase();
    let connector =
        sink_config(&format!("{topic}-sink"), &topic, &bucket, "io.confluent.connect.s3.format.json.JsonFormat");
    let worker = Worker::start(dir.path(), json!({"offset.storage.topic": unique("e2e-offsets")}), &[connector]);
    let url = format!("{}/connectors/{topic}-sink/status", worker.url);
    let trace = worker.wait("the task to fail", Duration::from_secs(60), || {
        let (_, body) = crate::common::reqwest::blocking_get(&url)?;
        let task = body["tasks"].get(0)?;
        (task["state"] == "FAILED").then(|| task["trace"].as_str().unwrap_or_default().to_owned())
    });
    assert!(trace.contains(&bucket) && trace.contains("does not exist"), "{trace}");
    assert!(worker.terminate(Duration::from_secs(30)), "the worker lives on");
}
