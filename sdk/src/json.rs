//! Values as JSON, as Kafka Connect's `JsonConverter` writes and reads them (without the
//! `{"schema", "payload"}` envelope): the one rendering connectors and converters share.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::value::RawValue;
use serde_json::Value as Json;

use crate::schema::{logical, Schema, SchemaType};
use crate::value::{Struct, Value};
use crate::{ConnectError, Result};

/// Writes `value` as JSON text onto `out`, as Kafka Connect's `JsonConverter` writes a payload:
/// the one rendering the runtime's converters and the built-in connectors share.
///
/// - Integers, booleans and null as themselves; finite floats as the shortest text that reads
///   back to the same value (a `Float32` as a 32-bit float: `1.1`, not `1.100000023841858`);
///   NaN and the infinities as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`, as Jackson
///   writes them for Kafka Connect.
/// - Strings quoted; bytes as base64. A Decimal as its exact digits when `decimal_numeric`
///   (`decimal.format=NUMERIC`; `1.50` keeps its scale), as base64 of its unscaled bytes
///   otherwise, or when it does not fit 128 bits.
/// - Arrays as arrays; structs as objects in field order; maps as objects when their key schema
///   is a string (or, without a schema, when every key is a string), else as arrays of
///   `[key, value]` pairs.
pub fn write_json(out: &mut String, schema: Option<&Schema>, value: &Value, decimal_numeric: bool) {
    let no_hook: JsonHook<'_, std::convert::Infallible> = &|_, _, _| None;
    let Ok(()) = write_json_with(out, schema, value, decimal_numeric, no_hook);
}

/// A connector's own rendering of some typed values for [`write_json_with`]: it writes the value
/// and returns `Some` (an error stops the writing), or returns `None` to leave it to the default.
pub type JsonHook<'a, E> = &'a dyn Fn(&Schema, &Value, &mut String) -> Option<std::result::Result<(), E>>;

