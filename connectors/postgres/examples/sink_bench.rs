//! Throughput of the PostgreSQL sink against a bare `COPY` of the same rows, in one run.
//!
//! ```text
//! cargo run --release -p aqueduct-connector-postgres --example sink_bench
//! ```
//! Environment: `AQUEDUCT_TEST_POSTGRES` (server URL), `BENCH_ROWS` (default 200000),
//! `BENCH_PUT_BATCH` (records per `put`, default 500 like the runtime's batches),
//! `BENCH_BATCH_SIZE` (the sink's `batch.size`, default 3000).

use std::sync::Arc;
use std::time::Instant;

use aqueduct_connector_postgres::sink::PostgresSinkTask;
use aqueduct_sdk::testing::RecordingSinkContext;
use aqueduct_sdk::{
    logical, ConnectError, Props, Schema, SchemaRef, SchemaType, SinkRecord, SinkTask, Struct, TopicPartitionOffsets,
    Value,
};
use futures::SinkExt;
use tokio_postgres::NoTls;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn schema() -> SchemaRef {
    Schema::struct_builder()
        .name("bench")
        .field("id", Schema::int64())
        .field("name", Schema::string())
        .field("amount", logical::decimal(2).build())
        .field("at", logical::timestamp().build())
        .field("active", Schema::primitive(SchemaType::Boolean))
        .field("score", Schema::primitive(SchemaType::Float64))
        .build()
}

fn row(i: i64) -> (String, i128, i64, bool, f64) {
    (format!("user-{i}"), i128::from(i) * 7 + 99, 1_700_000_000_000 + i * 1000, i % 3 == 0, i as f64 / 8.0)
}

fn records(topic: &str, n: usize) -> Result<Vec<SinkRecord>, ConnectError> {
    let schema = schema();
    (0..n as i64)
        .map(|i| {
            let (name, amount, at, active, score) = row(i);
            let value = Struct::new(schema.clone())
                .put("id", i)?
                .put("name", name)?
                .put("amount", Value::Bytes(logical::decimal_bytes(amount)))?
                .put("at", at)?
                .put("active", active)?
                .put("score", score)?;
            Ok(SinkRecord::new(topic, 0, i, Some(schema.clone()), Value::Struct(value)))
        })
        .collect()
}

async fn sink(url: &str, mode: &str, records: Vec<SinkRecord>, per_put: usize) -> Result<f64, ConnectError> {
    let mut props = Props::new();
    props.insert("connection.url".into(), url.into());
    props.insert("name".into(), "bench".into());
    props.insert("insert.mode".into(), mode.into());
    props.insert("batch.size".into(), env_usize("BENCH_BATCH_SIZE", 3000).to_string());
    if mode == "upsert" {
        props.insert("pk.mode".into(), "record_value".into());
        props.insert("pk.fields".into(), "id".into());
    }
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = PostgresSinkTask::new();
    task.start(ctx.clone(), props).await?;
    let n = records.len();
    let mut batches: Vec<Vec<SinkRecord>> = Vec::new();
    let mut it = records.into_iter().peekable();
    while it.peek().is_some() {
        batches.push(it.by_ref().take(per_put).collect());
    }
    // Like the runtime: `put` each batch, `pre_commit` when the task asks and at the end.
    let mut offsets = TopicPartitionOffsets::new();
    let (started, mut commit_requests) = (Instant::now(), 0);
    for batch in batches {
        if let Some(last) = batch.last() {
            offsets.insert(last.topic_partition(), last.kafka_offset + 1);
        }
        task.put(&batch).await?;
        if ctx.commit_requests() > commit_requests {
            commit_requests = ctx.commit_requests();
            task.pre_commit(&offsets).await?;
        }
    }
    task.pre_commit(&offsets).await?;
    let elapsed = started.elapsed().as_secs_f64();
    task.stop().await?;
    Ok(n as f64 / elapsed)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("AQUEDUCT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned());
    let n = env_usize("BENCH_ROWS", 200_000);
    let per_put = env_usize("BENCH_PUT_BATCH", 500);
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
    tokio::spawn(connection);
    let ddl =
        "(id BIGINT PRIMARY KEY, name TEXT, amount NUMERIC, at TIMESTAMPTZ, active BOOLEAN, score DOUBLE PRECISION)";
    for table in ["bench_copy", "bench_sink_insert", "bench_sink_upsert"] {
        client.batch_execute(&format!("DROP TABLE IF EXISTS {table}; CREATE TABLE {table} {ddl}")).await?;
    }

    // Bare COPY of the same rows (text format, one transaction), as the yardstick.
    let started = Instant::now();
    let mut text = String::with_capacity(n * 80);
    for i in 0..n as i64 {
        let (name, amount, at, active, score) = row(i);
        let amount = logical::decimal_to_string(amount, 2);
        text.push_str(&format!("{i}\t{name}\t{amount}\t{}\t{active}\t{score}\n", timestamp_text(at)));
    }
    let sink_in = client.copy_in("COPY bench_copy (id, name, amount, at, active, score) FROM STDIN").await?;
    futures::pin_mut!(sink_in);
    for chunk in text.as_bytes().chunks(1 << 20) {
        sink_in.send(bytes::Bytes::copy_from_slice(chunk)).await?;
    }
    let copied = sink_in.finish().await?;
    let copy_rate = copied as f64 / started.elapsed().as_secs_f64();

    let insert_rate = sink(&url, "insert", records("bench_sink_insert", n)?, per_put).await?;
    let upsert_rate = sink(&url, "upsert", records("bench_sink_upsert", n)?, per_put).await?;
    for table in ["bench_copy", "bench_sink_insert", "bench_sink_upsert"] {
        let count: i64 = client.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await?.get(0);
        assert_eq!(count as usize, n, "{table}");
    }
    println!("rows: {n}, records per put: {per_put}");
    println!("bare COPY:              {copy_rate:>10.0} rows/s");
    println!("sink put+pre_commit insert: {insert_rate:>10.0} rows/s  ({:.2} of COPY)", insert_rate / copy_rate);
    println!("sink put+pre_commit upsert: {upsert_rate:>10.0} rows/s  ({:.2} of COPY)", upsert_rate / copy_rate);
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS.mmm+00` for milliseconds since the epoch.
fn timestamp_text(millis: i64) -> String {
    let (secs, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (days, s) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = aqueduct_sdk::logical::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{ms:03}+00", s / 3600, s / 60 % 60, s % 60)
}
