//! `table.expand.json.payload`: a JSON string payload becomes a struct with an inferred schema,
//! as Debezium's `JsonSchemaData` (objects become optional structs named by their path, ints
//! int32, longs int64, other numbers float64, arrays of objects one merged struct schema,
//! nulls dropped or optional bytes). Object members keep the document's order.

use std::fmt;
use std::sync::Arc;

use aqueduct_sdk::{Field, Schema, SchemaRef, SchemaType, Struct, Value};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::util::NameAdjustment;

/// A parsed JSON document, object members in document order.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(i64::try_from(v).map_or(Json::Float(v as f64), Json::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Json>()? {
            match members.iter_mut().find(|(name, _)| *name == k) {
                Some(member) => member.1 = v, // the last duplicate wins, as Jackson's tree
                None => members.push((k, v)),
            }
        }
        Ok(Json::Object(members))
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

/// Infers schemas and converts values.
#[derive(Debug, Clone, Copy)]
pub struct JsonExpander {
    /// `table.json.payload.null.behavior=optional_bytes`.
    pub null_as_bytes: bool,
    /// `field.name.adjustment.mode`.
    pub names: NameAdjustment,
}

impl JsonExpander {
    /// The payload `text` as a struct and its schema named `key`; the error is why it is not
    /// expanded (Debezium then warns and keeps the payload as it was).
    pub fn expand(&self, key: &str, text: &str) -> Result<(SchemaRef, Value), String> {
        if !text.starts_with('{') && !text.starts_with('[') {
            let first = text.chars().next().map_or(String::new(), String::from);
            return Err(format!("Unable to parse payload starting with '{first}'"));
        }
        let json: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if !matches!(json, Json::Object(_)) {
            return Err("Not a struct schema: a top-level array".into());
        }
        let schema = self.schema(Some(key), &json)?.ok_or("no schema")?;
        let value = self.value(&json, &schema)?;
        Ok((schema, value))
    }

    fn schema(&self, key: Option<&str>, node: &Json) -> Result<Option<SchemaRef>, String> {
        let opt = |t| Ok(Some(Schema::optional(t)));
        match node {
            Json::Str(_) => opt(SchemaType::String),
            Json::Bool(_) => opt(SchemaType::Boolean),
            Json::Int(i) if i32::try_from(*i).is_ok() => opt(SchemaType::Int32),
            Json::Int(_) => opt(SchemaType::Int64),
            Json::Float(_) => opt(SchemaType::Float64),
            Json::Null if self.null_as_bytes => opt(SchemaType::Bytes),
            Json::Null => Ok(None),
            Json::Array(items) if items.is_empty() => Ok(None),
            Json::Array(items) => Ok(Some(Schema::array(self.items_schema(key, items)?).optional().build())),
            Json::Object(members) => {
                let mut builder = Schema::struct_builder().optional();
                if let Some(key) = key {
                    builder = builder.name(key);
                }
                let mut schema = (*builder.build()).clone();
                for (name, value) in members {
                    let name = self.names.adjust_field(name);
                    let path = match key {
                        Some(k) if !k.trim().is_empty() => format!("{k}.{name}"),
                        _ => name.clone(),
                    };
                    if let Some(field_schema) = self.schema(Some(&path), value)? {
                        if schema.field(&name).is_none() {
                            schema.fields.push(Field { name, schema: field_schema });
                        }
                    }
                }
                Ok(Some(Arc::new(schema)))
            }
        }
    }

