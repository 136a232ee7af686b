use aqueduct_sdk::debezium::Op;
use aqueduct_sdk::{ErrorKind, Header, Schema, SchemaType, Transform, Value};
use serde_json::json;

use super::super::fixtures::{mongo_event, props, schemaless, sorted, PgTable};
use super::ExtractNewRecordState;

fn smt(pairs: &[(&str, &str)]) -> ExtractNewRecordState {
    let mut t = ExtractNewRecordState::default();
    t.configure(&props(pairs)).expect("valid config");
    t
}

fn field_names(record: &aqueduct_sdk::ConnectRecord) -> Vec<String> {
    record.value_schema.as_ref().map(|s| s.fields.iter().map(|f| f.name.clone()).collect()).unwrap_or_default()
}

#[test]
fn unwraps_creates_updates_and_reads() {
    let t = PgTable::new("customers");
    let mut smt = smt(&[]);
    for op in [Op::Create, Op::Read, Op::Update] {
        let before = (op == Op::Update).then(|| t.row(1, Some("old@x")));
        let out = smt.apply(t.event(op, before, Some(t.row(1, Some("a@x"))))).expect("applies").expect("kept");
        assert_eq!(out.value, t.row(1, Some("a@x")));
        assert_eq!(out.value_schema.as_ref(), Some(&t.row_schema), "the after schema, optional as in the envelope");
        assert_eq!((out.topic.as_str(), out.key_schema.as_ref()), ("srv.public.customers", Some(&t.key_schema)));
    }
}

#[test]
fn delete_modes() {
    let t = PgTable::new("customers");
    let delete = || t.event(Op::Delete, Some(t.row(1, Some("a@x"))), None);
    assert_eq!(smt(&[("delete.tombstone.handling.mode", "drop")]).apply(delete()).expect("applies"), None);

    let out = smt(&[]).apply(delete()).expect("applies").expect("kept");
    assert_eq!(out.value, Value::Null, "tombstone mode: a null value");
    assert_eq!(out.value_schema.as_ref(), Some(&t.row_schema), "with the after schema, as Debezium");

    let out =
        smt(&[("delete.tombstone.handling.mode", "delete-to-tombstone")]).apply(delete()).expect("ok").expect("kept");
    assert_eq!((out.value, out.value_schema), (Value::Null, None));

    for mode in ["rewrite", "rewrite-with-tombstone"] {
        let out = smt(&[("delete.tombstone.handling.mode", mode)]).apply(delete()).expect("applies").expect("kept");
        assert_eq!(field_names(&out), ["id", "email", "score", "__deleted"]);
        assert_eq!(out.value.field("__deleted"), Some(&Value::String("true".into())));
        assert_eq!(out.value.field("email"), Some(&Value::String("a@x".into())));
        assert_eq!(out.value.field("score"), Some(&Value::Int32(7)), "replace.null.with.default");
        let schema = out.value_schema.expect("schema");
        assert!(!schema.optional, "InsertField's copySchemaBasics makes it required");
        assert_eq!(schema.name.as_deref(), Some("srv.public.customers.Value"));
        let upsert = smt(&[("delete.tombstone.handling.mode", mode)])
            .apply(t.event(Op::Create, None, Some(t.row(2, None))))
            .expect("applies")
            .expect("kept");
        assert_eq!(upsert.value.field("__deleted"), Some(&Value::String("false".into())));
    }
    let out = smt(&[("delete.tombstone.handling.mode", "rewrite"), ("replace.null.with.default", "false")])
        .apply(delete())
        .expect("applies")
        .expect("kept");
    assert_eq!(out.value.field("score"), Some(&Value::Null));
}

