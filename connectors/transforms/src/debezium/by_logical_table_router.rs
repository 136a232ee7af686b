//! `io.debezium.transforms.ByLogicalTableRouter`: routes the events of several physical
//! tables (shards, partitions) to one logical table's topic, renaming the key, row and envelope
//! schemas after it and adding a field to the key that tells the physical tables apart.
//!
//! As Debezium's: a topic `topic.regex` does not match as a whole passes unchanged; tombstones
//! and non-envelope values keep their value and get the new key. Beyond Debezium's, a
//! schemaless map key gets the identifier field too (Debezium requires a struct key).

use std::sync::Arc;

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConfigValue, ConnectError, ConnectRecord, Field, Importance, Props, Result, Schema,
    SchemaRef, Struct, Transform, Validator, Value,
};
use regex::Regex;

use super::util::{check_enum, check_regex, is_envelope_schema, restruct, NameAdjustment, SchemaCache};
use crate::kafka::util::{invalid, no_such_field, push_field, require_struct, whole_match_regex, JavaReplacement};

const TOPIC_REGEX: &str = "topic.regex";
const TOPIC_REPLACEMENT: &str = "topic.replacement";
const KEY_ENFORCE_UNIQUENESS: &str = "key.enforce.uniqueness";
const KEY_FIELD_REGEX: &str = "key.field.regex";
const KEY_FIELD_NAME: &str = "key.field.name";
const KEY_FIELD_REPLACEMENT: &str = "key.field.replacement";
const SCHEMA_NAME_ADJUSTMENT_MODE: &str = "schema.name.adjustment.mode";
const LOGICAL_TABLE_CACHE_SIZE: &str = "logical.table.cache.size";

/// The typed configuration.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// `topic.regex` (required), matched against the whole topic.
    pub topic_regex: Regex,
    /// `topic.replacement` (required), a Java replacement string.
    pub topic_replacement: JavaReplacement,
    /// `key.enforce.uniqueness` (default true): add the physical table identifier to the key.
    pub key_enforce_uniqueness: bool,
    /// `key.field.regex` with `key.field.replacement`: derives the identifier from the topic;
    /// without them it is the original topic.
    pub key_field: Option<(Regex, JavaReplacement)>,
    /// `key.field.name` (default `__dbz__physicalTableIdentifier`).
    pub key_field_name: String,
    /// `schema.name.adjustment.mode` (default `none`).
    pub adjustment: NameAdjustment,
}

fn check_adjustment(value: &ConfigValue) -> std::result::Result<(), String> {
    check_enum(value, &["none", "avro", "avro_unicode"])
}

/// The keys, with Debezium's defaults and documentation.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(TOPIC_REGEX, ConfigType::String, None, Importance::Low, "The regex used for extracting the name of the logical table from the original topic name.")
        .validator(Validator::Custom(check_regex))
        .define(TOPIC_REPLACEMENT, ConfigType::String, None, Importance::Low, "The replacement string used in conjunction with topic.regex. This will be used to create the new topic name.")
        .define(KEY_ENFORCE_UNIQUENESS, ConfigType::Boolean, Some("true"), Importance::Low, "Augment each record's key with a field denoting the source topic. This field distinguishes records coming from different physical tables which may otherwise have primary/unique key conflicts. If the source tables are guaranteed to have globally unique keys then this may be set to false to disable key rewriting.")
        .define(KEY_FIELD_REGEX, ConfigType::String, Some(""), Importance::Low, "The regex used for extracting the physical table identifier from the original topic name. Now that multiple physical tables can share a topic, the event's key may need to be augmented to include fields other than just those for the record's primary/unique key, since these are not guaranteed to be unique across tables. We need some identifier added to the key that distinguishes the different physical tables.")
        .validator(Validator::Custom(check_regex))
        .define(KEY_FIELD_NAME, ConfigType::String, Some("__dbz__physicalTableIdentifier"), Importance::Low, "Each record's key schema will be augmented with this field name. The purpose of this field is to distinguish the different physical tables that can now share a single topic. Make sure not to configure a field name that is at risk of conflict with existing key schema field names.")
        .define(KEY_FIELD_REPLACEMENT, ConfigType::String, Some(""), Importance::Low, "The replacement string used in conjunction with key.field.regex. This will be used to create the physical table identifier in the record's key.")
        .define(SCHEMA_NAME_ADJUSTMENT_MODE, ConfigType::String, Some("none"), Importance::Low, "Specify how the message key schema names derived from the resulting topic name should be adjusted for compatibility with the message converter used by the connector, including:'avro' replaces the characters that cannot be used in the Avro type name with underscore (default)'none' does not apply any adjustment")
        .validator(Validator::Custom(check_adjustment))
        .define(LOGICAL_TABLE_CACHE_SIZE, ConfigType::Int, Some("16"), Importance::Low, "The size used for holding the max entries in LRUCache. The cache will keep the old/new schema for logical table key and value, also cache the derived key and topic regex result for improving the source record transformation.")
        .validator(Validator::at_least(1.0))
}

