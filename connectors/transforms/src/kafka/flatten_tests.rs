use super::*;
use crate::kafka::util::test_support::{map, props};
use aqueduct_sdk::{logical, ErrorKind};

fn configured(d: aqueduct_sdk::TransformDescriptor, pairs: &[(&str, &str)]) -> Box<dyn Transform> {
    let mut t = (d.factory)();
    t.configure(&props(pairs)).expect("valid");
    t
}

// FlattenTest.topLevelStructRequired / topLevelMapRequired
#[test]
fn wrong_shapes_are_data_errors() {
    let mut t = configured(VALUE, &[]);
    let e = t.apply(
        ConnectRecord::new("t", Value::Int32(42))
            .with_value(Some(Schema::primitive(SchemaType::Int32)), Value::Int32(42)),
    );
    assert_eq!(e.expect_err("not a struct").kind(), ErrorKind::Data);
    let e = t.apply(ConnectRecord::new("t", Value::Int32(42)));
    assert_eq!(
        e.expect_err("not a map").message(),
        "Only Map objects supported in absence of schema for [flattening], found: java.lang.Integer"
    );
    let inner = Schema::map(Schema::string(), Schema::string()).build();
    let schema = Schema::struct_builder().field("m", inner).build();
    let e = t.apply(ConnectRecord::new("t", Value::Null).with_value(Some(schema.clone()), Struct::new(schema).into()));
    assert_eq!(
        e.expect_err("map in struct").message(),
        "Flatten transformation does not support MAP for record with schemas (for field m)."
    );
}

// FlattenTest.testNestedStruct
#[test]
fn nested_struct() {
    let support = Schema::struct_builder()
        .field("int8", Schema::primitive(SchemaType::Int8))
        .field("string", Schema::string())
        .field("bytes", Schema::primitive(SchemaType::Bytes))
        .field("decimal", logical::decimal(2).build())
        .build();
    let mid = Schema::struct_builder().field("B", support.clone()).build();
    let top = Schema::struct_builder().field("A", mid.clone()).build();
    let s = Struct::from_values(
        support,
        vec![Value::Int8(8), Value::from("x"), Value::Bytes(vec![1]), Value::Bytes(logical::decimal_bytes(1234))],
    )
    .expect("values");
    let m = Struct::from_values(mid, vec![s.into()]).expect("values");
    let v = Struct::from_values(top.clone(), vec![m.into()]).expect("values");
    let out = configured(KEY, &[]).apply(ConnectRecord::new("t", Value::Null).with_key(Some(top), v.into()));
    let out = out.expect("applies").expect("kept");
    let flat = out.key.as_struct().expect("struct");
    let names: Vec<&str> = flat.schema().fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["A.B.int8", "A.B.string", "A.B.bytes", "A.B.decimal"]);
    assert_eq!(flat.get("A.B.decimal"), Some(&Value::Bytes(logical::decimal_bytes(1234))));
    assert_eq!(flat.schema().field("A.B.decimal").map(|f| logical::decimal_scale(&f.schema)), Some(Some(2)));
}

// FlattenTest.testOptionalFieldStruct / testOptionalStruct / testOptionalAndDefaultValuesNested
#[test]
fn optional_and_defaults() {
    let inner = Schema::struct_builder()
        .field("opt_int32", Schema::optional(SchemaType::Int32))
        .field("req", Schema::builder(SchemaType::String).default_value("d".into()).build())
        .optional()
        .build();
    let top = Schema::struct_builder().field("B", inner).field("arr", Schema::array(Schema::string()).build()).build();
    let v = Struct::new(top.clone()).put("arr", Value::Array(vec![])).expect("field");
    let out = configured(VALUE, &[("delimiter", "#")])
        .apply(ConnectRecord::new("t", Value::Null).with_value(Some(top), v.into()));
    let out = out.expect("applies").expect("kept");
    let flat = out.value.as_struct().expect("struct");
    let field = |n: &str| flat.schema().field(n).map(|f| f.schema.clone()).expect("field");
    assert!(field("B#opt_int32").optional && field("B#req").optional, "under an optional struct");
    assert_eq!(field("B#req").default, Some(Value::from("d")));
    assert_eq!(field("arr").schema_type, SchemaType::Array);
    assert_eq!(flat.values(), &[Value::Null, Value::Null, Value::Array(vec![])]);
}

// FlattenTest.testNestedMapWithDelimiter / testUnsupportedTypeInMap / tombstone
#[test]
fn schemaless() {
    let nested = map(vec![
        (
            "A",
            map(vec![("B", map(vec![("int8", Value::Int8(8)), ("null", Value::Null)])), ("arr", Value::Array(vec![]))]),
        ),
        ("top", Value::Boolean(true)),
    ]);
    let out = configured(VALUE, &[("delimiter", "#")]).apply(ConnectRecord::new("t", nested)).expect("applies");
    assert_eq!(
        out.expect("kept").value,
        map(vec![
            ("A#B#int8", Value::Int8(8)),
            ("A#B#null", Value::Null),
            ("A#arr", Value::Array(vec![])),
            ("top", Value::Boolean(true))
        ])
    );
    let schema = Schema::struct_builder().build();
    let bad = map(vec![("s", Struct::new(schema).into())]);
    let e = configured(VALUE, &[]).apply(ConnectRecord::new("t", bad)).expect_err("struct in map");
    assert!(e
        .message()
        .starts_with("Flatten transformation does not support class org.apache.kafka.connect.data.Struct"));
    let out = configured(VALUE, &[]).apply(ConnectRecord::new("t", Value::Null)).expect("applies").expect("kept");
    assert_eq!(out.value, Value::Null);
    // A null with a schema keeps that schema, unflattened (checked against Kafka Connect 4.1.1).
    let inner = Schema::struct_builder().field("x", Schema::primitive(SchemaType::Int32)).optional().build();
    let top = Schema::struct_builder().field("B", inner).optional().build();
    let r = ConnectRecord::new("t", Value::Null).with_value(Some(top.clone()), Value::Null);
    let out = configured(VALUE, &[]).apply(r).expect("applies").expect("kept");
    assert_eq!((out.value_schema, out.value), (Some(top), Value::Null));
}
