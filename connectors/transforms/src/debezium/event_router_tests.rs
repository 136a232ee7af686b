use aqueduct_sdk::debezium::{envelope, envelope_schema, Op};
use aqueduct_sdk::{ConnectRecord, ErrorKind, Schema, SchemaRef, SchemaType, Struct, Transform, Value};
use serde_json::json;

use super::super::fixtures::{pg_source_schema, props, sorted};
use super::EventRouter;

/// An outbox table as the Postgres source describes it: `id uuid, aggregatetype text,
/// aggregateid text, type text, payload jsonb, created_at timestamptz(6), version int, part int`.
fn outbox_row_schema() -> SchemaRef {
    let named = |t, n: &str| Schema::builder(t).optional().name(n).build();
    Schema::struct_builder()
        .name("srv.public.outbox.Value")
        .optional()
        .field("id", Schema::builder(SchemaType::String).name("io.debezium.data.Uuid").build())
        .field("aggregatetype", Schema::string())
        .field("aggregateid", Schema::string())
        .field("type", Schema::string())
        .field("payload", named(SchemaType::String, "io.debezium.data.Json"))
        .field("created_at", named(SchemaType::Int64, "io.debezium.time.MicroTimestamp"))
        .field("version", Schema::optional(SchemaType::Int32))
        .field("part", Schema::optional(SchemaType::Int32))
        .build()
}

fn outbox_event(op: Op, payload: Option<&str>) -> ConnectRecord {
    let row_schema = outbox_row_schema();
    let schema = envelope_schema("srv.public.outbox", &row_schema, &pg_source_schema());
    let row = Struct::new(row_schema)
        .put("id", "8f1c0b7e-0000-4000-8000-000000000001")
        .and_then(|s| s.put("aggregatetype", "order"))
        .and_then(|s| s.put("aggregateid", "42"))
        .and_then(|s| s.put("type", "OrderCreated"))
        .and_then(|s| s.put("payload", payload.map_or(Value::Null, Value::from)))
        .and_then(|s| s.put("created_at", 1_700_000_000_123_456i64))
        .and_then(|s| s.put("version", 3))
        .and_then(|s| s.put("part", 2))
        .expect("row");
    let source = Struct::new(pg_source_schema());
    let (before, after) =
        if op == Op::Delete { (Some(Value::Struct(row)), None) } else { (None, Some(Value::Struct(row))) };
    let value = envelope(&schema, op, before, after, Value::Struct(source), 1_700_000_000_999).expect("envelope");
    let key_schema = Schema::struct_builder().name("srv.public.outbox.Key").field("id", Schema::string()).build();
    let key = Value::Struct(Struct::new(key_schema.clone()).put("id", "8f1c").expect("key"));
    ConnectRecord::new("srv.public.outbox", Value::Null).with_key(Some(key_schema), key).with_value(Some(schema), value)
}

fn router(pairs: &[(&str, &str)]) -> EventRouter {
    let mut t = EventRouter::default();
    t.configure(&props(pairs)).expect("valid config");
    t
}

const PAYLOAD: &str = r#"{"orderId": 42, "lines": [{"sku": "a"}]}"#;

#[test]
fn routes_an_insert_by_aggregate_type_keyed_by_aggregate_id() {
    let out = router(&[]).apply(outbox_event(Op::Create, Some(PAYLOAD))).expect("ok").expect("kept");
    assert_eq!(out.topic, "outbox.event.order");
    assert_eq!((out.key.clone(), out.key_schema.clone()), (Value::from("42"), Some(Schema::string())));
    assert_eq!(out.value, Value::from(PAYLOAD), "the payload itself");
    assert_eq!(out.value_schema.as_ref().and_then(|s| s.name.as_deref()), Some("io.debezium.data.Json"));
    assert_eq!(out.timestamp, Some(1_700_000_000_999), "the envelope's ts_ms");
    assert_eq!(out.kafka_partition, None);
    assert_eq!(out.headers.len(), 1);
    assert_eq!(
        (out.headers[0].key.as_str(), &out.headers[0].value),
        ("id", &Value::from("8f1c0b7e-0000-4000-8000-000000000001"))
    );
    assert_eq!(out.headers[0].schema.as_ref().and_then(|s| s.name.as_deref()), Some("io.debezium.data.Uuid"));
    let read = router(&[]).apply(outbox_event(Op::Read, Some(PAYLOAD))).expect("ok");
    assert!(read.is_some(), "snapshot reads are routed");
}

