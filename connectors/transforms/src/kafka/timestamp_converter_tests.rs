use super::*;
use crate::kafka::util::test_support::{map, props};
use aqueduct_sdk::ErrorKind;

const DATE: i64 = 86_400_000;
const TIME: i64 = 1234;
const DATE_PLUS_TIME: i64 = DATE + TIME;
const FMT: &str = "yyyy MM dd HH mm ss SSS z";
const DATE_PLUS_TIME_STRING: &str = "1970 01 02 00 00 01 234 UTC";

fn configured(d: aqueduct_sdk::TransformDescriptor, pairs: &[(&str, &str)]) -> Box<dyn Transform> {
    let mut t = (d.factory)();
    t.configure(&props(pairs)).expect("valid config");
    t
}

fn value_of(t: &mut Box<dyn Transform>, schema: Option<SchemaRef>, value: Value) -> Result<(Option<SchemaRef>, Value)> {
    let out = t.apply(ConnectRecord::new("t", Value::Null).with_value(schema, value))?.expect("kept");
    Ok((out.value_schema, out.value))
}

// TimestampConverterTest.testConfig*
#[test]
fn config_errors() {
    let configure = |pairs: &[(&str, &str)]| (VALUE.factory)().configure(&props(pairs)).expect_err("invalid");
    assert!(configure(&[]).message().contains("\"target.type\""));
    let e = configure(&[("target.type", "invalid")]);
    assert!(e.message().starts_with("Invalid value invalid for configuration target.type: String must be one of"));
    assert!(configure(&[("target.type", "date")]).message().contains("configuration target.type"), "case-sensitive");
    let e = configure(&[("target.type", "string")]);
    assert_eq!(e.message(), "TimestampConverter requires format option to be specified when using string timestamps");
    let e = configure(&[("target.type", "unix"), ("format", "bad-format-qq")]);
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().starts_with("Invalid value bad-format-qq for configuration format: TimestampConverter requires a SimpleDateFormat-compatible pattern"), "{}", e.message());
    assert!(configure(&[("target.type", "unix"), ("unix.precision", "hours")]).message().contains("unix.precision"));
}

// TimestampConverterTest.testSchemaless*: strings and unix times (the schemaless Date objects
// of Kafka Connect have no counterpart here)
#[test]
fn schemaless() {
    let mut t = configured(VALUE, &[("target.type", "Timestamp")]);
    assert_eq!(
        value_of(&mut t, None, Value::Int64(DATE_PLUS_TIME)).expect("converts"),
        (None, Value::Int64(DATE_PLUS_TIME))
    );
    let mut t = configured(VALUE, &[("target.type", "Date")]);
    assert_eq!(value_of(&mut t, None, Value::Int64(DATE_PLUS_TIME)).expect("converts").1, Value::Int32(1));
    let mut t = configured(VALUE, &[("target.type", "Time")]);
    assert_eq!(value_of(&mut t, None, Value::Int64(DATE_PLUS_TIME)).expect("converts").1, Value::Int32(TIME as i32));
    let mut t = configured(VALUE, &[("target.type", "unix"), ("format", FMT)]);
    assert_eq!(
        value_of(&mut t, None, Value::from(DATE_PLUS_TIME_STRING)).expect("converts").1,
        Value::Int64(DATE_PLUS_TIME)
    );
    let mut t = configured(VALUE, &[("target.type", "string"), ("format", FMT)]);
    assert_eq!(
        value_of(&mut t, None, Value::Int64(DATE_PLUS_TIME)).expect("converts").1,
        Value::from(DATE_PLUS_TIME_STRING)
    );
    assert_eq!(value_of(&mut t, None, Value::Null).expect("passes").1, Value::Null);
    let e = value_of(&mut t, None, Value::Int32(1)).expect_err("an int");
    assert_eq!(e.message(), "TimestampConverter does not support class java.lang.Integer objects as timestamps");
    let e = value_of(&mut t, None, Value::from("nope")).expect_err("unparseable");
    assert_eq!(e.message(), format!("Could not parse timestamp: value (nope) does not match pattern ({FMT})"));
}

// TimestampConverterTest.testSchemalessUnixPrecision* / testWithSchemaUnixPrecision*
#[test]
fn unix_precisions() {
    for (precision, unix) in [
        ("seconds", DATE_PLUS_TIME / 1000),
        ("milliseconds", DATE_PLUS_TIME),
        ("microseconds", DATE_PLUS_TIME * 1000),
        ("nanoseconds", DATE_PLUS_TIME * 1_000_000),
    ] {
        let mut t = configured(VALUE, &[("target.type", "unix"), ("unix.precision", precision)]);
        let (schema, v) =
            value_of(&mut t, Some(logical::timestamp().build()), Value::Int64(DATE_PLUS_TIME)).expect("converts");
        assert_eq!((schema, v), (Some(Schema::int64()), Value::Int64(unix)), "{precision}");
        let mut t = configured(VALUE, &[("target.type", "Timestamp"), ("unix.precision", precision)]);
        let expected = if precision == "seconds" { DATE_PLUS_TIME / 1000 * 1000 } else { DATE_PLUS_TIME };
        assert_eq!(
            value_of(&mut t, None, Value::Int64(unix)).expect("converts").1,
            Value::Int64(expected),
            "{precision}"
        );
    }
}

