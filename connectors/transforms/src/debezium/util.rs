//! Helpers shared by Debezium's transforms: envelope detection, schema copies, schema name
//! adjustment, enum validators and struct rebuilding (the helpers Debezium takes from Kafka
//! Connect, such as `Requirements` and Java replacement strings, are in [`crate::kafka::util`]).

use std::sync::Arc;

use aqueduct_sdk::{ConfigValue, ConnectError, Header, Result, SchemaRef, SchemaType, Struct, Value};
use regex::Regex;

use crate::kafka::util::no_such_field;

/// Debezium's `Envelope.isEnvelopeSchema`: a value schema named `*.Envelope`.
pub fn is_envelope_schema(schema: Option<&SchemaRef>) -> bool {
    schema.and_then(|s| s.name.as_deref()).is_some_and(|n| n.ends_with(".Envelope"))
}

/// A schemaless change event: a map with an `op` code and a `before` or `after` key (the form
/// a sink reads with `schemas.enable=false`).
pub fn is_schemaless_envelope(schema: Option<&SchemaRef>, value: &Value) -> bool {
    schema.is_none() && matches!(value, Value::Map(_)) && aqueduct_sdk::debezium::parse(value).is_some()
}

/// An optional copy of `schema` without a default, as Debezium types an added field or header
/// (`copySchemaBasics(schema).optional()`; nested fields and item schemas are kept).
pub fn optional_copy(schema: &SchemaRef) -> SchemaRef {
    let mut copy = (**schema).clone();
    copy.optional = true;
    copy.default = None;
    Arc::new(copy)
}

/// A value as Java's `toString` prints it in Debezium's log lines and messages
/// (`null`, `42`, `Struct{id=1}`, `[a, b]`, `{k=v}`).
pub fn java_string(value: &Value) -> String {
    let list = |items: Vec<String>, sep: &str| items.join(sep);
    match value {
        Value::Null => "null".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Int8(v) => v.to_string(),
        Value::Int16(v) => v.to_string(),
        Value::Int32(v) => v.to_string(),
        Value::Int64(v) => v.to_string(),
        Value::Float32(v) => v.to_string(),
        Value::Float64(v) => v.to_string(),
        Value::String(s) => s.clone(),
        Value::Bytes(b) => format!("{b:?}"),
        Value::Array(items) => format!("[{}]", list(items.iter().map(java_string).collect(), ", ")),
        Value::Map(entries) => {
            let items = entries.iter().map(|(k, v)| format!("{}={}", java_string(k), java_string(v))).collect();
            format!("{{{}}}", list(items, ", "))
        }
        Value::Struct(s) => {
            let items =
                s.iter().filter(|(_, v)| !v.is_null()).map(|(f, v)| format!("{}={}", f.name, java_string(v))).collect();
            format!("Struct{{{}}}", list(items, ","))
        }
    }
}

/// A struct of `schema` taking each field's value from `value` by name (null when absent).
pub fn restruct(schema: &SchemaRef, value: &Struct) -> Result<Struct> {
    let mut out = Struct::new(schema.clone());
    for field in &schema.fields {
        if let Some(v) = value.get(&field.name) {
            out = out.put(&field.name, v.clone())?;
        }
    }
    Ok(out)
}

/// The header with this key, first match.
pub fn header<'a>(headers: &'a [Header], key: &str) -> Option<&'a Header> {
    headers.iter().find(|h| h.key == key)
}

/// Debezium's `schema.name.adjustment.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameAdjustment {
    /// `none`: names as they are.
    None,
    /// `avro`: characters invalid in an Avro name become `_` (a leading digit is kept after it).
    Avro,
    /// `avro_unicode`: invalid characters become `_uXXXX`.
    AvroUnicode,
}

impl NameAdjustment {
    /// Parses a mode (case-insensitive).
    pub fn parse(text: &str) -> Option<NameAdjustment> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "none" => NameAdjustment::None,
            "avro" => NameAdjustment::Avro,
            "avro_unicode" => NameAdjustment::AvroUnicode,
            _ => return None,
        })
    }

    /// Debezium's `SchemaNameAdjuster.adjust` for this mode (schema names: dots allowed).
    pub fn adjust(self, name: &str) -> String {
        self.adjust_with(name, true)
    }

    /// Debezium's field name adjustment (`field.name.adjustment.mode`: no dots).
    pub fn adjust_field(self, name: &str) -> String {
        self.adjust_with(name, false)
    }

    fn adjust_with(self, name: &str, dots: bool) -> String {
        let unicode = match self {
            NameAdjustment::None => return name.to_owned(),
            NameAdjustment::Avro => false,
            NameAdjustment::AvroUnicode => true,
        };
        let first_ok = |c: char| c.is_ascii_alphabetic() || (c == '_' && !unicode);
        let replace = |c: char| if unicode { format!("_u{:04x}", u32::from(c)) } else { "_".to_owned() };
        let mut out = String::with_capacity(name.len());
        for (i, c) in name.chars().enumerate() {
            let ok = if i == 0 { first_ok(c) } else { first_ok(c) || (c == '.' && dots) || c.is_ascii_digit() };
            if ok {
                out.push(c);
            } else {
                out.push_str(&replace(c));
                if i == 0 && c.is_ascii_digit() && !unicode {
                    out.push(c);
                }
            }
        }
        out
    }
}