#[test]
fn ignores_deletes_updates_tombstones_and_other_records() {
    let mut smt = router(&[]);
    assert_eq!(smt.apply(outbox_event(Op::Delete, Some(PAYLOAD))).expect("ok"), None);
    assert_eq!(smt.apply(outbox_event(Op::Update, Some(PAYLOAD))).expect("ok"), None, "warn: skipped");
    assert_eq!(
        router(&[("table.op.invalid.behavior", "error")]).apply(outbox_event(Op::Update, None)).expect("ok"),
        None
    );
    let err =
        router(&[("table.op.invalid.behavior", "fatal")]).apply(outbox_event(Op::Update, None)).expect_err("fatal");
    assert_eq!(err.message(), "Unexpected update message received Struct{id=8f1c}, fail.");
    let tombstone = ConnectRecord::new("srv.public.outbox", Value::Null);
    assert_eq!(smt.apply(tombstone).expect("ok"), None);
    let plain = ConnectRecord::new("x", Value::from("text")).with_value(Some(Schema::string()), Value::from("text"));
    assert_eq!(smt.apply(plain.clone()).expect("ok"), Some(plain));
}

#[test]
fn additional_fields_partition_timestamp_and_version() {
    let pairs = [
        (
            "table.fields.additional.placement",
            "type:header:eventType,type:envelope,aggregateid:envelope:aggId,part:partition",
        ),
        ("table.field.event.timestamp", "created_at"),
        ("table.field.event.schema.version", "version"),
        ("route.topic.replacement", "${routedByValue}.events"),
    ];
    let out = router(&pairs).apply(outbox_event(Op::Create, Some(PAYLOAD))).expect("ok").expect("kept");
    assert_eq!(out.topic, "order.events");
    assert_eq!(out.kafka_partition, Some(2));
    assert_eq!(out.timestamp, Some(1_700_000_000_123), "micros to millis");
    let schema = out.value_schema.as_ref().expect("schema");
    assert_eq!((schema.name.as_deref(), schema.version), (Some("srv.public.outbox.order.Value"), Some(3)));
    assert_eq!(schema.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["payload", "type", "aggId"]);
    assert_eq!(out.value.field("aggId"), Some(&Value::from("42")));
    assert_eq!(out.value.field("payload"), Some(&Value::from(PAYLOAD)));
    let keys: Vec<_> = out.headers.iter().map(|h| (h.key.as_str(), h.value.clone())).collect();
    assert_eq!(
        keys,
        [("id", Value::from("8f1c0b7e-0000-4000-8000-000000000001")), ("eventType", Value::from("OrderCreated"))]
    );

    let missing = [("table.fields.additional.placement", "nope:envelope")];
    let err = router(&missing).apply(outbox_event(Op::Create, Some(PAYLOAD))).expect_err("missing field");
    assert_eq!((err.kind(), err.message()), (ErrorKind::Data, "Unable to find field nope in event"));
    let ignored = [
        ("table.fields.additional.placement", "nope:envelope,type:envelope"),
        ("table.field.additional.missing", "ignore"),
    ];
    let out = router(&ignored).apply(outbox_event(Op::Create, Some(PAYLOAD))).expect("ok").expect("kept");
    assert_eq!(out.value_schema.map(|s| s.fields.len()), Some(2));
}

