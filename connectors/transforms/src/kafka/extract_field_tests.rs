use super::*;
use crate::kafka::util::test_support::{map, props};
use aqueduct_sdk::{ErrorKind, Schema, SchemaType, Struct};

fn extract(descriptor: aqueduct_sdk::TransformDescriptor, pairs: &[(&str, &str)]) -> Box<dyn Transform> {
    let mut t = (descriptor.factory)();
    t.configure(&props(pairs)).expect("valid config");
    t
}

// ExtractFieldTest.schemaless / nestedSchemaless
#[test]
fn schemaless_key() {
    let mut t = extract(KEY, &[("field", "magic")]);
    let r = ConnectRecord::new("t", Value::Null).with_key(None, map(vec![("magic", Value::Int32(42))]));
    let out = t.apply(r).expect("applies").expect("kept");
    assert_eq!((out.key_schema, out.key), (None, Value::Int32(42)));

    let mut t = extract(KEY, &[("field", "magic.foo"), ("field.syntax.version", "v2")]);
    let nested = map(vec![("magic", map(vec![("foo", Value::Int32(42))]))]);
    let out = t.apply(ConnectRecord::new("t", Value::Null).with_key(None, nested)).expect("applies").expect("kept");
    assert_eq!(out.key, Value::Int32(42));
}

// ExtractFieldTest.testNullSchemaless / nullWithSchema / testSchemalessMissingField
#[test]
fn nulls_and_missing_fields() {
    let mut t = extract(VALUE, &[("field", "magic")]);
    let out = t.apply(ConnectRecord::new("t", Value::Null)).expect("applies").expect("kept");
    assert_eq!(out.value, Value::Null);
    let out = t.apply(ConnectRecord::new("t", map(vec![("other", Value::Int32(1))]))).expect("applies").expect("kept");
    assert_eq!(out.value, Value::Null);

    let schema = Schema::struct_builder().field("magic", Schema::primitive(SchemaType::Int32)).optional().build();
    let out = t.apply(ConnectRecord::new("t", Value::Null).with_value(Some(schema), Value::Null)).expect("applies");
    let out = out.expect("kept");
    assert_eq!(out.value_schema.as_ref().map(|s| s.schema_type), Some(SchemaType::Int32));
    assert_eq!(out.value, Value::Null);
}

// ExtractFieldTest.withSchema / nestedWithSchema
#[test]
fn with_schema() {
    let int32 = Schema::primitive(SchemaType::Int32);
    let schema = Schema::struct_builder().field("magic", int32.clone()).build();
    let value = Struct::new(schema.clone()).put("magic", 42).expect("field");
    let mut t = extract(KEY, &[("field", "magic")]);
    let r = ConnectRecord::new("t", Value::Null).with_key(Some(schema.clone()), value.clone().into());
    let out = t.apply(r).expect("applies").expect("kept");
    assert_eq!((out.key_schema, out.key), (Some(int32.clone()), Value::Int32(42)));

    let outer = Schema::struct_builder().field("magic", schema).build();
    let nested = Struct::new(outer.clone()).put("magic", value).expect("field");
    let mut t = extract(KEY, &[("field", "magic.magic"), ("field.syntax.version", "V2")]);
    let r = ConnectRecord::new("t", Value::Null).with_key(Some(outer), nested.into());
    let out = t.apply(r).expect("applies").expect("kept");
    assert_eq!((out.key_schema, out.key), (Some(int32), Value::Int32(42)));
}

// ExtractFieldTest.testNonExistentFieldWithSchemaShouldFail / testReplaceNullWithDefault
#[test]
fn errors_and_defaults() {
    let schema = Schema::struct_builder()
        .field("magic", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(42)).build())
        .build();
    let value: Value = Struct::new(schema.clone()).into();
    let mut t = extract(VALUE, &[("field", "nonexistent")]);
    let e = t.apply(ConnectRecord::new("t", value.clone()).with_value(Some(schema.clone()), value.clone()));
    assert_eq!(e.expect_err("unknown field").message(), "Unknown field: nonexistent");

    let mut t = extract(VALUE, &[("field", "magic")]);
    let out = t.apply(ConnectRecord::new("t", Value::Null).with_value(Some(schema.clone()), value.clone()));
    assert_eq!(out.expect("applies").expect("kept").value, Value::Int32(42));
    let mut t = extract(VALUE, &[("field", "magic"), ("replace.null.with.default", "false")]);
    let out = t.apply(ConnectRecord::new("t", Value::Null).with_value(Some(schema), value));
    assert_eq!(out.expect("applies").expect("kept").value, Value::Null);

    let e = t.apply(ConnectRecord::new("t", Value::Int32(1))).expect_err("not a map");
    assert_eq!(e.kind(), ErrorKind::Data);
    assert_eq!(
        e.message(),
        "Only Map objects supported in absence of schema for [field extraction], found: java.lang.Integer"
    );
    let e = (KEY.factory)().configure(&props(&[("field", "`a"), ("field.syntax.version", "V2")])).expect_err("bad");
    assert!(
        e.message().starts_with("Invalid value `a for configuration field: Incomplete backtick"),
        "{}",
        e.message()
    );
    let e = (KEY.factory)().configure(&props(&[("field", "a"), ("field.syntax.version", "V9")])).expect_err("bad");
    assert!(e.message().contains("configuration field.syntax.version"), "{}", e.message());
}
