use aqueduct_sdk::debezium::Op;
use aqueduct_sdk::{ConnectRecord, ErrorKind, Transform, Value};
use serde_json::json;

use super::super::fixtures::{mongo_event, props, sorted, PgTable};
use super::ByLogicalTableRouter;

fn router(pairs: &[(&str, &str)]) -> ByLogicalTableRouter {
    let mut t = ByLogicalTableRouter::default();
    t.configure(&props(pairs)).expect("valid config");
    t
}

const SHARDS: [(&str, &str); 2] =
    [("topic.regex", r"(.*)customers_shard(.*)"), ("topic.replacement", "$1customers_all_shards")];

#[test]
fn routes_shards_to_one_topic_with_renamed_schemas() {
    let t = PgTable::new("customers_shard1");
    let mut smt = router(&SHARDS);
    let out = smt
        .apply(t.event(Op::Update, Some(t.row(1, Some("a"))), Some(t.row(1, Some("b")))))
        .expect("ok")
        .expect("kept");
    assert_eq!(out.topic, "srv.public.customers_all_shards");
    let key_schema = out.key_schema.as_ref().expect("key schema");
    assert_eq!(key_schema.name.as_deref(), Some("srv.public.customers_all_shards.Key"));
    assert_eq!(
        key_schema.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["id", "__dbz__physicalTableIdentifier"]
    );
    assert_eq!(out.key.field("__dbz__physicalTableIdentifier"), Some(&Value::from("srv.public.customers_shard1")));
    assert_eq!(out.key.field("id"), Some(&Value::Int64(1)));
    let schema = out.value_schema.as_ref().expect("value schema");
    assert_eq!(schema.name.as_deref(), Some("srv.public.customers_all_shards.Envelope"));
    assert_eq!(schema.version, Some(1));
    let row = &schema.field("after").expect("after").schema;
    assert_eq!((row.name.as_deref(), row.optional), (Some("srv.public.customers_all_shards.Value"), true));
    assert_eq!(out.value.field("after").and_then(|a| a.field("email")), Some(&Value::from("b")));
    assert_eq!(out.value.field("before").and_then(|a| a.field("email")), Some(&Value::from("a")));
    assert_eq!(out.value.field("op"), Some(&Value::from("u")));
    let row_value_schema = out.value.field("after").and_then(Value::as_struct).map(|s| s.schema().clone());
    assert_eq!(row_value_schema.as_ref(), Some(row), "rows typed by the renamed schema");
}

#[test]
fn key_field_options() {
    let t = PgTable::new("customers_shard2");
    let mut pairs = SHARDS.to_vec();
    pairs.extend([("key.field.name", "shard"), ("key.field.regex", r".*_shard(\d+)"), ("key.field.replacement", "$1")]);
    let out = router(&pairs).apply(t.event(Op::Create, None, Some(t.row(1, None)))).expect("ok").expect("kept");
    assert_eq!(out.key.field("shard"), Some(&Value::from("2")));
    let mut pairs = SHARDS.to_vec();
    pairs.push(("key.enforce.uniqueness", "false"));
    let out = router(&pairs).apply(t.event(Op::Create, None, Some(t.row(1, None)))).expect("ok").expect("kept");
    assert_eq!(out.key_schema.map(|s| s.fields.len()), Some(1));
    let mut pairs = SHARDS.to_vec();
    pairs.extend([("topic.replacement", "my-$1all"), ("schema.name.adjustment.mode", "avro")]);
    let out = router(&pairs).apply(t.event(Op::Create, None, Some(t.row(1, None)))).expect("ok").expect("kept");
    assert_eq!(out.topic, "my-srv.public.all");
    assert_eq!(out.key_schema.and_then(|s| s.name.clone()).as_deref(), Some("my_srv.public.all.Key"));
}

#[test]
fn tombstones_other_topics_and_other_values() {
    let t = PgTable::new("customers_shard1");
    let mut smt = router(&SHARDS);
    let out = smt.apply(t.tombstone(4)).expect("ok").expect("kept");
    assert_eq!(
        (out.topic.as_str(), out.value.clone(), out.value_schema.clone()),
        ("srv.public.customers_all_shards", Value::Null, None)
    );
    assert_eq!(out.key.field("__dbz__physicalTableIdentifier"), Some(&Value::from("srv.public.customers_shard1")));
    let other = PgTable::new("orders").event(Op::Create, None, Some(t.row(1, None)));
    assert_eq!(smt.apply(other.clone()).expect("ok"), Some(other), "a topic the regex does not match is unchanged");
    let keyless = ConnectRecord::new("x.customers_shard1", Value::from("text"));
    let out = smt.apply(keyless).expect("ok").expect("kept");
    assert_eq!((out.topic.as_str(), out.key, out.value), ("x.customers_all_shards", Value::Null, Value::from("text")));
    let schemaless =
        ConnectRecord::new("x.customers_shard1", Value::Null).with_key(None, Value::from_json(json!({"id": 1})));
    let out = smt.apply(schemaless).expect("ok").expect("kept");
    assert_eq!(
        sorted(&out.key),
        sorted(&Value::from_json(json!({"id": 1, "__dbz__physicalTableIdentifier": "x.customers_shard1"})))
    );
    let bad_key = ConnectRecord::new("x.customers_shard1", Value::Null).with_key(None, Value::from("k"));
    let err = smt.apply(bad_key).expect_err("a string key");
    assert_eq!(err.message(), "Only Struct objects supported for [Updating schema], found: java.lang.String");
}

