//! The source's resume point between events: heartbeats, a reconnect after an outage, and the
//! end of a stream by an invalidate event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_sdk::{SourceRecord, SourceTask, Value};
use mongodb::bson::{doc, Document};

use crate::common::*;
use crate::server::PrivateServer;

const HEARTBEATS: &str = "__mongodb_heartbeats";

/// The change event of a record of the default `mongodb` format, parsed.
fn event(record: &SourceRecord) -> serde_json::Value {
    record.value.as_str().and_then(|v| serde_json::from_str(v).ok()).unwrap_or_default()
}

fn is_heartbeat(record: &SourceRecord) -> bool {
    record.topic == HEARTBEATS
}

#[tokio::test]
async fn heartbeats_store_the_resume_token_when_no_event_is_emitted() {
    let client = client().await;
    let db = unique("heartbeat");
    client.database(&db).create_collection("c").await.expect("create");
    let uri = uri();
    let base =
        [("connection.uri", uri.as_str()), ("database", &db), ("collection", "c"), ("poll.await.time.ms", "200")];
    let mut filtered = base.to_vec();
    filtered.push(("pipeline", r#"[{"$match": {"fullDocument.keep": true}}]"#));
    filtered.push(("heartbeat.interval.ms", "300"));
    let configs = task_configs(props(&filtered), 1).await.expect("configs");
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = source_task(configs[0].clone(), offsets.clone()).await.expect("start");

    let (first, _) = poll_until(&mut task, Duration::from_secs(20), |r| !r.is_empty()).await;
    let hb = &first[0];
    assert_eq!(hb.topic, HEARTBEATS, "a heartbeat while no event is emitted: {first:?}");
    let token = hb.source_offset["_id"].as_str().expect("the resume token as JSON text").to_owned();
    assert!(token.contains("_data"), "{token}");
    assert_eq!(hb.source_offset["HEARTBEAT"], "true");
    assert_eq!(hb.key, Value::String(token.clone()), "the key is the resume token, as the MongoDB connector's");
    assert!(hb.value.is_null() && hb.value_schema.as_ref().is_some_and(|s| s.optional));
    acknowledge(&mut task, &offsets, &first).await;

    // Events the pipeline filters out move the resume token but emit nothing but heartbeats.
    let coll = client.database(&db).collection::<Document>("c");
    coll.insert_many((0..5).map(|i| doc! {"_id": i, "keep": false})).await.expect("insert");
    let until = Instant::now() + Duration::from_secs(3);
    let (later, _) = poll_until(&mut task, Duration::from_secs(20), |_| Instant::now() > until).await;
    assert!(later.iter().all(is_heartbeat), "only heartbeats: {later:?}");
    assert!(later.iter().any(|r| r.source_offset["_id"] != token.as_str()), "the resume token moved: {later:?}");
    acknowledge(&mut task, &offsets, &later).await;
    task.stop().await.expect("stop");

    // Restarted without the filter from the stored heartbeat: the filtered events are behind it.
    let configs = task_configs(props(&base), 1).await.expect("configs");
    let mut task = source_task(configs[0].clone(), offsets.clone()).await.expect("restart");
    coll.insert_one(doc! {"_id": "after", "keep": false}).await.expect("insert");
    let (next, _) = poll_until(&mut task, Duration::from_secs(20), |r| !r.is_empty()).await;
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(event(&next[0])["documentKey"]["_id"], "after", "resumed from the heartbeat's token");
    let until = Instant::now() + Duration::from_millis(1500);
    let (quiet, _) = poll_until(&mut task, Duration::from_secs(20), |_| Instant::now() > until).await;
    assert!(quiet.is_empty(), "no heartbeats by default (heartbeat.interval.ms=0): {quiet:?}");
    task.stop().await.expect("stop");
}

#[tokio::test]
async fn a_reconnect_after_an_outage_resumes_from_where_the_stream_was_opened() {
    let mut server = PrivateServer::start().await;
    let client = server.client().await;
    client.database("shop").create_collection("c").await.expect("create");
    let config = props(&[
        ("connection.uri", &server.uri()),
        ("database", "shop"),
        ("collection", "c"),
        ("poll.await.time.ms", "200"),
        // One queued item: the reader waits for poll before it retries a second time.
        ("startup.mode.copy.existing.queue.size", "1"),
    ]);
    let configs = task_configs(config, 1).await.expect("configs");
    let mut task = source_task(configs[0].clone(), Arc::new(MemoryOffsets::default())).await.expect("start");
    tokio::time::sleep(Duration::from_millis(1500)).await; // the stream is open (latest), no event yet
    server.kill();
    // The reader fails, queues its error, fails again and waits for poll to take the first one.
    tokio::time::sleep(Duration::from_secs(5)).await;
    server.restart().await;
    let coll = server.client().await.database("shop").collection::<Document>("c");
    coll.insert_many((0..3).map(|i| doc! {"_id": i})).await.expect("insert while the reader is away");
    let (records, errors) = poll_until(&mut task, Duration::from_secs(30), |r| r.len() >= 3).await;
    assert!(errors >= 1, "the outage was reported through poll");
    let ids: Vec<serde_json::Value> = records.iter().map(|r| event(r)["documentKey"]["_id"].clone()).collect();
    assert_eq!(ids, [0, 1, 2], "the inserts made before the reader reconnected");
    task.stop().await.expect("stop");
}

#[tokio::test]
async fn an_invalidated_stream_reopens_after_the_invalidate_event() {
    let client = client().await;
    let db = unique("invalidate");
    let config =
        props(&[("connection.uri", &uri()), ("database", &db), ("collection", "c"), ("poll.await.time.ms", "200")]);
    let configs = task_configs(config, 1).await.expect("configs");
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = source_task(configs[0].clone(), offsets.clone()).await.expect("start");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let coll = client.database(&db).collection::<Document>("c");
    coll.insert_one(doc! {"_id": 0}).await.expect("insert");
    let mut seen = poll_n(&mut task, 1, Duration::from_secs(20)).await;

    let inserted = |id: i32| move |r: &[SourceRecord]| r.iter().any(|r| event(r)["fullDocument"]["_id"] == id);
    coll.drop().await.expect("drop");
    coll.insert_one(doc! {"_id": 1}).await.expect("insert into the recreated collection");
    let (records, errors) = poll_until(&mut task, Duration::from_secs(30), inserted(1)).await;
    assert_eq!(errors, 0);
    seen.extend(records);

    let renamed = format!("{db}.gone");
    let rename = doc! {"renameCollection": format!("{db}.c"), "to": &renamed};
    client.database("admin").run_command(rename).await.expect("rename");
    coll.insert_one(doc! {"_id": 2}).await.expect("insert into c again");
    let (records, errors) = poll_until(&mut task, Duration::from_secs(30), inserted(2)).await;
    assert_eq!(errors, 0);
    seen.extend(records);

    let shown: Vec<(String, String)> = seen
        .iter()
        .map(|r| (r.topic.clone(), event(r)["operationType"].as_str().unwrap_or_default().to_owned()))
        .collect();
    assert!(seen.iter().all(|r| r.topic == format!("{db}.c")), "no record without a topic: {shown:?}");
    let ops: Vec<&str> = shown.iter().map(|(_, op)| op.as_str()).collect();
    assert_eq!(ops, ["insert", "drop", "insert", "rename", "insert"], "{shown:?}");
    acknowledge(&mut task, &offsets, &seen).await;
    task.stop().await.expect("stop");
}
