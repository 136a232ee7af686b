//! Throughput, not a test (ignored by default); prints events/s and documents/s:
//!
//!     cargo test --release -p aqueduct-connector-mongodb --test mongodb bench -- --ignored --nocapture
//!
//! Source: the same N inserts read by a bare change stream and by the source task (mongodb
//! format, JSON strings), both from one resume token. Sink: N documents written by a bare
//! `insert_many` and by the sink task (default strategy: ReplaceOne upsert by _id, and the
//! MongoDB CDC handler on the change events), in puts of 500 records as the runtime makes them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_connector_mongodb::extjson::{document_to_string, JsonFormat};
use aqueduct_sdk::serde_json::json;
use aqueduct_sdk::{offset_map, SinkRecord, SinkTask, SourceTask, Value};
use mongodb::bson::{doc, Bson, DateTime, Document};

use crate::common::*;

fn doc_of(i: i64) -> Document {
    doc! {
        "_id": i, "name": format!("customer {i}"), "email": format!("c{i}@example.com"), "score": i as f64 / 3.0,
        "created": DateTime::from_millis(1_700_000_000_000 + i), "tags": ["a", "b", "c"],
        "address": { "street": "1 Main St", "city": "Springfield", "zip": format!("{:05}", i % 100_000) },
    }
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:>9.0}/s ({n} in {secs:.2}s)", n as f64 / secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints throughput figures"]
async fn bench_source_and_sink_throughput() {
    let n: usize = std::env::var("AQUEDUCT_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let client = client().await;
    let db = unique("bench");
    let coll = client.database(&db).collection::<Document>("c");
    client.database(&db).create_collection("c").await.expect("create");
    let token = coll.watch().await.expect("watch").resume_token().expect("token");
    let token_doc = mongodb::bson::to_document(&token).expect("token doc");
    let docs: Vec<Document> = (0..n as i64).map(doc_of).collect();
    for chunk in docs.chunks(1000) {
        coll.insert_many(chunk.to_vec()).await.expect("insert");
    }

    // Source: bare change stream vs the task, over the same changes.
    let started = Instant::now();
    let mut stream = coll.watch().start_after(token).await.expect("watch").with_type::<Document>();
    let mut bare = 0;
    while bare < n {
        if stream.next_if_any().await.expect("next").is_some() {
            bare += 1;
        }
    }
    let bare_secs = started.elapsed().as_secs_f64();
    drop(stream);
    let configs = task_configs(props(&[("connection.uri", &uri()), ("database", &db), ("collection", "c")]), 1)
        .await
        .expect("configs");
    let offsets = Arc::new(MemoryOffsets::default());
    let partition = offset_map([("ns", json!(format!("mongodb://127.0.0.1:27017/{db}.c")))]);
    offsets.set(&partition, offset_map([("_id", json!(document_to_string(&token_doc, JsonFormat::Relaxed)))]));
    let started = Instant::now();
    let mut task = source_task(configs[0].clone(), offsets).await.expect("start");
    let records = poll_n(&mut task, n, Duration::from_secs(600)).await;
    let source_secs = started.elapsed().as_secs_f64();
    task.stop().await.expect("stop");

    // Sink: bare insert_many vs the task.
    let target = client.database(&format!("{db}_out"));
    let started = Instant::now();
    for chunk in docs.chunks(500) {
        target.collection::<Document>("bare").insert_many(chunk.to_vec()).await.expect("insert");
    }
    let bare_sink_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for chunk in docs.chunks(500) {
        let updates: Vec<Document> = chunk
            .iter()
            .map(|d| doc! {"q": {"_id": d.get("_id").cloned().unwrap_or(Bson::Null)}, "u": d.clone(), "upsert": true})
            .collect();
        target.run_command(doc! {"update": "bare_upsert", "updates": updates, "ordered": true}).await.expect("update");
    }
    let bare_upsert_secs = started.elapsed().as_secs_f64();
    let plain: Vec<SinkRecord> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            SinkRecord::new("plain", 0, i as i64, None, Value::String(document_to_string(d, JsonFormat::Strict)))
        })
        .collect();
    let sink_props = props(&[("connection.uri", &uri()), ("database", &format!("{db}_out"))]);
    let (mut sink, _) = sink_task(sink_props.clone(), None).await;
    let started = Instant::now();
    for chunk in plain.chunks(500) {
        sink.put(chunk).await.expect("put");
    }
    let sink_secs = started.elapsed().as_secs_f64();
    let mut insert_props = sink_props.clone();
    insert_props.insert("writemodel.strategy".into(), "InsertOneDefaultStrategy".into());
    insert_props.insert("collection".into(), "inserted".into());
    let (mut inserter, _) = sink_task(insert_props, None).await;
    let started = Instant::now();
    for chunk in plain.chunks(500) {
        inserter.put(chunk).await.expect("put");
    }
    let insert_secs = started.elapsed().as_secs_f64();
    let mut cdc_props = sink_props;
    cdc_props.insert(
        "change.data.capture.handler".into(),
        "com.mongodb.kafka.connect.sink.cdc.mongodb.ChangeStreamHandler".into(),
    );
    cdc_props.insert("collection".into(), "cdc".into());
    let (mut cdc, _) = sink_task(cdc_props, None).await;
    let events: Vec<SinkRecord> = records.iter().enumerate().map(|(i, r)| consumed(r, i as i64)).collect();
    let started = Instant::now();
    for chunk in events.chunks(500) {
        cdc.put(chunk).await.expect("put");
    }
    let cdc_secs = started.elapsed().as_secs_f64();
    let count = |c: &str| {
        let coll = target.collection::<Document>(c);
        async move { coll.count_documents(doc! {}).await.expect("count") }
    };
    assert_eq!(count("plain").await as usize, n);
    assert_eq!(count("cdc").await as usize, n);
    assert!(records.iter().all(|r| matches!(r.value, Value::String(_))), "mongodb format: JSON strings");

    println!("MongoDB throughput, {n} documents (SecantusDB on this machine):");
    println!("  change events, bare change stream read : {}", rate(n, bare_secs));
    println!("  change events, MongoSource task (poll) : {}", rate(n, source_secs));
    println!("  documents, bare insert_many (500/call) : {}", rate(n, bare_sink_secs));
    println!("  documents, bare replace upserts (500)  : {}", rate(n, bare_upsert_secs));
    println!("  documents, MongoSink put, InsertOne    : {}", rate(n, insert_secs));
    println!("  documents, MongoSink put, ReplaceOne   : {}", rate(n, sink_secs));
    println!("  change events, MongoSink put, CDC      : {}", rate(n, cdc_secs));
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("  peak RSS of the benchmark process (connector tasks, driver, test data): {peak}");
}
