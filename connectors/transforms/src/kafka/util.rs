//! Helpers shared by the transforms: Kafka Connect's `Requirements` (with its error messages),
//! `SchemaUtil`, string-keyed map access, and configuration checks.

use std::sync::Arc;

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConfigValue, ConnectError, Importance, Result, Schema, SchemaRef, SchemaType, Struct,
    Validator, Value,
};

/// The Java class Kafka Connect would name for a value in its error messages.
pub fn java_class(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Boolean(_) => "java.lang.Boolean",
        Value::Int8(_) => "java.lang.Byte",
        Value::Int16(_) => "java.lang.Short",
        Value::Int32(_) => "java.lang.Integer",
        Value::Int64(_) => "java.lang.Long",
        Value::Float32(_) => "java.lang.Float",
        Value::Float64(_) => "java.lang.Double",
        Value::String(_) => "java.lang.String",
        Value::Bytes(_) => "[B",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
    }
}

/// `class <java class>`, as Java's `getClass().toString()` prints it.
pub fn java_class_of(value: &Value) -> String {
    format!("class {}", java_class(value))
}

/// The struct, or Kafka Connect's "Only Struct objects supported for [purpose]" data error.
pub fn require_struct<'a>(value: &'a Value, purpose: &str) -> Result<&'a Struct> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(ConnectError::data(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            java_class(other)
        ))),
    }
}

/// The map entries, or Kafka Connect's "Only Map objects supported in absence of schema" error.
pub fn require_map<'a>(value: &'a Value, purpose: &str) -> Result<&'a [(Value, Value)]> {
    match value {
        Value::Map(entries) => Ok(entries),
        other => Err(ConnectError::data(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            java_class(other)
        ))),
    }
}

/// The schema, or Kafka Connect's "Schema required for [purpose]" error.
pub fn require_schema<'a>(schema: Option<&'a SchemaRef>, purpose: &str) -> Result<&'a SchemaRef> {
    schema.ok_or_else(|| ConnectError::data(format!("Schema required for [{purpose}]")))
}

/// A schema of `schema_type` with the name, version, doc and parameters of `source` and
/// nothing else (Kafka Connect's `SchemaUtil.copySchemaBasics(source, builder)`); not
/// optional, no default, no fields.
pub fn copy_schema_basics(source: &Schema, schema_type: SchemaType) -> Schema {
    Schema {
        schema_type,
        optional: false,
        name: source.name.clone(),
        version: source.version,
        doc: source.doc.clone(),
        default: None,
        parameters: source.parameters.clone(),
        fields: Vec::new(),
        key_schema: None,
        value_schema: None,
    }
}

/// A struct schema with the basics of `source` and these fields.
pub fn struct_schema_like(source: &Schema, fields: Vec<aqueduct_sdk::Field>) -> SchemaRef {
    let mut schema = copy_schema_basics(source, SchemaType::Struct);
    schema.fields = fields;
    Arc::new(schema)
}

/// A field of a struct, its schema's default standing in for null when `with_default`
/// (the `replace.null.with.default` switch); `Null` for an unknown field.
pub fn field_value(value: &Struct, name: &str, with_default: bool) -> Value {
    let found = if with_default { value.get_or_default(name) } else { value.get(name) };
    found.cloned().unwrap_or(Value::Null)
}

/// The value of a string key of a map.
pub fn map_get<'a>(entries: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

/// Sets a string key of a map: replaces its value in place, or appends the entry.
pub fn map_put(entries: &mut Vec<(Value, Value)>, key: &str, value: Value) {
    match entries.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
        Some((_, v)) => *v = value,
        None => entries.push((Value::String(key.to_owned()), value)),
    }
}

/// Removes a string key of a map, returning its value.
pub fn map_remove(entries: &mut Vec<(Value, Value)>, key: &str) -> Option<Value> {
    let index = entries.iter().position(|(k, _)| k.as_str() == Some(key))?;
    Some(entries.remove(index).1)
}

/// Kafka Connect's `ConfigException(name, value, message)`: "Invalid value <value> for
/// configuration <name>: <message>".
pub fn invalid(name: &str, value: &str, message: &str) -> ConnectError {
    ConnectError::config(format!("Invalid value {value} for configuration {name}: {message}"))
}

/// A list as Java prints it: `[a, b]`.
pub fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// Kafka Connect's `NonEmptyListValidator`: "Empty list".
pub fn non_empty_list() -> Validator {
    Validator::Custom(|value| match value {
        ConfigValue::List(items) if items.is_empty() => Err("Empty list".into()),
        _ => Ok(()),
    })
}