#[test]
fn tombstones_truncates_and_other_records() {
    let t = PgTable::new("customers");
    for mode in ["drop", "tombstone", "rewrite", "delete-to-tombstone"] {
        let out = smt(&[("delete.tombstone.handling.mode", mode)]).apply(t.tombstone(1)).expect("applies");
        assert_eq!(out, None, "{mode} drops tombstones");
    }
    let kept = smt(&[("delete.tombstone.handling.mode", "rewrite-with-tombstone")]).apply(t.tombstone(1)).expect("ok");
    assert_eq!(kept, Some(t.tombstone(1)));
    assert_eq!(smt(&[]).apply(t.event(Op::Truncate, None, None)).expect("applies"), None, "truncates dropped");

    let heartbeat_schema =
        Schema::struct_builder().name("io.debezium.connector.common.Heartbeat").field("ts_ms", Schema::int64()).build();
    let heartbeat = aqueduct_sdk::ConnectRecord::new("__debezium-heartbeat.srv", Value::Null).with_value(
        Some(heartbeat_schema.clone()),
        Value::Struct(aqueduct_sdk::Struct::new(heartbeat_schema).put("ts_ms", 1i64).expect("field")),
    );
    let plain = aqueduct_sdk::ConnectRecord::new("t", Value::from_json(json!({"id": 1, "op": "c"})));
    let mut smt = smt(&[("add.fields", "op"), ("add.headers", "op")]);
    assert_eq!(smt.apply(heartbeat.clone()).expect("applies"), Some(heartbeat), "non-envelopes pass unchanged");
    assert_eq!(smt.apply(plain.clone()).expect("applies"), Some(plain));
}

#[test]
fn add_fields_and_headers() {
    let t = PgTable::new("customers");
    let mut smt = smt(&[
        ("add.fields", "op,table,source.ts_ms,lsn:LSN,ts_ms,id"),
        ("add.headers", "op,db"),
        ("add.headers.prefix", "h_"),
    ]);
    let out = smt.apply(t.event(Op::Update, None, Some(t.row(1, None)))).expect("applies").expect("kept");
    assert_eq!(field_names(&out), ["id", "email", "score", "__op", "__table", "__source_ts_ms", "__LSN", "__ts_ms"]);
    assert_eq!(out.value.field("__op"), Some(&Value::String("u".into())));
    assert_eq!(out.value.field("__table"), Some(&Value::String("customers".into())));
    assert_eq!(out.value.field("__source_ts_ms"), Some(&Value::Int64(1_700_000_000_000)));
    assert_eq!(out.value.field("__LSN"), Some(&Value::Int64(24_023_128)));
    assert_eq!(out.value.field("__ts_ms"), Some(&Value::Int64(1_700_000_000_123)));
    let schema = out.value_schema.as_ref().expect("schema");
    assert!(schema.field("__op").is_some_and(|f| f.schema.optional && f.schema.schema_type == SchemaType::String));
    assert!(schema.field("id").is_some_and(|f| !f.schema.optional), "row fields keep their schemas");
    let keys: Vec<_> = out.headers.iter().map(|h| (h.key.as_str(), h.value.clone())).collect();
    assert_eq!(keys, [("h_op", Value::from("u")), ("h_db", Value::from("shop"))]);
    assert!(out.headers[0].schema.as_ref().is_some_and(|s| s.optional));

    let delete = smt.apply(t.event(Op::Delete, Some(t.row(1, None)), None)).expect("applies").expect("kept");
    assert_eq!(delete.value, Value::Null, "tombstone mode adds no fields to the null value");
    assert_eq!(delete.headers.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(), ["h_op", "h_db"]);
    let mut rewrite = super::ExtractNewRecordState::default();
    rewrite
        .configure(&props(&[("delete.tombstone.handling.mode", "rewrite-with-tombstone"), ("add.headers", "op")]))
        .expect("valid");
    let tomb = rewrite.apply(t.tombstone(1)).expect("applies").expect("kept");
    assert_eq!(tomb.headers, vec![Header { key: "__op".into(), schema: Some(Schema::string()), value: "d".into() }]);
}