    fn items_schema(&self, key: Option<&str>, items: &[Json]) -> Result<SchemaRef, String> {
        let sample = items.iter().find(|i| !matches!(i, Json::Null)).unwrap_or(&Json::Null);
        let kind = |j: &Json| std::mem::discriminant(j);
        let mut number_schema = None;
        for item in items.iter().filter(|i| !matches!(i, Json::Null)) {
            let same_kind = kind(item) == kind(sample)
                || matches!((item, sample), (Json::Int(_) | Json::Float(_), Json::Int(_) | Json::Float(_)));
            if !same_kind {
                return Err("Field is not a homogenous array".into());
            }
            if matches!(item, Json::Int(_) | Json::Float(_)) {
                let schema = self.schema(None, item)?.map(|s| s.schema_type);
                if number_schema.is_some_and(|n| Some(n) != schema) {
                    return Err("Field is not a homogenous array, different number types".into());
                }
                number_schema = schema;
            }
        }
        if let Json::Object(_) = sample {
            let mut merged: Option<Schema> = None;
            for item in items.iter().filter(|i| matches!(i, Json::Object(_))) {
                let Some(element) = self.schema(key, item)? else { continue };
                merged = Some(match merged {
                    None => (*element).clone(),
                    Some(mut left) => {
                        for field in &element.fields {
                            match left.fields.iter_mut().find(|f| f.name == field.name) {
                                None => left.fields.push(field.clone()),
                                Some(old)
                                    if old.schema.schema_type == SchemaType::Bytes
                                        && field.schema.schema_type != SchemaType::Bytes =>
                                {
                                    *old = field.clone()
                                }
                                Some(_) => {}
                            }
                        }
                        left
                    }
                });
            }
            return merged.map(Arc::new).ok_or_else(|| "Array has unrecognized member schema.".into());
        }
        self.schema(None, sample)?.ok_or_else(|| "Array has unrecognized member schema.".into())
    }

