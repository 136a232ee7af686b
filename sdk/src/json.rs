//! Values as JSON, as Kafka Connect's `JsonConverter` writes and reads them (without the
//! `{"schema", "payload"}` envelope): the one rendering connectors and converters share.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{json, Value as Json};

use crate::schema::{logical, Schema, SchemaType};
use crate::value::{Struct, Value};
use crate::{ConnectError, Result};

/// Writes a value as JSON; with a schema, Decimals follow `decimal_numeric` and maps with
/// non-string keys become arrays of `[key, value]` pairs, as Kafka Connect does.
pub fn value_to_json(schema: Option<&Schema>, value: &Value, decimal_numeric: bool) -> Json {
    if let (Some(s), Value::Bytes(b)) = (schema, value) {
        if let Some(scale) = logical::decimal_scale(s) {
            if decimal_numeric {
                if let Some(unscaled) = logical::decimal_unscaled(b) {
                    let text = logical::decimal_to_string(unscaled, scale);
                    return serde_json::from_str(&text).unwrap_or(Json::String(text));
                }
            }
            return Json::String(BASE64.encode(b));
        }
    }
    match value {
        Value::Null => Json::Null,
        Value::Boolean(v) => json!(v),
        Value::Int8(v) => json!(v),
        Value::Int16(v) => json!(v),
        Value::Int32(v) => json!(v),
        Value::Int64(v) => json!(v),
        Value::Float32(v) => json!(v),
        Value::Float64(v) => json!(v),
        Value::String(v) => json!(v),
        Value::Bytes(v) => Json::String(BASE64.encode(v)),
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            Json::Array(items.iter().map(|v| value_to_json(item_schema, v, decimal_numeric)).collect())
        }
        Value::Map(entries) => {
            let key_schema = schema.and_then(|s| s.key_schema.as_deref());
            let value_schema = schema.and_then(|s| s.value_schema.as_deref());
            if entries.iter().all(|(k, _)| k.as_str().is_some()) {
                Json::Object(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            (k.as_str().unwrap_or_default().to_owned(), value_to_json(value_schema, v, decimal_numeric))
                        })
                        .collect(),
                )
            } else {
                Json::Array(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            json!([
                                value_to_json(key_schema, k, decimal_numeric),
                                value_to_json(value_schema, v, decimal_numeric)
                            ])
                        })
                        .collect(),
                )
            }
        }
        Value::Struct(s) => Json::Object(
            s.iter().map(|(f, v)| (f.name.clone(), value_to_json(Some(&f.schema), v, decimal_numeric))).collect(),
        ),
    }
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
    Ok(match schema.schema_type {
        SchemaType::Boolean => Value::Boolean(json.as_bool().ok_or_else(|| mismatch(&json))?),
        SchemaType::Int8 => Value::Int8(i8::try_from(int(&json)?).map_err(|_| mismatch(&json))?),
        SchemaType::Int16 => Value::Int16(i16::try_from(int(&json)?).map_err(|_| mismatch(&json))?),
        SchemaType::Int32 => Value::Int32(i32::try_from(int(&json)?).map_err(|_| mismatch(&json))?),
        SchemaType::Int64 => Value::Int64(int(&json)?),
        SchemaType::Float32 => Value::Float32(json.as_f64().ok_or_else(|| mismatch(&json))? as f32),
        SchemaType::Float64 => Value::Float64(json.as_f64().ok_or_else(|| mismatch(&json))?),
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