/// [`write_json`], with `hook` asked first for every value that has a schema, at every depth
/// (e.g. a sink that writes temporal logical types as date strings).
pub fn write_json_with<E>(
    out: &mut String,
    schema: Option<&Schema>,
    value: &Value,
    decimal_numeric: bool,
    hook: JsonHook<'_, E>,
) -> std::result::Result<(), E> {
    if let Some(result) = schema.and_then(|s| hook(s, value, out)) {
        return result;
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(v) => push_display(out, v),
        Value::Int16(v) => push_display(out, v),
        Value::Int32(v) => push_display(out, v),
        Value::Int64(v) => push_display(out, v),
        Value::Float32(v) if v.is_finite() => push_serialized(out, v),
        Value::Float64(v) if v.is_finite() => push_serialized(out, v),
        Value::Float32(v) => push_string(out, non_finite_name(f64::from(*v))),
        Value::Float64(v) => push_string(out, non_finite_name(*v)),
        Value::String(s) => push_string(out, s),
        Value::Bytes(bytes) => {
            let digits = schema
                .filter(|_| decimal_numeric)
                .and_then(logical::decimal_scale)
                .and_then(|scale| logical::decimal_unscaled(bytes).map(|u| logical::decimal_to_string(u, scale)));
            match digits {
                Some(digits) => out.push_str(&digits),
                None => push_string(out, &BASE64.encode(bytes)),
            }
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_with(out, item_schema, item, decimal_numeric, hook)?;
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let key_schema = schema.and_then(|s| s.key_schema.as_deref());
            let value_schema = schema.and_then(|s| s.value_schema.as_deref());
            let object = match key_schema {
                Some(ks) => ks.schema_type == SchemaType::String,
                None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
            };
            out.push(if object { '{' } else { '[' });
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match k {
                    Value::String(k) if object => push_string(out, k),
                    // A null key under a string key schema: an object cannot hold it, so it is "null".
                    _ if object => push_string(out, "null"),
                    _ => {
                        out.push('[');
                        write_json_with(out, key_schema, k, decimal_numeric, hook)?;
                        out.push(',');
                    }
                }
                if object {
                    out.push(':');
                }
                write_json_with(out, value_schema, v, decimal_numeric, hook)?;
                if !object {
                    out.push(']');
                }
            }
            out.push(if object { '}' } else { ']' });
        }
        Value::Struct(s) => {
            out.push('{');
            for (i, (field, v)) in s.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(out, &field.name);
                out.push(':');
                write_json_with(out, Some(&field.schema), v, decimal_numeric, hook)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// [`write_json`] into a new string.
pub fn to_json_text(schema: Option<&Schema>, value: &Value, decimal_numeric: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, schema, value, decimal_numeric);
    out
}

/// [`write_json`] as a `serde_json` tree, for callers that embed the value in other JSON. Numbers
/// in the tree are 64-bit: a numeric Decimal of more than 15 significant digits is rounded there,
/// so write payloads with [`write_json`].
pub fn value_to_json(schema: Option<&Schema>, value: &Value, decimal_numeric: bool) -> Json {
    serde_json::from_str(&to_json_text(schema, value, decimal_numeric)).unwrap_or(Json::Null)
}

/// Java's name of a non-finite double (`Double.toString`), which Kafka Connect writes for them.
pub fn non_finite_name(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// Writes a JSON string literal (quoted and escaped).
pub fn push_string(out: &mut String, s: &str) {
    push_serialized(out, s);
}

fn push_serialized<T: serde::Serialize + ?Sized>(out: &mut String, v: &T) {
    // Strings and finite floats always serialize.
    if let Ok(text) = serde_json::to_string(v) {
        out.push_str(&text);
    }
}

fn push_display(out: &mut String, v: impl std::fmt::Display) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(out, "{v}");
}

/// Reads a JSON value as the given schema says; a mismatch is a data error naming the type.
pub fn json_to_value(schema: &Schema, json: Json) -> Result<Value> {
    let mismatch = |json: &Json| {
        ConnectError::data(format!("JSON value {json} does not match schema type {}", schema.schema_type.name()))
    };
    if json.is_null() {
        return match &schema.default {
            Some(default) => Ok(default.clone()),
            None if schema.optional => Ok(Value::Null),
            None => Err(ConnectError::data(format!("null value for a required {} field", schema.schema_type.name()))),
        };
    }
    let int = |json: &Json| json.as_i64().ok_or_else(|| mismatch(json));
    let float = |json: &Json| match json {
        Json::String(s) => ["NaN", "Infinity", "-Infinity"].contains(&s.as_str()).then(|| s.parse().ok()).flatten(),
        other => other.as_f64(),
    };
    Ok(match schema.schema_type {
        SchemaType::Boolean => Value::Boolean(json.as_bool().ok_or_else(|| mismatch(&json))?),
        SchemaType::Int8 => Value::Int8(i8::try_from(int(&json)?).map_err(|_| mismatch(&json))?),
        SchemaType::Int16 => Value::Int16(i16::try_from(int(&json)?).map_err(|_| mismatch(&json))?),
        SchemaType::Int32 => Value::Int32(i32::try_from(int(&json)?).map_err(|_| mismatch(&json))?),
        SchemaType::Int64 => Value::Int64(int(&json)?),
        SchemaType::Float32 => Value::Float32(float(&json).ok_or_else(|| mismatch(&json))? as f32),
        SchemaType::Float64 => Value::Float64(float(&json).ok_or_else(|| mismatch(&json))?),
        SchemaType::String => match json {
            Json::String(s) => Value::String(s),
            other => return Err(mismatch(&other)),
        },
        SchemaType::Bytes => match (&json, logical::decimal_scale(schema)) {
            (Json::Number(n), Some(scale)) => {
                let unscaled = logical::decimal_from_str(&n.to_string(), scale).ok_or_else(|| mismatch(&json))?;
                Value::Bytes(logical::decimal_bytes(unscaled))
            }
            (Json::String(s), _) => Value::Bytes(BASE64.decode(s).map_err(|_| mismatch(&json))?),
            _ => return Err(mismatch(&json)),
        },
        SchemaType::Array => {
            let items = schema.value_schema.as_deref().ok_or_else(|| mismatch(&json))?;
            match json {
                Json::Array(values) => {
                    Value::Array(values.into_iter().map(|v| json_to_value(items, v)).collect::<Result<_>>()?)
                }
                other => return Err(mismatch(&other)),
            }
        }
        SchemaType::Map => {
            let (Some(ks), Some(vs)) = (schema.key_schema.as_deref(), schema.value_schema.as_deref()) else {
                return Err(mismatch(&json));
            };
            match json {
                Json::Object(map) => Value::Map(
                    map.into_iter()
                        .map(|(k, v)| Ok((json_to_value(ks, Json::String(k))?, json_to_value(vs, v)?)))
                        .collect::<Result<_>>()?,
                ),
                Json::Array(pairs) => Value::Map(
                    pairs
                        .into_iter()
                        .map(|pair| match pair {
                            Json::Array(mut kv) if kv.len() == 2 => {
                                let v = kv.pop().unwrap_or(Json::Null);
                                let k = kv.pop().unwrap_or(Json::Null);
                                Ok((json_to_value(ks, k)?, json_to_value(vs, v)?))
                            }
                            other => Err(mismatch(&other)),
                        })
                        .collect::<Result<_>>()?,
                ),
                other => return Err(mismatch(&other)),
            }
        }
        SchemaType::Struct => match json {
            Json::Object(mut map) => {
                let schema_ref = Arc::new(schema.clone());
                let mut s = Struct::new(schema_ref);
                for field in &schema.fields {
                    let v = json_to_value(&field.schema, map.remove(&field.name).unwrap_or(Json::Null))?;
                    s = s.put(&field.name, v)?;
                }
                Value::Struct(s)
            }
            other => return Err(mismatch(&other)),
        },
    })
}

/// Reads JSON text as the given schema says, like [`json_to_value`], but numeric Decimals from
/// their digits: a serde_json tree keeps a non-integral number only as a 64-bit float (about 17
/// significant digits), so a Decimal's text is taken as it stands in `text` instead. Without a
/// Decimal in `schema`, this is [`json_to_value`] of the parsed text.
pub fn json_text_to_value(schema: &Schema, text: &str) -> Result<Value> {
    if has_decimal(schema) {
        exact_to_value(schema, parse(text)?)
    } else {
        json_to_value(schema, parse(text)?)
    }
}

fn parse<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| ConnectError::data(format!("reading JSON: {e}")))
}

