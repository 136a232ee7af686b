use super::*;
use crate::kafka::util::test_support::{map, props};
use aqueduct_sdk::{ErrorKind, Schema, SchemaType};

fn configured(d: aqueduct_sdk::TransformDescriptor, pairs: &[(&str, &str)]) -> Box<dyn Transform> {
    let mut t = (d.factory)();
    t.configure(&props(pairs)).expect("valid");
    t
}

fn sample_map() -> Value {
    map(vec![
        ("dont", Value::from("whatever")),
        ("abc", Value::Int32(42)),
        ("foo", Value::Boolean(true)),
        ("etc", Value::from("etc")),
    ])
}

// ReplaceFieldTest.tombstoneSchemaless / tombstoneWithSchema
#[test]
fn tombstones_pass() {
    let mut t = configured(VALUE, &[("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")]);
    let out = t.apply(ConnectRecord::new("t", Value::Null)).expect("applies").expect("kept");
    assert_eq!(out.value, Value::Null);
    let schema = Schema::struct_builder().field("dont", Schema::string()).optional().build();
    let out = t.apply(ConnectRecord::new("t", Value::Null).with_value(Some(schema.clone()), Value::Null));
    assert_eq!(out.expect("applies").expect("kept").value_schema, Some(schema));
}

// ReplaceFieldTest.schemaless / testIncludeExclude / testExclude
#[test]
fn schemaless() {
    let mut t = configured(VALUE, &[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")]);
    let out = t.apply(ConnectRecord::new("t", sample_map())).expect("applies").expect("kept");
    assert_eq!(
        out.value,
        map(vec![("xyz", Value::Int32(42)), ("bar", Value::Boolean(true)), ("etc", Value::from("etc"))])
    );
    let mut t = configured(VALUE, &[("include", "abc,foo"), ("exclude", "foo"), ("renames", "abc:xyz")]);
    let out = t.apply(ConnectRecord::new("t", sample_map())).expect("applies").expect("kept");
    assert_eq!(out.value, map(vec![("xyz", Value::Int32(42))]), "exclude wins over include");
    let mut t = configured(KEY, &[("whitelist", "abc"), ("blacklist", "")]);
    let r = ConnectRecord::new("t", Value::Null).with_key(None, sample_map());
    assert_eq!(t.apply(r).expect("applies").expect("kept").key, map(vec![("abc", Value::Int32(42))]));
}

// ReplaceFieldTest.withSchema / testReplaceNullWithDefault
#[test]
fn with_schema() {
    let int32 = Schema::primitive(SchemaType::Int32);
    let schema = Schema::struct_builder()
        .name("v")
        .field("dont", Schema::string())
        .field("abc", int32.clone())
        .field("foo", Schema::primitive(SchemaType::Boolean))
        .field("etc", Schema::builder(SchemaType::String).optional().default_value("x".into()).build())
        .build();
    let value = Struct::new(schema.clone())
        .put("dont", "whatever")
        .and_then(|s| s.put("abc", 42))
        .and_then(|s| s.put("foo", true))
        .expect("fields");
    let r = ConnectRecord::new("t", Value::Null).with_value(Some(schema), value.into());
    let mut t = configured(VALUE, &[("include", "abc,foo,etc"), ("renames", "abc:xyz,foo:bar")]);
    let out = t.apply(r.clone()).expect("applies").expect("kept");
    let s = out.value.as_struct().expect("struct");
    let names: Vec<&str> = s.schema().fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["xyz", "bar", "etc"]);
    assert_eq!(s.schema().name.as_deref(), Some("v"));
    assert_eq!(s.values(), &[Value::Int32(42), Value::Boolean(true), Value::from("x")]);
    assert_eq!(out.value_schema.as_ref(), Some(s.schema()));
    let mut t = configured(VALUE, &[("include", "etc"), ("replace.null.with.default", "false")]);
    let out = t.apply(r).expect("applies").expect("kept");
    assert_eq!(out.value.as_struct().map(|s| s.values().to_vec()), Some(vec![Value::Null]));
}

#[test]
fn errors() {
    let e = (VALUE.factory)().configure(&props(&[("renames", "a:b,c")])).expect_err("bad mapping");
    assert_eq!(e.kind(), ErrorKind::Config);
    assert_eq!(e.message(), "Invalid value a:b,c for configuration renames: Invalid rename mapping: c");
    assert!((VALUE.factory)().configure(&props(&[("renames", "a:")])).is_err());
    assert!((VALUE.factory)().configure(&props(&[("renames", "a:b:c")])).is_err());
    let mut t = configured(VALUE, &[("exclude", "a")]);
    let e = t.apply(ConnectRecord::new("t", Value::Int32(1))).expect_err("not a map");
    assert_eq!(e.kind(), ErrorKind::Data);
    let e = t.apply(ConnectRecord::new("t", Value::Int32(1)).with_value(Some(Schema::string()), "x".into()));
    assert_eq!(
        e.expect_err("not a struct").message(),
        "Only Struct objects supported for [field replacement], found: java.lang.String"
    );
}
