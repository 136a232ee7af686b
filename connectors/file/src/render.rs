//! Renders record values as the text lines the sink writes.

use aqueduct_sdk::json::{non_finite_name, to_json_text};
use aqueduct_sdk::{logical, Schema, Value};

/// Renders a record value as one line of text (without the newline).
///
/// A top-level string is written as it is, a non-finite float by its name (`NaN`, `Infinity`),
/// bytes as base64; everything else, including what a struct, map or array holds, as the SDK's
/// JSON ([`aqueduct_sdk::json::write_json`]) with Decimals as numbers.
pub fn render_value(value: &Value, schema: Option<&Schema>) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Float32(v) if !v.is_finite() => non_finite_name(f64::from(*v)).to_owned(),
        Value::Float64(v) if !v.is_finite() => non_finite_name(*v).to_owned(),
        Value::Bytes(bytes) if schema.and_then(logical::decimal_scale).is_none() => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(bytes)
        }
        other => to_json_text(schema, other, true),
    }
}

#[cfg(test)]
mod tests {
    use aqueduct_sdk::{Schema, SchemaType, Struct};

    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(render_value(&Value::from("a \"b\""), None), "a \"b\"");
        assert_eq!(render_value(&Value::Null, None), "null");
        assert_eq!(render_value(&Value::Int32(-7), None), "-7");
        assert_eq!(render_value(&Value::Float64(1.5), None), "1.5");
        assert_eq!(render_value(&Value::Boolean(true), None), "true");
        assert_eq!(render_value(&Value::Bytes(b"hi".to_vec()), None), "aGk=");
        let decimal = logical::decimal(2).build();
        assert_eq!(render_value(&Value::Bytes(logical::decimal_bytes(-12345)), Some(&decimal)), "-123.45");
    }

    #[test]
    fn structs_maps_and_arrays_as_json() {
        let schema = Schema::struct_builder()
            .field("id", Schema::int64())
            .field("name", Schema::optional(SchemaType::String))
            .field("amount", logical::decimal(2).build())
            .build();
        let s = Struct::new(schema.clone())
            .put("id", 1i64)
            .and_then(|s| s.put("name", "a\nb"))
            .and_then(|s| s.put("amount", Value::Bytes(logical::decimal_bytes(150))))
            .expect("fields exist");
        assert_eq!(render_value(&Value::Struct(s), Some(&schema)), r#"{"id":1,"name":"a\nb","amount":1.50}"#);
        let map = Value::Map(vec![
            (Value::from("k"), Value::Array(vec![Value::Int64(1), Value::Null, Value::Float64(f64::NAN)])),
            (Value::Int32(2), Value::Bytes(vec![0xff])),
        ]);
        assert_eq!(render_value(&map, None), r#"[["k",[1,null,"NaN"]],[2,"/w=="]]"#);
        assert_eq!(render_value(&Value::Float64(f64::NEG_INFINITY), None), "-Infinity");
    }
}