#[test]
fn expands_json_payloads_and_tombstones_empty_ones() {
    let out = router(&[("table.expand.json.payload", "true")])
        .apply(outbox_event(Op::Create, Some(PAYLOAD)))
        .expect("ok")
        .expect("kept");
    let schema = out.value_schema.as_ref().expect("schema");
    assert_eq!((schema.name.as_deref(), schema.schema_type), (Some("payload"), SchemaType::Struct));
    assert_eq!(out.value.field("orderId"), Some(&Value::Int32(42)));
    let out = router(&[("table.expand.json.payload", "true")])
        .apply(outbox_event(Op::Create, Some("not json")))
        .expect("ok")
        .expect("kept");
    assert_eq!(out.value, Value::from("not json"), "left as it was, with a warning");

    let out = router(&[("route.tombstone.on.empty.payload", "true")])
        .apply(outbox_event(Op::Create, None))
        .expect("ok")
        .expect("kept");
    assert_eq!((out.value, out.value_schema, out.key), (Value::Null, None, Value::from("42")));
    let out = router(&[("route.tombstone.on.empty.payload", "true")])
        .apply(outbox_event(Op::Create, Some(" ")))
        .expect("ok")
        .expect("kept");
    assert_eq!(out.value, Value::Null, "a blank payload is empty");
    let out = router(&[]).apply(outbox_event(Op::Create, None)).expect("ok").expect("kept");
    assert_eq!(out.value, Value::Null, "a null payload without the option");
    assert!(out.value_schema.is_some(), "keeps the payload schema");
}

#[test]
fn missing_columns_are_data_errors() {
    for (key, value, expected) in [
        ("table.field.event.payload", "body", "Unable to find payload field body in event"),
        ("table.field.event.id", "uuid", "uuid is not a valid field name"),
        ("table.field.event.key", "agg", "agg is not a valid field name"),
        ("route.by.field", "kind", "kind is not a valid field name"),
        ("table.field.event.timestamp", "type", "Field 'type' is not of type INT64"),
        ("table.field.event.timestamp", "nope", "Unable to find timestamp field nope in event"),
    ] {
        let err = router(&[(key, value)]).apply(outbox_event(Op::Create, Some(PAYLOAD))).expect_err("missing column");
        assert_eq!((err.kind(), err.message()), (ErrorKind::Data, expected));
    }
}

#[test]
fn schemaless_outbox_events() {
    let event = json!({"op": "c", "before": null, "ts_ms": 9, "source": {},
        "after": {"id": "e1", "aggregatetype": "customer", "aggregateid": "7", "type": "Created", "payload": "{\"b\": 1, \"a\": 2}"}});
    let record = ConnectRecord::new("srv.public.outbox", Value::from_json(event));
    let mut smt =
        router(&[("table.expand.json.payload", "true"), ("table.fields.additional.placement", "type:envelope")]);
    let out = smt.apply(record).expect("ok").expect("kept");
    assert_eq!(
        (out.topic.as_str(), out.key.clone(), out.key_schema.clone(), out.timestamp),
        ("outbox.event.customer", Value::from("7"), None, Some(9))
    );
    let payload = out.value.field("payload").expect("payload");
    assert_eq!(
        payload,
        &Value::Map(vec![(Value::from("b"), Value::Int32(1)), (Value::from("a"), Value::Int32(2))]),
        "document order"
    );
    assert_eq!(sorted(&out.value).field("type"), Some(&Value::from("Created")));
    assert_eq!((out.headers[0].key.as_str(), out.headers[0].schema.clone()), ("id", None));
}

#[test]
fn bad_keys_are_config_errors_naming_them() {
    for (key, value, expected) in [
        ("table.fields.additional.placement", "type", "Invalid value type for configuration table.fields.additional.placement: A comma-separated list of valid String pairs or trios is expected but got: [type]"),
        ("table.fields.additional.placement", "type:body", "Invalid value type:body for configuration table.fields.additional.placement: Unknown placement 'body'"),
        ("table.op.invalid.behavior", "ignore", "Invalid value ignore for configuration table.op.invalid.behavior: Value must be one of warn, error, fatal"),
        ("route.topic.regex", "(", "Invalid value ( for configuration route.topic.regex: A valid regular expressions is expected"),
        ("route.topic.replacement", "${nope}", "Invalid value ${nope} for configuration route.topic.replacement: No group with name {nope}"),
        ("table.expand.json.payload", "yes", "Invalid value yes for configuration table.expand.json.payload: Expected value to be either true or false"),
    ] {
        let err = EventRouter::default().configure(&props(&[(key, value)])).expect_err("invalid");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().starts_with(expected), "{}", err.message());
    }
}