// TimestampConverterTest.testWithSchema*
#[test]
fn whole_value_with_schema() {
    let timestamp = Some(logical::timestamp().build());
    let cases: [(&str, Option<SchemaRef>, Value); 4] = [
        ("Timestamp", timestamp.clone(), Value::Int64(DATE_PLUS_TIME)),
        ("Date", Some(logical::date().build()), Value::Int32(1)),
        ("Time", Some(logical::time().build()), Value::Int32(TIME as i32)),
        ("unix", Some(Schema::int64()), Value::Int64(DATE_PLUS_TIME)),
    ];
    for (target, schema, expected) in cases {
        let mut t = configured(VALUE, &[("target.type", target)]);
        let out = value_of(&mut t, timestamp.clone(), Value::Int64(DATE_PLUS_TIME)).expect("converts");
        assert_eq!(out, (schema, expected), "{target}");
    }
    let mut t = configured(VALUE, &[("target.type", "Timestamp")]);
    assert_eq!(
        value_of(&mut t, Some(logical::date().build()), Value::Int32(1)).expect("converts").1,
        Value::Int64(DATE)
    );
    assert_eq!(
        value_of(&mut t, Some(logical::time().build()), Value::Int32(1234)).expect("converts").1,
        Value::Int64(TIME)
    );
    let mut t = configured(KEY, &[("target.type", "Timestamp"), ("format", FMT)]);
    let r = ConnectRecord::new("t", Value::Null).with_key(Some(Schema::string()), DATE_PLUS_TIME_STRING.into());
    let out = t.apply(r).expect("converts").expect("kept");
    assert_eq!((out.key_schema, out.key), (timestamp.clone(), Value::Int64(DATE_PLUS_TIME)));
    let mut t = configured(VALUE, &[("target.type", "string"), ("format", FMT)]);
    let optional = Some(logical::timestamp().optional().build());
    let out = value_of(&mut t, optional, Value::Null).expect("null passes");
    assert_eq!(out, (Some(Schema::optional(SchemaType::String)), Value::Null));
    let e = value_of(&mut t, Some(Schema::primitive(SchemaType::Int32)), Value::Int32(1)).expect_err("int32");
    assert_eq!(e.message(), "Schema Schema{INT32} does not correspond to a known timestamp type format");
    let e = value_of(&mut t, Some(Schema::int64()), Value::Int32(1)).expect_err("not a long");
    assert_eq!(e.message(), "Expected Unix timestamp to be a Long, but found class java.lang.Integer");
}

// TimestampConverterTest.testWithSchemaFieldConversion / testSchemalessFieldConversion / replace.null.with.default
#[test]
fn fields() {
    let schema = Schema::struct_builder()
        .field("ts", logical::timestamp().build())
        .field("other", Schema::string())
        .field("opt", logical::timestamp().optional().default_value(Value::Int64(DATE)).build())
        .build();
    let value = Struct::from_values(schema.clone(), vec![Value::Int64(DATE_PLUS_TIME), "test".into(), Value::Null])
        .expect("values");
    let mut t = configured(VALUE, &[("target.type", "Date"), ("field", "ts")]);
    let (out_schema, out) = value_of(&mut t, Some(schema.clone()), value.clone().into()).expect("converts");
    let s = out.as_struct().expect("struct");
    assert_eq!(s.values()[..2], [Value::Int32(1), Value::from("test")]);
    assert_eq!(out_schema.and_then(|s| s.field("ts").map(|f| f.schema.clone())), Some(logical::date().build()));
    let mut t = configured(VALUE, &[("target.type", "unix"), ("field", "opt")]);
    let (_, out) = value_of(&mut t, Some(schema.clone()), value.clone().into()).expect("converts");
    assert_eq!(out.as_struct().and_then(|s| s.get("opt")), Some(&Value::Int64(DATE)));
    let mut t = configured(VALUE, &[("target.type", "unix"), ("field", "opt"), ("replace.null.with.default", "false")]);
    let (_, out) = value_of(&mut t, Some(schema.clone()), value.into()).expect("converts");
    assert_eq!(out.as_struct().and_then(|s| s.get("opt")), Some(&Value::Null));
    let (_, out) = value_of(&mut t, Some(schema), Value::Null).expect("null passes");
    assert_eq!(out, Value::Null);

    let mut t = configured(VALUE, &[("target.type", "string"), ("field", "ts"), ("format", "yyyy-MM-dd")]);
    let (_, out) = value_of(&mut t, None, map(vec![("ts", Value::Int64(DATE_PLUS_TIME)), ("other", "x".into())]))
        .expect("converts");
    assert_eq!(out, map(vec![("ts", "1970-01-02".into()), ("other", "x".into())]));
    let e = value_of(&mut t, None, Value::Int64(1)).expect_err("not a map");
    assert!(e.message().contains("[converting timestamp formats]"));
}
