use super::*;
use crate::kafka::util::test_support::{map, props};
use aqueduct_sdk::{ErrorKind, Struct};

const DAY: i32 = 1;
const BYTES: [u8; 8] = [0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10];

fn configured(d: aqueduct_sdk::TransformDescriptor, spec: &str) -> Box<dyn Transform> {
    let mut t = (d.factory)();
    t.configure(&props(&[("spec", spec)])).expect("valid spec");
    t
}

fn whole(spec: &str, schema: Option<SchemaRef>, value: Value) -> Result<(Option<SchemaRef>, Value)> {
    let out = configured(VALUE, spec).apply(ConnectRecord::new("t", Value::Null).with_value(schema, value))?;
    let out = out.expect("kept");
    Ok((out.value_schema, out.value))
}

// CastTest.testConfig*
#[test]
fn config_errors_name_spec() {
    let configure = |spec: &str| (VALUE.factory)().configure(&props(&[("spec", spec)])).expect_err("invalid");
    let e = configure("");
    assert_eq!(
        (e.kind(), e.message()),
        (ErrorKind::Config, "Invalid value  for configuration spec: Must specify at least one field to cast.")
    );
    assert_eq!(
        configure("foo:faketype").message(),
        "Invalid value foo:faketype for configuration spec: Invalid type found in casting spec: faketype"
    );
    assert!(configure("a:int8:extra").message().starts_with("Invalid value a:int8:extra for configuration spec:"));
    assert_eq!(
        configure("foo:array").message(),
        "Invalid value foo:array for configuration spec: Cast transformation does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"
    );
    assert!(configure("int8,int32").message().contains("may only specify a single cast"));
    assert!(configure("float").message().contains("Invalid type found in casting spec: float"), "Java's names only");
}

// CastTest.castWholeRecord{Key,Value}WithSchema*
#[test]
fn whole_value_with_schema() {
    let int32 = Some(Schema::primitive(SchemaType::Int32));
    let cases = [
        ("int8", Value::Int8(42)),
        ("int16", Value::Int16(42)),
        ("int32", Value::Int32(42)),
        ("int64", Value::Int64(42)),
        ("float32", Value::Float32(42.0)),
        ("float64", Value::Float64(42.0)),
        ("boolean", Value::Boolean(true)),
        ("string", Value::from("42")),
    ];
    for (spec, expected) in cases {
        let (schema, value) = whole(spec, int32.clone(), Value::Int32(42)).expect("casts");
        assert_eq!(value, expected, "{spec}");
        assert_eq!(schema.map(|s| s.schema_type), expected.schema_type(), "{spec}");
    }
    let mut t = configured(KEY, "int8");
    let r = ConnectRecord::new("t", Value::Null).with_key(int32, Value::Int32(300));
    assert_eq!(t.apply(r).expect("casts").expect("kept").key, Value::Int8(44), "narrowing wraps as Java");
    let (_, v) = whole("string", Some(Schema::primitive(SchemaType::Float32)), Value::Float32(42.5)).expect("casts");
    assert_eq!(v, Value::from("42.5"));
    let (_, v) = whole("int32", Some(Schema::primitive(SchemaType::Float64)), Value::Float64(1e20)).expect("casts");
    assert_eq!(v, Value::Int32(i32::MAX), "saturates from floats");
    let (_, v) = whole("boolean", Some(Schema::primitive(SchemaType::Float64)), Value::Float64(0.5)).expect("casts");
    assert_eq!(v, Value::Boolean(false), "longValue() != 0");
}

// CastTest.castWholeBigDecimalRecordValueWithSchemaString / castWholeDateRecordValueWithSchemaString
#[test]
fn whole_logical_values() {
    let (schema, v) =
        whole("string", Some(logical::decimal(0).build()), Value::Bytes(logical::decimal_bytes(42))).expect("casts");
    assert_eq!(v, Value::from("42"));
    assert_eq!(schema.as_ref().and_then(|s| s.name.clone()), None, "the logical name is dropped");
    let (_, v) = whole("float64", Some(logical::decimal(2).build()), Value::Bytes(logical::decimal_bytes(-12345)))
        .expect("casts");
    assert_eq!(v, Value::Float64(-123.45));
    let (_, v) = whole("string", Some(logical::date().build()), Value::Int32(DAY)).expect("casts");
    assert_eq!(v, Value::from("1970-01-02"));
    let (_, v) = whole("string", Some(logical::timestamp().build()), Value::Int64(86_401_234)).expect("casts");
    assert_eq!(v, Value::from("1970-01-02T00:00:01.234Z"));
    let (_, v) = whole("string", Some(logical::time().build()), Value::Int32(3_600_000)).expect("casts");
    assert_eq!(v, Value::from("01:00:00.000Z"));
}

// CastTest.castWholeRecordValueSchemaless* / castWholeRecordDefaultValue / unsupported types
#[test]
fn whole_value_schemaless() {
    assert_eq!(whole("int16", None, Value::Int32(42)).expect("casts"), (None, Value::Int16(42)));
    assert_eq!(whole("int64", None, Value::from("42")).expect("casts").1, Value::Int64(42));
    assert_eq!(whole("float32", None, Value::from("42.5")).expect("casts").1, Value::Float32(42.5));
    assert_eq!(whole("boolean", None, Value::from("TRUE")).expect("casts").1, Value::Boolean(true));
    assert_eq!(whole("boolean", None, Value::from("yes")).expect("casts").1, Value::Boolean(false));
    assert_eq!(whole("string", None, Value::Bytes(BYTES.to_vec())).expect("casts").1, Value::from("/ty6mHZUMhA="));
    assert_eq!(whole("int8", None, Value::Null).expect("passes").1, Value::Null);
    let e = whole("int8", None, Value::from("300")).expect_err("out of range");
    assert_eq!(e.message(), "Value (300) was out of range for requested data type");
    let e = whole("int8", None, Value::Bytes(vec![1])).expect_err("bytes");
    assert_eq!(e.message(), "Unexpected type in Cast transformation: class [B");
    let e = whole("int8", None, map(vec![])).expect_err("a map");
    assert_eq!(
        e.message(),
        "Cast transformation does not support casting from MAP; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
    );
}

