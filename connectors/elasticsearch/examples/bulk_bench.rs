//! Throughput of the sink task against a bare `_bulk` loop, in one run (not a test):
//!
//!     cargo run --release -p aqueduct-connector-elasticsearch --example bulk_bench [DOCS] [BATCH]
//!
//! Both write the same DOCS documents (default 100,000; ~150 bytes of JSON each, ids given) in
//! bulks of BATCH (default 2,000, Confluent's batch.size) to fresh indices on
//! `AQUEDUCT_TEST_ELASTICSEARCH` (default http://127.0.0.1:9200), with the same HTTP client:
//! - bare: the NDJSON bodies built before the clock starts, sent one after the other;
//! - sink: `ElasticsearchSinkTask` fed schemaless records in puts of 500 (as the runtime does)
//!   with its defaults (5 bulks in flight, linger 1 ms), timed until `pre_commit` reports every
//!   offset acknowledged: conversion, bulk building and per-item checks included.
//!
//! For scale it also times the sink's conversion of the same records into bulk lines alone
//! (no I/O).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_connector_elasticsearch::config::SinkConfig;
use aqueduct_connector_elasticsearch::{bulk, ElasticsearchSinkTask};
use aqueduct_sdk::testing::RecordingSinkContext;
use aqueduct_sdk::{Props, SinkRecord, SinkTask, TopicPartition, TopicPartitionOffsets, Value};
use elasticsearch::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE};
use elasticsearch::http::transport::Transport;
use elasticsearch::http::Method;
use elasticsearch::Elasticsearch;
use serde_json::json;

fn doc(i: usize) -> serde_json::Value {
    json!({"id": i, "name": format!("customer {i}"), "email": format!("c{i}@example.com"),
        "score": i as f64 / 3.0, "tags": ["a", "b"], "address": {"city": "Springfield", "zip": format!("{:05}", i % 100_000)}})
}

async fn send(es: &Elasticsearch, method: Method, path: &str, body: Option<Vec<u8>>) -> (u16, Vec<u8>) {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    let r = es.send(method, path, headers, None::<&()>, body, None).await.expect("request");
    let status = r.status_code().as_u16();
    (status, r.bytes().await.expect("body").to_vec())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let batch: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let url = std::env::var("AQUEDUCT_TEST_ELASTICSEARCH").unwrap_or_else(|_| "http://127.0.0.1:9200".into());
    let es = Elasticsearch::new(Transport::single_node(&url).expect("transport"));
    let stamp = std::process::id();
    let (bare_index, sink_index) = (format!("bench-bare-{stamp}"), format!("bench-sink-{stamp}"));

    // Bare: pre-built bodies, sequential _bulk requests.
    let bodies: Vec<Vec<u8>> = (0..n)
        .collect::<Vec<_>>()
        .chunks(batch)
        .map(|ids| {
            let mut body = Vec::new();
            for i in ids {
                body.extend(format!("{{\"index\":{{\"_index\":\"{bare_index}\",\"_id\":\"{i}\"}}}}\n").bytes());
                serde_json::to_writer(&mut body, &doc(*i)).expect("json");
                body.push(b'\n');
            }
            body
        })
        .collect();
    let started = Instant::now();
    for body in bodies {
        let (status, answer) = send(&es, Method::Post, "/_bulk", Some(body)).await;
        assert!(
            status == 200 && !String::from_utf8_lossy(&answer[..answer.len().min(64)]).contains("\"errors\":true"),
            "bulk: {status}"
        );
    }
    let bare = started.elapsed().as_secs_f64();

    // Sink task.
    let records: Vec<SinkRecord> = (0..n)
        .map(|i| {
            SinkRecord::new(&sink_index, 0, i as i64, None, Value::from_json(doc(i)))
                .with_key(None, Value::String(i.to_string()))
        })
        .collect();
    let props: Props = [
        ("connection.url", url.as_str()),
        ("batch.size", &batch.to_string()),
        ("schema.ignore", "true"),
        ("read.timeout.ms", "30000"),
        ("name", "bench"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    // The sink's own cost per record: conversion to a document and its bulk lines, no I/O.
    let config = SinkConfig::parse(&props).expect("config");
    let started = Instant::now();
    let mut bytes = 0;
    for r in &records {
        bytes += bulk::build(&config, r, &sink_index).expect("build").map_or(0, |op| op.lines.len());
    }
    let encode = started.elapsed().as_secs_f64();
    let mut task = ElasticsearchSinkTask::new();
    task.start(Arc::new(RecordingSinkContext::default()), props).await.expect("start");
    let given = TopicPartitionOffsets::from([(TopicPartition::new(sink_index.clone(), 0), n as i64)]);
    let started = Instant::now();
    let mut records = records.into_iter();
    loop {
        let chunk: Vec<SinkRecord> = records.by_ref().take(500).collect();
        if chunk.is_empty() {
            break;
        }
        task.put(&chunk).await.expect("put");
        // As the runtime: commit checks between puts cost a lock, nothing more.
        let _ = task.pre_commit(&given).await.expect("pre_commit");
    }
    while task.pre_commit(&given).await.expect("pre_commit") != given {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let sink = started.elapsed().as_secs_f64();
    task.stop().await.expect("stop");

    for index in [&bare_index, &sink_index] {
        let (_, body) = send(&es, Method::Get, &format!("/{index}/_count"), None).await;
        let count: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(count["count"].as_u64(), Some(n as u64), "{index}: {count}");
        send(&es, Method::Delete, &format!("/{index}"), None).await;
    }
    let rate = |secs: f64| n as f64 / secs;
    println!("{n} documents, bulks of {batch}");
    println!("bare _bulk loop : {:>9.0} docs/s ({bare:.2} s)", rate(bare));
    println!("sink task       : {:>9.0} docs/s ({sink:.2} s)", rate(sink));
    println!("ratio sink/bare : {:.2}", bare / sink);
    println!("encoding alone  : {:>9.0} docs/s ({:.2} s, {} bytes of bulk lines, no I/O)", rate(encode), encode, bytes);
}
