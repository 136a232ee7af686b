use super::*;
use crate::kafka::util::test_support::{map, props};
use aqueduct_sdk::{ErrorKind, SchemaType, Struct};

fn configured(d: aqueduct_sdk::TransformDescriptor, pairs: &[(&str, &str)]) -> Box<dyn Transform> {
    let mut t = (d.factory)();
    t.configure(&props(pairs)).expect("valid");
    t
}

fn values() -> Vec<(&'static str, Value)> {
    vec![
        ("magic", Value::Int32(42)),
        ("bool", Value::Boolean(true)),
        ("byte", Value::Int8(42)),
        ("short", Value::Int16(42)),
        ("int", Value::Int32(42)),
        ("long", Value::Int64(42)),
        ("float", Value::Float32(42.0)),
        ("double", Value::Float64(42.0)),
        ("string", Value::from("55.121.20.20")),
        ("list", Value::Array(vec![Value::Int32(42)])),
        ("map", map(vec![("key", Value::from("value"))])),
    ]
}

const ALL: &str = "bool,byte,short,int,long,float,double,string,list,map";

// MaskFieldTest.testSchemaless
#[test]
fn schemaless_masks_to_null_values() {
    let out = configured(VALUE, &[("fields", ALL)]).apply(ConnectRecord::new("t", map(values()))).expect("applies");
    let out = out.expect("kept").value;
    let get = |k: &str| out.map_get(k).cloned();
    assert_eq!(get("magic"), Some(Value::Int32(42)));
    assert_eq!(get("bool"), Some(Value::Boolean(false)));
    assert_eq!(get("byte"), Some(Value::Int8(0)));
    assert_eq!(get("long"), Some(Value::Int64(0)));
    assert_eq!(get("double"), Some(Value::Float64(0.0)));
    assert_eq!(get("string"), Some(Value::from("")));
    assert_eq!(get("list"), Some(Value::Array(vec![])));
    assert_eq!(get("map"), Some(Value::Map(vec![])));
}

// MaskFieldTest.testSchemalessWithReplacement / testReplacementTypeMismatch
#[test]
fn schemaless_replacements() {
    let mask = |field: &str, replacement: &str| {
        configured(KEY, &[("fields", field), ("replacement", replacement)])
            .apply(ConnectRecord::new("t", Value::Null).with_key(None, map(values())))
            .map(|r| r.and_then(|r| r.key.map_get(field).cloned()))
    };
    assert_eq!(mask("byte", "123").expect("masks"), Some(Value::Int8(123)));
    assert_eq!(mask("short", "123").expect("masks"), Some(Value::Int16(123)));
    assert_eq!(mask("int", "123").expect("masks"), Some(Value::Int32(123)));
    assert_eq!(mask("long", "-123").expect("masks"), Some(Value::Int64(-123)));
    assert_eq!(mask("float", "123.0").expect("masks"), Some(Value::Float32(123.0)));
    assert_eq!(mask("double", "1.5").expect("masks"), Some(Value::Float64(1.5)));
    assert_eq!(mask("string", "***").expect("masks"), Some(Value::from("***")));
    // Read as a BigDecimal: a double keeps its nearest value, an integer its whole part.
    assert_eq!(mask("double", "0.1").expect("masks"), Some(Value::Float64(0.1)));
    assert_eq!(mask("int", "0.99999999").expect("masks"), Some(Value::Int32(0)));
    assert_eq!(mask("long", "-123456789.5").expect("masks"), Some(Value::Int64(-123456789)));
    assert_eq!(mask("short", "1.5e2").expect("masks"), Some(Value::Int16(150)));
    assert!(mask("int", "1.5x").is_err() && mask("double", "1e").is_err() && mask("double", "NaN").is_err());
    let e = mask("bool", "false").expect_err("no replacement for booleans");
    assert_eq!(e.message(), "Cannot mask value of type class java.lang.Boolean with custom replacement.");
    assert!(mask("list", "123").is_err() && mask("map", "123").is_err());
    let e = mask("int", "foo").expect_err("not a number");
    assert_eq!(
        (e.kind(), e.message()),
        (ErrorKind::Data, "Unable to convert foo (class java.lang.String) to a number")
    );
}

// MaskFieldTest.testWithSchema / testWithSchemaAndReplacement
#[test]
fn with_schema() {
    let schema = Schema::struct_builder()
        .field("magic", Schema::primitive(SchemaType::Int32))
        .field("int", Schema::primitive(SchemaType::Int32))
        .field("string", Schema::string())
        .field("decimal", logical::decimal(0).build())
        .field("timestamp", logical::timestamp().build())
        .field("withDefault", Schema::builder(SchemaType::String).optional().default_value("default".into()).build())
        .build();
    let value = Struct::from_values(
        schema.clone(),
        vec![
            Value::Int32(42),
            Value::Int32(42),
            Value::from("hmm"),
            Value::Bytes(logical::decimal_bytes(42)),
            Value::Int64(1_000),
            Value::Null,
        ],
    )
    .expect("six values");
    let r = ConnectRecord::new("t", value.into()).with_value(Some(schema.clone()), Value::Null);
    let mut r = r;
    r.value = Struct::from_values(
        schema,
        vec![
            Value::Int32(42),
            Value::Int32(42),
            Value::from("hmm"),
            Value::Bytes(logical::decimal_bytes(42)),
            Value::Int64(1_000),
            Value::Null,
        ],
    )
    .map_or(Value::Null, Value::Struct);
    let out = configured(VALUE, &[("fields", "int,string,decimal,timestamp,withDefault")])
        .apply(r.clone())
        .expect("applies")
        .expect("kept");
    let s = out.value.as_struct().expect("struct");
    assert_eq!(
        s.values(),
        &[
            Value::Int32(42),
            Value::Int32(0),
            Value::from(""),
            Value::Bytes(logical::decimal_bytes(0)),
            Value::Int64(0),
            Value::from(""),
        ]
    );
    let out = configured(VALUE, &[("fields", "int,decimal"), ("replacement", "123")]).apply(r.clone());
    let out = out.expect("applies").expect("kept");
    let s = out.value.as_struct().expect("struct");
    assert_eq!(s.get("int"), Some(&Value::Int32(123)));
    assert_eq!(s.get("decimal"), Some(&Value::Bytes(logical::decimal_bytes(123))));
    let e = configured(VALUE, &[("fields", "timestamp"), ("replacement", "123")]).apply(r).expect_err("a date");
    assert_eq!(e.message(), "Cannot mask value of type class java.util.Date with custom replacement.");
}

#[test]
fn config_errors() {
    let e = (VALUE.factory)().configure(&props(&[("fields", "a"), ("replacement", "")])).expect_err("empty");
    assert_eq!(e.message(), "Invalid value  for configuration replacement: String must be non-empty");
    assert!((VALUE.factory)().configure(&props(&[("fields", "")])).is_err());
    let e = configured(VALUE, &[("fields", "a")]).apply(ConnectRecord::new("t", Value::Int32(1)));
    assert!(e.expect_err("not a map").message().contains("[mask fields]"));
}
