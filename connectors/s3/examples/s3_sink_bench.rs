//! Throughput of the S3 sink task against a bare PutObject loop writing the same bytes, in one
//! run, on the same S3 server (moto by default: `scripts/services.sh up s3`).
//!
//! ```text
//! cargo run --release -p aqueduct-connector-s3 --example s3_sink_bench -- [records] [endpoint]
//! ```
//! For each format (JSON lines, Parquet), the sink task is given `records` records in batches of
//! 500 over 3 partitions with flush.size 10,000; then the objects it wrote are read back and put
//! again, bare, under other keys. Printed: records/s and MB/s of both, and their ratio.

use std::sync::Arc;
use std::time::Instant;

use aqueduct_connector_s3::sink::{S3SinkTask, SinkConfig};
use aqueduct_connector_s3::storage::Store;
use aqueduct_sdk::testing::RecordingSinkContext;
use aqueduct_sdk::{Props, Schema, SchemaType, SinkRecord, SinkTask, Struct, Value};

fn records(n: i64) -> Vec<SinkRecord> {
    let schema = Schema::struct_builder()
        .field("id", Schema::int64())
        .field("customer", Schema::string())
        .field("amount", Schema::primitive(SchemaType::Float64))
        .field("note", Schema::optional(SchemaType::String))
        .build();
    (0..n)
        .map(|i| {
            let value = Struct::new(Arc::clone(&schema))
                .put("id", i)
                .and_then(|s| s.put("customer", format!("customer-{}", i % 9973)))
                .and_then(|s| s.put("amount", (i % 1000) as f64 * 1.25))
                .and_then(|s| s.put("note", format!("order {i} of the benchmark, with some text to carry")))
                .map_err(|e| e.to_string());
            let value = Value::Struct(value.unwrap_or_else(|e| panic!("{e}")));
            SinkRecord::new("bench", (i % 3) as i32, i / 3, Some(Arc::clone(&schema)), value).with_timestamp(i)
        })
        .collect()
}

async fn create_bucket(endpoint: &str, bucket: &str) {
    let status = tokio::process::Command::new("curl")
        .args(["-sf", "-X", "PUT", &format!("{endpoint}/{bucket}")])
        .status()
        .await
        .unwrap_or_else(|e| panic!("curl: {e}"));
    assert!(status.success(), "create bucket {bucket} at {endpoint}");
}

async fn run(endpoint: &str, format_class: &str, records: &[SinkRecord]) {
    let bucket =
        format!("bench-{}-{}", std::process::id(), format_class.rsplit('.').next().unwrap_or("f").to_lowercase());
    create_bucket(endpoint, &bucket).await;
    let props: Props = [
        ("name", "bench"),
        ("s3.bucket.name", bucket.as_str()),
        ("s3.region", "us-east-1"),
        ("store.url", endpoint),
        ("aws.access.key.id", "test"),
        ("aws.secret.access.key", "test"),
        ("format.class", format_class),
        ("flush.size", "10000"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let mut task = S3SinkTask::new();
    task.start(Arc::new(RecordingSinkContext::default()), props.clone()).await.unwrap_or_else(|e| panic!("start: {e}"));
    let started = Instant::now();
    for batch in records.chunks(500) {
        task.put(batch).await.unwrap_or_else(|e| panic!("put: {e}"));
    }
    let sink_secs = started.elapsed().as_secs_f64();

    let storage = SinkConfig::parse(&props).unwrap_or_else(|e| panic!("config: {e}")).storage;
    let store = Store::new(&storage).await;
    let keys = store.list("topics/", None, None).await.unwrap_or_else(|e| panic!("list: {e}")).objects;
    let mut objects = Vec::new();
    for key in &keys {
        objects.push(store.get(key).await.unwrap_or_else(|e| panic!("get: {e}")));
    }
    let bytes: usize = objects.iter().map(Vec::len).sum();
    let written = records.len() - records.len() % 30_000;
    let started = Instant::now();
    for (i, object) in objects.into_iter().enumerate() {
        store.put(&format!("bare/{i}"), object).await.unwrap_or_else(|e| panic!("put: {e}"));
    }
    let bare_secs = started.elapsed().as_secs_f64();
    let mb = bytes as f64 / 1e6;
    println!(
        "{format_class}: {} objects, {written} records in them, {mb:.1} MB\n  sink task: {:>9.0} records/s {:>6.1} MB/s\n  bare put:  {:>9.0} records/s {:>6.1} MB/s\n  ratio sink/bare: {:.2}",
        keys.len(),
        written as f64 / sink_secs,
        mb / sink_secs,
        written as f64 / bare_secs,
        mb / bare_secs,
        bare_secs / sink_secs,
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let endpoint = args.next().unwrap_or_else(|| "http://127.0.0.1:9000".to_owned());
    let records = records(n);
    for format in
        ["io.confluent.connect.s3.format.json.JsonFormat", "io.confluent.connect.s3.format.parquet.ParquetFormat"]
    {
        run(&endpoint, format, &records).await;
    }
}
