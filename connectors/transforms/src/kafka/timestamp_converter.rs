//! `TimestampConverter$Key` / `TimestampConverter$Value`: converts a timestamp (a field, or the
//! whole key or value) between strings, Unix epochs and Kafka Connect's Date, Time and
//! Timestamp.

use std::sync::Arc;

use aqueduct_sdk::{
    logical, ConfigDef, ConfigType, ConnectError, ConnectRecord, Field, Importance, Props, Result, Schema, SchemaRef,
    SchemaType, Struct, Transform, Value,
};

use super::date_format::DateFormat;
use super::util::{
    copy_schema_basics, invalid, java_class_of, map_fields, map_get, map_put, require_map, require_struct,
    with_replace_null_with_default, SchemaCache,
};
use super::Side;

const PURPOSE: &str = "converting timestamp formats";
const MILLIS_PER_DAY: i64 = 86_400_000;
const TYPES: [&str; 5] = ["string", "unix", "Date", "Time", "Timestamp"];
const PRECISIONS: [&str; 4] = ["nanoseconds", "microseconds", "milliseconds", "seconds"];

/// A timestamp representation (`target.type`, or what a schema or value says it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// A string in `format`.
    String,
    /// An `Int64` since the epoch, in `unix.precision`.
    Unix,
    /// Kafka Connect's Date: `Int32` days.
    Date,
    /// Kafka Connect's Time: `Int32` milliseconds since midnight.
    Time,
    /// Kafka Connect's Timestamp: `Int64` milliseconds.
    Timestamp,
}

/// Kafka Connect's `TimestampConverter`, in UTC. Without a schema, an `Int64` is a Unix time
/// and a string is parsed with `format` (Kafka Connect also takes `java.util.Date` objects,
/// which schemaless data here never holds). Unix precisions finer than milliseconds are
/// truncated to milliseconds, as in Kafka Connect.
#[derive(Debug)]
pub struct TimestampConverter {
    side: Side,
    field: String,
    target: TimestampType,
    format: Option<DateFormat>,
    precision: &'static str,
    replace_null_with_default: bool,
    schemas: SchemaCache,
}

sided_descriptors!(
    "TimestampConverter",
    TimestampConverter,
    "Convert timestamps between different formats such as Unix epoch, strings, and Connect Date/Timestamp types."
);

/// Java's `ConnectSchema.toString`.
fn describe(schema: &Schema) -> String {
    let t = super::cast_value::type_name(schema.schema_type);
    match &schema.name {
        Some(name) => format!("Schema{{{name}:{t}}}"),
        None => format!("Schema{{{t}}}"),
    }
}

impl TimestampConverter {
    /// An unconfigured instance for one side of the record.
    pub fn new(side: Side) -> Self {
        TimestampConverter {
            side,
            field: String::new(),
            target: TimestampType::Timestamp,
            format: None,
            precision: "milliseconds",
            replace_null_with_default: true,
            schemas: SchemaCache::default(),
        }
    }

    fn type_schema(&self, optional: bool) -> SchemaRef {
        let builder = match self.target {
            TimestampType::String => Schema::builder(SchemaType::String),
            TimestampType::Unix => Schema::builder(SchemaType::Int64),
            TimestampType::Date => logical::date(),
            TimestampType::Time => logical::time(),
            TimestampType::Timestamp => logical::timestamp(),
        };
        if optional {
            builder.optional().build()
        } else {
            builder.build()
        }
    }

