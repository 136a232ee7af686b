//! `ConfigDef`: typed configuration keys with defaults, documentation and validators.
//!
//! Connector configs arrive as Kafka Connect's string maps. A [`ConfigDef`] parses them into a
//! typed [`Config`], or reports every bad key with the reason, before the connector does any I/O.

use std::collections::BTreeMap;
use std::fmt;

use crate::{ConnectError, Result};

/// Raw configuration properties, as written in a connector's JSON config.
pub type Props = BTreeMap<String, String>;

/// The type of a configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// `true` or `false` (any case).
    Boolean,
    /// Any string.
    String,
    /// A 32-bit integer.
    Int,
    /// A 64-bit integer.
    Long,
    /// A floating-point number.
    Double,
    /// A comma-separated list of strings.
    List,
    /// A string hidden in logs and the REST API.
    Password,
    /// A class (connector, converter) name.
    Class,
}

impl ConfigType {
    /// Kafka Connect's name for the type (`"STRING"`, `"INT"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Password => "PASSWORD",
            ConfigType::Class => "CLASS",
        }
    }
}

/// How much a key matters to a user reading the documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    /// Most users set it.
    High,
    /// Some users set it.
    Medium,
    /// Rarely changed.
    Low,
}

impl Importance {
    /// Kafka Connect's name (`"HIGH"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// A parsed configuration value.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// A boolean.
    Boolean(bool),
    /// A string, class name or password.
    String(String),
    /// An int.
    Int(i32),
    /// A long.
    Long(i64),
    /// A double.
    Double(f64),
    /// A list.
    List(Vec<String>),
}

/// Checks a parsed value; returns the reason it is invalid.
#[derive(Clone)]
pub enum Validator {
    /// A number within bounds (inclusive).
    Range {
        /// Lower bound.
        min: Option<f64>,
        /// Upper bound.
        max: Option<f64>,
    },
    /// One of these strings (case-insensitive).
    OneOf(Vec<String>),
    /// A string or list that is not empty.
    NonEmpty,
    /// Any check.
    Custom(fn(&ConfigValue) -> std::result::Result<(), String>),
}

impl Validator {
    /// A number at least `min`.
    pub fn at_least(min: f64) -> Validator {
        Validator::Range { min: Some(min), max: None }
    }
    /// One of these strings.
    pub fn one_of(values: &[&str]) -> Validator {
        Validator::OneOf(values.iter().map(|s| (*s).to_owned()).collect())
    }

