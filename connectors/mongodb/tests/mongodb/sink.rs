//! The sink: default strategies, CDC handlers, rejected writes and an unreachable server.

use aqueduct_sdk::debezium::{self, Op};
use aqueduct_sdk::{logical, ErrorKind, Schema, SinkRecord, SinkTask, Struct, Value};
use mongodb::bson::{doc, DateTime, Document};
use serde_json::json;

use crate::common::*;

fn record(offset: i64, key: serde_json::Value, value: serde_json::Value) -> SinkRecord {
    SinkRecord::new("events", 0, offset, None, Value::from_json(value)).with_key(None, Value::from_json(key))
}

async fn docs(db: &str, coll: &str) -> Vec<Document> {
    let client = client().await;
    let mut out = Vec::new();
    let mut cursor =
        client.database(db).collection::<Document>(coll).find(doc! {}).sort(doc! {"_id": 1}).await.expect("find");
    while cursor.advance().await.expect("advance") {
        out.push(cursor.deserialize_current().expect("doc"));
    }
    out
}

#[tokio::test]
async fn default_strategies_upsert_by_id_and_replays_are_harmless() {
    let db = unique("sink");
    let (mut task, _) =
        sink_task(props(&[("connection.uri", &uri()), ("database", &db), ("collection", "c")]), None).await;
    let batch = vec![
        record(0, json!(null), json!({"_id": 1, "name": "a", "n": {"$numberLong": "5"}})),
        record(1, json!(null), json!({"_id": 2, "name": "b"})),
        record(2, json!(null), json!({"_id": 1, "name": "a2"})),
        record(3, json!(null), json!({"name": "no id"})),
    ];
    task.put(&batch).await.expect("put");
    task.put(&batch).await.expect("the same batch again (runtime retry)");
    let got = docs(&db, "c").await;
    assert_eq!(got.len(), 4, "{got:?}: the document without _id gets a new ObjectId per delivery");
    assert_eq!(got[0], doc! {"_id": 1, "name": "a2"});
    assert_eq!(got[1], doc! {"_id": 2, "name": "b"});
    let offsets = [(aqueduct_sdk::TopicPartition::new("events", 0), 4i64)].into_iter().collect();
    assert_eq!(task.pre_commit(&offsets).await.expect("pre_commit"), offsets, "everything put is durable");
}

#[tokio::test]
async fn insert_one_duplicates_are_data_errors_for_the_errant_record_reporter() {
    let db = unique("dup");
    let config = props(&[
        ("connection.uri", &uri()),
        ("database", &db),
        ("collection", "c"),
        ("writemodel.strategy", "com.mongodb.kafka.connect.sink.writemodel.strategy.InsertOneDefaultStrategy"),
        ("document.id.strategy", "com.mongodb.kafka.connect.sink.processor.id.strategy.ProvidedInValueStrategy"),
    ]);
    let batch = |base: i64| {
        vec![
            record(base, json!(null), json!({"_id": base, "v": 1})),
            record(base + 1, json!(null), json!({"_id": base, "v": 2})),
            record(base + 2, json!(null), json!({"_id": base + 2, "v": 3})),
        ]
    };
    // errors.tolerance=all: the duplicate is reported, the rest written.
    let (mut task, context) = sink_task(config.clone(), Some(true)).await;
    task.put(&batch(10)).await.expect("tolerated");
    assert_eq!(docs(&db, "c").await.len(), 2);
    let reported: Vec<(i64, String)> =
        context.reported().iter().map(|(r, e)| (r.kafka_offset, e.to_string())).collect();
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].0, 11);
    assert!(reported[0].1.contains("duplicate key") && reported[0].1.contains(&format!("{db}.c")), "{reported:?}");
    // errors.tolerance=none: the put fails; ordered writes after the failing one are not made.
    let (mut task, _) = sink_task(config.clone(), Some(false)).await;
    let err = task.put(&batch(20)).await.expect_err("fails");
    assert_eq!(err.kind(), ErrorKind::Data, "{err}");
    assert!(err.to_string().contains("duplicate key"), "{err}");
    let ids: Vec<i64> = docs(&db, "c").await.iter().filter_map(|d| d.get_i32("_id").ok().map(i64::from)).collect();
    assert_eq!(ids, vec![10, 12, 20], "nothing after the failed record");
    // No reporter at all: the put fails with the data error.
    let (mut task, _) = sink_task(config, None).await;
    let err = task.put(&[record(30, json!(null), json!("not json"))]).await.expect_err("bad value");
    assert_eq!(err.kind(), ErrorKind::Data);
    assert!(err.to_string().contains("events-0@30"), "{err}");
}

