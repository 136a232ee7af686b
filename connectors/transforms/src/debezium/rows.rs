//! Editing an unwrapped row, with its schema (a struct) or without (a string-keyed map), as
//! Kafka Connect's `InsertField` and `ReplaceField` do for Debezium's transforms.

use std::sync::Arc;

use aqueduct_sdk::{Result, Schema, SchemaRef, SchemaType, Struct, Value};

use super::util::SchemaCache;
use crate::kafka::util::{copy_schema_basics, push_field};

/// A row value and its schema (`None` when schemaless).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The schema, when known.
    pub schema: Option<SchemaRef>,
    /// The value: a struct, a map, or null.
    pub value: Value,
}

/// A field to append: its name, its schema (for struct rows) and its value.
#[derive(Debug, Clone)]
pub struct NewField {
    /// The field name.
    pub name: String,
    /// Its schema.
    pub schema: Option<SchemaRef>,
    /// Its value.
    pub value: Value,
}

fn value_or_default(value: &Value, schema: &Schema, with_default: bool) -> Value {
    match (value, &schema.default) {
        (Value::Null, Some(default)) if with_default => default.clone(),
        _ => value.clone(),
    }
}

impl Row {
    /// Appends fields. A struct row gets a new schema (basics of its own, required, old fields
    /// then new ones, cached under `tag`), a map row new entries; a null row is unchanged.
    /// `with_default` puts a field's schema default in place of a null (`replace.null.with.default`).
    pub fn append(self, fields: &[NewField], with_default: bool, cache: &mut SchemaCache, tag: &str) -> Result<Row> {
        match self.value {
            Value::Struct(s) => {
                let base = s.schema().clone();
                let schema = cache.get_or_build(&base, None, tag, || {
                    let mut schema = copy_schema_basics(&base, SchemaType::Struct);
                    schema.fields = base.fields.clone();
                    for f in fields {
                        let field_schema =
                            f.schema.clone().unwrap_or_else(|| Schema::optional(aqueduct_sdk::SchemaType::String));
                        push_field(&mut schema, &f.name, field_schema)?;
                    }
                    Ok(Arc::new(schema))
                })?;
                let mut out = Struct::new(schema);
                for (field, value) in s.iter() {
                    out = out.put(&field.name, value_or_default(value, &field.schema, with_default))?;
                }
                for f in fields {
                    out = out.put(&f.name, f.value.clone())?;
                }
                let schema = out.schema().clone();
                Ok(Row { schema: Some(schema), value: Value::Struct(out) })
            }
            Value::Map(mut entries) => {
                for f in fields {
                    match entries.iter_mut().find(|(k, _)| k.as_str() == Some(f.name.as_str())) {
                        Some((_, v)) => *v = f.value.clone(),
                        None => entries.push((Value::String(f.name.clone()), f.value.clone())),
                    }
                }
                Ok(Row { schema: self.schema, value: Value::Map(entries) })
            }
            other => Ok(Row { schema: self.schema, value: other }),
        }
    }

    /// Removes fields by name (`ReplaceField` with `exclude`): a struct row gets a schema
    /// without them (basics of its own, required) and schema defaults in place of nulls
    /// (`ReplaceField`'s `replace.null.with.default`), a map row loses the entries.
    pub fn exclude(self, names: &[String], cache: &mut SchemaCache) -> Result<Row> {
        match self.value {
            Value::Struct(s) => {
                let base = s.schema().clone();
                let tag = format!("exclude:{}", names.join(","));
                let schema = cache.get_or_build(&base, None, &tag, || {
                    let mut schema = copy_schema_basics(&base, SchemaType::Struct);
                    schema.fields = base.fields.iter().filter(|f| !names.contains(&f.name)).cloned().collect();
                    Ok(Arc::new(schema))
                })?;
                let mut out = Struct::new(schema.clone());
                for (field, value) in s.iter().filter(|(f, _)| !names.contains(&f.name)) {
                    out = out.put(&field.name, value_or_default(value, &field.schema, true))?;
                }
                Ok(Row { schema: Some(schema), value: Value::Struct(out) })
            }
            Value::Map(entries) => {
                let kept =
                    entries.into_iter().filter(|(k, _)| !k.as_str().is_some_and(|k| names.iter().any(|n| n == k)));
                Ok(Row { schema: self.schema, value: Value::Map(kept.collect()) })
            }
            other => Ok(Row { schema: self.schema, value: other }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::SchemaType;

    fn row() -> Row {
        let schema = Schema::struct_builder()
            .name("t.Value")
            .optional()
            .field("id", Schema::int64())
            .field("n", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(3)).build())
            .build();
        let value = Struct::new(schema.clone()).put("id", 1i64).expect("field");
        Row { schema: Some(schema), value: Value::Struct(value) }
    }

    #[test]
    fn appends_to_structs_and_maps() {
        let mut cache = SchemaCache::default();
        let f = [NewField { name: "__deleted".into(), schema: None, value: "true".into() }];
        let out = row().append(&f, true, &mut cache, "d").expect("appended");
        let schema = out.schema.expect("schema");
        assert!(!schema.optional, "copySchemaBasics drops optional");
        assert_eq!(schema.name.as_deref(), Some("t.Value"));
        assert!(schema.field("__deleted").is_some_and(|f| f.schema.optional));
        assert_eq!(out.value.field("n"), Some(&Value::Int32(3)), "default replaces null");
        let again = row().append(&f, false, &mut cache, "d").expect("appended");
        assert_eq!(again.value.field("n"), Some(&Value::Null));
        let dup = [NewField { name: "id".into(), schema: None, value: Value::Null }];
        assert!(row().append(&dup, true, &mut SchemaCache::default(), "x").is_err());
        let map = Row { schema: None, value: Value::from_json(serde_json::json!({"id": 1})) };
        let out = map.append(&f, true, &mut cache, "d").expect("appended");
        assert_eq!(out.value.field("__deleted"), Some(&Value::String("true".into())));
    }

    #[test]
    fn excludes_fields() {
        let out = row().exclude(&["n".into()], &mut SchemaCache::default()).expect("excluded");
        assert_eq!(out.schema.expect("schema").fields.len(), 1);
        let map = Row { schema: None, value: Value::from_json(serde_json::json!({"id": 1, "n": 2})) };
        let out = map.exclude(&["n".into()], &mut SchemaCache::default()).expect("excluded");
        assert_eq!(out.value.field("n"), None);
    }
}
