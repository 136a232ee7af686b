//! Insert modes, primary key modes, auto.create/evolve, Debezium envelopes, schemaless maps.

use super::*;
use aqueduct_sdk::debezium::{envelope, envelope_schema, Op};
use serde_json::json;

#[tokio::test]
async fn upserts_keep_the_last_image_and_tombstones_delete() {
    let topic = unique("users");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, UPSERT).await;
    write(
        &mut task,
        vec![
            record(&topic, 0, key(1), user(1, "ann")),
            record(&topic, 1, key(2), user(2, "bob")),
            record(&topic, 2, key(1), user(1, "ann2")), // same key twice in one statement
            record(&topic, 3, key(3), user(3, "cy")),
        ],
    )
    .await
    .expect("put");
    write(
        &mut task,
        vec![
            record(&topic, 4, key(2), user(2, "bob2")),
            record(&topic, 5, key(3), (None, Value::Null)),
            record(&topic, 6, key(4), user(4, "dee")),
            record(&topic, 7, key(4), (None, Value::Null)), // written then deleted in one batch
            record(&topic, 8, key(5), (None, Value::Null)),
            record(&topic, 9, key(5), user(5, "eve")), // deleted then written in one batch
        ],
    )
    .await
    .expect("put");
    let client = db().await;
    let got = rows(&client, &format!("SELECT id::text, name FROM \"{topic}\" ORDER BY id")).await;
    assert_eq!(got, strs(&[&[Some("1"), Some("ann2")], &[Some("2"), Some("bob2")], &[Some("5"), Some("eve")]]));
    task.stop().await.expect("stop");
}

#[tokio::test]
async fn auto_create_then_auto_evolve_adds_nullable_columns() {
    let topic = unique("evolve");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(
        &ctx,
        &[("auto.create", "true"), ("auto.evolve", "true"), ("pk.mode", "record_value"), ("pk.fields", "id")],
    )
    .await;
    write(&mut task, vec![record(&topic, 0, no_key(), user(1, "ann"))]).await.expect("put v1");
    let v2 = Schema::struct_builder()
        .name("user")
        .version(2)
        .field("id", Schema::int64())
        .field("name", Schema::optional(SchemaType::String))
        .field("age", Schema::primitive(SchemaType::Int32))
        .build();
    let row = Struct::new(v2.clone()).put("id", 2i64).and_then(|s| s.put("name", "bob")).and_then(|s| s.put("age", 42));
    write(&mut task, vec![record(&topic, 1, no_key(), (Some(v2), Value::Struct(row.expect("fields"))))])
        .await
        .expect("put v2");
    let client = db().await;
    let got = rows(&client, &format!("SELECT id::text, name, age::text FROM \"{topic}\" ORDER BY id")).await;
    assert_eq!(got, strs(&[&[Some("1"), Some("ann"), None], &[Some("2"), Some("bob"), Some("42")]]));
    let columns = rows(
        &client,
        &format!(
            "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
             WHERE table_name = '{topic}' ORDER BY ordinal_position"
        ),
    )
    .await;
    assert_eq!(
        columns,
        strs(&[
            &[Some("id"), Some("bigint"), Some("NO")],
            &[Some("name"), Some("text"), Some("YES")],
            &[Some("age"), Some("integer"), Some("YES")],
        ])
    );
    let pk = rows(
        &client,
        &format!(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid \
        AND a.attnum = ANY(i.indkey) WHERE i.indrelid = '\"{topic}\"'::regclass AND i.indisprimary"
        ),
    )
    .await;
    assert_eq!(pk, strs(&[&[Some("id")]]));
}

#[tokio::test]
async fn pk_mode_kafka_uses_coordinates() {
    let topic = unique("kafka_pk");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &[("auto.create", "true"), ("insert.mode", "upsert"), ("pk.mode", "kafka")]).await;
    let batch = vec![record(&topic, 7, no_key(), user(1, "a")), record(&topic, 8, no_key(), user(1, "b"))];
    write(&mut task, batch.clone()).await.expect("put");
    write(&mut task, batch).await.expect("redelivery is idempotent");
    let client = db().await;
    let got = rows(&client, &format!(
        "SELECT (__connect_topic = '{topic}')::text, __connect_partition::text, __connect_offset::text, id::text, name FROM \"{topic}\" ORDER BY 3"
    )).await;
    assert_eq!(
        got,
        strs(&[
            &[Some("true"), Some("0"), Some("7"), Some("1"), Some("a")],
            &[Some("true"), Some("0"), Some("8"), Some("1"), Some("b")]
        ])
    );
}