/// A Debezium enum check: the value (trimmed, any case) is one of `allowed`, else
/// "Value must be one of a, b".
pub fn check_enum(value: &ConfigValue, allowed: &[&str]) -> std::result::Result<(), String> {
    match value {
        ConfigValue::String(s) if allowed.iter().any(|a| a.eq_ignore_ascii_case(s.trim())) => Ok(()),
        ConfigValue::String(_) => Err(format!("Value must be one of {}", allowed.join(", "))),
        _ => Ok(()),
    }
}

/// Debezium's `Field::isRegex` check.
pub fn check_regex(value: &ConfigValue) -> std::result::Result<(), String> {
    match value {
        ConfigValue::String(s) => {
            Regex::new(s).map(|_| ()).map_err(|e| format!("A valid regular expressions is expected, but {e}"))
        }
        _ => Ok(()),
    }
}

/// The string of a struct field, or the data error Kafka Connect's `Struct.getString` gives.
pub fn get_string<'a>(value: &'a Value, name: &str) -> Result<Option<&'a str>> {
    match value.field(name) {
        None if matches!(value, Value::Struct(_)) => Err(no_such_field(name)),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ConnectError::data(format!(
            "Field '{name}' is not of type STRING: {}",
            other.schema_type().map_or("null", SchemaType::name)
        ))),
    }
}

/// A small cache of derived schemas, keyed by the identity of the schemas they derive from
/// and a tag (sources share one `Arc` per table, so a hit costs two pointer compares).
#[derive(Debug, Default)]
pub struct SchemaCache {
    entries: Vec<(SchemaRef, Option<SchemaRef>, String, SchemaRef)>,
}

impl SchemaCache {
    const CAPACITY: usize = 64;

    /// The schema derived from `(a, b, tag)`, built by `build` on a miss.
    pub fn get_or_build(
        &mut self,
        a: &SchemaRef,
        b: Option<&SchemaRef>,
        tag: &str,
        build: impl FnOnce() -> Result<SchemaRef>,
    ) -> Result<SchemaRef> {
        let hit = self.entries.iter().find(|(ka, kb, kt, _)| {
            Arc::ptr_eq(ka, a)
                && match (kb, b) {
                    (Some(x), Some(y)) => Arc::ptr_eq(x, y),
                    (None, None) => true,
                    _ => false,
                }
                && kt == tag
        });
        if let Some((_, _, _, schema)) = hit {
            return Ok(schema.clone());
        }
        let schema = build()?;
        if self.entries.len() >= Self::CAPACITY {
            self.entries.remove(0);
        }
        self.entries.push((a.clone(), b.cloned(), tag.to_owned(), schema.clone()));
        Ok(schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::Schema;

    #[test]
    fn java_strings() {
        let schema = Schema::struct_builder()
            .field("id", Schema::int64())
            .field("n", Schema::optional(SchemaType::Int32))
            .build();
        let s = Struct::new(schema).put("id", 1i64).expect("field");
        assert_eq!(java_string(&Value::Struct(s)), "Struct{id=1}");
        assert_eq!(java_string(&Value::Null), "null");
        assert_eq!(java_string(&Value::Array(vec!["a".into(), "b".into()])), "[a, b]");
    }

    #[test]
    fn avro_names() {
        assert_eq!(NameAdjustment::Avro.adjust("my-server.public.t$1.Key"), "my_server.public.t_1.Key");
        assert_eq!(NameAdjustment::Avro.adjust("1db.x"), "_1db.x");
        assert_eq!(NameAdjustment::AvroUnicode.adjust("a-b_c"), "a_u002db_u005fc");
        assert_eq!(NameAdjustment::Avro.adjust_field("a.b-c"), "a_b_c");
        assert_eq!(NameAdjustment::None.adjust("a-b"), "a-b");
        assert_eq!(NameAdjustment::parse("AVRO"), Some(NameAdjustment::Avro));
        assert_eq!(NameAdjustment::parse("x"), None);
    }

    #[test]
    fn enum_and_regex_checks() {
        assert!(check_enum(&ConfigValue::String(" Drop ".into()), &["drop", "tombstone"]).is_ok());
        assert_eq!(
            check_enum(&ConfigValue::String("x".into()), &["drop", "tombstone"]),
            Err("Value must be one of drop, tombstone".into())
        );
        assert!(check_regex(&ConfigValue::String("(".into())).is_err());
    }
}