#[test]
fn mongo_collections() {
    let mut smt = router(&[("topic.regex", r"srv\.shop\.(.*)"), ("topic.replacement", "srv.shop.all")]);
    let out = smt.apply(mongo_event(Op::Update, None, Some(("a1", 2)))).expect("ok").expect("kept");
    assert_eq!(out.topic, "srv.shop.all");
    assert!(out.value_schema.as_ref().is_some_and(|s| s.field("updateDescription").is_some()), "other fields kept");
    assert_eq!(out.value.field("after").and_then(|a| a.field("_id")), Some(&Value::from("a1")));
}

#[test]
fn bad_keys_are_config_errors_naming_them() {
    for (pairs, expected) in [
        (vec![("topic.replacement", "x")], "Missing required configuration \"topic.regex\" which has no default value."),
        (vec![("topic.regex", "("), ("topic.replacement", "x")], "Invalid value ( for configuration topic.regex: A valid regular expressions is expected"),
        (vec![("topic.regex", "(a)"), ("topic.replacement", "$2")], "Invalid value $2 for configuration topic.replacement: No group 2"),
        (vec![("topic.regex", "a"), ("topic.replacement", "b"), ("key.field.regex", "(.*)")], "Invalid value null for configuration key.field.replacement: key.field.replacement must be non-empty if key.field.regex is set."),
        (vec![("topic.regex", "a"), ("topic.replacement", "b"), ("schema.name.adjustment.mode", "x")], "Invalid value x for configuration schema.name.adjustment.mode: Value must be one of none, avro, avro_unicode"),
    ] {
        let err = ByLogicalTableRouter::default().configure(&props(&pairs)).expect_err("invalid");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().starts_with(expected), "{}", err.message());
    }
}

fn key_record(topic: &str, key_schema_name: &str, field: &str, key: Value) -> ConnectRecord {
    let schema = aqueduct_sdk::Schema::struct_builder().name(key_schema_name).field(field, key_type(&key)).build();
    let key = Value::Struct(aqueduct_sdk::Struct::new(schema.clone()).put(field, key).expect("key"));
    ConnectRecord::new(topic, Value::Null).with_key(Some(schema), key)
}

fn key_type(v: &Value) -> aqueduct_sdk::SchemaRef {
    match v {
        Value::String(_) => aqueduct_sdk::Schema::string(),
        _ => aqueduct_sdk::Schema::int64(),
    }
}

/// Debezium's `testKeyReplacementWorkingConfiguration` (with `avro` and `none`).
#[test]
fn ported_key_replacement() {
    for (mode, expected) in [
        ("avro", "mysql_server_1.inventory.customers_all_shards.Key"),
        ("none", "mysql-server-1.inventory.customers_all_shards.Key"),
    ] {
        let mut smt = router(&[
            ("topic.regex", "(.*)customers_shard(.*)"),
            ("topic.replacement", "$1customers_all_shards"),
            ("key.field.name", "shard_id"),
            ("key.field.regex", "(.*)customers_shard_(.*)"),
            ("key.field.replacement", "$2"),
            ("schema.name.adjustment.mode", mode),
        ]);
        for (shard, id) in [("1", 123i64), ("2", 123), ("2", 456)] {
            let topic = format!("mysql-server-1.inventory.customers_shard_{shard}");
            let record = key_record(&topic, &format!("{topic}.Key"), "id", Value::Int64(id));
            let out = smt.apply(record).expect("ok").expect("kept");
            assert_eq!(out.topic, "mysql-server-1.inventory.customers_all_shards");
            let schema = out.key_schema.as_ref().expect("key schema");
            assert_eq!(schema.name.as_deref(), Some(expected));
            assert_eq!(schema.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["id", "shard_id"]);
            assert_eq!(
                (out.key.field("id"), out.key.field("shard_id")),
                (Some(&Value::Int64(id)), Some(&Value::from(shard)))
            );
        }
    }
}

/// Debezium's `testHeartbeatMessageTopicReplacementTopic` and
/// `testNamespaceReplacementWithoutKeyChange`.
#[test]
fn ported_heartbeats_and_namespace_replacement() {
    let mut smt = router(&[
        ("topic.regex", "__debezium-heartbeat(.*)"),
        ("topic.replacement", "debezium_heartbeat_central"),
        ("key.field.name", "originalTopic"),
    ]);
    let record = key_record(
        "__debezium-heartbeat.db",
        "io.debezium.connector.mysql.ServerNameKey",
        "serverName",
        Value::from("db"),
    );
    let out = smt.apply(record).expect("ok").expect("kept");
    assert_eq!(out.key_schema.and_then(|s| s.name.clone()).as_deref(), Some("debezium_heartbeat_central.Key"));
    assert_eq!(out.key.field("originalTopic"), Some(&Value::from("__debezium-heartbeat.db")));
    assert_eq!(out.value, Value::Null);

    let mut smt = router(&[
        ("topic.regex", r"(.*).dbz_shard_\d+.(.*)"),
        ("topic.replacement", "dbz_core.$2"),
        ("key.enforce.uniqueness", "false"),
    ]);
    let record = key_record("s21.dbz_shard_21.address", "s21.dbz_shard_21.address.Key", "id", Value::Int64(123));
    let out = smt.apply(record).expect("ok").expect("kept");
    assert_eq!(out.topic, "dbz_core.address");
    let schema = out.key_schema.expect("key schema");
    assert_eq!((schema.name.as_deref(), schema.fields.len()), (Some("dbz_core.address.Key"), 1));
}