impl RouterConfig {
    /// Parses and checks the keys; a bad key is a config error naming it.
    pub fn parse(props: &Props) -> Result<RouterConfig> {
        let cfg = config_def().parse(props)?;
        let text = |key: &str| cfg.string(key).unwrap_or_default().to_owned();
        let compile = |key: &str| whole_match_regex(&text(key)).map_err(|e| invalid(key, &text(key), e));
        let topic_regex = compile(TOPIC_REGEX)?;
        let topic_replacement = JavaReplacement::parse(&text(TOPIC_REPLACEMENT), &topic_regex)
            .map_err(|e| invalid(TOPIC_REPLACEMENT, &text(TOPIC_REPLACEMENT), e))?;
        let key_field = match text(KEY_FIELD_REGEX).trim() {
            "" => None,
            _ if text(KEY_FIELD_REPLACEMENT).trim().is_empty() => {
                return Err(invalid(
                    KEY_FIELD_REPLACEMENT,
                    "null",
                    format!("{KEY_FIELD_REPLACEMENT} must be non-empty if {KEY_FIELD_REGEX} is set."),
                ))
            }
            _ => {
                let regex = compile(KEY_FIELD_REGEX)?;
                let replacement = JavaReplacement::parse(&text(KEY_FIELD_REPLACEMENT), &regex)
                    .map_err(|e| invalid(KEY_FIELD_REPLACEMENT, &text(KEY_FIELD_REPLACEMENT), e))?;
                Some((regex, replacement))
            }
        };
        Ok(RouterConfig {
            topic_regex,
            topic_replacement,
            key_enforce_uniqueness: cfg.boolean(KEY_ENFORCE_UNIQUENESS).unwrap_or(true),
            key_field,
            key_field_name: text(KEY_FIELD_NAME),
            adjustment: NameAdjustment::parse(&text(SCHEMA_NAME_ADJUSTMENT_MODE)).unwrap_or(NameAdjustment::None),
        })
    }
}

/// The transform; configure it before use.
#[derive(Debug, Default)]
pub struct ByLogicalTableRouter {
    config: Option<Arc<RouterConfig>>,
    key_schemas: SchemaCache,
    envelope_schemas: SchemaCache,
}

/// A copy of `source` without its name; fields kept when `fields` (Debezium's
/// `copySchemaExcludingName`: version, doc, parameters, optional).
fn renamed(source: &Schema, name: String, fields: bool) -> Schema {
    let mut schema = (*Schema::struct_builder().build()).clone();
    schema.name = Some(name);
    schema.version = source.version;
    schema.doc = source.doc.clone();
    schema.parameters = source.parameters.clone();
    schema.optional = source.optional;
    if fields {
        schema.fields = source.fields.clone();
    }
    schema
}

impl ByLogicalTableRouter {
    fn config(&self) -> Result<Arc<RouterConfig>> {
        self.config.clone().ok_or_else(|| ConnectError::fatal("ByLogicalTableRouter used before configure"))
    }

    fn physical_id(config: &RouterConfig, old_topic: &str) -> String {
        match &config.key_field {
            Some((regex, replacement)) => {
                replacement.replace_whole(regex, old_topic).unwrap_or_else(|| old_topic.to_owned())
            }
            None => old_topic.to_owned(),
        }
    }