    fn check(&self, value: &ConfigValue) -> std::result::Result<(), String> {
        match self {
            Validator::Range { min, max } => {
                let n = match *value {
                    ConfigValue::Int(v) => f64::from(v),
                    ConfigValue::Long(v) => v as f64,
                    ConfigValue::Double(v) => v,
                    _ => return Ok(()),
                };
                if min.is_some_and(|m| n < m) {
                    return Err(format!("Value must be at least {}", min.unwrap_or_default()));
                }
                if max.is_some_and(|m| n > m) {
                    return Err(format!("Value must be no more than {}", max.unwrap_or_default()));
                }
                Ok(())
            }
            Validator::OneOf(allowed) => match value {
                ConfigValue::String(s) if allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) => Ok(()),
                ConfigValue::String(_) => Err(format!("String must be one of: {}", allowed.join(", "))),
                _ => Ok(()),
            },
            Validator::NonEmpty => match value {
                ConfigValue::String(s) if s.trim().is_empty() => Err("String must be non-empty".into()),
                ConfigValue::List(l) if l.is_empty() => Err("List must be non-empty".into()),
                _ => Ok(()),
            },
            Validator::Custom(f) => f(value),
        }
    }

    fn recommended(&self) -> Vec<String> {
        match self {
            Validator::OneOf(values) => values.clone(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validator::Range { min, max } => write!(f, "Range({min:?}, {max:?})"),
            Validator::OneOf(v) => write!(f, "OneOf({v:?})"),
            Validator::NonEmpty => f.write_str("NonEmpty"),
            Validator::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// One configuration key.
#[derive(Debug, Clone)]
pub struct ConfigKey {
    /// The key, e.g. `"topic"`.
    pub name: String,
    /// Its type.
    pub ty: ConfigType,
    /// Its default as written in a config; `None` makes the key required.
    pub default: Option<String>,
    /// How much it matters.
    pub importance: Importance,
    /// What it does.
    pub documentation: String,
    /// Group shown in the validation response.
    pub group: Option<String>,
    /// Checks on the parsed value.
    pub validator: Option<Validator>,
}

/// The set of keys a connector (or the runtime) understands.
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

/// The result of validating one key, as `PUT /connector-plugins/{plugin}/config/validate` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValidation {
    /// The key.
    pub name: String,
    /// The raw value given, if any (`[hidden]` for a password).
    pub value: Option<String>,
    /// Values worth suggesting.
    pub recommended_values: Vec<String>,
    /// Why the value is invalid; empty when valid.
    pub errors: Vec<String>,
}

impl ConfigDef {
    /// An empty definition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key. `default: None` makes it required.
    pub fn define(
        mut self,
        name: &str,
        ty: ConfigType,
        default: Option<&str>,
        importance: Importance,
        documentation: &str,
    ) -> Self {
        self.keys.push(ConfigKey {
            name: name.to_owned(),
            ty,
            default: default.map(str::to_owned),
            importance,
            documentation: documentation.to_owned(),
            group: None,
            validator: None,
        });
        self
    }

    /// Attaches a validator to the key defined last.
    pub fn validator(mut self, validator: Validator) -> Self {
        if let Some(key) = self.keys.last_mut() {
            key.validator = Some(validator);
        }
        self
    }

    /// Sets the group of the key defined last.
    pub fn group(mut self, group: &str) -> Self {
        if let Some(key) = self.keys.last_mut() {
            key.group = Some(group.to_owned());
        }
        self
    }

    /// Appends every key of `other` not defined here yet.
    pub fn merge(mut self, other: &ConfigDef) -> Self {
        for key in &other.keys {
            if self.key(&key.name).is_none() {
                self.keys.push(key.clone());
            }
        }
        self
    }

    /// The same keys named `<prefix><key>` in `group`, as Kafka Connect shows a transform's
    /// keys among a connector's (`transforms.<alias>.<key>`, group `Transforms: <alias>`).
    pub fn prefixed(&self, prefix: &str, group: &str) -> ConfigDef {
        let keys = self
            .keys
            .iter()
            .map(|k| ConfigKey { name: format!("{prefix}{}", k.name), group: Some(group.to_owned()), ..k.clone() })
            .collect();
        ConfigDef { keys }
    }

    /// The keys, in definition order.
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// The key with this name.
    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// Validates every defined key of `props`: one entry per key, with its errors.
    pub fn validate(&self, props: &Props) -> Vec<KeyValidation> {
        self.keys
            .iter()
            .map(|key| {
                let raw = props.get(&key.name);
                let errors = match parse_key(key, raw) {
                    Ok(_) => Vec::new(),
                    Err(reason) => vec![reason],
                };
                // Kafka Connect never echoes a password: it shows `[hidden]` in its place.
                let value = raw.map(|v| if key.ty == ConfigType::Password { "[hidden]".to_owned() } else { v.clone() });
                KeyValidation {
                    name: key.name.clone(),
                    value,
                    recommended_values: key.validator.as_ref().map(Validator::recommended).unwrap_or_default(),
                    errors,
                }
            })
            .collect()
    }

    /// Parses `props`; the error names every invalid key with its reason.
    pub fn parse(&self, props: &Props) -> Result<Config> {
        let mut values = BTreeMap::new();
        let mut problems = Vec::new();
        for key in &self.keys {
            match parse_key(key, props.get(&key.name)) {
                Ok(Some(v)) => {
                    values.insert(key.name.clone(), v);
                }
                Ok(None) => {}
                Err(reason) => problems.push(reason),
            }
        }
        if problems.is_empty() {
            Ok(Config { values, originals: props.clone() })
        } else {
            Err(ConnectError::config(problems.join("; ")))
        }
    }
}

fn parse_key(key: &ConfigKey, raw: Option<&String>) -> std::result::Result<Option<ConfigValue>, String> {
    let Some(text) = raw.or(key.default.as_ref()) else {
        return Err(format!("Missing required configuration \"{}\" which has no default value.", key.name));
    };
    let invalid = |reason: &str| {
        let shown = if key.ty == ConfigType::Password { "[hidden]" } else { text.as_str() };
        format!("Invalid value {shown} for configuration {}: {reason}", key.name)
    };
    let trimmed = text.trim();
    let value = match key.ty {
        ConfigType::Boolean => match trimmed.to_ascii_lowercase().as_str() {
            "true" => ConfigValue::Boolean(true),
            "false" => ConfigValue::Boolean(false),
            _ => return Err(invalid("Expected value to be either true or false")),
        },
        ConfigType::String | ConfigType::Class => ConfigValue::String(trimmed.to_owned()),
        ConfigType::Password => ConfigValue::String(text.clone()),
        ConfigType::Int => ConfigValue::Int(trimmed.parse().map_err(|_| invalid("Not a number of type INT"))?),
        ConfigType::Long => ConfigValue::Long(trimmed.parse().map_err(|_| invalid("Not a number of type LONG"))?),
        ConfigType::Double => ConfigValue::Double(trimmed.parse().map_err(|_| invalid("Not a number of type DOUBLE"))?),
        ConfigType::List => ConfigValue::List(parse_list(trimmed)),
    };
    if let Some(validator) = &key.validator {
        validator.check(&value).map_err(|reason| invalid(&reason))?;
    }
    Ok(Some(value))
}

/// Splits a comma-separated list, trimming items; an empty string is an empty list.
pub fn parse_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A parsed configuration: typed values for the defined keys, plus the raw properties.
#[derive(Debug, Clone, Default)]
pub struct Config {
    values: BTreeMap<String, ConfigValue>,
    originals: Props,
}

impl Config {
    /// The raw properties as given (including keys the definition does not know).
    pub fn originals(&self) -> &Props {
        &self.originals
    }
    /// The parsed value of a key.
    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        self.values.get(key)
    }
    /// A string, class or password key.
    pub fn string(&self, key: &str) -> Option<&str> {
        match self.values.get(key) {
            Some(ConfigValue::String(s)) => Some(s),
            _ => None,
        }
    }
    /// A string key, empty strings counting as absent.
    pub fn non_empty_string(&self, key: &str) -> Option<&str> {
        self.string(key).filter(|s| !s.is_empty())
    }
    /// An int key.
    pub fn int(&self, key: &str) -> Option<i32> {
        match self.values.get(key) {
            Some(ConfigValue::Int(v)) => Some(*v),
            _ => None,
        }
    }
    /// A long key (int keys are widened).
    pub fn long(&self, key: &str) -> Option<i64> {
        match self.values.get(key) {
            Some(ConfigValue::Long(v)) => Some(*v),
            Some(ConfigValue::Int(v)) => Some(i64::from(*v)),
            _ => None,
        }
    }
    /// A double key.
    pub fn double(&self, key: &str) -> Option<f64> {
        match self.values.get(key) {
            Some(ConfigValue::Double(v)) => Some(*v),
            _ => None,
        }
    }
    /// A boolean key.
    pub fn boolean(&self, key: &str) -> Option<bool> {
        match self.values.get(key) {
            Some(ConfigValue::Boolean(v)) => Some(*v),
            _ => None,
        }
    }
    /// A list key.
    pub fn list(&self, key: &str) -> Option<&[String]> {
        match self.values.get(key) {
            Some(ConfigValue::List(v)) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define("topic", ConfigType::String, None, Importance::High, "Topic.")
            .validator(Validator::NonEmpty)
            .define("batch.size", ConfigType::Int, Some("2000"), Importance::Low, "Batch.")
            .validator(Validator::at_least(1.0))
            .define("mode", ConfigType::String, Some("insert"), Importance::Medium, "Mode.")
            .validator(Validator::one_of(&["insert", "upsert"]))
            .define("topics", ConfigType::List, Some(""), Importance::High, "Topics.")
            .define("secret", ConfigType::Password, Some(""), Importance::Low, "Secret.")
    }

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn prefixed_keys_validate_under_their_new_names() {
        let def = def().prefixed("transforms.a.", "Transforms: a");
        assert_eq!(def.keys()[0].name, "transforms.a.topic");
        assert_eq!(def.keys()[0].group.as_deref(), Some("Transforms: a"));
        let v = def.validate(&props(&[("transforms.a.topic", "t"), ("transforms.a.batch.size", "0")]));
        assert!(v[0].errors.is_empty(), "{v:?}");
        assert!(v[1].errors[0].contains("transforms.a.batch.size"), "{v:?}");
    }

    #[test]
    fn parses_typed_values_and_defaults() {
        let cfg = def().parse(&props(&[("topic", "t"), ("topics", "a, b,,c"), ("extra", "x")])).expect("valid");
        assert_eq!(cfg.string("topic"), Some("t"));
        assert_eq!(cfg.int("batch.size"), Some(2000));
        assert_eq!(cfg.long("batch.size"), Some(2000));
        assert_eq!(cfg.list("topics"), Some(&["a".to_owned(), "b".to_owned(), "c".to_owned()][..]));
        assert_eq!(cfg.originals().get("extra").map(String::as_str), Some("x"));
    }

    #[test]
    fn reports_every_bad_key_with_reason() {
        let err = def().parse(&props(&[("batch.size", "0"), ("mode", "merge"), ("secret", "x")])).expect_err("invalid");
        let msg = err.to_string();
        assert!(msg.contains("Missing required configuration \"topic\""), "{msg}");
        assert!(msg.contains("Invalid value 0 for configuration batch.size: Value must be at least 1"), "{msg}");
        assert!(msg.contains("Invalid value merge for configuration mode: String must be one of"), "{msg}");
        let v = def().validate(&props(&[("topic", "t"), ("batch.size", "x")]));
        let by_name = |n: &str| v.iter().find(|k| k.name == n).expect("key present");
        assert!(by_name("topic").errors.is_empty());
        assert_eq!(
            by_name("batch.size").errors,
            vec!["Invalid value x for configuration batch.size: Not a number of type INT"]
        );
        assert_eq!(by_name("mode").recommended_values, vec!["insert", "upsert"]);
    }

    #[test]
    fn passwords_are_not_echoed() {
        let def = ConfigDef::new()
            .define("pw", ConfigType::Password, None, Importance::High, "")
            .validator(Validator::Custom(|_| Err("too short".into())));
        let msg = def.parse(&props(&[("pw", "hunter2")])).expect_err("invalid").to_string();
        assert!(!msg.contains("hunter2") && msg.contains("[hidden]"), "{msg}");
        let shown = def.validate(&props(&[("pw", "hunter2")]));
        assert_eq!(shown[0].value.as_deref(), Some("[hidden]"), "validate echoes a password");
        assert!(shown[0].errors.iter().all(|e| !e.contains("hunter2")), "{:?}", shown[0].errors);
    }
}
