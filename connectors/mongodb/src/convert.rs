//! BSON and Aqueduct values: documents as Connect rows (source, Debezium format) and record
//! keys and values as documents (sink).

use aqueduct_sdk::{logical, Schema, SchemaRef, SchemaType, Struct, Value};
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, DateTime, Decimal128, Document};
use serde_json::Value as Json;

use crate::extjson::{self, JsonFormat};

/// Debezium's semantic type name for a string holding JSON.
pub const JSON_SCHEMA_NAME: &str = "io.debezium.data.Json";

/// The record-key form of a document `_id`: ObjectId as its hex string, strings and numbers as
/// themselves, anything else (documents, dates, ...) as relaxed Extended JSON text.
pub fn id_to_value(id: &Bson) -> (SchemaRef, Value) {
    match id {
        Bson::ObjectId(oid) => (Schema::string(), Value::String(oid.to_hex())),
        Bson::String(s) => (Schema::string(), Value::String(s.clone())),
        Bson::Int32(v) => (Schema::primitive(SchemaType::Int32), Value::Int32(*v)),
        Bson::Int64(v) => (Schema::int64(), Value::Int64(*v)),
        Bson::Double(v) => (Schema::primitive(SchemaType::Float64), Value::Float64(*v)),
        other => (Schema::string(), Value::String(extjson::to_json(other, JsonFormat::Relaxed).to_string())),
    }
}

/// How a top-level field of a document is typed in a Connect row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Int32,
    Int64,
    Float64,
    Boolean,
    Timestamp,
    Decimal(i32),
    Bytes,
    Json,
}

fn kind_of(value: &Bson) -> Option<Kind> {
    Some(match value {
        Bson::Null | Bson::Undefined => return None,
        Bson::ObjectId(_) | Bson::String(_) | Bson::Symbol(_) => Kind::String,
        Bson::Int32(_) => Kind::Int32,
        Bson::Int64(_) => Kind::Int64,
        Bson::Double(_) => Kind::Float64,
        Bson::Boolean(_) => Kind::Boolean,
        Bson::DateTime(_) => Kind::Timestamp,
        Bson::Decimal128(d) => match decimal_parts(d) {
            Some((_, scale)) => Kind::Decimal(scale),
            None => Kind::String,
        },
        Bson::Binary(_) => Kind::Bytes,
        _ => Kind::Json,
    })
}

/// A Decimal128 as (unscaled, scale) when it is finite and fits 128 bits without an exponent.
fn decimal_parts(d: &Decimal128) -> Option<(i128, i32)> {
    let text = d.to_string();
    if text.contains(['E', 'e', 'N', 'I']) {
        return None;
    }
    let scale = text.split_once('.').map_or(0, |(_, frac)| frac.len());
    let scale = i32::try_from(scale).ok()?;
    Some((logical::decimal_from_str(&text, scale)?, scale))
}

fn schema_of(kind: Option<Kind>) -> SchemaRef {
    let builder = match kind {
        None | Some(Kind::String) => Schema::builder(SchemaType::String),
        Some(Kind::Int32) => Schema::builder(SchemaType::Int32),
        Some(Kind::Int64) => Schema::builder(SchemaType::Int64),
        Some(Kind::Float64) => Schema::builder(SchemaType::Float64),
        Some(Kind::Boolean) => Schema::builder(SchemaType::Boolean),
        Some(Kind::Timestamp) => logical::timestamp(),
        Some(Kind::Decimal(scale)) => logical::decimal(scale),
        Some(Kind::Bytes) => Schema::builder(SchemaType::Bytes),
        Some(Kind::Json) => Schema::builder(SchemaType::String).name(JSON_SCHEMA_NAME).version(1),
    };
    builder.optional().build()
}

fn row_value(value: &Bson, kind: Option<Kind>) -> Value {
    match (value, kind) {
        (Bson::Null | Bson::Undefined, _) => Value::Null,
        (Bson::ObjectId(oid), Some(Kind::String)) => Value::String(oid.to_hex()),
        (Bson::String(s) | Bson::Symbol(s), Some(Kind::String)) => Value::String(s.clone()),
        (Bson::Int32(v), Some(Kind::Int32)) => Value::Int32(*v),
        (Bson::Int64(v), Some(Kind::Int64)) => Value::Int64(*v),
        (Bson::Double(v), Some(Kind::Float64)) => Value::Float64(*v),
        (Bson::Boolean(v), Some(Kind::Boolean)) => Value::Boolean(*v),
        (Bson::DateTime(d), Some(Kind::Timestamp)) => Value::Int64(d.timestamp_millis()),
        (Bson::Decimal128(d), Some(Kind::Decimal(scale))) => match decimal_parts(d) {
            Some((unscaled, s)) if s == scale => Value::Bytes(logical::decimal_bytes(unscaled)),
            _ => Value::String(d.to_string()),
        },
        (Bson::Decimal128(d), Some(Kind::String)) => Value::String(d.to_string()),
        (Bson::Binary(b), Some(Kind::Bytes)) => Value::Bytes(b.bytes.clone()),
        (other, _) => Value::String(extjson::to_json(other, JsonFormat::Relaxed).to_string()),
    }
}