// CastTest.castFieldsWithSchema / castLogicalToPhysical
#[test]
fn fields_with_schema() {
    let schema = Schema::struct_builder()
        .field("int8", Schema::optional(SchemaType::Int8))
        .field("int32", Schema::builder(SchemaType::Int32).default_value(Value::Int32(2)).build())
        .field("float64", Schema::builder(SchemaType::Float64).default_value(Value::Float64(-1.0)).build())
        .field("boolean", Schema::primitive(SchemaType::Boolean))
        .field("string", Schema::string())
        .field("bigdecimal", logical::decimal(0).build())
        .field("decimal_to_int32", logical::decimal(0).build())
        .field("date", logical::date().build())
        .field("timestamp", logical::timestamp().build())
        .field("bytes", Schema::primitive(SchemaType::Bytes))
        .field("optional", Schema::optional(SchemaType::Float32))
        .build();
    let value = Struct::from_values(
        schema.clone(),
        vec![
            Value::Int8(8),
            Value::Int32(32),
            Value::Float64(-64.0),
            Value::Boolean(true),
            Value::from("42"),
            Value::Bytes(logical::decimal_bytes(42)),
            Value::Bytes(logical::decimal_bytes(i128::from(i32::MAX) + 1)),
            Value::Int32(DAY),
            Value::Int64(0),
            Value::Bytes(BYTES.to_vec()),
            Value::Null,
        ],
    )
    .expect("values");
    let spec = "int8:int16,int32:int64,float64:boolean,boolean:int8,string:int32,bigdecimal:string,\
                decimal_to_int32:int32,date:string,bytes:string,optional:int32";
    let out =
        configured(VALUE, spec).apply(ConnectRecord::new("t", Value::Null).with_value(Some(schema), value.into()));
    let out = out.expect("casts").expect("kept");
    let s = out.value.as_struct().expect("struct");
    let get = |n: &str| s.get(n).cloned().expect("field");
    assert_eq!(get("int8"), Value::Int16(8));
    assert_eq!(get("int32"), Value::Int64(32));
    assert_eq!(get("float64"), Value::Boolean(true));
    assert_eq!(get("boolean"), Value::Int8(1));
    assert_eq!(get("string"), Value::Int32(42));
    assert_eq!(get("bigdecimal"), Value::from("42"));
    assert_eq!(get("decimal_to_int32"), Value::Int32(i32::MIN));
    assert_eq!(get("date"), Value::from("1970-01-02"));
    assert_eq!(get("timestamp"), Value::Int64(0), "not in the spec: unchanged");
    assert_eq!(get("bytes"), Value::from("/ty6mHZUMhA="));
    assert_eq!(get("optional"), Value::Null);
    let field = |n: &str| s.schema().field(n).map(|f| f.schema.clone()).expect("field");
    assert!(field("int8").optional && field("optional").optional);
    assert_eq!(field("int32").default, Some(Value::Int64(2)));
    assert_eq!(field("float64").default, Some(Value::Boolean(true)));
    assert_eq!(field("timestamp"), logical::timestamp().build());
    assert_eq!(out.value_schema.as_ref(), Some(s.schema()));
}

// CastTest.castFieldsSchemaless / castFieldWithDefaultValueRecordWithSchemaString (replace.null.with.default)
#[test]
fn fields_schemaless_and_defaults() {
    let value = map(vec![("int8", Value::Int8(8)), ("string", Value::from("42")), ("other", Value::Boolean(true))]);
    let out = configured(VALUE, "int8:int16,string:int32,missing:int8").apply(ConnectRecord::new("t", value));
    let out = out.expect("casts").expect("kept").value;
    assert_eq!(
        out,
        map(vec![
            ("int8", Value::Int16(8)),
            ("string", Value::Int32(42)),
            ("other", Value::Boolean(true)),
            ("missing", Value::Null)
        ])
    );
    let schema = Schema::struct_builder()
        .field("x", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(7)).build())
        .build();
    let r = ConnectRecord::new("t", Value::Null).with_value(Some(schema.clone()), Struct::new(schema).into());
    let out = configured(VALUE, "x:string").apply(r.clone()).expect("casts").expect("kept");
    assert_eq!(out.value.as_struct().and_then(|s| s.get("x")), Some(&Value::from("7")));
    let mut t = (VALUE.factory)();
    t.configure(&props(&[("spec", "x:string"), ("replace.null.with.default", "false")])).expect("valid");
    let out = t.apply(r).expect("casts").expect("kept");
    assert_eq!(out.value.as_struct().and_then(|s| s.get("x")), Some(&Value::Null));
    let e = configured(VALUE, "x:int8").apply(ConnectRecord::new("t", Value::Int32(1))).expect_err("not a map");
    assert_eq!(
        e.message(),
        "Only Map objects supported in absence of schema for [cast types], found: java.lang.Integer"
    );
}