#[test]
fn route_by_field() {
    let t = PgTable::new("customers");
    let mut smt = smt(&[("route.by.field", "email"), ("delete.tombstone.handling.mode", "rewrite")]);
    let out = smt.apply(t.event(Op::Create, None, Some(t.row(1, Some("vip"))))).expect("applies").expect("kept");
    assert_eq!(out.topic, "vip");
    let out = smt.apply(t.event(Op::Create, None, Some(t.row(1, None)))).expect("applies").expect("kept");
    assert_eq!(out.topic, "srv.public.customers", "a null field keeps the topic");
    let out = smt.apply(t.event(Op::Delete, Some(t.row(1, Some("gone"))), None)).expect("applies").expect("kept");
    assert_eq!(out.topic, "gone", "deletes route by the before image");
    let mut bad = super::ExtractNewRecordState::default();
    bad.configure(&props(&[("route.by.field", "nope")])).expect("valid");
    let err = bad.apply(t.event(Op::Create, None, Some(t.row(1, None)))).expect_err("unknown field");
    assert_eq!((err.kind(), err.message()), (ErrorKind::Data, "nope is not a valid field name"));
}

fn drop_header(names: &[&str]) -> Header {
    let items = names.iter().map(|n| Value::from(*n)).collect();
    Header { key: "drop".into(), schema: Some(Schema::array(Schema::string()).build()), value: Value::Array(items) }
}

#[test]
fn drop_fields_from_a_header() {
    let t = PgTable::new("customers");
    let event = |names: &[&str]| {
        let mut r = t.event(Op::Create, None, Some(t.row(1, Some("a@x"))));
        r.headers.push(drop_header(names));
        r
    };
    let out = smt(&[("drop.fields.header.name", "drop")]).apply(event(&["email", "id"])).expect("ok").expect("kept");
    assert_eq!(field_names(&out), ["id", "score"], "only optional fields are dropped while keeping compatibility");
    assert_eq!(out.value.field("score"), Some(&Value::Int32(7)), "ReplaceField puts defaults in place of nulls");
    let out = smt(&[
        ("drop.fields.header.name", "drop"),
        ("drop.fields.keep.schema.compatible", "false"),
        ("drop.fields.from.key", "true"),
    ])
    .apply(event(&["email", "id"]))
    .expect("applies")
    .expect("kept");
    assert_eq!(field_names(&out), ["score"]);
    assert_eq!(out.key_schema.as_ref().map(|s| s.fields.len()), Some(0), "dropped from the key too");
    let out = smt(&[("drop.fields.header.name", "drop")]).apply(event(&[])).expect("applies").expect("kept");
    assert_eq!(field_names(&out), ["id", "email", "score"]);
    let out = smt(&[("drop.fields.header.name", "other")]).apply(event(&["email"])).expect("applies").expect("kept");
    assert_eq!(field_names(&out), ["id", "email", "score"], "no such header: nothing dropped");
}

#[test]
fn mongo_events() {
    let mut smt = smt(&[("add.fields", "op,collection"), ("delete.tombstone.handling.mode", "rewrite")]);
    let out = smt.apply(mongo_event(Op::Create, None, Some(("a1", 3)))).expect("applies").expect("kept");
    assert_eq!(field_names(&out), ["_id", "qty", "__deleted", "__op", "__collection"]);
    assert_eq!(out.value.field("_id"), Some(&Value::from("a1")));
    assert_eq!(out.value.field("__collection"), Some(&Value::from("orders")));
    let out = smt.apply(mongo_event(Op::Delete, Some(("a1", 3)), None)).expect("applies").expect("kept");
    assert_eq!(out.value.field("__deleted"), Some(&Value::from("true")));
    let out = smt.apply(mongo_event(Op::Update, None, None)).expect("applies");
    assert_eq!(out, None, "an update without a full document has no row");
    let out = smt.apply(mongo_event(Op::Delete, None, None)).expect("applies").expect("kept");
    assert_eq!(out.value, Value::Null, "a delete without pre-image stays a delete");
    let mut with_desc = super::ExtractNewRecordState::default();
    with_desc.configure(&props(&[("add.fields", "updateDescription")])).expect("valid");
    let out = with_desc.apply(mongo_event(Op::Update, None, Some(("a1", 2)))).expect("applies").expect("kept");
    assert!(out.value.field("__updateDescription").is_some_and(|d| d.field("updatedFields").is_some()));
}

