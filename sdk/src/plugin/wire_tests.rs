//! Round trips through the wire types.

use super::*;
use crate::{logical, offset_map};

fn round_trip_value(v: &Value) -> Value {
    let text = serde_json::to_string(&WireValue::from(v)).expect("serializes");
    let wire: WireValue = serde_json::from_str(&text).expect("parses");
    Value::try_from(wire).expect("converts")
}

#[test]
fn values_round_trip_exactly() {
    let schema = Schema::struct_builder()
        .name("row")
        .field("id", Schema::int64())
        .field("price", logical::decimal(2).optional().build())
        .field("tags", Schema::array(Schema::string()).build())
        .build();
    let row = Struct::new(schema)
        .put("id", 7i64)
        .and_then(|s| s.put("price", Value::Bytes(logical::decimal_bytes(-12345))))
        .and_then(|s| s.put("tags", Value::Array(vec!["a".into()])))
        .expect("fields exist");
    for v in [
        Value::Null,
        Value::Float64(f64::NAN),
        Value::Float64(f64::NEG_INFINITY),
        Value::Float32(-0.0),
        Value::Bytes(vec![0, 255, 7]),
        Value::Map(vec![(Value::Int32(1), Value::String("x".into()))]),
        Value::Struct(row),
    ] {
        let back = round_trip_value(&v);
        match (&v, &back) {
            (Value::Float64(a), Value::Float64(b)) => assert_eq!(a.to_bits(), b.to_bits()),
            (Value::Float32(a), Value::Float32(b)) => assert_eq!(a.to_bits(), b.to_bits()),
            _ => assert_eq!(v, back),
        }
    }
}

#[test]
fn records_and_errors_round_trip() {
    let record = SourceRecord::new(
        offset_map([("file", serde_json::json!("/x"))]),
        offset_map([("n", serde_json::json!(3))]),
        "t",
        Value::from("v"),
    )
    .with_key(Some(Schema::string()), Value::from("k"))
    .with_timestamp(5);
    let back = SourceRecord::try_from(WireSourceRecord::from(&record)).expect("converts");
    assert_eq!(record, back);

    let io = std::io::Error::other("disk full");
    let err = ConnectError::retriable("writing /x").with_source(io);
    let back = ConnectError::from(WireError::from(&err));
    assert_eq!(back.kind(), ErrorKind::Retriable);
    assert_eq!(back.trace(), err.trace());
    assert_eq!(back.to_string(), err.to_string());
}

#[test]
fn config_defs_keep_types_defaults_and_validators() {
    let def = ConfigDef::new()
        .define("n", ConfigType::Int, Some("1"), Importance::High, "N.")
        .validator(Validator::at_least(1.0))
        .group("G");
    let back = config_def_in(config_def_out(&def));
    let k = back.key("n").expect("defined");
    assert_eq!((k.ty, k.default.as_deref(), k.group.as_deref()), (ConfigType::Int, Some("1"), Some("G")));
    let props = crate::Props::from([("n".to_owned(), "0".to_owned())]);
    assert_eq!(back.validate(&props), def.validate(&props));
}