#[tokio::test]
async fn pk_mode_record_key_with_a_primitive_key() {
    let topic = unique("prim_key");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(
        &ctx,
        &[("auto.create", "true"), ("insert.mode", "upsert"), ("pk.mode", "record_key"), ("pk.fields", "k")],
    )
    .await;
    let k = |s: &str| (Some(Schema::string()), Value::from(s));
    write(
        &mut task,
        vec![
            record(&topic, 0, k("x"), user(1, "a")),
            record(&topic, 1, k("x"), user(2, "b")),
            record(&topic, 2, k("y"), user(3, "c")),
        ],
    )
    .await
    .expect("put");
    let client = db().await;
    let got = rows(&client, &format!("SELECT k, id::text, name FROM \"{topic}\" ORDER BY k")).await;
    assert_eq!(got, strs(&[&[Some("x"), Some("2"), Some("b")], &[Some("y"), Some("3"), Some("c")]]));

    let topic = unique("prim_key_bad");
    let mut task = self::task(&ctx, &[("auto.create", "true"), ("pk.mode", "record_key")]).await;
    let err = write(&mut task, vec![record(&topic, 0, k("x"), user(1, "a"))])
        .await
        .expect_err("no pk.fields for a primitive key");
    assert!(err.message().contains("Need exactly one PK column"), "{err:?}");
}

#[tokio::test]
async fn pk_mode_none_inserts_and_record_value_upserts() {
    let topic = unique("plain");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &[("auto.create", "true")]).await;
    write(&mut task, vec![record(&topic, 0, no_key(), user(1, "a")), record(&topic, 1, no_key(), user(1, "a"))])
        .await
        .expect("put");
    let client = db().await;
    assert_eq!(rows(&client, &format!("SELECT count(*)::text FROM \"{topic}\"")).await, strs(&[&[Some("2")]]));

    let topic = unique("by_value");
    let mut task = self::task(
        &ctx,
        &[("auto.create", "true"), ("insert.mode", "upsert"), ("pk.mode", "record_value"), ("pk.fields", "id")],
    )
    .await;
    write(&mut task, vec![record(&topic, 0, no_key(), user(1, "a")), record(&topic, 1, no_key(), user(1, "b"))])
        .await
        .expect("put");
    assert_eq!(
        rows(&client, &format!("SELECT id::text, name FROM \"{topic}\"")).await,
        strs(&[&[Some("1"), Some("b")]])
    );
}

#[tokio::test]
async fn insert_mode_update_changes_existing_rows_only() {
    let table = unique("upd");
    let client = db().await;
    client
        .batch_execute(&format!("CREATE TABLE \"{table}\" (id BIGINT PRIMARY KEY, name TEXT); INSERT INTO \"{table}\" VALUES (1, 'old'), (2, 'keep')"))
        .await
        .expect("create");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &[("insert.mode", "update"), ("pk.mode", "record_key")]).await;
    write(&mut task, vec![record(&table, 0, key(1), user(1, "new")), record(&table, 1, key(3), user(3, "absent"))])
        .await
        .expect("put");
    let got = rows(&client, &format!("SELECT id::text, name FROM \"{table}\" ORDER BY id")).await;
    assert_eq!(got, strs(&[&[Some("1"), Some("new")], &[Some("2"), Some("keep")]]));
}

#[tokio::test]
async fn debezium_envelopes_are_applied() {
    let topic = unique("cdc");
    let source_schema = Schema::struct_builder()
        .name("io.debezium.connector.postgresql.Source")
        .field("table", Schema::string())
        .build();
    let schema = envelope_schema("server.public.users", &user_schema(), &source_schema);
    let source = Value::Struct(Struct::new(source_schema).put("table", "users").expect("field"));
    let event = |op: Op, before: Option<Value>, after: Option<Value>| {
        (Some(schema.clone()), envelope(&schema, op, before, after, source.clone(), 0).expect("envelope"))
    };
    let row = |id: i64, name: &str| user(id, name).1;
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(
        &ctx,
        &[
            ("auto.create", "true"),
            ("insert.mode", "upsert"),
            ("pk.mode", "record_key"),
            ("delete.enabled", "true"),
            ("truncate.enabled", "true"),
        ],
    )
    .await;
    write(
        &mut task,
        vec![
            record(&topic, 0, key(1), event(Op::Read, None, Some(row(1, "snap")))),
            record(&topic, 1, key(2), event(Op::Create, None, Some(row(2, "new")))),
            record(&topic, 2, key(1), event(Op::Update, Some(row(1, "snap")), Some(row(1, "upd")))),
            record(&topic, 3, key(3), event(Op::Create, None, Some(row(3, "gone")))),
            record(&topic, 4, key(3), event(Op::Delete, Some(row(3, "gone")), None)),
            record(&topic, 5, key(3), (None, Value::Null)), // Debezium's tombstone after the delete
        ],
    )
    .await
    .expect("put");
    let client = db().await;
    let got = rows(&client, &format!("SELECT id::text, name FROM \"{topic}\" ORDER BY id")).await;
    assert_eq!(got, strs(&[&[Some("1"), Some("upd")], &[Some("2"), Some("new")]]));
    // A delete without a usable record key takes the key from `before`.
    let mut task2 = self::task(
        &ctx,
        &[("insert.mode", "upsert"), ("pk.mode", "record_key"), ("pk.fields", "id"), ("delete.enabled", "true")],
    )
    .await;
    write(&mut task2, vec![record(&topic, 6, no_key(), event(Op::Delete, Some(row(2, "new")), None))])
        .await
        .expect("put");
    assert_eq!(rows(&client, &format!("SELECT id::text FROM \"{topic}\"")).await, strs(&[&[Some("1")]]));
    let truncate = (Some(schema.clone()), Value::from_json(json!({"op": "t", "source": {"table": "users"}})));
    write(&mut task, vec![record(&topic, 7, key(9), user(9, "x")), record(&topic, 8, no_key(), truncate)])
        .await
        .expect("truncate");
    assert_eq!(rows(&client, &format!("SELECT count(*)::text FROM \"{topic}\"")).await, strs(&[&[Some("0")]]));
}