    fn value(&self, node: &Json, schema: &SchemaRef) -> Result<Value, String> {
        let mismatch = || format!("JSON value does not fit its inferred schema {}", schema.schema_type.name());
        Ok(match (node, schema.schema_type) {
            (Json::Null, _) => Value::Null,
            (Json::Str(s), SchemaType::String) => Value::String(s.clone()),
            (Json::Bool(b), SchemaType::Boolean) => Value::Boolean(*b),
            (Json::Int(i), SchemaType::Int32) => Value::Int32(i32::try_from(*i).map_err(|_| mismatch())?),
            (Json::Int(i), SchemaType::Int64) => Value::Int64(*i),
            (Json::Int(i), SchemaType::Float64) => Value::Float64(*i as f64),
            (Json::Float(f), SchemaType::Float64) => Value::Float64(*f),
            (Json::Array(items), SchemaType::Array) => {
                let item_schema = schema.value_schema.as_ref().ok_or_else(mismatch)?;
                Value::Array(items.iter().map(|i| self.value(i, item_schema)).collect::<Result<_, _>>()?)
            }
            (Json::Object(members), SchemaType::Struct) => {
                let mut out = Struct::new(schema.clone());
                for (name, value) in members {
                    let name = self.names.adjust_field(name);
                    if let Some(field) = schema.field(&name) {
                        let v = self.value(value, &field.schema)?;
                        out = out.put(&name, v).map_err(|e| e.to_string())?;
                    }
                }
                Value::Struct(out)
            }
            _ => return Err(mismatch()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPANDER: JsonExpander = JsonExpander { null_as_bytes: false, names: NameAdjustment::None };

    #[test]
    fn infers_schemas_in_document_order() {
        let text = r#"{"zeta": "a", "n": 5, "big": 10000000000, "x": 1.5, "ok": true, "none": null, "empty": [],
            "tags": ["a", "b"], "lines": [{"sku": "s1"}, {"sku": "s2", "qty": 2}], "nested": {"b": 1}}"#;
        let (schema, value) = EXPANDER.expand("payload", text).expect("expanded");
        let names: Vec<_> = schema.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["zeta", "n", "big", "x", "ok", "tags", "lines", "nested"]);
        assert_eq!((schema.name.as_deref(), schema.optional), (Some("payload"), true));
        let ty = |n: &str| schema.field(n).map(|f| f.schema.schema_type);
        assert_eq!(
            [ty("n"), ty("big"), ty("x")],
            [Some(SchemaType::Int32), Some(SchemaType::Int64), Some(SchemaType::Float64)]
        );
        let nested = &schema.field("nested").expect("nested").schema;
        assert_eq!(nested.name.as_deref(), Some("payload.nested"));
        let lines = schema.field("lines").and_then(|f| f.schema.value_schema.clone()).expect("items");
        assert_eq!(lines.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["sku", "qty"], "merged");
        assert_eq!(value.field("n"), Some(&Value::Int32(5)));
        assert_eq!(
            value.field("lines").and_then(|l| match l {
                Value::Array(i) => i[0].field("qty").cloned(),
                _ => None,
            }),
            Some(Value::Null)
        );
        let with_bytes = JsonExpander { null_as_bytes: true, names: NameAdjustment::Avro };
        let (schema, _) = with_bytes.expand("payload", r#"{"a-b": null}"#).expect("expanded");
        assert_eq!(schema.field("a_b").map(|f| f.schema.schema_type), Some(SchemaType::Bytes));
    }

    fn items(v: Option<&Value>) -> Vec<Value> {
        match v {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        }
    }

    /// Debezium's `canExpandJsonWithNestedArraysWhereFirstArrayIsEmpty`,
    /// `shouldExpandJSONPayloadWithEmptyArrayAndRemoveThatArray`,
    /// `canExpandJsonArrayWithFirstElementNull`.
    #[test]
    fn ported_array_cases() {
        let text = r#"{"fullName": "John Doe", "petObjects": [{"type": "dog", "colors": []}, {"type": "cat", "colors": [{"name": "white"}]}]}"#;
        let (schema, value) = EXPANDER.expand("payload", text).expect("expanded");
        assert_eq!(schema.fields.len(), 2);
        let pets = schema.field("petObjects").and_then(|f| f.schema.value_schema.clone()).expect("items");
        assert_eq!(pets.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["type", "colors"]);
        let colors = pets.field("colors").and_then(|f| f.schema.value_schema.clone()).expect("colors items");
        assert_eq!((colors.schema_type, colors.fields.len()), (SchemaType::Struct, 1));
        let pet_values = items(value.field("petObjects"));
        assert_eq!(pet_values.len(), 2);
        assert_eq!(pet_values[0].field("type"), Some(&Value::from("dog")));
        assert_eq!(items(pet_values[0].field("colors")).len(), 0);
        assert_eq!(items(pet_values[1].field("colors"))[0].field("name"), Some(&Value::from("white")));

        let (schema, _) = EXPANDER
            .expand("payload", r#"{"fullName": "x", "petObjects": [{"type": "dog", "colors": []}]}"#)
            .expect("expanded");
        let pets = schema.field("petObjects").and_then(|f| f.schema.value_schema.clone()).expect("items");
        assert_eq!(pets.fields.len(), 1, "the empty array has no schema and is removed");

        let (schema, value) =
            EXPANDER.expand("payload", r#"{"fullName": "x", "numbers": [null, 2, 3]}"#).expect("expanded");
        let numbers = schema.field("numbers").and_then(|f| f.schema.value_schema.clone()).expect("items");
        assert_eq!(numbers.schema_type, SchemaType::Int32);
        assert_eq!(items(value.field("numbers")), [Value::Null, Value::Int32(2), Value::Int32(3)]);
    }

    #[test]
    fn refuses_what_debezium_cannot_expand() {
        assert_eq!(
            EXPANDER.expand("payload", "hello").expect_err("not JSON"),
            "Unable to parse payload starting with 'h'"
        );
        assert!(EXPANDER.expand("payload", "{\"a\": [1, \"x\"]}").is_err(), "not homogenous");
        assert!(EXPANDER.expand("payload", "{\"a\": [1, 2.5]}").is_err(), "different number types");
        assert!(EXPANDER.expand("payload", "[1]").is_err(), "a top-level array");
        assert!(EXPANDER.expand("payload", "{bad").is_err());
    }
}