    fn to_millis(&self, value: &Value, from: TimestampType) -> Result<i64> {
        let found = || java_class_of(value);
        match (from, value) {
            (TimestampType::String, Value::String(s)) => {
                let format = self.format.as_ref().ok_or_else(|| {
                    ConnectError::data(
                        "TimestampConverter requires format option to be specified when using string timestamps",
                    )
                })?;
                format.parse_millis(s).map_err(|_| {
                    ConnectError::data(format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({})",
                        format.pattern()
                    ))
                })
            }
            (TimestampType::String, _) => {
                Err(ConnectError::data(format!("Expected string timestamp to be a String, but found {}", found())))
            }
            (TimestampType::Unix, Value::Int64(v)) => Ok(match self.precision {
                "seconds" => v.saturating_mul(1000),
                "microseconds" => v / 1000,
                "nanoseconds" => v / 1_000_000,
                _ => *v,
            }),
            (TimestampType::Unix, _) => {
                Err(ConnectError::data(format!("Expected Unix timestamp to be a Long, but found {}", found())))
            }
            (TimestampType::Date, Value::Int32(days)) => Ok(i64::from(*days) * MILLIS_PER_DAY),
            (TimestampType::Time, Value::Int32(ms)) => Ok(i64::from(*ms)),
            (TimestampType::Timestamp, Value::Int64(ms)) => Ok(*ms),
            (t, _) => Err(ConnectError::data(format!("Expected {t:?} to be a java.util.Date, but found {}", found()))),
        }
    }

    fn millis_to_target(&self, millis: i64) -> Result<Value> {
        let too_far = || ConnectError::data(format!("Timestamp {millis} is out of range for {:?}", self.target));
        Ok(match self.target {
            TimestampType::String => Value::String(self.format.as_ref().map(|f| f.format(millis)).unwrap_or_default()),
            TimestampType::Unix => Value::Int64(match self.precision {
                "seconds" => millis / 1000,
                "microseconds" => millis.saturating_mul(1000),
                "nanoseconds" => millis.saturating_mul(1_000_000),
                _ => millis,
            }),
            TimestampType::Date => {
                Value::Int32(i32::try_from(millis.div_euclid(MILLIS_PER_DAY)).map_err(|_| too_far())?)
            }
            TimestampType::Time => {
                Value::Int32(i32::try_from(millis.rem_euclid(MILLIS_PER_DAY)).map_err(|_| too_far())?)
            }
            TimestampType::Timestamp => Value::Int64(millis),
        })
    }

    /// Converts a value of a known (or, when `None`, inferred) representation.
    fn convert(&self, value: &Value, from: Option<TimestampType>) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let from = match from {
            Some(t) => t,
            None => match value {
                Value::Int64(_) => TimestampType::Unix,
                Value::String(_) => TimestampType::String,
                other => {
                    return Err(ConnectError::data(format!(
                        "TimestampConverter does not support {} objects as timestamps",
                        java_class_of(other)
                    )))
                }
            },
        };
        self.millis_to_target(self.to_millis(value, from)?)
    }

    fn type_of_schema(schema: &Schema) -> Result<TimestampType> {
        Ok(match (schema.name.as_deref(), schema.schema_type) {
            (Some(logical::TIMESTAMP), _) => TimestampType::Timestamp,
            (Some(logical::DATE), _) => TimestampType::Date,
            (Some(logical::TIME), _) => TimestampType::Time,
            (_, SchemaType::String) => TimestampType::String,
            (_, SchemaType::Int64) => TimestampType::Unix,
            _ => {
                return Err(ConnectError::data(format!(
                    "Schema {} does not correspond to a known timestamp type format",
                    describe(schema)
                )))
            }
        })
    }

    fn convert_struct(&self, value: &Struct, schema: &SchemaRef) -> Result<Struct> {
        map_fields(value, schema, self.replace_null_with_default, |f, original| {
            if f.name == self.field {
                self.convert(&original, Some(Self::type_of_schema(&f.schema)?))
            } else {
                Ok(original)
            }
        })
    }

    fn derive_schema(&self, schema: &Schema) -> Result<SchemaRef> {
        let mut updated = copy_schema_basics(schema, SchemaType::Struct);
        updated.optional = schema.optional;
        updated.fields = schema
            .fields
            .iter()
            .map(|f| {
                if f.name == self.field {
                    Field { name: f.name.clone(), schema: self.type_schema(f.schema.optional) }
                } else {
                    f.clone()
                }
            })
            .collect();
        let without_default = Arc::new(updated.clone());
        if let Some(Value::Struct(default)) = &schema.default {
            updated.default = Some(Value::Struct(self.convert_struct(default, &without_default)?));
            return Ok(Arc::new(updated));
        }
        Ok(without_default)
    }
}

