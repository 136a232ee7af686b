//! The source: copy_existing then streaming, resume from a stored token, event formats, bad input.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aqueduct_connector_mongodb::extjson::regex;
use aqueduct_sdk::{offset_map, ErrorKind, SinkRecord, SinkTask, SourceTask, Value};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary, Bson, DateTime, Decimal128, Document, Timestamp};
use mongodb::Client;
use serde_json::json;

use crate::common::*;

/// A document with nested documents, arrays and every BSON type the connectors map.
fn sample(i: i32) -> Document {
    let id = match i % 3 {
        0 => Bson::ObjectId(ObjectId::new()),
        1 => Bson::String(format!("s{i}")),
        _ => Bson::Int32(i),
    };
    doc! {
        "_id": id, "i32": i, "i64": i64::from(i) * 1_000_000_000_000, "d": f64::from(i) + 0.5,
        "dec": format!("{i}.25").parse::<Decimal128>().expect("decimal"),
        "dt": DateTime::from_millis(1_600_000_000_000 + i64::from(i)),
        "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![i.to_le_bytes()[0], 0, 255] },
        "uuid": Binary { subtype: BinarySubtype::Uuid, bytes: vec![7; 16] },
        "ts": Timestamp { time: 5, increment: u32::try_from(i).unwrap_or(0) },
        "re": regex("^a.*", "i"), "nul": Bson::Null, "flag": i % 2 == 0,
        "arr": [i, "x", { "k": i }],
        "nested": { "a": { "b": i, "c": [1, 2, 3] }, "s": "x" },
        "keys": [Bson::MinKey, Bson::MaxKey],
    }
}

async fn insert_samples(client: &Client, db: &str, coll: &str, from: i32, to: i32) {
    let docs: Vec<Document> = (from..to).map(sample).collect();
    client.database(db).collection::<Document>(coll).insert_many(docs).await.expect("insert");
}

/// Inserts, updates (with $set on nested paths, $unset, $push), replaces and deletes.
async fn churn(client: &Client, db: &str, coll: &str, base: i32) {
    let c = client.database(db).collection::<Document>(coll);
    insert_samples(client, db, coll, base, base + 20).await;
    for i in base..base + 10 {
        let id = match i % 3 {
            1 => Bson::String(format!("s{i}")),
            2 => Bson::Int32(i),
            _ => continue,
        };
        c.update_one(
            doc! {"_id": id.clone()},
            doc! {"$set": {"nested.a.b": -i, "new": {"x": [1]}}, "$unset": {"nested.s": ""}, "$push": {"arr": 9}},
        )
        .await
        .expect("update");
        if i % 2 == 0 {
            c.replace_one(doc! {"_id": id.clone()}, doc! {"_id": id.clone(), "replaced": true, "n": i64::from(i)})
                .await
                .expect("replace");
        }
        if i % 5 == 0 {
            c.delete_one(doc! {"_id": id}).await.expect("delete");
        }
    }
    c.update_many(doc! {"i32": {"$lt": 5}}, doc! {"$unset": {"d": ""}, "$inc": {"i32": 100}})
        .await
        .expect("update many");
    c.delete_many(doc! {"i32": {"$gte": 40, "$lt": 45}}).await.expect("delete many");
}

/// Polls every task and applies what they produce through the sink, until all stay quiet.
async fn drain(
    tasks: &mut [TestSource],
    sink: &mut impl SinkTask,
    offsets: &MemoryOffsets,
    seen: &mut Vec<aqueduct_sdk::SourceRecord>,
) {
    let mut quiet_rounds = 0;
    let mut n = seen.len() as i64;
    while quiet_rounds < 2 {
        let mut any = false;
        for task in tasks.iter_mut() {
            let records = task.poll().await.expect("poll");
            if records.is_empty() {
                continue;
            }
            any = true;
            let batch: Vec<SinkRecord> = records
                .iter()
                .map(|r| {
                    n += 1;
                    consumed(r, n)
                })
                .collect();
            sink.put(&batch).await.expect("sink put");
            records.iter().for_each(|r| offsets.store(r));
            seen.extend(records);
        }
        quiet_rounds = if any { 0 } else { quiet_rounds + 1 };
    }
}