/// Kafka Connect's `ConfigDef.NonEmptyString`: "String must be non-empty".
pub fn non_empty_string() -> Validator {
    Validator::Custom(|value| match value {
        ConfigValue::String(s) if s.is_empty() => Err("String must be non-empty".into()),
        _ => Ok(()),
    })
}

/// Kafka Connect's `RegexValidator`: "Invalid regex: ...".
pub fn valid_regex() -> Validator {
    Validator::Custom(|value| match value {
        ConfigValue::String(s) => regex::Regex::new(s).map(|_| ()).map_err(|e| format!("Invalid regex: {e}")),
        _ => Ok(()),
    })
}

/// The documentation of `replace.null.with.default`, shared by many transforms.
pub const REPLACE_NULL_WITH_DEFAULT_DOC: &str = "Whether to replace fields that have a default value and that are \
     null to the default value. When set to true, the default value is used, otherwise null is used.";

/// Adds `replace.null.with.default` (boolean, default true).
pub fn with_replace_null_with_default(def: ConfigDef) -> ConfigDef {
    def.define(
        "replace.null.with.default",
        ConfigType::Boolean,
        Some("true"),
        Importance::Medium,
        REPLACE_NULL_WITH_DEFAULT_DOC,
    )
}

/// A regex matching the whole input (Java's `Matcher.matches`).
pub fn whole_match_regex(pattern: &str) -> std::result::Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
}

/// A small cache of derived schemas (Kafka Connect's `LRUCache<Schema, Schema>` of 16): the
/// schema a transform derives from an input schema, found by identity first, then equality.
#[derive(Debug, Default, Clone)]
pub struct SchemaCache {
    entries: Vec<(SchemaRef, SchemaRef)>,
}

impl SchemaCache {
    /// How many input schemas are kept.
    pub const CAPACITY: usize = 16;

    /// The derived schema of `input`, computing and keeping it when new.
    pub fn get_or_try_insert(
        &mut self,
        input: &SchemaRef,
        derive: impl FnOnce(&SchemaRef) -> Result<SchemaRef>,
    ) -> Result<SchemaRef> {
        let found = self
            .entries
            .iter()
            .position(|(k, _)| Arc::ptr_eq(k, input))
            .or_else(|| self.entries.iter().position(|(k, _)| **k == **input));
        if let Some(index) = found {
            let entry = self.entries.remove(index);
            let derived = entry.1.clone();
            self.entries.push(entry);
            return Ok(derived);
        }
        let derived = derive(input)?;
        if self.entries.len() >= Self::CAPACITY {
            self.entries.remove(0);
        }
        self.entries.push((input.clone(), derived.clone()));
        Ok(derived)
    }

    /// Forgets every schema.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use aqueduct_sdk::Props;

    /// Properties from pairs.
    pub fn props(pairs: &[(&str, &str)]) -> Props {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// A string-keyed map value.
    pub fn map(pairs: Vec<(&str, aqueduct_sdk::Value)>) -> aqueduct_sdk::Value {
        aqueduct_sdk::Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::logical;

    #[test]
    fn requirements_name_the_java_class() {
        let e = require_struct(&Value::Int32(1), "x").expect_err("not a struct");
        assert_eq!(e.message(), "Only Struct objects supported for [x], found: java.lang.Integer");
        let e = require_map(&Value::Null, "y").expect_err("not a map");
        assert_eq!(e.message(), "Only Map objects supported in absence of schema for [y], found: null");
        assert_eq!(require_schema(None, "z").expect_err("none").message(), "Schema required for [z]");
    }

    #[test]
    fn maps_by_string_key() {
        let mut m = vec![(Value::from("a"), Value::Int32(1))];
        map_put(&mut m, "a", Value::Int32(2));
        map_put(&mut m, "b", Value::Int32(3));
        assert_eq!(map_get(&m, "a"), Some(&Value::Int32(2)));
        assert_eq!(map_remove(&mut m, "b"), Some(Value::Int32(3)));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn basics_are_copied() {
        let d = logical::decimal(2).doc("d").build();
        let s = copy_schema_basics(&d, SchemaType::String);
        assert_eq!(
            (s.schema_type, s.name.as_deref(), s.version, s.doc.as_deref()),
            (SchemaType::String, Some(logical::DECIMAL), Some(1), Some("d"))
        );
        assert_eq!(s.parameters.get("scale").map(String::as_str), Some("2"));
        assert!(whole_match_regex("a|b").expect("valid").is_match("b"));
        assert!(!whole_match_regex("a").expect("valid").is_match("ab"));
    }
}
