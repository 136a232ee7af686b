//! Record values as Elasticsearch documents and record keys as document ids, as Confluent's
//! `DataConverter` makes them.
//!
//! This is not the JSON converter's rendering: Decimals become doubles (the mapping says
//! `double`), a null field takes its schema's default, string-keyed maps become objects only with
//! `compact.map.entries` (otherwise `[{"key", "value"}]` documents, as Confluent writes them),
//! and NaN or infinite floats, which Elasticsearch cannot index, are conversion errors.

use aqueduct_sdk::schema::logical;
use aqueduct_sdk::{Schema, SchemaType, SinkRecord, Value};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{Map, Number, Value as Json};

/// Why a record cannot become a document or id.
pub type ConvertError = String;

/// The document id from the record key: integers and strings only (Confluent's `convertKey`).
pub fn key_to_id(record: &SinkRecord) -> Result<String, ConvertError> {
    let key_type = record.key_schema.as_ref().map(|s| s.schema_type).or_else(|| record.key.schema_type());
    let id = match (&record.key, key_type) {
        (Value::Null, _) => return Err("Key is used as document id and can not be null.".into()),
        (Value::String(s), _) => s.clone(),
        (v, Some(SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64)) => {
            v.as_i64().map(|i| i.to_string()).ok_or("the key does not match its schema")?
        }
        (_, t) => {
            let name = t.map_or("unknown", SchemaType::name).to_uppercase();
            return Err(format!("{name} is not supported as the document id."));
        }
    };
    if id.is_empty() {
        return Err("Key is used as document id and can not be empty.".into());
    }
    Ok(id)
}

/// The id with `key.ignore`: `topic+partition+offset`.
pub fn offset_id(record: &SinkRecord) -> String {
    format!("{}+{}+{}", record.topic, record.kafka_partition, record.kafka_offset)
}

/// The document for a record value (not null): with its schema, or schemaless.
pub fn to_document(value: &Value, schema: Option<&Schema>, compact_maps: bool) -> Result<Json, ConvertError> {
    let doc = convert(value, schema, compact_maps)?;
    if !doc.is_object() {
        return Err(format!("the value is {}, not a struct or map: it cannot be a document", kind(value)));
    }
    Ok(doc)
}

fn kind(value: &Value) -> &'static str {
    value.schema_type().map_or("null", SchemaType::name)
}

fn float(f: f64) -> Result<Json, ConvertError> {
    Number::from_f64(f).map(Json::Number).ok_or_else(|| format!("{f} cannot be indexed (not a finite number)"))
}

fn convert(value: &Value, schema: Option<&Schema>, compact: bool) -> Result<Json, ConvertError> {
    if value.is_null() {
        return match schema {
            None => Ok(Json::Null),
            Some(s) => match &s.default {
                Some(default) => convert(default, Some(s), compact),
                None if s.optional => Ok(Json::Null),
                None => Err("null value for a field that is required and has no default value".into()),
            },
        };
    }
    if let (Some(s), Value::Bytes(bytes)) = (schema, value) {
        if let Some(scale) = logical::decimal_scale(s) {
            let unscaled = logical::decimal_unscaled(bytes).ok_or("a Decimal wider than 128 bits")?;
            let text = logical::decimal_to_string(unscaled, scale);
            return float(text.parse::<f64>().map_err(|e| format!("Decimal {text}: {e}"))?);
        }
    }
    Ok(match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => {
            Json::Number(value.as_i64().unwrap_or_default().into())
        }
        Value::Float32(f) => float(f64::from(*f))?,
        Value::Float64(f) => float(*f)?,
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(BASE64.encode(b)),
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            Json::Array(items.iter().map(|v| convert(v, item_schema, compact)).collect::<Result<_, _>>()?)
        }
        Value::Map(entries) => {
            let key_schema = schema.and_then(|s| s.key_schema.as_deref());
            let value_schema = schema.and_then(|s| s.value_schema.as_deref());
            let string_keys = match key_schema {
                Some(k) => k.schema_type == SchemaType::String,
                None => entries.iter().all(|(k, _)| k.as_str().is_some()),
            };
            if string_keys && (compact || schema.is_none()) {
                let mut object = Map::with_capacity(entries.len());
                for (k, v) in entries {
                    object.insert(k.as_str().unwrap_or_default().to_owned(), convert(v, value_schema, compact)?);
                }
                Json::Object(object)
            } else if schema.is_none() {
                // Schemaless maps with other keys: `[key, value]` pairs, as the JSON converter.
                let pairs = entries
                    .iter()
                    .map(|(k, v)| Ok(Json::Array(vec![convert(k, None, compact)?, convert(v, None, compact)?])));
                Json::Array(pairs.collect::<Result<_, ConvertError>>()?)
            } else {
                let entry = |(k, v): &(Value, Value)| -> Result<Json, ConvertError> {
                    let mut object = Map::with_capacity(2);
                    object.insert("key".into(), convert(k, key_schema, compact)?);
                    object.insert("value".into(), convert(v, value_schema, compact)?);
                    Ok(Json::Object(object))
                };
                Json::Array(entries.iter().map(entry).collect::<Result<_, _>>()?)
            }
        }
        Value::Struct(s) => {
            let mut object = Map::with_capacity(s.values().len());
            for (field, v) in s.iter() {
                let converted =
                    convert(v, Some(&field.schema), compact).map_err(|e| format!("field {}: {e}", field.name))?;
                object.insert(field.name.clone(), converted);
            }
            Json::Object(object)
        }
    })
}