fn has_decimal(schema: &Schema) -> bool {
    logical::decimal_scale(schema).is_some()
        || schema.fields.iter().any(|f| has_decimal(&f.schema))
        || schema.key_schema.as_deref().is_some_and(has_decimal)
        || schema.value_schema.as_deref().is_some_and(has_decimal)
}

/// An object's members in document order, their values unparsed.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// [`json_to_value`] over unparsed JSON: containers are walked here, Decimals read from their
/// text, and every other value parsed and read by [`json_to_value`].
fn exact_to_value(schema: &Schema, raw: &RawValue) -> Result<Value> {
    let text = raw.get();
    let mismatch = || {
        ConnectError::data(format!("JSON value {text:.200} does not match schema type {}", schema.schema_type.name()))
    };
    let number = text.starts_with(|c: char| c == '-' || c.is_ascii_digit());
    Ok(match schema.schema_type {
        SchemaType::Bytes if number => {
            let scale = logical::decimal_scale(schema).ok_or_else(mismatch)?;
            Value::Bytes(logical::decimal_bytes(logical::decimal_from_str(text, scale).ok_or_else(mismatch)?))
        }
        SchemaType::Array if text.starts_with('[') => {
            let items = schema.value_schema.as_deref().ok_or_else(mismatch)?;
            let values: Vec<&RawValue> = parse(text)?;
            Value::Array(values.into_iter().map(|v| exact_to_value(items, v)).collect::<Result<_>>()?)
        }
        SchemaType::Map if text.starts_with(['[', '{']) => {
            let (Some(ks), Some(vs)) = (schema.key_schema.as_deref(), schema.value_schema.as_deref()) else {
                return Err(mismatch());
            };
            let entries: Vec<(Value, Value)> = if text.starts_with('{') {
                let Members(members) = parse(text)?;
                members
                    .into_iter()
                    .map(|(k, v)| Ok((json_to_value(ks, Json::String(k))?, exact_to_value(vs, v)?)))
                    .collect::<Result<_>>()?
            } else {
                let pairs: Vec<(&RawValue, &RawValue)> = parse(text)?;
                pairs
                    .into_iter()
                    .map(|(k, v)| Ok((exact_to_value(ks, k)?, exact_to_value(vs, v)?)))
                    .collect::<Result<_>>()?
            };
            Value::Map(entries)
        }
        SchemaType::Struct if text.starts_with('{') => {
            let Members(members) = parse(text)?;
            let mut s = Struct::new(Arc::new(schema.clone()));
            for field in &schema.fields {
                // As in a serde_json object, the last of repeated members counts.
                let v = match members.iter().rev().find(|(name, _)| *name == field.name) {
                    Some((_, raw)) => exact_to_value(&field.schema, raw)?,
                    None => json_to_value(&field.schema, Json::Null)?,
                };
                s = s.put(&field.name, v)?;
            }
            Value::Struct(s)
        }
        _ => json_to_value(schema, parse(text)?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(schema: Option<&Schema>, value: &Value) -> String {
        to_json_text(schema, value, true)
    }

    #[test]
    fn non_finite_floats_are_java_names_and_read_back() {
        let values = Value::Array(vec![
            Value::Float64(f64::NAN),
            Value::Float64(f64::INFINITY),
            Value::Float32(f32::NEG_INFINITY),
        ]);
        assert_eq!(text(None, &values), r#"["NaN","Infinity","-Infinity"]"#);
        let schema = Schema::primitive(SchemaType::Float64);
        let back = json_to_value(&schema, Json::String("-Infinity".into())).expect("reads");
        assert_eq!(back, Value::Float64(f64::NEG_INFINITY));
        assert!(json_to_value(&schema, Json::String("nan?".into())).is_err());
    }

    #[test]
    fn floats_keep_their_width() {
        assert_eq!(text(None, &Value::Float32(1.1)), "1.1");
        assert_eq!(text(None, &Value::Float64(0.1)), "0.1");
    }

    #[test]
    fn numeric_decimals_keep_every_digit_and_their_scale() {
        let schema = logical::decimal(2).build();
        let unscaled = 123_456_789_012_345_678_901_234_567_890_i128;
        let value = Value::Bytes(logical::decimal_bytes(unscaled));
        assert_eq!(text(Some(&*schema), &value), "1234567890123456789012345678.90");
        assert_eq!(text(Some(&*schema), &Value::Bytes(logical::decimal_bytes(150))), "1.50");
        assert_eq!(to_json_text(Some(&*schema), &Value::Bytes(vec![0x00, 0x96]), false), r#""AJY=""#);
    }

    #[test]
    fn numeric_decimals_read_from_text_keep_every_digit() {
        let decimal = logical::decimal(2).build();
        let schema = Schema::struct_builder()
            .field("amount", decimal.clone())
            .field("history", Schema::array(decimal.clone()).build())
            .field("by_day", Schema::map(Schema::string(), decimal).build())
            .field("note", Schema::string())
            .build();
        let text = r#"{"note":"n","amount":1234567890123456789012345678.90,
            "history":[-0.01,1.5E+1,"AJY="],"by_day":{"b":1,"a":2.50}}"#;
        let value = json_text_to_value(&schema, text).expect("reads");
        let Value::Struct(s) = &value else { panic!("a struct: {value:?}") };
        let unscaled = |v: Option<&Value>| match v {
            Some(Value::Bytes(b)) => logical::decimal_unscaled(b),
            _ => None,
        };
        assert_eq!(unscaled(s.get("amount")), Some(123_456_789_012_345_678_901_234_567_890));
        let Some(Value::Array(history)) = s.get("history") else { panic!("{s:?}") };
        assert_eq!(history.iter().map(|v| unscaled(Some(v))).collect::<Vec<_>>(), [Some(-1), Some(1500), Some(150)]);
        let Some(Value::Map(by_day)) = s.get("by_day") else { panic!("{s:?}") };
        assert_eq!(
            by_day.iter().map(|(k, v)| (k.clone(), unscaled(Some(v)))).collect::<Vec<_>>(),
            [(Value::from("b"), Some(100)), (Value::from("a"), Some(250))]
        );
        assert_eq!(s.get("note"), Some(&Value::from("n")));
        // Through a serde_json tree the same digits are rounded: what this reader is for.
        let tree = json_to_value(&schema, serde_json::from_str(text).expect("json")).expect("reads");
        let Value::Struct(t) = &tree else { panic!("{tree:?}") };
        assert_ne!(unscaled(t.get("amount")), unscaled(s.get("amount")));
        let wrong = r#"{"note":"n","amount":"not base64!","history":[],"by_day":{}}"#;
        assert!(json_text_to_value(&schema, wrong).is_err());
    }

    #[test]
    fn maps_are_objects_only_under_string_keys() {
        let int_keys = Schema::map(Schema::primitive(SchemaType::Int32), Schema::string()).build();
        assert_eq!(text(Some(&*int_keys), &Value::Map(vec![])), "[]");
        let map = Value::Map(vec![(Value::Int32(2), Value::from("b"))]);
        assert_eq!(text(Some(&*int_keys), &map), r#"[[2,"b"]]"#);
        assert_eq!(text(None, &map), r#"[[2,"b"]]"#);
        let read = json_to_value(&int_keys, serde_json::from_str(r#"[[2,"b"]]"#).expect("json")).expect("reads");
        assert_eq!(read, map);
        let named = Value::Map(vec![(Value::from("a\"b"), Value::Null)]);
        assert_eq!(text(None, &named), r#"{"a\"b":null}"#);
    }

    #[test]
    fn a_hook_renders_what_it_knows_at_every_depth() {
        let date = logical::date().build();
        let schema = Schema::array(date).build();
        let hook: JsonHook<'_, String> = &|s, v, out| {
            (s.name.as_deref() == Some(logical::DATE)).then(|| {
                push_string(out, &format!("day {}", v.as_i64().unwrap_or_default()));
                Ok(())
            })
        };
        let mut out = String::new();
        write_json_with(&mut out, Some(&*schema), &Value::Array(vec![Value::Int32(3)]), true, hook).expect("writes");
        assert_eq!(out, r#"["day 3"]"#);
    }
}