#[tokio::test]
async fn a_mongodb_update_without_a_full_document_writes_nothing() {
    // MongoDB's change stream looks the full document up when it reads the event; a document
    // deleted since then gives an update with no image, and its delete follows.
    let topic = unique("nofull");
    let ctx = Arc::new(RecordingSinkContext::default());
    let settings =
        [("auto.create", "true"), ("insert.mode", "upsert"), ("pk.mode", "record_key"), ("delete.enabled", "true")];
    let mut task = task(&ctx, &settings).await;
    let update = |desc: serde_json::Value| {
        (
            None,
            Value::from_json(
                json!({"op": "u", "after": null, "updateDescription": desc, "source": {"collection": "c"}}),
            ),
        )
    };
    let gone = update(json!({"removedFields": [], "updatedFields": "{\"n\": 1}", "truncatedArrays": "[]"}));
    write(&mut task, vec![record(&topic, 0, key(1), user(1, "a")), record(&topic, 1, key(1), gone)])
        .await
        .expect("put");
    let client = db().await;
    let got = rows(&client, &format!("SELECT id::text, name FROM \"{topic}\" ORDER BY id")).await;
    assert_eq!(got, strs(&[&[Some("1"), Some("a")]]));
    // Without updateDescription an update with no image is still a data error.
    let err = write(&mut task, vec![record(&topic, 2, key(1), update(serde_json::Value::Null))]).await;
    assert!(err.is_err(), "an update with no image and no updateDescription is rejected");
}

#[tokio::test]
async fn schemaless_maps_infer_column_types() {
    let topic = unique("schemaless");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(
        &ctx,
        &[("auto.create", "true"), ("insert.mode", "upsert"), ("pk.mode", "record_value"), ("pk.fields", "id")],
    )
    .await;
    let v = |j: serde_json::Value| (None, Value::from_json(j));
    write(&mut task, vec![
        record(&topic, 0, no_key(), v(json!({"id": 1, "price": 2.5, "name": "a", "ok": true, "tags": ["x", "y"], "meta": {"k": 1}, "note": null}))),
        record(&topic, 1, no_key(), v(json!({"id": 2, "price": 1.0, "name": "b\"q", "ok": false, "tags": [], "meta": {}, "note": "n"}))),
    ])
    .await
    .expect("put");
    let client = db().await;
    let types = rows(&client, &format!("SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_name = '{topic}' ORDER BY column_name")).await;
    assert_eq!(
        types,
        strs(&[
            &[Some("id"), Some("bigint")],
            &[Some("meta"), Some("jsonb")],
            &[Some("name"), Some("text")],
            &[Some("note"), Some("text")],
            &[Some("ok"), Some("boolean")],
            &[Some("price"), Some("double precision")],
            &[Some("tags"), Some("jsonb")]
        ])
    );
    let got = rows(
        &client,
        &format!(
            "SELECT id::text, price::text, name, ok::text, tags::text, meta::text, note FROM \"{topic}\" ORDER BY id"
        ),
    )
    .await;
    assert_eq!(
        got,
        strs(&[
            &[Some("1"), Some("2.5"), Some("a"), Some("true"), Some("[\"x\", \"y\"]"), Some("{\"k\": 1}"), None],
            &[Some("2"), Some("1"), Some("b\"q"), Some("false"), Some("[]"), Some("{}"), Some("n")],
        ])
    );
}