/// Rows of one change event: before and after images over one inferred schema, so an envelope
/// can hold both. A field typed differently in the two images becomes a JSON string.
pub struct Rows {
    /// The row schema (a struct named `name`, every field optional).
    pub schema: SchemaRef,
    /// The before image, if any.
    pub before: Option<Value>,
    /// The after image, if any.
    pub after: Option<Value>,
}

/// Builds the rows of `before` and `after`: one field per top-level field, in document order.
pub fn rows(name: &str, before: Option<&Document>, after: Option<&Document>) -> aqueduct_sdk::Result<Rows> {
    let mut fields: Vec<(String, Option<Kind>)> = Vec::new();
    for doc in [after, before].into_iter().flatten() {
        for (key, value) in doc {
            let kind = kind_of(value);
            match fields.iter_mut().find(|(k, _)| k == key) {
                None => fields.push((key.clone(), kind)),
                Some((_, known)) => match (*known, kind) {
                    (_, None) => {}
                    (None, k) => *known = k,
                    (Some(a), Some(b)) if a != b => *known = Some(Kind::Json),
                    _ => {}
                },
            }
        }
    }
    let mut builder = Schema::struct_builder().name(name).optional();
    for (key, kind) in &fields {
        builder = builder.field(key.clone(), schema_of(*kind));
    }
    let schema = builder.build();
    let image = |doc: Option<&Document>| -> aqueduct_sdk::Result<Option<Value>> {
        let Some(doc) = doc else { return Ok(None) };
        let mut row = Struct::new(schema.clone());
        for (key, kind) in &fields {
            if let Some(value) = doc.get(key) {
                row = row.put(key, row_value(value, *kind))?;
            }
        }
        Ok(Some(Value::Struct(row)))
    };
    Ok(Rows { before: image(before)?, after: image(after)?, schema: schema.clone() })
}

/// A record key or value as BSON. Without a schema the value is read as (Extended) JSON, so
/// `{"$oid": ..}` becomes an ObjectId; with a schema, logical types map to BSON types
/// (Timestamp and Date to dates, Decimal to Decimal128, `io.debezium.data.Json` strings to documents).
pub fn value_to_bson(schema: Option<&Schema>, value: &Value) -> Result<Bson, String> {
    match schema {
        None => extjson::from_json(aqueduct_sdk::json::value_to_json(None, value, true)),
        Some(schema) => typed_to_bson(schema, value),
    }
}

fn typed_to_bson(schema: &Schema, value: &Value) -> Result<Bson, String> {
    let name = schema.name.as_deref().unwrap_or_default();
    Ok(match value {
        Value::Null => Bson::Null,
        Value::Boolean(b) => Bson::Boolean(*b),
        Value::Int8(v) => Bson::Int32(i32::from(*v)),
        Value::Int16(v) => Bson::Int32(i32::from(*v)),
        Value::Int32(v) if name == logical::DATE || name == "io.debezium.time.Date" => {
            Bson::DateTime(DateTime::from_millis(i64::from(*v) * 86_400_000))
        }
        Value::Int32(v) => Bson::Int32(*v),
        Value::Int64(v) if name == logical::TIMESTAMP || name == "io.debezium.time.Timestamp" => {
            Bson::DateTime(DateTime::from_millis(*v))
        }
        Value::Int64(v) if name == "io.debezium.time.MicroTimestamp" => Bson::DateTime(DateTime::from_millis(v / 1000)),
        Value::Int64(v) => Bson::Int64(*v),
        Value::Float32(v) => Bson::Double(f64::from(*v)),
        Value::Float64(v) => Bson::Double(*v),
        Value::String(s) if name == JSON_SCHEMA_NAME => match serde_json::from_str::<Json>(s) {
            Ok(json) => extjson::from_json(json)?,
            Err(_) => Bson::String(s.clone()),
        },
        Value::String(s) => Bson::String(s.clone()),
        Value::Bytes(b) => match logical::decimal_scale(schema) {
            Some(scale) => {
                let unscaled = logical::decimal_unscaled(b).ok_or("Decimal value wider than 128 bits")?;
                let text = logical::decimal_to_string(unscaled, scale);
                Bson::Decimal128(text.parse().map_err(|e| format!("Decimal {text} does not fit Decimal128: {e}"))?)
            }
            None => Bson::Binary(Binary { subtype: BinarySubtype::Generic, bytes: b.clone() }),
        },
        Value::Array(items) => {
            let item_schema = schema.value_schema.as_deref();
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match item_schema {
                    Some(s) => typed_to_bson(s, item)?,
                    None => value_to_bson(None, item)?,
                });
            }
            Bson::Array(out)
        }
        Value::Map(entries) => {
            let mut doc = Document::new();
            for (k, v) in entries {
                let key = k.as_str().ok_or("a map with non-string keys cannot become a document")?;
                let converted = match schema.value_schema.as_deref() {
                    Some(s) => typed_to_bson(s, v)?,
                    None => value_to_bson(None, v)?,
                };
                doc.insert(key, converted);
            }
            Bson::Document(doc)
        }
        Value::Struct(s) => Bson::Document(struct_to_document(s)?),
    })
}

