//! An index mapping built from a record's value schema, as Confluent's `Mapping` builds it:
//! structs become `properties`, arrays take their item's mapping, maps become `key`/`value`
//! properties, strings `text` with a `keyword` sub-field, Date/Time/Timestamp `date`, Decimal
//! `double`, and a primitive's default its `null_value`.

use aqueduct_sdk::schema::logical;
use aqueduct_sdk::{Schema, SchemaType, Value};
use serde_json::{json, Map, Value as Json};

/// The `mappings` body for an index whose documents have `schema`.
pub fn build(schema: &Schema) -> Result<Json, String> {
    mapping(schema)
}

fn es_type(t: SchemaType) -> Option<&'static str> {
    Some(match t {
        SchemaType::Boolean => "boolean",
        SchemaType::Int8 => "byte",
        SchemaType::Int16 => "short",
        SchemaType::Int32 => "integer",
        SchemaType::Int64 => "long",
        SchemaType::Float32 => "float",
        SchemaType::Float64 => "double",
        SchemaType::String => "text",
        SchemaType::Bytes => "binary",
        _ => return None,
    })
}

fn mapping(schema: &Schema) -> Result<Json, String> {
    match schema.name.as_deref() {
        Some(logical::DATE | logical::TIME | logical::TIMESTAMP) => return Ok(primitive("date", None)),
        Some(logical::DECIMAL) => return Ok(primitive("double", None)),
        _ => {}
    }
    match schema.schema_type {
        SchemaType::Array => mapping(schema.value_schema.as_deref().ok_or("an array schema without items")?),
        SchemaType::Map => {
            let key = mapping(schema.key_schema.as_deref().ok_or("a map schema without keys")?)?;
            let value = mapping(schema.value_schema.as_deref().ok_or("a map schema without values")?)?;
            Ok(json!({"properties": {"key": key, "value": value}}))
        }
        SchemaType::Struct => {
            let mut properties = Map::new();
            for field in &schema.fields {
                properties
                    .insert(field.name.clone(), mapping(&field.schema).map_err(|e| format!("{}: {e}", field.name))?);
            }
            Ok(json!({ "properties": properties }))
        }
        t => {
            let es = es_type(t).ok_or_else(|| format!("no Elasticsearch type for {}", t.name()))?;
            Ok(primitive(es, schema.default.as_ref()))
        }
    }
}

fn primitive(es_type: &str, default: Option<&Value>) -> Json {
    let mut m = Map::new();
    m.insert("type".into(), json!(es_type));
    if es_type == "text" {
        m.insert("fields".into(), json!({"keyword": {"type": "keyword", "ignore_above": 256}}));
    }
    let null_value = match default {
        Some(Value::Boolean(b)) => Some(json!(b)),
        Some(v @ (Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_))) => v.as_i64().map(Json::from),
        Some(Value::Float32(f)) => serde_json::Number::from_f64(f64::from(*f)).map(Json::Number),
        Some(Value::Float64(f)) => serde_json::Number::from_f64(*f).map(Json::Number),
        Some(Value::String(s)) => Some(json!(s)),
        _ => None,
    };
    if let Some(v) = null_value {
        m.insert("null_value".into(), v);
    }
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confluent_mapping() {
        let schema = Schema::struct_builder()
            .field("id", Schema::int64())
            .field("name", Schema::builder(SchemaType::String).optional().default_value("x".into()).build())
            .field("at", logical::timestamp().build())
            .field("price", logical::decimal(2).build())
            .field("tags", Schema::array(Schema::string()).build())
            .field("attrs", Schema::map(Schema::string(), Schema::primitive(SchemaType::Int32)).build())
            .field("inner", Schema::struct_builder().field("ok", Schema::primitive(SchemaType::Boolean)).build())
            .build();
        let text = json!({"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}});
        let mut named = text.clone();
        named["null_value"] = json!("x");
        assert_eq!(
            build(&schema).expect("mapping"),
            json!({"properties": {
                "id": {"type": "long"},
                "name": named,
                "at": {"type": "date"},
                "price": {"type": "double"},
                "tags": text.clone(),
                "attrs": {"properties": {"key": text, "value": {"type": "integer"}}},
                "inner": {"properties": {"ok": {"type": "boolean"}}},
            }})
        );
    }
}