#[tokio::test]
async fn debezium_envelopes_from_postgres_upsert_and_delete_by_key() {
    let db = unique("pg2mongo");
    let (mut task, _) = sink_task(
        props(&[
            ("connection.uri", &uri()),
            ("database", &db),
            ("collection", "users"),
            (
                "change.data.capture.handler",
                "com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.postgres.PostgresHandler",
            ),
        ]),
        None,
    )
    .await;
    let key_schema = Schema::struct_builder()
        .name("pg.public.users.Key")
        .field("id", Schema::primitive(aqueduct_sdk::SchemaType::Int32))
        .build();
    let row = Schema::struct_builder()
        .name("pg.public.users.Value")
        .field("id", Schema::primitive(aqueduct_sdk::SchemaType::Int32))
        .field("email", Schema::optional(aqueduct_sdk::SchemaType::String))
        .field("balance", logical::decimal(2).optional().build())
        .field("created", logical::timestamp().optional().build())
        .build();
    let source = Schema::struct_builder()
        .name("io.debezium.connector.postgresql.Source")
        .field("table", Schema::string())
        .build();
    let envelope = debezium::envelope_schema("pg.public.users", &row, &source);
    let make = |offset: i64, op: Op, id: i32, email: &str| {
        let image = Struct::new(row.clone())
            .put("id", id)
            .and_then(|s| s.put("email", email))
            .and_then(|s| s.put("balance", Value::Bytes(logical::decimal_bytes(12_345))))
            .and_then(|s| s.put("created", 86_400_000i64))
            .map(Value::Struct)
            .expect("row");
        let src = Value::Struct(Struct::new(source.clone()).put("table", "users").expect("source"));
        let (before, after) = if op == Op::Delete { (Some(image), None) } else { (None, Some(image)) };
        let value = debezium::envelope(&envelope, op, before, after, src, 0).expect("envelope");
        let key = Value::Struct(Struct::new(key_schema.clone()).put("id", id).expect("key"));
        SinkRecord::new("pg.public.users", 0, offset, Some(envelope.clone()), value)
            .with_key(Some(key_schema.clone()), key)
    };
    let mut tombstone = make(4, Op::Create, 2, "x");
    tombstone.value = Value::Null;
    tombstone.value_schema = None;
    task.put(&[
        make(0, Op::Read, 1, "a@x"),
        make(1, Op::Create, 2, "b@x"),
        make(2, Op::Update, 1, "a2@x"),
        make(3, Op::Delete, 2, "b@x"),
        tombstone,
    ])
    .await
    .expect("put");
    let got = docs(&db, "users").await;
    let expected = doc! {
        "_id": {"id": 1}, "email": "a2@x",
        "balance": "123.45".parse::<mongodb::bson::Decimal128>().expect("decimal"),
        "created": DateTime::from_millis(86_400_000),
    };
    assert_eq!(got, vec![expected]);
}

#[tokio::test]
async fn tombstones_delete_when_asked_and_unreachable_servers_are_retriable() {
    let db = unique("tomb");
    let (mut task, _) = sink_task(
        props(&[
            ("connection.uri", &uri()),
            ("database", &db),
            ("collection", "c"),
            ("document.id.strategy", "ProvidedInKeyStrategy"),
            ("delete.on.null.values", "true"),
        ]),
        None,
    )
    .await;
    task.put(&[record(0, json!({"_id": "k"}), json!({"v": 1})), record(1, json!({"_id": "j"}), json!({"v": 2}))])
        .await
        .expect("put");
    task.put(&[record(2, json!({"_id": "k"}), json!(null))]).await.expect("delete");
    assert_eq!(docs(&db, "c").await, vec![doc! {"_id": "j", "v": 2}]);

    let unreachable = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300";
    let (mut task, _) = sink_task(
        props(&[
            ("connection.uri", unreachable),
            ("database", &db),
            ("collection", "c"),
            ("retries.defer.timeout", "10"),
        ]),
        None,
    )
    .await;
    let err = task.put(&[record(0, json!(null), json!({"_id": 1}))]).await.expect_err("no server");
    assert!(err.is_retriable(), "{err:?}");
    assert!(err.to_string().contains(&format!("{db}.c")), "{err}");
}