    fn new_key(&mut self, key: &Value, old_topic: &str, new_topic: &str) -> Result<(Option<SchemaRef>, Value)> {
        let config = self.config()?;
        if let Value::Map(entries) = key {
            let mut entries = entries.clone();
            if config.key_enforce_uniqueness {
                entries.push((
                    Value::String(config.key_field_name.clone()),
                    Value::String(Self::physical_id(&config, old_topic)),
                ));
            }
            return Ok((None, Value::Map(entries)));
        }
        let old = require_struct(key, "Updating schema")?;
        let base = old.schema().clone();
        let schema = self.key_schemas.get_or_build(&base, None, new_topic, || {
            let mut schema = renamed(&base, config.adjustment.adjust(&format!("{new_topic}.Key")), true);
            if config.key_enforce_uniqueness {
                push_field(&mut schema, &config.key_field_name, Schema::string())?;
            }
            Ok(Arc::new(schema))
        })?;
        let mut out = restruct(&schema, old)?;
        if config.key_enforce_uniqueness {
            out = out.put(&config.key_field_name, Self::physical_id(&config, old_topic))?;
        }
        Ok((Some(schema), Value::Struct(out)))
    }

    fn new_envelope(&mut self, envelope: &Struct, new_topic: &str) -> Result<(SchemaRef, Value)> {
        let config = self.config()?;
        let base = envelope.schema().clone();
        let schema = self.envelope_schemas.get_or_build(&base, None, new_topic, || {
            let row = base.field("before").map(|f| f.schema.clone()).ok_or_else(|| no_such_field("before"))?;
            let row = Arc::new(renamed(&row, config.adjustment.adjust(&format!("{new_topic}.Value")), true));
            let mut schema = renamed(&base, config.adjustment.adjust(&format!("{new_topic}.Envelope")), false);
            schema.fields = base
                .fields
                .iter()
                .map(|f| match f.name.as_str() {
                    "before" | "after" => Field { name: f.name.clone(), schema: row.clone() },
                    _ => f.clone(),
                })
                .collect();
            Ok(Arc::new(schema))
        })?;
        let row_schema = schema.field("before").map(|f| f.schema.clone()).ok_or_else(|| no_such_field("before"))?;
        let mut out = Struct::new(schema.clone());
        for (field, value) in envelope.iter() {
            let value = match (field.name.as_str(), value) {
                ("before" | "after", Value::Struct(row)) => Value::Struct(restruct(&row_schema, row)?),
                ("before" | "after", Value::Null) => Value::Null,
                ("before" | "after", other) => Value::Struct(require_struct(other, "Updating schema")?.clone()),
                (_, value) => value.clone(),
            };
            out = out.put(&field.name, value)?;
        }
        Ok((schema, Value::Struct(out)))
    }
}

impl Transform for ByLogicalTableRouter {
    fn config_def(&self) -> ConfigDef {
        config_def()
    }

    fn configure(&mut self, props: &Props) -> Result<()> {
        self.config = Some(Arc::new(RouterConfig::parse(props)?));
        Ok(())
    }

    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let config = self.config()?;
        let Some(new_topic) = config.topic_replacement.replace_whole(&config.topic_regex, &record.topic) else {
            return Ok(Some(record));
        };
        if new_topic.is_empty() {
            tracing::warn!("Routing regex returned an empty topic name, propagating original record");
            return Ok(Some(record));
        }
        let old_topic = std::mem::replace(&mut record.topic, new_topic.clone());
        if record.key.is_null() {
            record.key_schema = None;
        } else {
            (record.key_schema, record.key) = self.new_key(&record.key, &old_topic, &new_topic)?;
        }
        if record.is_tombstone() || !is_envelope_schema(record.value_schema.as_ref()) {
            return Ok(Some(record));
        }
        let envelope = require_struct(&record.value, "Updating schema")?.clone();
        let (schema, value) = self.new_envelope(&envelope, &new_topic)?;
        (record.value_schema, record.value) = (Some(schema), value);
        Ok(Some(record))
    }
}

#[cfg(test)]
#[path = "by_logical_table_router_tests.rs"]
mod tests;