#[test]
fn schemaless_envelopes() {
    let event = json!({"op": "u", "before": null, "after": {"id": 1, "email": "a@x"},
        "source": {"table": "customers", "ts_ms": 5}, "ts_ms": 6});
    let mut smt = smt(&[
        ("add.fields", "op,table"),
        ("add.headers", "source.ts_ms"),
        ("delete.tombstone.handling.mode", "rewrite"),
    ]);
    let out = smt.apply(schemaless(event)).expect("applies").expect("kept");
    let expected = json!({"id": 1, "email": "a@x", "__deleted": "false", "__op": "u", "__table": "customers"});
    assert_eq!(sorted(&out.value), sorted(&Value::from_json(expected)));
    assert_eq!(out.value_schema, None);
    assert_eq!(out.headers, vec![Header { key: "__source_ts_ms".into(), schema: None, value: Value::Int64(5) }]);
    let delete = json!({"op": "d", "before": {"id": 1}, "after": null, "source": {"table": "customers"}});
    let out = smt.apply(schemaless(delete)).expect("applies").expect("kept");
    assert_eq!(
        sorted(&out.value),
        sorted(&Value::from_json(json!({"id": 1, "__deleted": "true", "__op": "d", "__table": "customers"})))
    );
}

#[test]
fn bad_keys_are_config_errors_naming_them() {
    for (key, value, expected) in [
        ("delete.tombstone.handling.mode", "nope", "Invalid value nope for configuration delete.tombstone.handling.mode: Value must be one of drop, tombstone, rewrite-with-tombstone, rewrite, delete-to-tombstone"),
        ("drop.fields.from.key", "maybe", "Invalid value maybe for configuration drop.fields.from.key: Expected value to be either true or false"),
        ("add.fields", "a:b:c", "Invalid value a:b:c for configuration add.fields: Unexpected field name: a:b:c"),
    ] {
        let err = super::ExtractNewRecordState::default().configure(&props(&[(key, value)])).expect_err("invalid");
        assert_eq!((err.kind(), err.message()), (ErrorKind::Config, expected));
    }
    assert!(super::ExtractNewRecordState::default().apply(PgTable::new("t").tombstone(1)).is_err(), "unconfigured");
}

/// An update with a `transaction` block and `ts_us`/`ts_ns`, as Debezium's own tests build it.
fn update_with_transaction(transaction: bool) -> aqueduct_sdk::ConnectRecord {
    use aqueduct_sdk::{Field, Struct};
    let row = Schema::struct_builder()
        .name("dummy.Value")
        .optional()
        .field("id", Schema::primitive(SchemaType::Int8))
        .field("name", Schema::optional(SchemaType::String))
        .build();
    let source = Schema::struct_builder()
        .name("source")
        .field("lsn", Schema::optional(SchemaType::Int32))
        .field("db", Schema::optional(SchemaType::String))
        .field("table", Schema::optional(SchemaType::String))
        .build();
    let txn = Schema::struct_builder()
        .name("event.block")
        .optional()
        .field("id", Schema::string())
        .field("total_order", Schema::int64())
        .field("data_collection_order", Schema::int64())
        .build();
    let mut schema = (*aqueduct_sdk::debezium::envelope_schema("dummy", &row, &source)).clone();
    for (name, s) in [
        ("ts_us", Schema::optional(SchemaType::Int64)),
        ("ts_ns", Schema::optional(SchemaType::Int64)),
        ("transaction", txn.clone()),
    ] {
        schema.fields.push(Field { name: name.into(), schema: s });
    }
    let schema = std::sync::Arc::new(schema);
    let image = |name: &str| {
        Value::Struct(
            Struct::new(row.clone()).put("id", Value::Int8(1)).and_then(|s| s.put("name", name)).expect("row"),
        )
    };
    let src = Struct::new(source)
        .put("lsn", 1234)
        .and_then(|s| s.put("db", "test_db"))
        .and_then(|s| s.put("table", "test_table"))
        .expect("source");
    let value = aqueduct_sdk::debezium::envelope(
        &schema,
        Op::Update,
        Some(image("myRecord")),
        Some(image("updatedRecord")),
        Value::Struct(src),
        1_710_032_523_000,
    )
    .expect("envelope");
    let Value::Struct(value) = value else { unreachable!("an envelope is a struct") };
    let mut value = value
        .put("ts_us", 1_710_032_523_000_123i64)
        .and_then(|v| v.put("ts_ns", 1_710_032_523_000_123_456i64))
        .expect("ts");
    if transaction {
        let t = Struct::new(txn)
            .put("id", "571")
            .and_then(|t| t.put("total_order", 42i64))
            .and_then(|t| t.put("data_collection_order", 42i64));
        value = value.put("transaction", t.expect("transaction")).expect("field");
    }
    aqueduct_sdk::ConnectRecord::new("dummy", Value::Null).with_value(Some(schema), Value::Struct(value))
}

