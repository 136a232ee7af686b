use super::*;
use crate::kafka::util::test_support::{map, props};
use aqueduct_sdk::{ErrorKind, Schema, SchemaType};

fn configured(d: aqueduct_sdk::TransformDescriptor, pairs: &[(&str, &str)]) -> Box<dyn Transform> {
    let mut t = (d.factory)();
    t.configure(&props(pairs)).expect("valid");
    t
}

fn existing() -> Header {
    Header { key: "existing".into(), schema: Some(Schema::string()), value: "existing-value".into() }
}

// HeaderFromTest.schemaless (move and copy)
#[test]
fn schemaless() {
    let value = map(vec![("field1", Value::from("field1-value")), ("field2", Value::from("field2-value"))]);
    let mut r = ConnectRecord::new("t", value.clone());
    r.headers = vec![existing()];
    let copy =
        configured(VALUE, &[("fields", "field1"), ("headers", "inserted1"), ("operation", "copy")]).apply(r.clone());
    let copy = copy.expect("applies").expect("kept");
    assert_eq!(copy.value, value);
    assert_eq!(
        copy.headers,
        vec![existing(), Header { key: "inserted1".into(), schema: None, value: "field1-value".into() }]
    );
    let moved = configured(VALUE, &[("fields", "field1,field1"), ("headers", "a,b"), ("operation", "move")]).apply(r);
    let moved = moved.expect("applies").expect("kept");
    assert_eq!(moved.value, map(vec![("field2", Value::from("field2-value"))]));
    assert_eq!(moved.headers.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(), ["existing", "a", "b"]);
    assert_eq!(moved.headers[2].value, Value::from("field1-value"), "both headers get the value");
}

// HeaderFromTest.withSchema (key, move)
#[test]
fn with_schema() {
    let schema = Schema::struct_builder()
        .name("k")
        .field("field1", Schema::string())
        .field("field2", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(7)).build())
        .build();
    let key = Struct::new(schema.clone()).put("field1", "field1-value").expect("field");
    let r = ConnectRecord::new("t", Value::Null).with_key(Some(schema.clone()), key.into());
    let out =
        configured(KEY, &[("fields", "field1,field2"), ("headers", "h1,h2"), ("operation", "move")]).apply(r.clone());
    let out = out.expect("applies").expect("kept");
    let moved = out.key.as_struct().expect("struct");
    assert!(moved.schema().fields.is_empty());
    assert_eq!(moved.schema().name.as_deref(), Some("k"));
    assert_eq!(
        out.headers[0],
        Header { key: "h1".into(), schema: Some(Schema::string()), value: "field1-value".into() }
    );
    assert_eq!(out.headers[1].value, Value::Int32(7), "the default stands in for null");
    let out = configured(
        KEY,
        &[("fields", "field2"), ("headers", "h2"), ("operation", "copy"), ("replace.null.with.default", "false")],
    )
    .apply(r.clone())
    .expect("applies")
    .expect("kept");
    assert_eq!((out.key_schema, out.headers[0].value.clone()), (Some(schema), Value::Null));
    let e =
        configured(KEY, &[("fields", "nope"), ("headers", "h"), ("operation", "copy")]).apply(r).expect_err("missing");
    assert_eq!(e.kind(), ErrorKind::Data);
}

// HeaderFromTest.invalidConfig*
#[test]
fn config_errors() {
    let configure = |pairs: &[(&str, &str)]| (VALUE.factory)().configure(&props(pairs)).expect_err("invalid");
    let e = configure(&[("fields", "a,b"), ("headers", "h"), ("operation", "copy")]);
    assert_eq!(e.message(), "'fields' config must have the same number of elements as 'headers' config.");
    let e = configure(&[("fields", "a"), ("headers", "h"), ("operation", "COPY")]);
    assert!(e.message().contains("configuration operation"), "{}", e.message());
    let e = configure(&[("fields", ""), ("headers", "h"), ("operation", "copy")]);
    assert!(e.message().contains("configuration fields: Empty list"), "{}", e.message());
    let e = configured(VALUE, &[("fields", "a"), ("headers", "h"), ("operation", "move")])
        .apply(ConnectRecord::new("t", Value::Int32(1)));
    assert!(e.expect_err("not a map").message().contains("[header move]"));
}
