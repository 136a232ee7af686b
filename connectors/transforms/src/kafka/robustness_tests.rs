//! Every transform, configured, on odd inputs: errors are fine, panics are not.

use aqueduct_sdk::{logical, ConnectRecord, Header, Schema, SchemaType, Struct, Value};

use super::util::test_support::{map, props};

fn configs(alias: &str) -> Vec<Vec<(&'static str, &'static str)>> {
    let base = alias.split('$').next().unwrap_or(alias);
    match base {
        "Cast" => vec![
            vec![("spec", "a:int8,b:string,c:float64,d:boolean")],
            vec![("spec", "string")],
            vec![("spec", "int8")],
        ],
        "DropHeaders" => vec![vec![("headers", "h")]],
        "ExtractField" => vec![vec![("field", "a")], vec![("field", "n.x"), ("field.syntax.version", "V2")]],
        "Flatten" => vec![vec![]],
        "HeaderFrom" => vec![vec![("fields", "a"), ("headers", "h"), ("operation", "move")]],
        "HoistField" => vec![vec![("field", "w")]],
        "InsertField" => {
            vec![vec![("topic.field", "a"), ("timestamp.field", "t!"), ("static.field", "s"), ("static.value", "v")]]
        }
        "InsertHeader" => vec![vec![("header", "h"), ("value.literal", "1")]],
        "MaskField" => vec![vec![("fields", "a,b,c,d,n")], vec![("fields", "a,b,c,d"), ("replacement", "9")]],
        "RegexRouter" => vec![vec![("regex", "(.*)"), ("replacement", "x-$1")]],
        "ReplaceField" => vec![vec![("exclude", "a"), ("renames", "b:z")]],
        "SetSchemaMetadata" => vec![vec![("schema.name", "n"), ("schema.version", "3")]],
        "TimestampConverter" => vec![
            vec![("target.type", "string"), ("format", "yyyy-MM-dd"), ("field", "a")],
            vec![("target.type", "Date")],
            vec![("target.type", "unix"), ("unix.precision", "nanoseconds"), ("field", "c")],
        ],
        "TimestampRouter" => vec![vec![]],
        "ValueToKey" => vec![vec![("fields", "a,b")]],
        _ => vec![vec![]],
    }
}

fn inputs() -> Vec<ConnectRecord> {
    let nested = Schema::struct_builder().field("x", Schema::optional(SchemaType::Int64)).optional().build();
    let schema = Schema::struct_builder()
        .field("a", Schema::optional(SchemaType::Int64))
        .field("b", logical::decimal(2).optional().build())
        .field("c", Schema::optional(SchemaType::String))
        .field("d", Schema::optional(SchemaType::Bytes))
        .field("n", nested.clone())
        .build();
    let full = Struct::from_values(
        schema.clone(),
        vec![
            Value::Int64(i64::MIN),
            Value::Bytes(vec![0xff; 20]),
            Value::from("not a number"),
            Value::Bytes(vec![]),
            Value::Struct(Struct::new(nested)),
        ],
    )
    .map_or(Value::Null, Value::Struct);
    let values = vec![
        (None, Value::Null),
        (None, Value::Int64(i64::MAX)),
        (None, Value::Float64(f64::NAN)),
        (None, Value::from("2024-01-02")),
        (
            None,
            map(vec![("a", Value::Float64(1e300)), ("n", map(vec![("x", Value::Null)])), ("d", Value::Bytes(vec![1]))]),
        ),
        (None, Value::Map(vec![(Value::Int32(1), Value::Null)])),
        (None, Value::Struct(Struct::new(schema.clone()))),
        (Some(schema.clone()), full),
        (Some(schema.clone()), Value::Struct(Struct::new(schema))),
        (Some(Schema::string()), Value::from("x")),
        (Some(logical::timestamp().build()), Value::Int64(i64::MAX)),
        (Some(logical::date().build()), Value::Int32(i32::MIN)),
        (Some(Schema::primitive(SchemaType::Int32)), Value::Int64(1)),
    ];
    values
        .into_iter()
        .flat_map(|(schema, value)| {
            let mut r = ConnectRecord::new("topic", value.clone()).with_value(schema.clone(), value.clone());
            r.timestamp = Some(i64::MIN);
            r.headers = vec![Header { key: "h".into(), schema: None, value: Value::Null }];
            let k = ConnectRecord::new("topic", Value::Null).with_key(schema, value);
            [r, k]
        })
        .collect()
}

#[test]
fn no_transform_panics_on_odd_input() {
    let mut applied = 0;
    for descriptor in super::transforms() {
        for config in configs(descriptor.aliases[0]) {
            let mut t = (descriptor.factory)();
            t.configure(&props(&config)).unwrap_or_else(|e| panic!("{}: {e}", descriptor.class));
            for record in inputs() {
                let _ = t.apply(record);
                applied += 1;
            }
        }
    }
    assert!(applied > 500, "{applied}");
}
