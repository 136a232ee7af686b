//! Connect default values as Avro JSON defaults and back (Confluent's `connect.default` and
//! field `default`): numbers, booleans and strings as themselves, bytes (and Decimals) as a
//! string of ISO-8859-1 code points as the Avro specification says, arrays as arrays, Avro maps
//! as objects, `MapEntry` arrays as arrays of `{key, value}`, structs as objects.

use std::sync::Arc;

use aqueduct_sdk::{ConnectError, Result, Schema, SchemaType, Struct, Value};
use serde_json::{json, Map, Value as Json};

use super::avro_schema::Node;

/// The Avro JSON form of a default value of `schema`.
pub(super) fn to_json(schema: &Schema, value: &Value) -> Result<Json> {
    let bad = || {
        ConnectError::data(format!("default value {value:?} does not match its {} schema", schema.schema_type.name()))
    };
    Ok(match (schema.schema_type, value) {
        (_, Value::Null) => Json::Null,
        (SchemaType::Boolean, Value::Boolean(b)) => json!(b),
        (SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64, v) => {
            json!(v.as_i64().ok_or_else(bad)?)
        }
        (SchemaType::Float32, Value::Float32(f)) => json!(f),
        (SchemaType::Float64, Value::Float64(f)) => json!(f),
        (SchemaType::String, Value::String(s)) => json!(s),
        (SchemaType::Bytes, Value::Bytes(b)) => Json::String(b.iter().map(|&c| char::from(c)).collect()),
        (SchemaType::Array, Value::Array(items)) => {
            let item = schema.value_schema.as_deref().ok_or_else(bad)?;
            Json::Array(items.iter().map(|v| to_json(item, v)).collect::<Result<_>>()?)
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (Some(keys), Some(values)) = (schema.key_schema.as_deref(), schema.value_schema.as_deref()) else {
                return Err(bad());
            };
            if keys.schema_type == SchemaType::String && !keys.optional {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k.as_str().ok_or_else(bad)?.to_owned(), to_json(values, v)?);
                }
                Json::Object(map)
            } else {
                let pairs =
                    entries.iter().map(|(k, v)| Ok(json!({"key": to_json(keys, k)?, "value": to_json(values, v)?})));
                Json::Array(pairs.collect::<Result<_>>()?)
            }
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            let mut map = Map::new();
            for field in &schema.fields {
                map.insert(
                    field.name.clone(),
                    to_json(&field.schema, s.get_or_default(&field.name).unwrap_or(&Value::Null))?,
                );
            }
            Json::Object(map)
        }
        _ => return Err(bad()),
    })
}

/// The default value an Avro JSON default gives for `schema`, read as `node` describes.
pub(super) fn from_json(schema: &Schema, node: &Node, json: &Json) -> Result<Value> {
    let bad =
        || ConnectError::data(format!("Avro default {json} does not match its {} schema", schema.schema_type.name()));
    let int = || json.as_i64().ok_or_else(bad);
    Ok(match node {
        _ if json.is_null() => Value::Null,
        Node::Optional(_, inner) => from_json(schema, inner, json)?,
        Node::Boolean => Value::Boolean(json.as_bool().ok_or_else(bad)?),
        Node::Int => match schema.schema_type {
            SchemaType::Int8 => Value::Int8(i8::try_from(int()?).map_err(|_| bad())?),
            SchemaType::Int16 => Value::Int16(i16::try_from(int()?).map_err(|_| bad())?),
            _ => Value::Int32(i32::try_from(int()?).map_err(|_| bad())?),
        },
        Node::Long => Value::Int64(int()?),
        Node::Float => Value::Float32(json.as_f64().ok_or_else(bad)? as f32),
        Node::Double => Value::Float64(json.as_f64().ok_or_else(bad)?),
        Node::String | Node::Enum(_) => Value::String(json.as_str().ok_or_else(bad)?.to_owned()),
        Node::Bytes | Node::Fixed(_) => {
            let text = json.as_str().ok_or_else(bad)?;
            Value::Bytes(text.chars().map(|c| u8::try_from(u32::from(c)).map_err(|_| bad())).collect::<Result<_>>()?)
        }
        Node::Array(item) => {
            let item_schema = schema.value_schema.as_deref().ok_or_else(bad)?;
            let items = json.as_array().ok_or_else(bad)?;
            Value::Array(items.iter().map(|v| from_json(item_schema, item, v)).collect::<Result<_>>()?)
        }
        Node::Map(value) => {
            let value_schema = schema.value_schema.as_deref().ok_or_else(bad)?;
            let map = json.as_object().ok_or_else(bad)?;
            let entries = map.iter().map(|(k, v)| Ok((Value::String(k.clone()), from_json(value_schema, value, v)?)));
            Value::Map(entries.collect::<Result<_>>()?)
        }
        Node::Entries(key, value) => {
            let (Some(ks), Some(vs)) = (schema.key_schema.as_deref(), schema.value_schema.as_deref()) else {
                return Err(bad());
            };
            let pairs = json.as_array().ok_or_else(bad)?;
            let entries =
                pairs.iter().map(|p| Ok((from_json(ks, key, &p["key"])?, from_json(vs, value, &p["value"])?)));
            Value::Map(entries.collect::<Result<_>>()?)
        }
        Node::Record(nodes) => {
            let object = json.as_object().ok_or_else(bad)?;
            let mut values = Vec::with_capacity(nodes.len());
            for (node, field) in nodes.iter().zip(&schema.fields) {
                values.push(from_json(&field.schema, node, object.get(&field.name).unwrap_or(&Json::Null))?);
            }
            let mut plain = schema.clone();
            plain.default = None;
            Value::Struct(Struct::from_values(Arc::new(plain), values)?)
        }
    })
}
