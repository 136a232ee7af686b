//! `Cast$Key` / `Cast$Value`: casts fields, or the whole key or value, to another primitive
//! type (`spec`: `field:type,...` or one type).

use std::collections::HashMap;
use std::sync::Arc;

use aqueduct_sdk::{
    logical, ConfigDef, ConfigType, ConfigValue, ConnectError, ConnectRecord, Field, Importance, Props, Result, Schema,
    SchemaRef, SchemaType, Transform, Validator, Value,
};

use super::cast_value::{cast, parse_target};
use super::util::{
    copy_schema_basics, map_fields, map_get, map_put, require_map, require_struct, with_replace_null_with_default,
    SchemaCache,
};
use super::Side;

const PURPOSE: &str = "cast types";

/// What `spec` asks for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CastSpec {
    /// The type to cast the whole value to.
    pub whole: Option<SchemaType>,
    /// The type to cast each named field to.
    pub fields: HashMap<String, SchemaType>,
}

/// Parses `spec` as Kafka Connect does; the error is its message.
pub fn parse_spec(items: &[String]) -> std::result::Result<CastSpec, String> {
    if items.is_empty() {
        return Err("Must specify at least one field to cast.".into());
    }
    let mut spec = CastSpec::default();
    for item in items {
        let parts: Vec<&str> = item.split(':').collect();
        match parts.as_slice() {
            [whole] => spec.whole = Some(parse_target(whole)?),
            [field, target] => {
                spec.fields.insert(field.trim().to_owned(), parse_target(target)?);
            }
            _ => return Err(format!("Invalid rename mapping: {item}")),
        }
    }
    if spec.whole.is_some() && items.len() > 1 {
        return Err("Cast transformations that specify a type to cast the entire value to may only specify a single \
                    cast in their spec"
            .into());
    }
    Ok(spec)
}

/// Kafka Connect's `Cast`. Numbers cast as Java's `Number` conversions do (wrapping between
/// integers, saturating from floats, `!= 0` to boolean); strings parse as Java's `parseX`;
/// bytes cast to base64 strings only. A Decimal (bytes with its logical schema) casts like a
/// number (to a string as `BigDecimal.toString`), and Date, Time and Timestamp values cast
/// from their physical form, or to ISO 8601 strings in UTC. A whole-value cast of a logical
/// type drops the logical name (Kafka Connect keeps it on a schema it no longer fits), and a
/// struct schema's default is dropped rather than cast.
#[derive(Debug)]
pub struct Cast {
    side: Side,
    spec: CastSpec,
    replace_null_with_default: bool,
    schemas: SchemaCache,
}

sided_descriptors!(
    "Cast",
    Cast,
    "Cast fields or the entire key or value to a specific type, e.g. to force an integer field to a smaller width."
);

impl Cast {
    /// An unconfigured instance for one side of the record.
    pub fn new(side: Side) -> Self {
        Cast { side, spec: CastSpec::default(), replace_null_with_default: true, schemas: SchemaCache::default() }
    }

    fn derive_schema(&self, schema: &Schema) -> Result<SchemaRef> {
        let mut updated = if let Some(target) = self.spec.whole {
            let mut s = copy_schema_basics(schema, target);
            let is_logical = matches!(
                s.name.as_deref(),
                Some(logical::DECIMAL | logical::DATE | logical::TIME | logical::TIMESTAMP)
            );
            if is_logical {
                s.name = None;
                s.version = None;
                s.parameters.clear();
            }
            if let Some(default) = &schema.default {
                s.default = Some(cast(Some(schema), default, target)?).filter(|d| !d.is_null());
            }
            s
        } else {
            let mut s = copy_schema_basics(schema, SchemaType::Struct);
            for field in &schema.fields {
                let Some(target) = self.spec.fields.get(&field.name) else {
                    s.fields.push(field.clone());
                    continue;
                };
                let mut cast_schema = Schema::builder(*target);
                if field.schema.optional {
                    cast_schema = cast_schema.optional();
                }
                if let Some(default) = &field.schema.default {
                    cast_schema = cast_schema.default_value(cast(Some(&field.schema), default, *target)?);
                }
                s.fields.push(Field { name: field.name.clone(), schema: cast_schema.build() });
            }
            s
        };
        updated.optional = schema.optional;
        Ok(Arc::new(updated))
    }
}

impl Transform for Cast {
    fn config_def(&self) -> ConfigDef {
        let def = ConfigDef::new()
            .define(
                "spec",
                ConfigType::List,
                None,
                Importance::High,
                "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of \
                 Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, \
                 float32, float64, boolean, and string. Note that binary fields can only be cast to string.",
            )
            .validator(Validator::Custom(|v| match v {
                ConfigValue::List(items) => parse_spec(items).map(|_| ()),
                _ => Ok(()),
            }));
        with_replace_null_with_default(def)
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.spec = parse_spec(config.list("spec").unwrap_or_default()).map_err(ConnectError::config)?;
        self.replace_null_with_default = config.boolean("replace.null.with.default").unwrap_or(true);
        self.schemas.clear();
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if self.side.value(&record).is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = self.side.take(&mut record);
        let Some(schema) = schema else {
            if let Some(target) = self.spec.whole {
                return Ok(Some(self.side.with(record, None, cast(None, &value, target)?)));
            }
            let mut entries = require_map(&value, PURPOSE)?.to_vec();
            for (field, target) in &self.spec.fields {
                let cast_value = cast(None, map_get(&entries, field).unwrap_or(&Value::Null), *target)?;
                map_put(&mut entries, field, cast_value);
            }
            return Ok(Some(self.side.with(record, None, Value::Map(entries))));
        };
        let mut cache = std::mem::take(&mut self.schemas);
        let derived = cache.get_or_try_insert(&schema, |s| self.derive_schema(s));
        self.schemas = cache;
        let updated_schema = derived?;
        if let Some(target) = self.spec.whole {
            let cast_value = cast(Some(&schema), &value, target)?;
            return Ok(Some(self.side.with(record, Some(updated_schema), cast_value)));
        }
        let value = require_struct(&value, PURPOSE)?;
        let updated = map_fields(value, &updated_schema, self.replace_null_with_default, |f, original| {
            match self.spec.fields.get(&f.name) {
                Some(target) => cast(Some(&f.schema), &original, *target),
                None => Ok(original),
            }
        })?;
        Ok(Some(self.side.with(record, Some(updated_schema), updated.into())))
    }
}

#[cfg(test)]
#[path = "cast_tests.rs"]
mod tests;
