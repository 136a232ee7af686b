use super::*;
use crate::kafka::util::test_support::{map, props};
use aqueduct_sdk::ErrorKind;

fn configured(d: aqueduct_sdk::TransformDescriptor, pairs: &[(&str, &str)]) -> Box<dyn Transform> {
    let mut t = (d.factory)();
    t.configure(&props(pairs)).expect("valid");
    t
}

const ALL: &[(&str, &str)] = &[
    ("topic.field", "topic_field!"),
    ("partition.field", "partition_field"),
    ("timestamp.field", "timestamp_field?"),
    ("static.field", "instance_id"),
    ("static.value", "my-instance-id"),
];

fn record(value: Value, schema: Option<SchemaRef>) -> ConnectRecord {
    let mut r = ConnectRecord::new("test", Value::Null).with_value(schema, value);
    r.kafka_partition = Some(0);
    r.timestamp = Some(1_483_425_001_864);
    r
}

// InsertFieldTest.schemaWithoutStructValueFails / topLevelStructRequired
#[test]
fn a_schema_needs_a_struct() {
    let e = configured(VALUE, &[("topic.field", "t")])
        .apply(record(Value::Int32(42), Some(Schema::primitive(SchemaType::Int32))));
    assert_eq!(
        e.expect_err("not a struct").message(),
        "Only Struct objects supported for [field insertion], found: java.lang.Integer"
    );
}

// InsertFieldTest.copySchemaAndInsertConfiguredFields
#[test]
fn with_schema() {
    let schema = Schema::struct_builder()
        .name("name")
        .version(1)
        .doc("doc")
        .field("magic", Schema::optional(SchemaType::Int64))
        .build();
    let value = Struct::new(schema.clone()).put("magic", 42i64).expect("field");
    let out = configured(VALUE, ALL).apply(record(value.into(), Some(schema))).expect("applies").expect("kept");
    let s = out.value_schema.clone().expect("schema");
    assert_eq!((s.name.as_deref(), s.version, s.doc.as_deref()), (Some("name"), Some(1), Some("doc")));
    let field = |n: &str| s.field(n).map(|f| f.schema.clone()).expect("field exists");
    assert_eq!(field("magic"), Schema::optional(SchemaType::Int64));
    assert_eq!(field("topic_field"), Schema::string());
    assert_eq!(field("partition_field"), Schema::optional(SchemaType::Int32));
    assert_eq!(field("timestamp_field"), logical::timestamp().optional().build());
    assert_eq!(field("instance_id"), Schema::optional(SchemaType::String));
    let v = out.value.as_struct().expect("struct");
    assert_eq!(
        v.values(),
        &[
            Value::Int64(42),
            Value::from("test"),
            Value::Int32(0),
            Value::Int64(1_483_425_001_864),
            Value::from("my-instance-id")
        ]
    );
    let again = configured(VALUE, ALL);
    drop(again);
}

// InsertFieldTest.schemalessInsertConfiguredFields / insertKeyFieldsIntoTombstoneEvent
#[test]
fn schemaless() {
    let out = configured(VALUE, ALL).apply(record(map(vec![("magic", Value::Int64(42))]), None)).expect("applies");
    let out = out.expect("kept");
    assert_eq!(
        out.value,
        map(vec![
            ("magic", Value::Int64(42)),
            ("topic_field", Value::from("test")),
            ("partition_field", Value::Int32(0)),
            ("timestamp_field", Value::Int64(1_483_425_001_864)),
            ("instance_id", Value::from("my-instance-id")),
        ])
    );
    let out = configured(VALUE, ALL).apply(record(Value::Null, None)).expect("applies").expect("kept");
    assert_eq!(out.value, Value::Null, "tombstones pass");
    let mut t = configured(KEY, &[("topic.field", "t"), ("offset.field", "o")]);
    let r = record(Value::Null, None).with_key(None, map(vec![]));
    assert_eq!(t.apply(r).expect("applies").expect("kept").key, map(vec![("t", Value::from("test"))]));
}

#[test]
fn config_and_data_errors() {
    let e = (VALUE.factory)().configure(&props(&[])).expect_err("nothing to insert");
    assert_eq!((e.kind(), e.message()), (ErrorKind::Config, "No field insertion configured"));
    let e = (VALUE.factory)().configure(&props(&[("static.field", "s")])).expect_err("no value");
    assert_eq!(
        e.message(),
        "Invalid value null for configuration static.value: No value specified for static field: s"
    );
    let schema = Schema::struct_builder().field("topic", Schema::string()).build();
    let value = Struct::new(schema.clone()).put("topic", "x").expect("field");
    let e = configured(VALUE, &[("topic.field", "topic")]).apply(record(value.into(), Some(schema)));
    assert!(e.expect_err("duplicate").message().contains("field name duplication topic"));
    assert_eq!(InsertionSpec::parse("a!"), Some(InsertionSpec { name: "a".into(), optional: false }));
    assert_eq!(InsertionSpec::parse(""), None);
}

// The fields kept move into the new struct; a null takes its field's default unless
// replace.null.with.default=false (Kafka Connect's Struct.get / getWithoutDefault).
#[test]
fn kept_fields_and_their_defaults() {
    let schema = Schema::struct_builder()
        .field("name", Schema::string())
        .field("etc", Schema::builder(SchemaType::String).optional().default_value(Value::from("x")).build())
        .build();
    let value = Struct::new(schema.clone()).put("name", "n").expect("field");
    let r = record(value.into(), Some(schema));
    let values = |pairs: &[(&str, &str)]| {
        let out = configured(VALUE, pairs).apply(r.clone()).expect("applies").expect("kept");
        out.value.as_struct().map(|s| s.values().to_vec()).expect("struct")
    };
    let stamped = [Value::from("n"), Value::from("x"), Value::from("v")];
    assert_eq!(values(&[("static.field", "s"), ("static.value", "v")]), stamped);
    let kept_null = [Value::from("n"), Value::Null, Value::from("v")];
    let no_default = [("static.field", "s"), ("static.value", "v"), ("replace.null.with.default", "false")];
    assert_eq!(values(&no_default), kept_null);
}
