//! MongoDB source (copy_existing) -> Kafka -> MongoDB sink into another database, with writes
//! during and after the copy and a kill -9 mid-stream: the target ends equal to the source.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aqueduct_connector_mongodb::extjson::{document_to_string, JsonFormat};
use aqueduct_connector_mongodb::mongodb::bson::{doc, Bson, DateTime, Decimal128, Document};
use aqueduct_connector_mongodb::mongodb::Client;
use serde_json::json;

use crate::common::{free_port, reqwest, unique, wait_for, Worker};

const INITIAL: i32 = 3_000;

fn mongodb_uri() -> String {
    std::env::var("AQUEDUCT_TEST_MONGODB").unwrap_or_else(|_| "mongodb://127.0.0.1:27017/?replicaSet=secantus".into())
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

fn sample(i: i32) -> Document {
    doc! {
        "_id": if i % 2 == 0 { Bson::Int32(i) } else { Bson::String(format!("k{i}")) },
        "n": i, "big": i64::from(i) << 33, "price": format!("{i}.50").parse::<Decimal128>().expect("decimal"),
        "at": DateTime::from_millis(1_700_000_000_000 + i64::from(i)),
        "tags": ["x", i.to_string()], "nested": {"a": {"b": i}, "s": "text"},
    }
}

/// Writes into both collections until stopped: inserts, updates ($set/$unset/$push), replaces, deletes.
fn writer(uri: String, db: String, stop: Arc<AtomicBool>, start: i32) -> std::thread::JoinHandle<i32> {
    std::thread::spawn(move || {
        block_on(async move {
            let client = Client::with_uri_str(&uri).await.expect("client");
            let mut i = start;
            while !stop.load(Ordering::Relaxed) {
                let coll = client.database(&db).collection::<Document>(if i % 2 == 0 { "a" } else { "b" });
                coll.insert_one(sample(i)).await.expect("insert");
                let target =
                    if (i / 2) % 2 == 0 { Bson::Int32(i / 2 * 2) } else { Bson::String(format!("k{}", i / 2 * 2 + 1)) };
                coll.update_one(
                    doc! {"_id": target.clone()},
                    doc! {"$set": {"nested.a.b": -i, "touched": i}, "$unset": {"nested.s": ""}, "$push": {"tags": "u"}},
                )
                .await
                .expect("update");
                if i % 5 == 0 {
                    coll.replace_one(doc! {"_id": Bson::Int32(i - 10)}, doc! {"replaced": i}).await.expect("replace");
                }
                if i % 7 == 0 {
                    coll.delete_one(doc! {"_id": Bson::String(format!("k{}", i - 21))}).await.expect("delete");
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            i
        })
    })
}

fn dump(rt: &tokio::runtime::Runtime, client: &Client, db: &str, coll: &str) -> Vec<String> {
    rt.block_on(async {
        let mut cursor =
            client.database(db).collection::<Document>(coll).find(doc! {}).sort(doc! {"_id": 1}).await.expect("find");
        let mut out = Vec::new();
        while cursor.advance().await.expect("cursor") {
            out.push(document_to_string(&cursor.deserialize_current().expect("doc"), JsonFormat::Canonical));
        }
        out
    })
}

#[test]
fn mongo_to_kafka_to_mongo_survives_kill_9() {
    let uri = mongodb_uri();
    // One runtime for the client: its monitors run in the background between calls.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = rt.block_on(Client::with_uri_str(&uri)).expect("client");
    let (src, dst) = (unique("e2e_src").replace('-', "_"), unique("e2e_dst").replace('-', "_"));
    rt.block_on(async {
        for (coll, parity) in [("a", 0), ("b", 1)] {
            let docs: Vec<Document> = (0..INITIAL).filter(|i| i % 2 == parity).map(sample).collect();
            client.database(&src).collection::<Document>(coll).insert_many(docs).await.expect("seed");
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = unique("e2e-mongo");
    let (source, sink) = (format!("{prefix}-source"), format!("{prefix}-sink"));
    let worker_extra = json!({"offset.storage.topic": unique("e2e-offsets"), "rest.port": free_port()});
    let source_config = json!({"name": source, "config": {
        "connector.class": "com.mongodb.kafka.connect.MongoSourceConnector",
        "connection.uri": uri, "database": src, "collection": "a,b", "tasks.max": 2,
        "startup.mode": "copy_existing", "topic.prefix": prefix, "poll.await.time.ms": 200,
    }});
    let topics = format!("{prefix}.{src}.a,{prefix}.{src}.b");
    let sink_config = json!({"name": sink, "config": {
        "connector.class": "com.mongodb.kafka.connect.MongoSinkConnector",
        "connection.uri": uri, "database": dst, "topics": topics,
        "change.data.capture.handler": "com.mongodb.kafka.connect.sink.cdc.mongodb.ChangeStreamHandler",
    }});

    // Writes race the copy from the start.
    let stop = Arc::new(AtomicBool::new(false));
    let first_writer = writer(uri.clone(), src.clone(), stop.clone(), INITIAL);
    let worker = Worker::start(&dir.path().join("run1"), worker_extra.clone(), std::slice::from_ref(&source_config));
    worker.wait_state(&source, "RUNNING");
    // The source creates its topics as it produces; subscribe the sink once both exist (the
    // heartbeat topic holding the copy's resume point is a third).
    let topics_url = format!("{}/connectors/{source}/topics", worker.url);
    wait_for("both topics in use", Duration::from_secs(60), || {
        let (_, body) = reqwest::blocking_get(&topics_url)?;
        let list = body[&source]["topics"].as_array()?;
        let data = list.iter().filter(|t| t.as_str().is_some_and(|t| !t.starts_with("__mongodb_heartbeats")));
        (data.count() == 2).then_some(())
    });
    let (code, body) =
        reqwest::send("POST", &format!("{}/connectors", worker.url), Some(&sink_config.to_string())).expect("post");
    assert_eq!(code, 201, "{body}");
    worker.wait_state(&sink, "RUNNING");
    let dst_a = format!("{prefix}.{src}.a");
    wait_for("the copy to reach the target", Duration::from_secs(120), || {
        (dump(&rt, &client, &dst, &dst_a).len() >= (INITIAL / 2) as usize).then_some(())
    });
    std::thread::sleep(Duration::from_secs(3)); // streamed events and their offsets get flushed
    worker.kill9();
    // Writes continue while the worker is down. The restarted worker keeps its REST port, so
    // its sink rejoins as the same static group member without waiting for a session to expire.
    std::thread::sleep(Duration::from_secs(2));

    let worker = Worker::start(&dir.path().join("run2"), worker_extra, &[source_config, sink_config]);
    worker.wait_state(&source, "RUNNING");
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let written = first_writer.join().expect("writer");
    assert!(written > INITIAL + 50, "too few concurrent writes ({})", written - INITIAL);

    for coll in ["a", "b"] {
        let target = format!("{prefix}.{src}.{coll}");
        let expected = dump(&rt, &client, &src, coll);
        let got = wait_for(&format!("{dst}.{target} to equal {src}.{coll}"), Duration::from_secs(120), || {
            let got = dump(&rt, &client, &dst, &target);
            (got == expected).then_some(got)
        });
        assert_eq!(got.len(), expected.len());
    }
    let log = worker.log();
    assert!(log.contains("resuming the change stream after the stored resume token"), "restart did not resume:\n{log}");
    assert!(!log.contains("copying again from the start"), "the copy was redone:\n{log}");
    assert!(worker.terminate(Duration::from_secs(30)), "clean shutdown");
}
