//! `InsertField$Key` / `InsertField$Value`: adds the topic, partition, timestamp or a static
//! string as fields of a struct or map.

use std::sync::Arc;

use aqueduct_sdk::{
    logical, ConfigDef, ConfigType, ConnectError, ConnectRecord, Importance, Props, Result, Schema, SchemaRef,
    SchemaType, Struct, Transform, Value,
};

use super::util::{
    copy_schema_basics, invalid, map_put, push_field, require_map, require_struct, with_replace_null_with_default,
    SchemaCache,
};
use super::Side;

const PURPOSE: &str = "field insertion";
const OPTIONALITY_DOC: &str = "Suffix with ! to make this a required field, or ? to keep it optional (the default).";

/// A field to insert: its name and whether it is optional (`name?`, the default) or
/// required (`name!`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertionSpec {
    /// The field name.
    pub name: String,
    /// Whether the field's schema is optional.
    pub optional: bool,
}

impl InsertionSpec {
    /// Parses `name`, `name?` or `name!`; empty is none.
    pub fn parse(spec: &str) -> Option<InsertionSpec> {
        if spec.is_empty() {
            return None;
        }
        Some(if let Some(name) = spec.strip_suffix('?') {
            InsertionSpec { name: name.to_owned(), optional: true }
        } else if let Some(name) = spec.strip_suffix('!') {
            InsertionSpec { name: name.to_owned(), optional: false }
        } else {
            InsertionSpec { name: spec.to_owned(), optional: true }
        })
    }
}

/// A field to add: its spec, type, logical name and value for one record.
type Insertion = (InsertionSpec, SchemaType, Option<&'static str>, Option<Value>);

/// Kafka Connect's `InsertField`. The timestamp is an `Int64` in a map and a Timestamp with a
/// schema; a struct keeps its schema's name, version, doc and parameters. `offset.field` is
/// accepted but inserts nothing: a transform sees no Kafka offset here (it lives with the
/// runtime's sink coordinates), where Kafka Connect inserts it for sink records only.
#[derive(Debug)]
pub struct InsertField {
    side: Side,
    topic: Option<InsertionSpec>,
    partition: Option<InsertionSpec>,
    offset: Option<InsertionSpec>,
    timestamp: Option<InsertionSpec>,
    static_field: Option<InsertionSpec>,
    static_value: String,
    replace_null_with_default: bool,
    schemas: SchemaCache,
}

sided_descriptors!(
    "InsertField",
    InsertField,
    "Insert field(s) using attributes from the record metadata or a configured static value."
);

impl InsertField {
    /// An unconfigured instance for one side of the record.
    pub fn new(side: Side) -> Self {
        InsertField {
            side,
            topic: None,
            partition: None,
            offset: None,
            timestamp: None,
            static_field: None,
            static_value: String::new(),
            replace_null_with_default: true,
            schemas: SchemaCache::default(),
        }
    }

    /// The fields to add, with their schema and value for `record`.
    fn insertions(&self, record: &ConnectRecord) -> Vec<Insertion> {
        let mut out = Vec::new();
        if let Some(spec) = &self.topic {
            out.push((spec.clone(), SchemaType::String, None, Some(Value::String(record.topic.clone()))));
        }
        if let Some(spec) = &self.partition {
            out.push((spec.clone(), SchemaType::Int32, None, record.kafka_partition.map(Value::Int32)));
        }
        if let Some(spec) = &self.timestamp {
            out.push((spec.clone(), SchemaType::Int64, Some(logical::TIMESTAMP), record.timestamp.map(Value::Int64)));
        }
        if let Some(spec) = &self.static_field {
            out.push((spec.clone(), SchemaType::String, None, Some(Value::String(self.static_value.clone()))));
        }
        out
    }
}

impl Transform for InsertField {
    fn config_def(&self) -> ConfigDef {
        let field = |def: ConfigDef, name: &str, doc: &str| {
            def.define(name, ConfigType::String, Some(""), Importance::Medium, &format!("{doc} {OPTIONALITY_DOC}"))
        };
        let def = field(ConfigDef::new(), "topic.field", "Field name for Kafka topic.");
        let def = field(def, "partition.field", "Field name for Kafka partition.");
        let def = field(def, "offset.field", "Field name for Kafka offset - only applicable to sink connectors.");
        let def = field(def, "timestamp.field", "Field name for record timestamp.");
        let def = field(def, "static.field", "Field name for static data field.");
        let def = def.define(
            "static.value",
            ConfigType::String,
            Some(""),
            Importance::Medium,
            "Static field value, if field name configured.",
        );
        with_replace_null_with_default(def)
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        let spec = |k: &str| InsertionSpec::parse(config.string(k).unwrap_or_default());
        self.topic = spec("topic.field");
        self.partition = spec("partition.field");
        self.offset = spec("offset.field");
        self.timestamp = spec("timestamp.field");
        self.static_field = spec("static.field");
        self.replace_null_with_default = config.boolean("replace.null.with.default").unwrap_or(true);
        if [&self.topic, &self.partition, &self.offset, &self.timestamp, &self.static_field].iter().all(|s| s.is_none())
        {
            return Err(ConnectError::config("No field insertion configured"));
        }
        self.static_value = config.string("static.value").unwrap_or_default().to_owned();
        if let (Some(field), None) = (&self.static_field, props.get("static.value")) {
            return Err(invalid(
                "static.value",
                "null",
                format!("No value specified for static field: {}", field.name),
            ));
        }
        self.schemas.clear();
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if self.side.value(&record).is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = self.side.take(&mut record);
        let insertions = self.insertions(&record);
        match schema {
            None => {
                let mut entries = require_map(&value, PURPOSE)?.to_vec();
                for (spec, _, _, value) in insertions {
                    if let Some(value) = value {
                        map_put(&mut entries, &spec.name, value);
                    }
                }
                Ok(Some(self.side.with(record, None, Value::Map(entries))))
            }
            Some(_) => {
                // Owned, so its fields move into the new struct (require_struct names the error).
                let value = match value {
                    Value::Struct(value) => value,
                    other => return require_struct(&other, PURPOSE).map(|_| None),
                };
                let mut cache = std::mem::take(&mut self.schemas);
                let derived = cache.get_or_try_insert(value.schema(), |schema| {
                    let mut updated = copy_schema_basics(schema, SchemaType::Struct);
                    updated.fields = schema.fields.clone();
                    for (spec, schema_type, name, _) in &insertions {
                        let mut field_schema = Schema::builder(*schema_type);
                        if let Some(name) = name {
                            field_schema = field_schema.name(*name).version(1);
                        }
                        if spec.optional {
                            field_schema = field_schema.optional();
                        }
                        push_field(&mut updated, &spec.name, field_schema.build())?;
                    }
                    Ok::<SchemaRef, ConnectError>(Arc::new(updated))
                });
                self.schemas = cache;
                let updated_schema = derived?;
                let input_schema = value.schema().clone();
                // field_value's rule: a null takes its field's default.
                let mut values = value.into_values();
                if self.replace_null_with_default {
                    for (v, field) in values.iter_mut().zip(&input_schema.fields) {
                        if let (Value::Null, Some(default)) = (&*v, &field.schema.default) {
                            *v = default.clone();
                        }
                    }
                }
                values.extend(insertions.into_iter().map(|(_, _, _, v)| v.unwrap_or(Value::Null)));
                let updated = Struct::from_values(updated_schema.clone(), values)?;
                Ok(Some(self.side.with(record, Some(updated_schema), updated.into())))
            }
        }
    }
}

#[cfg(test)]
#[path = "insert_field_tests.rs"]
mod tests;
