//! Casting one value, as Kafka Connect's `Cast.castValueToType`.

use aqueduct_sdk::{logical, ConnectError, Result, Schema, SchemaType, Value};

use super::date_format::DateFormat;
use super::java_text::{base64, java_big_decimal, java_float};
use super::util::java_class_of;

/// The types a value can be cast from, in Kafka Connect's order.
pub const INPUT_TYPES: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]";
/// The types a value can be cast to.
pub const OUTPUT_TYPES: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]";

/// Kafka Connect's upper-case name of a type (`Schema.Type`).
pub fn type_name(t: SchemaType) -> &'static str {
    match t {
        SchemaType::Boolean => "BOOLEAN",
        SchemaType::Int8 => "INT8",
        SchemaType::Int16 => "INT16",
        SchemaType::Int32 => "INT32",
        SchemaType::Int64 => "INT64",
        SchemaType::Float32 => "FLOAT32",
        SchemaType::Float64 => "FLOAT64",
        SchemaType::String => "STRING",
        SchemaType::Bytes => "BYTES",
        SchemaType::Struct => "STRUCT",
        SchemaType::Array => "ARRAY",
        SchemaType::Map => "MAP",
    }
}

/// Parses a target type as Java's `Schema.Type.valueOf(name.toUpperCase())`, checked to be a
/// type Cast can produce.
pub fn parse_target(name: &str) -> std::result::Result<SchemaType, String> {
    let upper = name.trim().to_ascii_uppercase();
    let t = [
        SchemaType::Boolean,
        SchemaType::Int8,
        SchemaType::Int16,
        SchemaType::Int32,
        SchemaType::Int64,
        SchemaType::Float32,
        SchemaType::Float64,
        SchemaType::String,
        SchemaType::Bytes,
        SchemaType::Struct,
        SchemaType::Array,
        SchemaType::Map,
    ]
    .into_iter()
    .find(|t| type_name(*t) == upper)
    .ok_or_else(|| format!("Invalid type found in casting spec: {}", name.trim()))?;
    if matches!(t, SchemaType::Bytes | SchemaType::Struct | SchemaType::Array | SchemaType::Map) {
        return Err(format!(
            "Cast transformation does not support casting to {upper}; supported types are {OUTPUT_TYPES}"
        ));
    }
    Ok(t)
}

/// A number as Java's `Number` sees it.
enum Number {
    Int(i64),
    Float(f64, bool),
    Decimal(i128, i32),
}

impl Number {
    /// `intValue()`-style truncation to 64 bits (then narrowed by the caller with `as`).
    fn long(&self) -> i64 {
        match *self {
            Number::Int(v) => v,
            Number::Float(v, _) => v as i64,
            Number::Decimal(unscaled, scale) => truncate_decimal(unscaled, scale) as i64,
        }
    }
    /// `intValue()`: Java narrows a float to int first, saturating.
    fn int(&self) -> i32 {
        match *self {
            Number::Float(v, _) => v as i32,
            _ => self.long() as i32,
        }
    }
    fn double(&self) -> f64 {
        match *self {
            Number::Int(v) => v as f64,
            Number::Float(v, _) => v,
            Number::Decimal(unscaled, scale) => java_big_decimal(unscaled, scale).parse().unwrap_or(f64::NAN),
        }
    }
}

fn truncate_decimal(unscaled: i128, scale: i32) -> i128 {
    if scale <= 0 {
        let factor = 10i128.checked_pow(scale.unsigned_abs()).unwrap_or(0);
        unscaled.wrapping_mul(factor)
    } else {
        10i128.checked_pow(scale.unsigned_abs()).map_or(0, |factor| unscaled / factor)
    }
}

fn out_of_range(value: &Value) -> ConnectError {
    let shown = match value {
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    };
    ConnectError::data(format!("Value ({shown}) was out of range for requested data type"))
}

/// Milliseconds of a Date, Time or Timestamp value, if the schema is one of them.
fn logical_millis(schema: Option<&Schema>, value: &Value) -> Option<i64> {
    match (schema?.name.as_deref()?, value) {
        (logical::DATE, Value::Int32(days)) => Some(i64::from(*days) * 86_400_000),
        (logical::TIME, Value::Int32(ms)) => Some(i64::from(*ms)),
        (logical::TIMESTAMP, Value::Int64(ms)) => Some(*ms),
        _ => None,
    }
}

