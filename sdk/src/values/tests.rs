//! Cases from Kafka Connect's `ValuesTest`, and results of Kafka Connect 4.1.1's `Values` run on
//! the same inputs.

use super::*;
use crate::{Schema, SchemaType, Struct};

/// What [`parse_string`] returns.
type Parsed = (Option<SchemaRef>, Value);

fn parse(text: &str) -> Parsed {
    parse_string(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn prim(t: SchemaType) -> Option<SchemaRef> {
    Some(Schema::primitive(t))
}

fn string(s: &str) -> (Option<SchemaRef>, Value) {
    (Some(Schema::string()), Value::String(s.into()))
}

fn array_of(element: SchemaRef) -> Option<SchemaRef> {
    Some(Schema::array(element).build())
}

fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::String((*s).into())).collect())
}

/// An array schema without an element schema, as Kafka Connect infers for mixed elements.
fn untyped_array() -> Option<SchemaRef> {
    Some(Schema::builder(SchemaType::Array).build())
}

fn map_schema(keys: Option<SchemaRef>, values: Option<SchemaRef>) -> Option<SchemaRef> {
    let mut map = (*Schema::builder(SchemaType::Map).build()).clone();
    map.key_schema = keys;
    map.value_schema = values;
    Some(map.into())
}

fn entries(pairs: Vec<(Value, Value)>) -> Value {
    Value::Map(pairs)
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

const TIMESTAMP_MS: i64 = 1_566_570_894_346; // 2019-08-23T14:34:54.346Z
const DATE_DAYS: i32 = 18_131; // 2019-08-23
const TIME_MS: i32 = 52_494_346; // 14:34:54.346Z

#[test]
fn empty_null_and_boolean_literals() {
    assert_eq!(parse(""), string(""));
    assert_eq!(parse("null"), (None, Value::Null));
    assert_eq!(parse(" \t null \n"), (None, Value::Null));
    assert_eq!(parse("true"), (prim(SchemaType::Boolean), Value::Boolean(true)));
    assert_eq!(parse("  false  "), (prim(SchemaType::Boolean), Value::Boolean(false)));
    for text in ["true}", "false]", "null=", "true,", "FALSE", "  ", "simple string", "si\\\"mple", "'simple' string"] {
        assert_eq!(parse(text), string(text), "{text:?} is a string");
    }
}

#[test]
fn whole_numbers_take_the_narrowest_integer_type() {
    let cases = [
        ("127", Value::Int8(127)),
        ("-128", Value::Int8(-128)),
        ("32767", Value::Int16(32767)),
        ("-32768", Value::Int16(-32768)),
        ("2147483647", Value::Int32(i32::MAX)),
        ("-2147483648", Value::Int32(i32::MIN)),
        ("9223372036854775807", Value::Int64(i64::MAX)),
        ("-9223372036854775808", Value::Int64(i64::MIN)),
        ("1.0", Value::Int8(1)),
        ("300.0", Value::Int16(300)),
        ("66000.0", Value::Int32(66000)),
        ("1e3", Value::Int16(1000)),
        ("1.e5", Value::Int32(100_000)),
        ("-.5e1", Value::Int8(-5)),
        ("+7", Value::Int8(7)),
        ("0e-5", Value::Int8(0)),
        ("  12  ", Value::Int8(12)),
    ];
    for (text, value) in cases {
        let (schema, parsed) = parse(text);
        assert_eq!(parsed, value, "{text}");
        assert_eq!(schema.map(|s| s.schema_type), value.schema_type(), "{text}");
    }
}

#[test]
fn fractions_are_float32_unless_beyond_its_range() {
    let f32s = [("1.1", 1.1f32), ("300.01", 300.01), ("66000.0008", 66000.0008), ("1.5", 1.5), ("0.1", 0.1)];
    for (text, value) in f32s.into_iter().chain([("3.4028235E38", f32::MAX), ("-3.4028235E38", f32::MIN)]) {
        assert_eq!(parse(text), (prim(SchemaType::Float32), Value::Float32(value)), "{text}");
    }
    // A whole number with a negative scale is a float too, and one too small for float32 is 0.
    assert_eq!(parse("1e20"), (prim(SchemaType::Float32), Value::Float32(1e20)));
    assert_eq!(parse("1e-50"), (prim(SchemaType::Float32), Value::Float32(0.0)));
    for (text, value) in
        [("1.7976931348623157E308", f64::MAX), ("-1.7976931348623157E308", f64::MIN), ("3.4028235E39", 3.4028235e39)]
    {
        assert_eq!(parse(text), (prim(SchemaType::Float64), Value::Float64(value)), "{text}");
    }
}

#[test]
fn numbers_beyond_long_and_double_are_decimals() {
    let decimal = |scale| Some(logical::decimal(scale).build());
    assert_eq!(parse("9223372036854775808"), (decimal(0), Value::Bytes(vec![0, 0x80, 0, 0, 0, 0, 0, 0, 0])));
    assert_eq!(
        parse("-9223372036854775809"),
        (decimal(0), Value::Bytes(vec![0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
    );
    assert_eq!(parse("1180591620717411303424"), (decimal(0), Value::Bytes(vec![0x40, 0, 0, 0, 0, 0, 0, 0, 0])));
    assert_eq!(parse("1e400"), (decimal(-400), Value::Bytes(vec![1])));
    assert_eq!(parse("-1.5e400"), (decimal(-399), Value::Bytes(vec![0xf1])));
    let array = parse("[9223372036854775808, -9223372036854775809]");
    assert_eq!(array.0, array_of(logical::decimal(0).build()));
}

#[test]
fn text_that_is_not_a_number_is_a_string() {
    for text in [".5", "1e", "1e+", "e5", "0x10", "1_000", "NaN", "Infinity", "-", "+", "1-2", "12abc", "1e-2147483648"]
    {
        assert_eq!(parse(text), string(text), "{text}");
    }
    // Java reads other Unicode digits too; here they are text.
    assert_eq!(parse("日本"), string("日本"));
    assert_eq!(parse("\u{ffff}"), string("\u{ffff}"), "KAFKA-10574: no endless loop");
}

#[test]
fn iso_literals_are_dates_times_and_timestamps() {
    let timestamp = || Some(logical::timestamp().build());
    let time = || Some(logical::time().build());
    let date = || Some(logical::date().build());
    assert_eq!(parse("2019-08-23T14:34:54.346Z"), (timestamp(), Value::Int64(TIMESTAMP_MS)));
    assert_eq!(parse("2019-08-23T14\\:34\\:54.346Z"), (timestamp(), Value::Int64(TIMESTAMP_MS)));
    assert_eq!(parse("14:34:54.346Z"), (time(), Value::Int32(TIME_MS)));
    assert_eq!(parse("14\\:34\\:54.346Z"), (time(), Value::Int32(TIME_MS)));
    assert_eq!(parse("2019-08-23"), (date(), Value::Int32(DATE_DAYS)));
    assert_eq!(parse("20190-8-23"), (date(), Value::Int32(6_654_953)));
    // Lenient, as SimpleDateFormat: fields roll over, may be negative, and text after them is ignored.
    assert_eq!(parse("2019-13-45"), (date(), Value::Int32(18_306)));
    assert_eq!(parse("2019--8-23"), (date(), Value::Int32(17_644)));
    assert_eq!(parse("2019-8-3xx"), (date(), Value::Int32(18_111)));
    assert_eq!(parse("25:00:00.000Z"), (time(), Value::Int32(90_000_000)));
    assert_eq!(parse("2019-08-23T24:00:00.000Z"), (timestamp(), Value::Int64(1_566_604_800_000)));
    // Julian before the Gregorian cutover, as java.util.GregorianCalendar.
    assert_eq!(parse("1000-01-01"), (date(), Value::Int32(-354_280)));
    assert_eq!(parse("1582-10-04"), (date(), Value::Int32(-141_428)));
    assert_eq!(parse("1582-10-15"), (date(), Value::Int32(-141_427)));
    for text in
        ["2019-08-23t14:34:54.346Z", "2019-08-23 14:34:54.346Z", "2019-08-23T14:34:54.346", "2019-08-+3", "-019-08-23"]
    {
        assert_eq!(parse(text), string(text), "{text}");
    }
    // A time of the wrong length is read as its first token, the rest ignored, as in Java.
    assert_eq!(parse("14:34:54.34Z"), (prim(SchemaType::Int8), Value::Int8(14)));
}

#[test]
fn arrays_take_the_common_element_schema() {
    assert_eq!(
        parse("[true, false]"),
        (array_of(Schema::primitive(SchemaType::Boolean)), Value::Array(vec![true.into(), false.into()]))
    );
    assert_eq!(
        parse("[1, 2, 32768]"),
        (array_of(Schema::primitive(SchemaType::Int32)), Value::Array(vec![1.into(), 2.into(), 32768.into()]))
    );
    assert_eq!(
        parse("[1, 2, 3.4028235E38]"),
        (
            array_of(Schema::primitive(SchemaType::Float32)),
            Value::Array(vec![Value::Float32(1.0), Value::Float32(2.0), Value::Float32(f32::MAX)])
        )
    );
    assert_eq!(
        parse("[1, 2, 1.7976931348623157E308]"),
        (array_of(Schema::primitive(SchemaType::Float64)), Value::Array(vec![1.0.into(), 2.0.into(), f64::MAX.into()]))
    );
    assert_eq!(parse("[ \"foo\" , \"bar\" ]"), (array_of(Schema::string()), strings(&["foo", "bar"])));
    assert_eq!(parse("[]"), (untyped_array(), Value::Array(vec![])));
    assert_eq!(parse("[null]"), (untyped_array(), Value::Array(vec![Value::Null])));
    assert_eq!(parse("[[]]").0, array_of(Schema::builder(SchemaType::Array).build()));
    assert_eq!(parse("[{}]").0, array_of(Schema::builder(SchemaType::Map).build()));
    let dates = parse("[2019-08-23, 2019-01-23, 1]");
    assert_eq!(
        dates,
        (array_of(logical::date().build()), Value::Array(vec![DATE_DAYS.into(), 17_919.into(), 1.into()]))
    );
    // As in Kafka Connect, a trailing comma is accepted.
    assert_eq!(
        parse("[1,2,]"),
        (array_of(Schema::primitive(SchemaType::Int8)), Value::Array(vec![Value::Int8(1), Value::Int8(2)]))
    );
}

#[test]
fn mixed_arrays_have_no_element_schema_in_any_order() {
    let one = || Value::Int8(1);
    let two = || Value::Int8(2);
    let three_hundred = || Value::Int16(300);
    let cases = [
        ("[1, 2, 300, \"four\"]", vec![one(), two(), three_hundred(), s("four")]),
        ("[2, 300, \"four\", 1]", vec![two(), three_hundred(), s("four"), one()]),
        ("[300, \"four\", 1, 2]", vec![three_hundred(), s("four"), one(), two()]),
        ("[\"four\", 1, 2, 300]", vec![s("four"), one(), two(), three_hundred()]),
        ("[null, \"x\", true]", vec![Value::Null, s("x"), Value::Boolean(true)]),
    ];
    for (text, values) in cases {
        assert_eq!(parse(text), (untyped_array(), Value::Array(values)), "{text}");
    }
}

#[test]
fn invalid_arrays_and_maps_are_strings() {
    let cases = [
        "[1, null]",
        "[null, 1]",
        "[1, 2, 3,,,]",
        "[0 1 2]",
        "[foo]",
        "[1, 2",
        "{foo: 3}",
        "{3: foo}",
        "{null: 3}",
        "{6:9 4:20}",
        "{\"a\" 1}",
        "[2019-08-23, 5000000000]",
        "[14:34:54.346Z, 100000000]",
        "[2019-08-23, 1.5]",
    ];
    for text in cases {
        assert_eq!(parse(text), string(text), "{text}");
    }
}

#[test]
fn maps_take_common_key_and_value_schemas() {
    let string_map = map_schema(Some(Schema::string()), Some(Schema::string()));
    let expected = entries(vec![(s("foo"), s("123")), (s("bar"), s("baz"))]);
    assert_eq!(parse("{\"foo\":\"123\",\"bar\":\"baz\"}"), (string_map.clone(), expected.clone()));
    assert_eq!(parse("{ \"foo\" : \"123\", \n\"bar\" : \"baz\" } "), (string_map, expected));
    assert_eq!(
        parse(" { \"foo\" :  12345 , \"bar\" : 0,  \"baz\" : -4321 }  "),
        (
            map_schema(Some(Schema::string()), prim(SchemaType::Int16)),
            entries(vec![
                (s("foo"), Value::Int16(12345)),
                (s("bar"), Value::Int16(0)),
                (s("baz"), Value::Int16(-4321))
            ])
        )
    );
    let booleans = prim(SchemaType::Boolean);
    assert_eq!(
        parse("{true: false, false: true}"),
        (
            map_schema(booleans.clone(), booleans),
            entries(vec![(true.into(), false.into()), (false.into(), true.into())])
        )
    );
    assert_eq!(
        parse("{3: null}"),
        (map_schema(prim(SchemaType::Int8), None), entries(vec![(Value::Int8(3), Value::Null)]))
    );
    assert_eq!(parse("{}"), (map_schema(None, None), entries(vec![])));
    assert_eq!(
        parse("{1:1, 1:2}").1,
        entries(vec![(Value::Int8(1), Value::Int8(2))]),
        "a repeated key keeps its place"
    );
    assert_eq!(parse("{\"a\":{}}").0, map_schema(Some(Schema::string()), map_schema(None, None)));
    assert_eq!(parse("{\"a\":[]}").0, map_schema(Some(Schema::string()), untyped_array()));
    let time = || Some(logical::time().build());
    for text in ["{\"k1\":\"14:34:54.346Z\"}", "{\"k1\":14:34:54.346Z}"] {
        assert_eq!(parse(text), (map_schema(Some(Schema::string()), time()), entries(vec![(s("k1"), TIME_MS.into())])));
    }
}

#[test]
fn maps_with_mixed_keys_or_values_in_any_order() {
    let expected = |order: [usize; 4]| {
        let all = [
            (Value::Int8(1), Value::Int8(1)),
            (Value::Int8(2), Value::Int8(1)),
            (Value::Int16(300), Value::Int16(300)),
            (s("four"), Value::Int8(1)),
        ];
        entries(order.iter().map(|&i| all[i].clone()).collect())
    };
    let untyped = map_schema(None, None);
    assert_eq!(parse("{1:1, 2:1, 300:300, \"four\":1}"), (untyped.clone(), expected([0, 1, 2, 3])));
    assert_eq!(parse("{\"four\":1, 1:1, 2:1, 300:300}"), (untyped, expected([3, 0, 1, 2])));
    // Common keys (aligned to int16) but mixed values: a key schema only.
    let mixed_values = parse("{4:\"four\", 1:1, 300:300}");
    assert_eq!(
        mixed_values,
        (
            map_schema(prim(SchemaType::Int16), None),
            entries(vec![
                (Value::Int16(4), s("four")),
                (Value::Int16(1), Value::Int8(1)),
                (Value::Int16(300), Value::Int16(300))
            ])
        )
    );
}

#[test]
fn quoted_strings_are_kept_as_written() {
    assert_eq!(parse("[\"x]\", \"a,b\", \"{c}\"]"), (array_of(Schema::string()), strings(&["x]", "a,b", "{c}"])));
    // Kafka Connect neither unescapes nor keeps whitespace-only pieces between delimiters.
    assert_eq!(parse("[\"a\\\"b\"]").1, strings(&["a\\\"b"]));
    assert_eq!(parse("[\"a\\\\b\"]").1, strings(&["a\\\\b"]));
    assert_eq!(parse("[\" \"]").1, strings(&[""]));
    assert_eq!(parse("[\"a, \"]").1, strings(&["a,"]));
    assert_eq!(parse("[\"日本\"]").1, strings(&["日本"]));
    assert_eq!(parse("\"abc\""), string("\"abc\""), "quotes mean nothing at the top level");
    assert_eq!(parse("[\"2019-08-23\"]"), (array_of(logical::date().build()), Value::Array(vec![DATE_DAYS.into()])));
    assert_eq!(parse("[\"x019-08-23\"]").1, strings(&["x019-08-23"]));
}

#[test]
fn kafka_connect_quirks_are_kept() {
    assert_eq!(parse("5,6"), (prim(SchemaType::Int8), Value::Int8(5)));
    assert_eq!(parse("[1]]").1, Value::Array(vec![Value::Int8(1)]));
    assert_eq!(parse("{}x"), (map_schema(None, None), entries(vec![])));
    assert_eq!(parse(" [foo]"), string(" "));
    // Mixed schemas of one type: the latest wins, the values are not converted.
    assert_eq!(parse("[[1],[\"a\"]]").0, array_of(Schema::array(Schema::string()).build()));
}

#[test]
fn temporal_and_decimal_elements_merge() {
    let timestamp = || logical::timestamp().build();
    assert_eq!(
        parse("[2019-08-23, 2019-08-23T14:34:54.346Z]"),
        (array_of(timestamp()), Value::Array(vec![Value::Int64(1_566_518_400_000), Value::Int64(TIMESTAMP_MS)]))
    );
    assert_eq!(
        parse("[1, 14:34:54.346Z]"),
        (array_of(logical::time().build()), Value::Array(vec![1.into(), TIME_MS.into()]))
    );
    // Deviation: Kafka Connect keeps the latest of Date and Time; here both become Timestamps.
    let (schema, value) = parse("[2020-01-01, 12:00:00.000Z]");
    assert_eq!(schema, array_of(timestamp()));
    assert_eq!(value, Value::Array(vec![Value::Int64(1_577_836_800_000), Value::Int64(43_200_000)]));
    assert_eq!(convert_to_string(schema.as_ref(), &value).as_deref(), Some("[2020-01-01,12:00:00.000Z]"));
    // Deviation: Decimals of different scales take the larger scale (Kafka Connect: the latest).
    let (schema, value) = parse("[1.5e400, 1e400]");
    assert_eq!(schema, array_of(logical::decimal(-399).build()));
    assert_eq!(value, Value::Array(vec![Value::Bytes(vec![15]), Value::Bytes(vec![10])]));
    // Deviation: without a common schema a Decimal is its physical bytes.
    assert_eq!(
        parse("[1.5, 12345678901234567890]").1,
        Value::Array(vec![Value::Float32(1.5), Value::Bytes(vec![0, 0xab, 0x54, 0xa9, 0x8c, 0xeb, 0x1f, 0x0a, 0xd2])])
    );
}

#[test]
fn nesting_is_bounded() {
    let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let (schema, _) = parse(&nested(parse::MAX_DEPTH));
    assert!(schema.is_some_and(|s| s.schema_type == SchemaType::Array));
    let e = parse_string(&nested(parse::MAX_DEPTH + 1)).expect_err("too deep");
    assert_eq!(e.kind(), crate::ErrorKind::Data);
    assert!(e.message().contains("nested more than 256"), "{}", e.message());
    assert!(parse_string(&"[".repeat(100_000)).is_err(), "no stack overflow");
}

#[test]
fn primitives_print_as_java() {
    let print = |v: Value| convert_to_string(None, &v);
    assert_eq!(print(Value::Null), None);
    assert_eq!(print(Value::Boolean(false)).as_deref(), Some("false"));
    assert_eq!(print(Value::Int64(i64::MIN)).as_deref(), Some("-9223372036854775808"));
    assert_eq!(print(s("a\"b")).as_deref(), Some("a\"b"), "top-level strings are not escaped");
    assert_eq!(print(s("")).as_deref(), Some(""));
    assert_eq!(print(Value::Bytes(vec![0xff, 0xfe, 0, 1])).as_deref(), Some("//4AAQ=="));
    assert_eq!(print(Value::Bytes(vec![])).as_deref(), Some(""));
    let f32s = [
        (1.0f32, "1.0"),
        (1e10, "1.0E10"),
        (0.1, "0.1"),
        (1.4e-45, "1.4E-45"),
        (f32::MAX, "3.4028235E38"),
        (-0.0, "-0.0"),
        (100.0, "100.0"),
        (1_234_567.0, "1234567.0"),
        (12_345_678.0, "1.2345678E7"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
    ];
    for (v, text) in f32s {
        assert_eq!(print(Value::Float32(v)).as_deref(), Some(text), "{v}");
    }
    let f64s = [
        (1.0, "1.0"),
        (1.0 / 3.0, "0.3333333333333333"),
        (1e-4, "1.0E-4"),
        (-0.0, "-0.0"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
        (1e7, "1.0E7"),
        (9_999_999.999, "9999999.999"),
        (5e-324, "4.9E-324"),
        (123_456.789, "123456.789"),
        (2e23, "2.0E23"),
        (-833_984_006_375_024.2, "-8.339840063750242E14"),
    ];
    for (v, text) in f64s {
        assert_eq!(print(Value::Float64(v)).as_deref(), Some(text), "{v}");
    }
}

#[test]
fn logical_values_print_as_java() {
    let decimal = |digits: &str, scale: i32| {
        let value = BigDecimal::parse(digits).map(|d| d.to_bytes()).unwrap_or_default();
        let unscaled_scale = BigDecimal::parse(digits).map_or(0, |d| d.scale());
        assert_eq!(unscaled_scale, scale, "{digits}");
        convert_to_string(Some(&logical::decimal(scale).build()), &Value::Bytes(value))
    };
    let cases = [
        ("-0.01", 2),
        ("1E-10", 10),
        ("1.234E+5", -2),
        ("0.0000012", 7),
        ("1.2E-7", 8),
        ("1180591620717411303424", 0),
        ("0", 0),
        ("0.00", 2),
        ("-5E+3", -3),
        ("12345678901234567890123456789012345678901234567890.12", 2),
    ];
    for (text, scale) in cases {
        assert_eq!(decimal(text, scale).as_deref(), Some(text));
    }
    let print = |schema: crate::SchemaBuilder, v: Value| convert_to_string(Some(&schema.build()), &v);
    assert_eq!(print(logical::date(), Value::Int32(DATE_DAYS)).as_deref(), Some("2019-08-23"));
    assert_eq!(print(logical::date(), Value::Int32(0)).as_deref(), Some("00:00:00.000Z"), "the epoch prints as a time");
    assert_eq!(print(logical::date(), Value::Int32(-1)).as_deref(), Some("00:00:00.000Z"));
    assert_eq!(print(logical::time(), Value::Int32(86_399_999)).as_deref(), Some("23:59:59.999Z"));
    assert_eq!(print(logical::timestamp(), Value::Int64(-1)).as_deref(), Some("23:59:59.999Z"));
    assert_eq!(print(logical::timestamp(), Value::Int64(1_566_518_400_000)).as_deref(), Some("2019-08-23"));
    assert_eq!(print(logical::timestamp(), Value::Int64(TIMESTAMP_MS)).as_deref(), Some("2019-08-23T14:34:54.346Z"));
    assert_eq!(
        convert_to_string(None, &Value::Int32(DATE_DAYS)).as_deref(),
        Some("18131"),
        "no schema, no logical type"
    );
}

#[test]
fn structured_values_print_as_java() {
    let nested = Schema::struct_builder().field("x", Schema::primitive(SchemaType::Float64)).build();
    let schema = Schema::struct_builder()
        .name("s")
        .field("name", Schema::string())
        .field("age", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(42)).build())
        .field("tags", Schema::array(Schema::string()).build())
        .field("when", logical::timestamp().build())
        .field("price", logical::decimal(2).build())
        .field("raw", Schema::primitive(SchemaType::Bytes))
        .field("nested", nested.clone())
        .field("none", Schema::optional(SchemaType::String))
        .build();
    let inner = Struct::from_values(nested, vec![Value::Float64(1e10)]).expect("one field");
    let values = vec![
        s("a\"b\\c"),
        Value::Null,
        strings(&["x", "y"]),
        Value::Int64(TIMESTAMP_MS),
        Value::Bytes(logical::decimal_bytes(12345)),
        Value::Bytes(vec![1, 2, 3]),
        Value::Struct(inner),
        Value::Null,
    ];
    let value = Value::Struct(Struct::from_values(schema.clone(), values).expect("eight fields"));
    assert_eq!(
        convert_to_string(Some(&schema), &value).as_deref(),
        Some(
            r#"{"name":"a\"b\\c","age":42,"tags":["x","y"],"when":2019-08-23T14:34:54.346Z,"price":123.45,"raw":"AQID","nested":{"x":1.0E10},"none":null}"#
        )
    );
    let empty = Value::Struct(Struct::new(Schema::struct_builder().build()));
    assert_eq!(convert_to_string(None, &empty).as_deref(), Some("{}"));
    let dates = map_schema(Some(Schema::string()), Some(logical::date().build()));
    assert_eq!(
        convert_to_string(dates.as_ref(), &entries(vec![(s("d"), DATE_DAYS.into())])).as_deref(),
        Some("{\"d\":2019-08-23}")
    );
    let times = array_of(logical::time().build());
    let value = Value::Array(vec![0.into(), 86_399_999.into()]);
    assert_eq!(convert_to_string(times.as_ref(), &value).as_deref(), Some("[00:00:00.000Z,23:59:59.999Z]"));
    let map = entries(vec![(Value::Int8(1), true.into()), (Value::Int8(2), Value::Null)]);
    assert_eq!(convert_to_string(None, &map).as_deref(), Some("{1:true,2:null}"));
    let array = Value::Array(vec![Value::Null, s("x"), strings(&["y\\"]), Value::Bytes(b"hi".to_vec())]);
    assert_eq!(convert_to_string(None, &array).as_deref(), Some(r#"[null,"x",["y\\"],"aGk="]"#));
    assert_eq!(convert_to_string(None, &Value::Array(vec![])).as_deref(), Some("[]"));
}

/// What a header of `schema` and `value` becomes after `SimpleHeaderConverter` writes and reads it.
fn round_trip(schema: Option<SchemaRef>, value: Value) -> (Option<SchemaRef>, Value) {
    let text = convert_to_string(schema.as_ref(), &value).unwrap_or_else(|| panic!("{value:?} prints"));
    parse(&text)
}

#[test]
fn round_trips_give_the_schema_kafka_connect_infers() {
    let int = |t| Some(Schema::primitive(t));
    let cases: Vec<(Option<SchemaRef>, Value, Parsed)> = vec![
        (int(SchemaType::Int32), Value::Int32(5), (int(SchemaType::Int8), Value::Int8(5))),
        (int(SchemaType::Int64), Value::Int64(300), (int(SchemaType::Int16), Value::Int16(300))),
        (int(SchemaType::Int64), Value::Int64(5_000_000_000), (int(SchemaType::Int64), Value::Int64(5_000_000_000))),
        (int(SchemaType::Float64), Value::Float64(0.5), (int(SchemaType::Float32), Value::Float32(0.5))),
        (int(SchemaType::Float64), Value::Float64(3.0), (int(SchemaType::Int8), Value::Int8(3))),
        (int(SchemaType::Float64), Value::Float64(1e300), (int(SchemaType::Float64), Value::Float64(1e300))),
        (int(SchemaType::Float32), Value::Float32(0.1), (int(SchemaType::Float32), Value::Float32(0.1))),
        (int(SchemaType::Boolean), Value::Boolean(true), (int(SchemaType::Boolean), Value::Boolean(true))),
        (Some(Schema::string()), s("hello"), string("hello")),
        (Some(Schema::string()), s("three\"blind\\\"mice"), string("three\"blind\\\"mice")),
        (Some(Schema::string()), s("null"), (None, Value::Null)),
        (int(SchemaType::Bytes), Value::Bytes(b"hi".to_vec()), string("aGk=")),
        (Some(logical::date().build()), DATE_DAYS.into(), (Some(logical::date().build()), DATE_DAYS.into())),
        (Some(logical::time().build()), TIME_MS.into(), (Some(logical::time().build()), TIME_MS.into())),
        (
            Some(logical::timestamp().build()),
            TIMESTAMP_MS.into(),
            (Some(logical::timestamp().build()), TIMESTAMP_MS.into()),
        ),
        (
            Some(logical::timestamp().build()),
            Value::Int64(1_566_518_400_000),
            (Some(logical::date().build()), DATE_DAYS.into()),
        ),
        (
            Some(logical::decimal(2).build()),
            Value::Bytes(logical::decimal_bytes(12345)),
            (int(SchemaType::Float32), Value::Float32(123.45)),
        ),
        (
            Some(logical::decimal(0).build()),
            Value::Bytes(vec![0x40, 0, 0, 0, 0, 0, 0, 0, 0]),
            (Some(logical::decimal(0).build()), Value::Bytes(vec![0x40, 0, 0, 0, 0, 0, 0, 0, 0])),
        ),
        (
            array_of(Schema::primitive(SchemaType::Int32)),
            Value::Array(vec![1.into(), 2.into(), 300.into()]),
            (
                array_of(Schema::primitive(SchemaType::Int16)),
                Value::Array(vec![Value::Int16(1), Value::Int16(2), Value::Int16(300)]),
            ),
        ),
        (
            array_of(Schema::string()),
            strings(&["a", "b c", "d,e"]),
            (array_of(Schema::string()), strings(&["a", "b c", "d,e"])),
        ),
        (
            map_schema(Some(Schema::string()), Some(Schema::array(logical::timestamp().build()).build())),
            entries(vec![(s("k"), Value::Array(vec![TIMESTAMP_MS.into()]))]),
            (
                map_schema(Some(Schema::string()), Some(Schema::array(logical::timestamp().build()).build())),
                entries(vec![(s("k"), Value::Array(vec![TIMESTAMP_MS.into()]))]),
            ),
        ),
    ];
    for (schema, value, expected) in cases {
        assert_eq!(round_trip(schema, value.clone()), expected, "{value:?}");
    }
    // A struct comes back as a map with string keys.
    let schema =
        Schema::struct_builder().field("a", Schema::primitive(SchemaType::Int32)).field("b", Schema::string()).build();
    let value = Value::Struct(Struct::from_values(schema.clone(), vec![1.into(), s("x")]).expect("two fields"));
    assert_eq!(
        round_trip(Some(schema), value),
        (map_schema(Some(Schema::string()), None), entries(vec![(s("a"), Value::Int8(1)), (s("b"), s("x"))]))
    );
}

#[test]
fn numbers_round_trip_to_their_narrowest_type() {
    for i in [0i64, 1, -1, 127, 128, -129, 32_767, 32_768, 2_147_483_647, 2_147_483_648, i64::MAX, i64::MIN] {
        let (schema, value) = round_trip(Some(Schema::int64()), Value::Int64(i));
        assert_eq!(value.as_i64(), Some(i));
        let narrowest = if i8::try_from(i).is_ok() {
            SchemaType::Int8
        } else if i16::try_from(i).is_ok() {
            SchemaType::Int16
        } else if i32::try_from(i).is_ok() {
            SchemaType::Int32
        } else {
            SchemaType::Int64
        };
        assert_eq!(schema.map(|s| s.schema_type), Some(narrowest), "{i}");
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        // A xorshift walk over doubles of every magnitude.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let f = f64::from_bits(x);
        if !f.is_finite() {
            continue;
        }
        let text = convert_to_string(None, &Value::Float64(f)).unwrap_or_default();
        let (_, value) = parse(&text);
        let expected = if f.fract() == 0.0 && (-(2f64.powi(63))..2f64.powi(63)).contains(&f) {
            // The whole number the printed digits spell, which reads back as the double.
            assert_eq!(value.as_i64().map(|i| i as f64), Some(f), "{text}");
            continue;
        } else if let Some(narrow) = text.parse::<f32>().ok().filter(|n| n.is_finite()) {
            Value::Float32(narrow)
        } else {
            Value::Float64(f)
        };
        match (value, expected) {
            (Value::Float32(a), Value::Float32(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{text}"),
            (Value::Float64(a), Value::Float64(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{text}"),
            (value, expected) => assert_eq!(value, expected, "{text}"),
        }
    }
}