#[tokio::test]
async fn copy_existing_then_streams_every_change_of_two_collections() {
    let client = client().await;
    let (src, dst) = (unique("src"), unique("dst"));
    insert_samples(&client, &src, "a", 0, 300).await;
    insert_samples(&client, &src, "b", 1000, 1200).await;
    let configs = task_configs(
        props(&[
            ("connection.uri", &uri()),
            ("database", &src),
            ("collection", "a,b"),
            ("startup.mode", "copy_existing"),
            ("output.json.formatter", "com.mongodb.kafka.connect.source.json.formatter.ExtendedJson"),
            ("startup.mode.copy.existing.queue.size", "8"),
            ("poll.max.batch.size", "50"),
            ("poll.await.time.ms", "200"),
        ]),
        4,
    )
    .await
    .expect("task configs");
    assert_eq!(configs.len(), 2, "one task per collection");
    let offsets = Arc::new(MemoryOffsets::default());
    let mut tasks = Vec::new();
    for config in configs {
        tasks.push(source_task(config, offsets.clone()).await.expect("start"));
    }
    let (mut sink, _) = sink_task(
        props(&[
            ("connection.uri", &uri()),
            ("database", &dst),
            ("change.data.capture.handler", "com.mongodb.kafka.connect.sink.cdc.mongodb.ChangeStreamHandler"),
        ]),
        None,
    )
    .await;
    let mut seen = Vec::new();
    // The readers are copying, held back by the 8-record queue: these writes race the copy.
    for task in tasks.iter_mut() {
        let first = poll_n(task, 1, Duration::from_secs(20)).await;
        assert!(first[0].source_offset.contains_key("copy"), "the copy started");
        let batch: Vec<SinkRecord> = first.iter().enumerate().map(|(i, r)| consumed(r, -1 - i as i64)).collect();
        sink.put(&batch).await.expect("sink put");
        first.iter().for_each(|r| offsets.store(r));
        seen.extend(first);
    }
    churn(&client, &src, "a", 2000).await;
    churn(&client, &src, "b", 3000).await;
    drain(&mut tasks, &mut sink, &offsets, &mut seen).await;
    // After the copy: more changes, streamed.
    churn(&client, &src, "a", 4000).await;
    churn(&client, &src, "b", 5000).await;
    drain(&mut tasks, &mut sink, &offsets, &mut seen).await;

    for coll in ["a", "b"] {
        let source = dump(&client, &src, coll).await;
        let target = dump(&client, &dst, &format!("{src}.{coll}")).await;
        assert!(source.len() > 200, "{coll}: {} documents", source.len());
        assert_eq!(source.len(), target.len(), "{coll}: same number of documents");
        for (s, t) in source.iter().zip(&target) {
            assert_eq!(s, t, "{coll}: documents differ");
        }
    }
    let copied = |r: &&aqueduct_sdk::SourceRecord| {
        r.value.as_str().and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok()).unwrap_or_default()["_id"]
            ["copyingData"]
            == true
    };
    let copies = seen.iter().filter(copied).count();
    assert!(copies >= 500, "every pre-existing document was copied ({copies})");
    let unmarked = seen.iter().filter(copied).filter(|r| !r.source_offset.contains_key("copy")).count();
    assert_eq!(unmarked, 2, "only the last copied record of each collection has an offset without copy");
    let progress: Vec<String> = tasks.iter().flat_map(TestSource::progress).collect();
    assert!(progress.iter().any(|p| p.starts_with("copied existing documents of")), "progress: {progress:?}");
    let ops: BTreeSet<String> = seen
        .iter()
        .filter_map(|r| r.value.as_str().and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok()))
        .filter_map(|v| v["operationType"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ops, ["delete", "insert", "replace", "update"].iter().map(|s| (*s).to_owned()).collect());
    let partitions: BTreeSet<String> =
        seen.iter().map(|r| r.source_partition["ns"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(partitions.len(), 2, "{partitions:?}");
    assert!(partitions.iter().all(|p| p.starts_with("mongodb://") && p.contains(&src)), "{partitions:?}");
    for mut task in tasks {
        task.stop().await.expect("stop");
    }
}

#[tokio::test]
async fn resumes_after_the_stored_resume_token() {
    let client = client().await;
    let db = unique("resume");
    client.database(&db).create_collection("c").await.expect("create");
    let config =
        props(&[("connection.uri", &uri()), ("database", &db), ("collection", "c"), ("poll.await.time.ms", "200")]);
    let configs = task_configs(config, 1).await.expect("configs");
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = source_task(configs[0].clone(), offsets.clone()).await.expect("start");
    tokio::time::sleep(Duration::from_millis(500)).await; // the stream is open: startup.mode=latest
    let coll = client.database(&db).collection::<Document>("c");
    coll.insert_many((0..3).map(|i| doc! {"_id": i})).await.expect("insert");
    let first = poll_n(&mut task, 3, Duration::from_secs(20)).await;
    let offset = &first[2].source_offset;
    let token = offset["_id"].as_str().expect("the resume token as JSON text");
    assert!(token.contains("_data"), "{token}");
    assert_eq!(first[0].source_partition, offset_map([("ns", json!(format!("mongodb://127.0.0.1:27017/{db}.c")))]));
    first.iter().for_each(|r| offsets.store(r));
    task.stop().await.expect("stop");
    coll.insert_many((3..5).map(|i| doc! {"_id": i})).await.expect("insert");
    let mut task = source_task(configs[0].clone(), offsets.clone()).await.expect("restart");
    let next = poll_n(&mut task, 2, Duration::from_secs(20)).await;
    let ids: Vec<String> = next.iter().map(|r| r.key.as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(ids, vec![r#"{"_id":3}"#, r#"{"_id":4}"#], "only the changes after the stored token");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(task.poll().await.expect("poll").is_empty(), "nothing replayed");
    task.stop().await.expect("stop");
}

#[tokio::test]
async fn debezium_alias_emits_envelopes_with_rows() {
    let client = client().await;
    let db = unique("dbz");
    let coll = client.database(&db).collection::<Document>("people");
    let oid = ObjectId::new();
    coll.insert_one(
        doc! {"_id": oid, "name": "ann", "age": 30, "tags": ["a"], "since": DateTime::from_millis(86_400_000)},
    )
    .await
    .expect("insert");
    let config = props(&[
        ("connector.class", "io.debezium.connector.mongodb.MongoDbConnector"),
        ("mongodb.connection.string", &uri()),
        ("topic.prefix", "server1"),
        ("collection.include.list", &format!("{db}\\.peo.*")),
        ("poll.await.time.ms", "200"),
    ]);
    let configs = task_configs(config, 1).await.expect("configs");
    let mut task = source_task(configs[0].clone(), Arc::new(MemoryOffsets::default())).await.expect("start");
    let snapshot = poll_n(&mut task, 1, Duration::from_secs(20)).await;
    let r = &snapshot[0];
    assert_eq!(r.topic, format!("server1.{db}.people"));
    assert_eq!(r.key.field("id"), Some(&Value::String(oid.to_hex())));
    assert_eq!(r.value.field("op").and_then(Value::as_str), Some("r"));
    let after = r.value.field("after").expect("after");
    assert_eq!(after.field("name"), Some(&Value::String("ann".into())));
    assert_eq!(after.field("age"), Some(&Value::Int32(30)));
    assert_eq!(after.field("since"), Some(&Value::Int64(86_400_000)));
    assert_eq!(after.field("tags"), Some(&Value::String(r#"["a"]"#.into())));
    let source = r.value.field("source").expect("source");
    assert_eq!(source.field("connector").and_then(Value::as_str), Some("mongodb"));
    assert_eq!(source.field("collection").and_then(Value::as_str), Some("people"));
    assert_eq!(source.field("snapshot").and_then(Value::as_str), Some("true"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    coll.update_one(doc! {"_id": oid}, doc! {"$unset": {"tags": ""}, "$set": {"age": 31}}).await.expect("update");
    let updates = poll_n(&mut task, 1, Duration::from_secs(20)).await;
    let update = &updates[0];
    assert_eq!(update.value.field("op").and_then(Value::as_str), Some("u"));
    let desc = update.value.field("updateDescription").expect("updateDescription");
    assert_eq!(desc.field("removedFields"), Some(&Value::Array(vec![Value::String("tags".into())])));
    let after = update.value.field("after").expect("after");
    assert_eq!(after.field("age"), Some(&Value::Int32(31)));
    assert_eq!(after.field("tags"), Some(&Value::Null), "an $unset field is named as null in after: {after:?}");
    coll.delete_one(doc! {"_id": oid}).await.expect("delete");
    let mut events = vec![update.clone()];
    events.extend(poll_n(&mut task, 2, Duration::from_secs(20)).await);
    assert_eq!(events[1].value.field("op").and_then(Value::as_str), Some("d"));
    assert!(events[1].value.field("after").is_some_and(Value::is_null));
    assert!(events[2].value.is_null(), "a tombstone follows the delete");
    assert_eq!(events[2].key, events[1].key);
    task.stop().await.expect("stop");
}

#[tokio::test]
async fn a_lost_resume_token_names_the_recovery_setting() {
    let db = unique("lost");
    let config = props(&[("connection.uri", &uri()), ("database", &db), ("collection", "c")]);
    let configs = task_configs(config, 1).await.expect("configs");
    let offsets = Arc::new(MemoryOffsets::default());
    let partition = offset_map([("ns", json!(format!("mongodb://127.0.0.1:27017/{db}.c")))]);
    offsets.set(&partition, offset_map([("_id", json!(r#"{"_data": "8263A0000000012B022C0100296E5A1004"}"#))]));
    let mut task = source_task(configs[0].clone(), offsets).await.expect("start");
    let err = poll_error(&mut task, Duration::from_secs(20)).await;
    assert_eq!(err.kind(), ErrorKind::Fatal, "{err}");
    assert!(err.to_string().contains("offset.partition.name"), "{err}");
    assert!(err.to_string().contains(&format!("{db}.c")), "{err}");
    task.stop().await.expect("stop");
}

#[tokio::test]
async fn bad_pipelines_and_unreachable_servers_are_clear_errors() {
    let db = unique("bad");
    let err =
        task_configs(props(&[("database", &db), ("pipeline", r#"{"$match": {}}"#)]), 1).await.expect_err("object");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("pipeline") && err.to_string().contains("JSON array"), "{err}");

    let config =
        props(&[("connection.uri", &uri()), ("database", &db), ("collection", "c"), ("pipeline", r#"[{"$nope": 1}]"#)]);
    let mut task = source_task(config, Arc::new(MemoryOffsets::default())).await.expect("start");
    let err = poll_error(&mut task, Duration::from_secs(20)).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
    assert!(err.to_string().contains("pipeline"), "{err}");
    task.stop().await.expect("stop");

    let unreachable = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300";
    let config = props(&[("connection.uri", unreachable), ("database", &db), ("collection", "c")]);
    let configs = task_configs(config, 1).await.expect("configs need no server");
    let mut task =
        source_task(configs[0].clone(), Arc::new(MemoryOffsets::default())).await.expect("start needs no server");
    let err = poll_error(&mut task, Duration::from_secs(20)).await;
    assert!(err.is_retriable(), "{err:?}");
    assert!(err.to_string().contains(&format!("{db}.c")), "{err}");
    task.stop().await.expect("stop");
}