/// Kafka Connect's `Values.dateFormatFor(date).format(date)`, in UTC.
fn format_date(millis: i64) -> String {
    let pattern = if millis < 86_400_000 {
        "HH:mm:ss.SSS'Z'"
    } else if millis % 86_400_000 == 0 {
        "yyyy-MM-dd"
    } else {
        "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    };
    DateFormat::parse(pattern).map(|f| f.format(millis)).unwrap_or_default()
}

/// Casts `value` (of `schema`, or inferred when schemaless) to `target`; null stays null.
pub fn cast(schema: Option<&Schema>, value: &Value, target: SchemaType) -> Result<Value> {
    let Some(inferred) = schema.map(|s| s.schema_type).or_else(|| value.schema_type()) else {
        return Ok(Value::Null);
    };
    if value.is_null() {
        return Ok(Value::Null);
    }
    if !inferred.is_primitive() {
        return Err(ConnectError::data(format!(
            "Cast transformation does not support casting from {}; supported types are {INPUT_TYPES}",
            type_name(inferred)
        )));
    }
    if target == SchemaType::String {
        if let Some(millis) = logical_millis(schema, value) {
            return Ok(Value::String(format_date(millis)));
        }
    }
    let decimal_scale = schema.and_then(logical::decimal_scale);
    let unexpected = || ConnectError::data(format!("Unexpected type in Cast transformation: {}", java_class_of(value)));
    let number = match value {
        Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => {
            Some(Number::Int(value.as_i64().unwrap_or_default()))
        }
        Value::Float32(v) => Some(Number::Float(f64::from(*v), true)),
        Value::Float64(v) => Some(Number::Float(*v, false)),
        Value::Bytes(b) => match decimal_scale {
            Some(scale) => Some(Number::Decimal(logical::decimal_unscaled(b).ok_or_else(unexpected)?, scale)),
            None => None,
        },
        _ => None,
    };
    if let Some(n) = number {
        return Ok(match target {
            SchemaType::Int8 => Value::Int8(n.int() as i8),
            SchemaType::Int16 => Value::Int16(n.int() as i16),
            SchemaType::Int32 => Value::Int32(n.int()),
            SchemaType::Int64 => Value::Int64(n.long()),
            SchemaType::Float32 => Value::Float32(n.double() as f32),
            SchemaType::Float64 => Value::Float64(n.double()),
            SchemaType::Boolean => Value::Boolean(n.long() != 0),
            SchemaType::String => Value::String(match n {
                Number::Int(v) => v.to_string(),
                Number::Float(v, float32) => java_float(v, float32),
                Number::Decimal(unscaled, scale) => java_big_decimal(unscaled, scale),
            }),
            other => {
                return Err(ConnectError::data(format!(
                    "{} is not supported in the Cast transformation.",
                    type_name(other)
                )))
            }
        });
    }
    match (value, target) {
        (Value::Boolean(b), SchemaType::String) => Ok(Value::String(b.to_string())),
        (Value::Boolean(b), SchemaType::Boolean) => Ok(Value::Boolean(*b)),
        (Value::Boolean(b), SchemaType::Float32) => Ok(Value::Float32(if *b { 1.0 } else { 0.0 })),
        (Value::Boolean(b), SchemaType::Float64) => Ok(Value::Float64(if *b { 1.0 } else { 0.0 })),
        (Value::Boolean(b), t) => cast(None, &Value::Int64(i64::from(*b)), t),
        (Value::Bytes(b), SchemaType::String) => Ok(Value::String(base64(b))),
        (Value::String(s), t) => cast_string(s, t).ok_or_else(|| out_of_range(value)),
        _ => Err(unexpected()),
    }
}

/// Java's `Byte.parseByte` ... `Boolean.parseBoolean` of a string.
fn cast_string(s: &str, target: SchemaType) -> Option<Value> {
    let float = || {
        let t = s.trim();
        let t = t.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(t);
        t.parse::<f64>().ok()
    };
    Some(match target {
        SchemaType::Int8 => Value::Int8(s.parse().ok()?),
        SchemaType::Int16 => Value::Int16(s.parse().ok()?),
        SchemaType::Int32 => Value::Int32(s.parse().ok()?),
        SchemaType::Int64 => Value::Int64(s.parse().ok()?),
        SchemaType::Float32 => Value::Float32(float()? as f32),
        SchemaType::Float64 => Value::Float64(float()?),
        SchemaType::Boolean => Value::Boolean(s.eq_ignore_ascii_case("true")),
        SchemaType::String => Value::String(s.to_owned()),
        _ => return None,
    })
}