impl Transform for TimestampConverter {
    fn config_def(&self) -> ConfigDef {
        let def = ConfigDef::new()
            .define(
                "field",
                ConfigType::String,
                Some(""),
                Importance::High,
                "The field containing the timestamp, or empty if the entire value is a timestamp",
            )
            .define(
                "target.type",
                ConfigType::String,
                None,
                Importance::High,
                "The desired timestamp representation: string, unix, Date, Time, or Timestamp",
            )
            .validator(aqueduct_sdk::Validator::one_of(&TYPES))
            .define(
                "format",
                ConfigType::String,
                Some(""),
                Importance::Medium,
                "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when \
                 type=string or used to parse the input if the input is a string.",
            )
            .define(
                "unix.precision",
                ConfigType::String,
                Some("milliseconds"),
                Importance::Low,
                "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. \
                 Used to generate the output when type=unix or used to parse the input if the input is a Long.",
            )
            .validator(aqueduct_sdk::Validator::one_of(&PRECISIONS));
        with_replace_null_with_default(def)
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        let one_of = |key: &str, allowed: &[&'static str]| -> Result<&'static str> {
            let given = config.string(key).unwrap_or_default();
            allowed
                .iter()
                .find(|a| **a == given)
                .copied()
                .ok_or_else(|| invalid(key, given, format!("String must be one of: {}", allowed.join(", "))))
        };
        self.target = match one_of("target.type", &TYPES)? {
            "string" => TimestampType::String,
            "unix" => TimestampType::Unix,
            "Date" => TimestampType::Date,
            "Time" => TimestampType::Time,
            _ => TimestampType::Timestamp,
        };
        self.precision = one_of("unix.precision", &PRECISIONS)?;
        self.field = config.string("field").unwrap_or_default().to_owned();
        let pattern = config.string("format").unwrap_or_default();
        if self.target == TimestampType::String && pattern.trim().is_empty() {
            return Err(ConnectError::config(
                "TimestampConverter requires format option to be specified when using string timestamps",
            ));
        }
        self.format = if pattern.trim().is_empty() {
            None
        } else {
            Some(DateFormat::parse(pattern).map_err(|e| {
                invalid(
                    "format",
                    pattern,
                    format!("TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {pattern} ({e})"),
                )
            })?)
        };
        self.replace_null_with_default = config.boolean("replace.null.with.default").unwrap_or(true);
        self.schemas.clear();
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let (schema, value) = self.side.take(&mut record);
        let Some(schema) = schema else {
            if value.is_null() || self.field.is_empty() {
                let converted = self.convert(&value, None)?;
                return Ok(Some(self.side.with(record, None, converted)));
            }
            let mut entries = require_map(&value, PURPOSE)?.to_vec();
            let converted = self.convert(map_get(&entries, &self.field).unwrap_or(&Value::Null), None)?;
            map_put(&mut entries, &self.field, converted);
            return Ok(Some(self.side.with(record, None, Value::Map(entries))));
        };
        if self.field.is_empty() {
            let from = Self::type_of_schema(&schema)?;
            let converted = self.convert(&value, Some(from))?;
            return Ok(Some(self.side.with(record, Some(self.type_schema(schema.optional)), converted)));
        }
        if !value.is_null() {
            require_struct(&value, PURPOSE)?;
        }
        let mut cache = std::mem::take(&mut self.schemas);
        let derived = cache.get_or_try_insert(&schema, |s| self.derive_schema(s));
        self.schemas = cache;
        let updated_schema = derived?;
        let converted = match &value {
            Value::Struct(s) => Value::Struct(self.convert_struct(s, &updated_schema)?),
            _ => Value::Null,
        };
        Ok(Some(self.side.with(record, Some(updated_schema), converted)))
    }
}

#[cfg(test)]
#[path = "timestamp_converter_tests.rs"]
mod tests;