/// A struct as a document, field by field in schema order.
pub fn struct_to_document(s: &Struct) -> Result<Document, String> {
    let mut doc = Document::new();
    for (field, value) in s.iter() {
        doc.insert(field.name.clone(), typed_to_bson(&field.schema, value)?);
    }
    Ok(doc)
}

/// A record key or value as a document: a string is parsed as Extended JSON, bytes as raw BSON,
/// structs and maps converted field by field. `what` names the part for error messages.
pub fn to_document(schema: Option<&Schema>, value: &Value, what: &str) -> Result<Document, String> {
    match value {
        Value::String(text) => extjson::parse_document(text).map_err(|e| format!("{what}: {e}")),
        Value::Bytes(bytes) if schema.is_none_or(|s| logical::decimal_scale(s).is_none()) => {
            Document::from_reader(&mut bytes.as_slice()).map_err(|e| format!("{what}: not a BSON document: {e}"))
        }
        other => match value_to_bson(schema, other).map_err(|e| format!("{what}: {e}"))? {
            Bson::Document(doc) => Ok(doc),
            b => Err(format!("{what}: expected a document, found {}", extjson::type_name(&b))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;
    use mongodb::bson::oid::ObjectId;

    #[test]
    fn ids_become_natural_key_values() {
        let oid = ObjectId::parse_str("5f1e2d3c4b5a697887960504").expect("oid");
        assert_eq!(id_to_value(&Bson::ObjectId(oid)).1, Value::String("5f1e2d3c4b5a697887960504".into()));
        assert_eq!(id_to_value(&Bson::Int32(4)).1, Value::Int32(4));
        assert_eq!(id_to_value(&Bson::String("k".into())).1, Value::String("k".into()));
        assert_eq!(id_to_value(&Bson::Document(doc! {"a": 1})).1, Value::String(r#"{"a":1}"#.into()));
    }

    #[test]
    fn rows_type_top_level_fields() {
        let after = doc! {
            "_id": ObjectId::new(), "n": 1i32, "big": 2i64, "price": "12.50".parse::<Decimal128>().expect("dec"),
            "when": DateTime::from_millis(1000), "nested": {"a": [1, 2]}, "gone": Bson::Null,
        };
        let before = doc! { "n": "was a string", "old": true };
        let rows = rows("db.coll.Value", Some(&before), Some(&after)).expect("rows");
        let after = rows.after.expect("after");
        assert_eq!(after.field("big"), Some(&Value::Int64(2)));
        assert_eq!(after.field("when"), Some(&Value::Int64(1000)));
        assert_eq!(after.field("nested"), Some(&Value::String(r#"{"a":[1,2]}"#.into())));
        assert_eq!(after.field("price"), Some(&Value::Bytes(logical::decimal_bytes(1250))));
        assert_eq!(after.field("n"), Some(&Value::String("1".into())), "conflicting types become JSON");
        let schema = &rows.schema;
        assert_eq!(schema.field("when").and_then(|f| f.schema.name.as_deref()), Some(logical::TIMESTAMP));
        assert_eq!(logical::decimal_scale(&schema.field("price").expect("price").schema), Some(2));
        assert_eq!(rows.before.expect("before").field("old"), Some(&Value::Boolean(true)));
    }

    #[test]
    fn values_become_documents() {
        let json = Value::from_json(serde_json::json!({"_id": {"$oid": "5f1e2d3c4b5a697887960504"}, "n": 5}));
        let doc = to_document(None, &json, "value").expect("doc");
        assert!(matches!(doc.get("_id"), Some(Bson::ObjectId(_))));
        let text = Value::String(r#"{"a": {"$numberLong": "3"}}"#.into());
        assert_eq!(to_document(None, &text, "value").expect("doc").get("a"), Some(&Bson::Int64(3)));
        let schema = Schema::struct_builder()
            .field("id", Schema::int64())
            .field("at", logical::timestamp().build())
            .field("amount", logical::decimal(2).build())
            .build();
        let s = Struct::new(schema.clone())
            .put("id", 7i64)
            .and_then(|s| s.put("at", 86_400_000i64))
            .and_then(|s| s.put("amount", Value::Bytes(logical::decimal_bytes(-150))))
            .expect("struct");
        let doc = to_document(Some(&schema), &Value::Struct(s), "value").expect("doc");
        assert_eq!(doc.get("id"), Some(&Bson::Int64(7)));
        assert_eq!(doc.get("at"), Some(&Bson::DateTime(DateTime::from_millis(86_400_000))));
        assert_eq!(doc.get("amount").map(ToString::to_string), Some("-1.50".into()));
        assert!(to_document(None, &Value::String("[1]".into()), "value").expect_err("array").contains("value"));
        assert!(to_document(None, &Value::Int32(1), "key").is_err());
    }
}
