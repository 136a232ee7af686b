//! `Flatten$Key` / `Flatten$Value`: nested structs (or maps) become one level of fields named
//! by their path joined with `delimiter`.

use std::sync::Arc;

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectError, ConnectRecord, Field, Importance, Props, Result, Schema, SchemaRef,
    SchemaType, Struct, Transform, Value,
};

use super::util::{copy_schema_basics, java_class_of, require_map, SchemaCache};
use super::Side;

const PURPOSE: &str = "flattening";

/// Kafka Connect's `Flatten`. Arrays are kept as they are; a map inside a struct (with a
/// schema) and a struct inside a map (without) are data errors, as in Kafka Connect. A field
/// nested in an optional struct becomes optional; defaults are carried down from a parent
/// struct's default. A null key or value passes through unchanged, schema included.
#[derive(Debug)]
pub struct Flatten {
    side: Side,
    delimiter: String,
    schemas: SchemaCache,
}

sided_descriptors!(
    "Flatten",
    Flatten,
    "Flatten a nested data structure, generating names for each field by concatenating the field names at each level \
     with a configurable delimiter character."
);

impl Flatten {
    /// An unconfigured instance for one side of the record.
    pub fn new(side: Side) -> Self {
        Flatten { side, delimiter: ".".into(), schemas: SchemaCache::default() }
    }

    fn name(&self, prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}{}{name}", self.delimiter)
        }
    }

    fn flatten_map(&self, entries: &[(Value, Value)], prefix: &str, out: &mut Vec<(Value, Value)>) -> Result<()> {
        for (key, value) in entries {
            let key = match key {
                Value::String(k) => k.as_str(),
                other => {
                    return Err(ConnectError::data(format!(
                        "Flatten transformation requires string map keys, found: {}",
                        java_class_of(other)
                    )))
                }
            };
            let name = self.name(prefix, key);
            match value {
                Value::Map(nested) => self.flatten_map(nested, &name, out)?,
                Value::Struct(_) => {
                    return Err(ConnectError::data(format!(
                        "Flatten transformation does not support {} for record without schemas (for field {name}).",
                        java_class_of(value)
                    )))
                }
                other => out.push((Value::String(name), other.clone())),
            }
        }
        Ok(())
    }

    fn flatten_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        optional: bool,
        parent_default: Option<&Struct>,
        out: &mut Vec<Field>,
    ) -> Result<()> {
        for field in &schema.fields {
            let name = self.name(prefix, &field.name);
            let field_optional = optional || field.schema.optional;
            let default =
                field.schema.default.clone().or_else(|| parent_default.and_then(|d| d.get(&field.name).cloned()));
            let default = default.filter(|d| !d.is_null());
            match field.schema.schema_type {
                SchemaType::Struct => {
                    let nested = default.as_ref().and_then(Value::as_struct);
                    self.flatten_schema(&field.schema, &name, field_optional, nested, out)?;
                }
                SchemaType::Map => return Err(unsupported_with_schema(SchemaType::Map, &name)),
                schema_type => {
                    let mut flat = copy_schema_basics(&field.schema, schema_type);
                    flat.value_schema = field.schema.value_schema.clone();
                    flat.optional = field_optional;
                    flat.default = default;
                    out.push(Field { name, schema: Arc::new(flat) });
                }
            }
        }
        Ok(())
    }

    fn flatten_struct(&self, value: &Struct, prefix: &str, out: &mut Vec<Value>) -> Result<()> {
        for field in &value.schema().fields {
            let name = self.name(prefix, &field.name);
            let field_value = value.get_or_default(&field.name).cloned().unwrap_or(Value::Null);
            match field.schema.schema_type {
                SchemaType::Struct => match field_value {
                    Value::Struct(nested) => self.flatten_struct(&nested, &name, out)?,
                    _ => out.extend(std::iter::repeat_n(Value::Null, leaf_count(&field.schema))),
                },
                SchemaType::Map => return Err(unsupported_with_schema(SchemaType::Map, &name)),
                _ => out.push(field_value),
            }
        }
        Ok(())
    }
}

fn unsupported_with_schema(schema_type: SchemaType, name: &str) -> ConnectError {
    ConnectError::data(format!(
        "Flatten transformation does not support {} for record with schemas (for field {name}).",
        schema_type.name().to_uppercase()
    ))
}

/// How many flattened fields a struct schema yields.
fn leaf_count(schema: &Schema) -> usize {
    schema
        .fields
        .iter()
        .map(|f| if f.schema.schema_type == SchemaType::Struct { leaf_count(&f.schema) } else { 1 })
        .sum()
}

impl Transform for Flatten {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(
            "delimiter",
            ConfigType::String,
            Some("."),
            Importance::Medium,
            "Delimiter to insert between field names from the input record when generating field names for the \
             output record",
        )
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.delimiter = config.string("delimiter").unwrap_or(".").to_owned();
        self.schemas.clear();
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if self.side.value(&record).is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = self.side.take(&mut record);
        let Some(schema) = schema else {
            let mut out = Vec::new();
            self.flatten_map(require_map(&value, PURPOSE)?, "", &mut out)?;
            return Ok(Some(self.side.with(record, None, Value::Map(out))));
        };
        super::util::require_struct(&value, PURPOSE)?;
        let mut cache = std::mem::take(&mut self.schemas);
        let derived = cache.get_or_try_insert(&schema, |schema| {
            let mut flat = copy_schema_basics(schema, SchemaType::Struct);
            let default = schema.default.as_ref().and_then(Value::as_struct);
            self.flatten_schema(schema, "", schema.optional, default, &mut flat.fields)?;
            Ok::<SchemaRef, ConnectError>(Arc::new(flat))
        });
        self.schemas = cache;
        let flat_schema = derived?;
        let value = super::util::require_struct(&value, PURPOSE)?;
        let mut values = Vec::with_capacity(flat_schema.fields.len());
        self.flatten_struct(value, "", &mut values)?;
        let flat = Struct::from_values(flat_schema.clone(), values)?;
        Ok(Some(self.side.with(record, Some(flat_schema), flat.into())))
    }
}

#[cfg(test)]
#[path = "flatten_tests.rs"]
mod tests;