/// Debezium's `testNewFieldAndHeaderMapping` and `testNewNotDefaultField`.
#[test]
fn ported_field_and_header_mapping() {
    let mut smt = smt(&[
        ("add.fields", "notExisting,op:OP, lsn:LSN, id:ID, source.lsn:source_lsn, transaction.total_order:TOTAL_ORDER"),
        ("add.fields.prefix", ""),
        ("add.headers", "op, source.lsn:source_lsn, transaction.id:TXN_ID, transaction.total_order:TOTAL_ORDER"),
        ("add.headers.prefix", "prefix."),
    ]);
    let out = smt.apply(update_with_transaction(true)).expect("applies").expect("kept");
    let get = |name: &str| out.value.field(name).cloned();
    assert_eq!(get("OP"), Some(Value::from("u")));
    assert_eq!(get("LSN"), Some(Value::Int32(1234)));
    assert_eq!(get("ID"), Some(Value::from("571")));
    assert_eq!(get("source_lsn"), Some(Value::Int32(1234)));
    assert_eq!(get("TOTAL_ORDER"), Some(Value::Int64(42)));
    assert_eq!(get("name"), Some(Value::from("updatedRecord")));
    assert!(out.value_schema.as_ref().is_some_and(|s| s.field("notExisting").is_none()));
    let headers: Vec<_> = out.headers.iter().map(|h| (h.key.as_str(), h.value.clone())).collect();
    assert_eq!(
        headers,
        [
            ("prefix.op", Value::from("u")),
            ("prefix.source_lsn", Value::Int32(1234)),
            ("prefix.TXN_ID", Value::from("571")),
            ("prefix.TOTAL_ORDER", Value::Int64(42))
        ]
    );
}

/// Debezium's `testAddFieldsForMissingOptionalField` (no transaction during a snapshot) and
/// `testEnvelopeTimestampFieldsHandledCorrectly`.
#[test]
fn ported_missing_transaction_and_envelope_timestamps() {
    let mut smt = smt(&[
        ("add.fields", "op,lsn,id,ts_ms:META_TS_MS,ts_us:META_TS_US,ts_ns:META_TS_NS"),
        ("delete.tombstone.handling.mode", "rewrite"),
    ]);
    let out = smt.apply(update_with_transaction(false)).expect("applies").expect("kept");
    assert_eq!(out.value.field("__op"), Some(&Value::from("u")));
    assert_eq!(out.value.field("__lsn"), Some(&Value::Int32(1234)));
    assert_eq!(out.value.field("__id"), Some(&Value::Null));
    assert_eq!(out.value.field("__META_TS_MS"), Some(&Value::Int64(1_710_032_523_000)));
    assert_eq!(out.value.field("__META_TS_US"), Some(&Value::Int64(1_710_032_523_000_123)));
    assert_eq!(out.value.field("__META_TS_NS"), Some(&Value::Int64(1_710_032_523_000_123_456)));
}
