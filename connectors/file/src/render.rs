//! Renders record values as the text lines the sink writes.

use std::fmt::Write as _;

use aqueduct_sdk::{logical, Schema, Value};
use base64::Engine as _;

/// Renders a record value as one line of text (without the newline).
///
/// Strings are written as they are; numbers and booleans as text; a null value as `null`;
/// bytes as base64 (or as a decimal number when `schema` is a Decimal); structs, maps and
/// arrays as JSON, with struct fields in schema order.
pub fn render_value(value: &Value, schema: Option<&Schema>) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => {
            let mut out = String::new();
            write_scalar_or_json(&mut out, other, schema, false);
            out
        }
    }
}

/// Writes `value`; `nested` values are written as JSON (strings quoted, non-finite floats quoted).
fn write_scalar_or_json(out: &mut String, value: &Value, schema: Option<&Schema>, nested: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(v) => push_display(out, v),
        Value::Int16(v) => push_display(out, v),
        Value::Int32(v) => push_display(out, v),
        Value::Int64(v) => push_display(out, v),
        Value::Float32(v) => push_float(out, f64::from(*v), nested),
        Value::Float64(v) => push_float(out, *v, nested),
        Value::String(s) if nested => push_json_string(out, s),
        Value::String(s) => out.push_str(s),
        Value::Bytes(bytes) => {
            let decimal = schema.and_then(logical::decimal_scale).and_then(|scale| {
                logical::decimal_unscaled(bytes).map(|unscaled| logical::decimal_to_string(unscaled, scale))
            });
            let text = decimal.unwrap_or_else(|| base64::engine::general_purpose::STANDARD.encode(bytes));
            if nested && schema.and_then(logical::decimal_scale).is_none() {
                push_json_string(out, &text);
            } else {
                out.push_str(&text);
            }
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_scalar_or_json(out, item, item_schema, true);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let key_schema = schema.and_then(|s| s.key_schema.as_deref());
            let value_schema = schema.and_then(|s| s.value_schema.as_deref());
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match k {
                    Value::String(s) => push_json_string(out, s),
                    other => {
                        let mut key = String::new();
                        write_scalar_or_json(&mut key, other, key_schema, false);
                        push_json_string(out, &key);
                    }
                }
                out.push(':');
                write_scalar_or_json(out, v, value_schema, true);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push('{');
            for (i, (field, v)) in s.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, &field.name);
                out.push(':');
                write_scalar_or_json(out, v, Some(&field.schema), true);
            }
            out.push('}');
        }
    }
}

fn push_display(out: &mut String, v: impl std::fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{v}");
}

fn push_float(out: &mut String, v: f64, nested: bool) {
    if v.is_finite() || !nested {
        push_display(out, v);
    } else {
        push_json_string(out, &v.to_string());
    }
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
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
        assert_eq!(render_value(&map, None), r#"{"k":[1,null,"NaN"],"2":"/w=="}"#);
    }
}
