//! Helpers shared by the transforms (Kafka Connect's and Debezium's, which builds on them):
//! Kafka Connect's `Requirements` (with its error messages), `SchemaUtil`, string-keyed map
//! access, configuration checks and Java's regex replacement strings.

use std::sync::Arc;

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConfigValue, ConnectError, Field, Importance, Result, Schema, SchemaRef, SchemaType, Struct,
    Validator, Value,
};
use regex::{Captures, Regex};

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
pub fn struct_schema_like(source: &Schema, fields: Vec<Field>) -> SchemaRef {
    let mut schema = copy_schema_basics(source, SchemaType::Struct);
    schema.fields = fields;
    Arc::new(schema)
}

/// Appends a field to a struct schema; a name already present is Kafka Connect's
/// duplication error.
pub fn push_field(schema: &mut Schema, name: &str, field_schema: SchemaRef) -> Result<()> {
    if schema.field(name).is_some() {
        return Err(ConnectError::data(format!("Cannot create field because of field name duplication {name}")));
    }
    schema.fields.push(Field { name: name.to_owned(), schema: field_schema });
    Ok(())
}

/// The "not a valid field name" data error of Kafka Connect's `Struct.get`.
pub fn no_such_field(name: &str) -> ConnectError {
    ConnectError::data(format!("{name} is not a valid field name"))
}

/// A field of a struct, its schema's default standing in for null when `with_default`
/// (the `replace.null.with.default` switch); `Null` for an unknown field.
pub fn field_value(value: &Struct, name: &str, with_default: bool) -> Value {
    let found = if with_default { value.get_or_default(name) } else { value.get(name) };
    found.cloned().unwrap_or(Value::Null)
}

/// A struct of `schema` holding the fields of `value` in order (each as [`field_value`]), each
/// passed through `map` with its field: the per-field rebuild of Kafka Connect's transforms.
pub fn map_fields(
    value: &Struct,
    schema: &SchemaRef,
    with_default: bool,
    mut map: impl FnMut(&Field, Value) -> Result<Value>,
) -> Result<Struct> {
    let fields = &value.schema().fields;
    let values = fields.iter().map(|f| map(f, field_value(value, &f.name, with_default))).collect::<Result<_>>()?;
    Struct::from_values(schema.clone(), values)
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
pub fn invalid(name: &str, value: &str, message: impl std::fmt::Display) -> ConnectError {
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
        ConfigValue::String(s) => Regex::new(s).map(|_| ()).map_err(|e| format!("Invalid regex: {e}")),
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
pub fn whole_match_regex(pattern: &str) -> std::result::Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{pattern})$"))
}

/// A Java replacement string (`Matcher.appendReplacement`'s syntax): `$n` and `${name}` name
/// groups, a backslash quotes the next character.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JavaReplacement(Vec<Piece>);

/// A part of a Java replacement string.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Group(usize),
    Named(String),
}

impl JavaReplacement {
    /// Parses `text` against `regex`'s groups (a group number takes as many digits as still
    /// name a group, as Java reads it); the error is Java's message.
    pub fn parse(text: &str, regex: &Regex) -> std::result::Result<JavaReplacement, String> {
        let groups = regex.captures_len() - 1;
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => literal.push(chars.next().ok_or("character to be escaped is missing")?),
                '$' => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    match chars.next() {
                        Some('{') => {
                            let mut name = String::new();
                            loop {
                                match chars.next() {
                                    Some('}') => break,
                                    Some(c) => name.push(c),
                                    None => return Err("named capturing group is missing trailing '}'".into()),
                                }
                            }
                            if name.is_empty() {
                                return Err("named capturing group has 0 length name".into());
                            }
                            if !regex.capture_names().flatten().any(|n| n == name) {
                                return Err(format!("No group with name {{{name}}}"));
                            }
                            pieces.push(Piece::Named(name));
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let mut number = d.to_digit(10).unwrap_or(0) as usize;
                            if number > groups {
                                return Err(format!("No group {number}"));
                            }
                            while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                                let longer = number * 10 + next as usize;
                                if longer > groups {
                                    break;
                                }
                                number = longer;
                                chars.next();
                            }
                            pieces.push(Piece::Group(number));
                        }
                        _ => return Err("Illegal group reference".into()),
                    }
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(JavaReplacement(pieces))
    }

    /// The replacement for one match.
    pub fn expand(&self, captures: &Captures<'_>) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Group(n) => out.push_str(captures.get(*n).map_or("", |m| m.as_str())),
                Piece::Named(name) => out.push_str(captures.name(name).map_or("", |m| m.as_str())),
            }
        }
        out
    }

    /// `input` with its match replaced, when `regex` (a [`whole_match_regex`]) matches it.
    pub fn replace_whole(&self, regex: &Regex, input: &str) -> Option<String> {
        regex.captures(input).map(|c| self.expand(&c))
    }
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

    #[test]
    fn java_replacements() {
        let re = whole_match_regex("(?<routedByValue>.*)").expect("regex");
        let r = JavaReplacement::parse("outbox.event.${routedByValue}", &re).expect("valid");
        assert_eq!(r.replace_whole(&re, "order").as_deref(), Some("outbox.event.order"));
        let re = whole_match_regex(r"(.*)\.(.*)\.(.*)").expect("regex");
        let r = JavaReplacement::parse(r"$1.all_\$$3", &re).expect("valid");
        assert_eq!(r.replace_whole(&re, "db.s.t1").as_deref(), Some("db.all_$t1"));
        assert_eq!(JavaReplacement::parse("$4", &re), Err("No group 4".into()));
        assert_eq!(JavaReplacement::parse("${x}", &re), Err("No group with name {x}".into()));
        assert_eq!(JavaReplacement::parse("a$", &re), Err("Illegal group reference".into()));
        assert!(whole_match_regex("a").expect("regex").captures("ba").is_none(), "whole input only");
        let re = whole_match_regex("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)").expect("regex");
        let r = JavaReplacement::parse("$11-$12", &re).expect("valid");
        assert_eq!(r.replace_whole(&re, "abcdefghijk").as_deref(), Some("k-a2"));
    }
}