#[cfg(test)]
mod tests {
    use aqueduct_sdk::{Schema, Struct};
    use serde_json::json;

    use super::*;

    fn record(key_schema: Option<aqueduct_sdk::SchemaRef>, key: Value) -> SinkRecord {
        SinkRecord::new("t", 2, 7, None, Value::Null).with_key(key_schema, key)
    }

    #[test]
    fn ids_from_keys() {
        assert_eq!(key_to_id(&record(None, Value::Int64(42))), Ok("42".into()));
        assert_eq!(key_to_id(&record(Some(Schema::string()), "k".into())), Ok("k".into()));
        assert!(key_to_id(&record(None, Value::Null)).is_err());
        assert!(key_to_id(&record(None, "".into())).is_err());
        let err = key_to_id(&record(None, Value::Map(vec![]))).expect_err("map");
        assert!(err.contains("MAP is not supported"), "{err}");
        assert_eq!(offset_id(&record(None, Value::Null)), "t+2+7");
    }

    #[test]
    fn structs_with_logical_types_defaults_and_maps() {
        let map = Schema::map(Schema::string(), Schema::int64()).build();
        let schema = Schema::struct_builder()
            .field("price", logical::decimal(2).build())
            .field("day", logical::date().build())
            .field("n", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(5)).build())
            .field("tags", map.clone())
            .field("raw", Schema::primitive(SchemaType::Bytes))
            .build();
        let value = Struct::from_values(
            schema.clone(),
            vec![
                Value::Bytes(logical::decimal_bytes(12345)),
                Value::Int32(19000),
                Value::Null,
                Value::Map(vec![("a".into(), Value::Int64(1))]),
                Value::Bytes(vec![1, 2]),
            ],
        )
        .expect("struct");
        let doc = to_document(&Value::Struct(value.clone()), Some(&schema), true).expect("doc");
        assert_eq!(doc, json!({"price": 123.45, "day": 19000, "n": 5, "tags": {"a": 1}, "raw": "AQI="}));
        let doc = to_document(&Value::Struct(value), Some(&schema), false).expect("doc");
        assert_eq!(doc["tags"], json!([{"key": "a", "value": 1}]));
        let required = Schema::struct_builder().field("x", Schema::string()).build();
        let bad = Struct::from_values(required.clone(), vec![Value::Null]).expect("struct");
        assert!(to_document(&Value::Struct(bad), Some(&required), true).is_err());
    }

    #[test]
    fn schemaless_values() {
        let v = Value::from_json(json!({"a": 1, "b": [true, 1.5], "c": null, "d": {"e": "f"}}));
        assert_eq!(
            to_document(&v, None, true).expect("doc"),
            json!({"a": 1, "b": [true, 1.5], "c": null, "d": {"e": "f"}})
        );
        assert!(to_document(&Value::from_json(json!({"x": f64::NAN})), None, true).is_ok(), "json NaN is null");
        assert!(to_document(&Value::Map(vec![("x".into(), Value::Float64(f64::NAN))]), None, true).is_err());
        assert!(to_document(&Value::Int64(1), None, true).is_err(), "a document is an object");
    }
}
