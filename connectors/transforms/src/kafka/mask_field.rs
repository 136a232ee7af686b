//! `MaskField$Key` / `MaskField$Value`: replaces fields with the null value of their type
//! (`0`, `false`, `""`, empty array or map) or a `replacement`.

use aqueduct_sdk::{
    logical, ConfigDef, ConfigType, ConnectError, ConnectRecord, Importance, Props, Result, Schema, Transform, Value,
};

use super::util::{
    invalid, java_class_of, map_fields, map_get, map_put, non_empty_list, require_map, require_struct,
    with_replace_null_with_default,
};
use super::Side;

const PURPOSE: &str = "mask fields";

/// Kafka Connect's `MaskField`. With a schema, a Decimal field masks to zero (or the
/// replacement at the schema's scale); Date, Time and Timestamp fields mask to 0 (the epoch)
/// and, as in Kafka Connect, cannot take a replacement. Without a schema, a masked field
/// missing from the map is added as null (Kafka Connect does the same).
#[derive(Debug)]
pub struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

sided_descriptors!(
    "MaskField",
    MaskField,
    "Mask specified fields with a valid null value for the field type (i.e. 0, false, empty string, and so on)."
);

impl MaskField {
    /// An unconfigured instance for one side of the record.
    pub fn new(side: Side) -> Self {
        MaskField { side, fields: Vec::new(), replacement: None, replace_null_with_default: true }
    }

    fn masked(&self, value: &Value, schema: Option<&Schema>) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let scale = schema.and_then(logical::decimal_scale);
        let is_time = schema
            .is_some_and(|s| matches!(s.name.as_deref(), Some(logical::DATE | logical::TIME | logical::TIMESTAMP)));
        match &self.replacement {
            None => mask_with_null(value, scale),
            Some(r) if is_time => Err(cannot_replace(value, r, "class java.util.Date")),
            Some(r) => mask_with_replacement(value, r, scale),
        }
    }
}

fn cannot_replace(_value: &Value, _replacement: &str, class: &str) -> ConnectError {
    ConnectError::data(format!("Cannot mask value of type {class} with custom replacement."))
}

fn mask_with_null(value: &Value, decimal_scale: Option<i32>) -> Result<Value> {
    Ok(match value {
        Value::Bytes(_) if decimal_scale.is_some() => Value::Bytes(logical::decimal_bytes(0)),
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        other => return Err(ConnectError::data(format!("Cannot mask value of type: {}", java_class_of(other)))),
    })
}

fn mask_with_replacement(value: &Value, replacement: &str, decimal_scale: Option<i32>) -> Result<Value> {
    let not_a_number =
        || ConnectError::data(format!("Unable to convert {replacement} (class java.lang.String) to a number"));
    if let (Value::Bytes(_), Some(scale)) = (value, decimal_scale) {
        let unscaled = logical::decimal_from_str(replacement, scale).ok_or_else(not_a_number)?;
        return Ok(Value::Bytes(logical::decimal_bytes(unscaled)));
    }
    // Kafka Connect reads the text as a `BigDecimal` (`Values.asDouble` / `asLong`): decimal
    // syntax only, no surrounding whitespace; a double is its nearest value, an integer the
    // whole part (truncated toward zero).
    let number = || -> Result<f64> {
        match is_big_decimal(replacement) {
            true => replacement.parse::<f64>().map_err(|_| not_a_number()),
            false => Err(not_a_number()),
        }
    };
    let integer = || -> Result<i64> {
        let whole = replacement.split('.').next().unwrap_or_default();
        if is_big_decimal(replacement) && !replacement.contains(['e', 'E']) {
            if let Ok(v) = whole.parse::<i64>() {
                return Ok(v);
            }
        }
        number().map(|n| n.trunc() as i64)
    };
    Ok(match value {
        Value::Int8(_) => Value::Int8(integer()? as i8),
        Value::Int16(_) => Value::Int16(integer()? as i16),
        Value::Int32(_) => Value::Int32(integer()? as i32),
        Value::Int64(_) => Value::Int64(integer()?),
        Value::Float32(_) => Value::Float32(number()? as f32),
        Value::Float64(_) => Value::Float64(number()?),
        Value::String(_) => Value::String(replacement.to_owned()),
        other => return Err(cannot_replace(other, replacement, &java_class_of(other))),
    })
}

/// True for text Java's `new BigDecimal(text)` accepts: `[+-]digits[.digits][e[+-]digits]`,
/// with digits on at least one side of the point.
fn is_big_decimal(text: &str) -> bool {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    fn unsigned(s: &str) -> &str {
        s.strip_prefix(['+', '-']).unwrap_or(s)
    }
    let (mantissa, exponent) = match unsigned(text).split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(unsigned(e))),
        None => (unsigned(text), None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mantissa_ok = digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    mantissa_ok && exponent.is_none_or(|e| !e.is_empty() && digits(e))
}

impl Transform for MaskField {
    fn config_def(&self) -> ConfigDef {
        let def = ConfigDef::new()
            .define("fields", ConfigType::List, None, Importance::High, "Names of fields to mask.")
            .validator(non_empty_list())
            .define(
                "replacement",
                ConfigType::String,
                Some(""),
                Importance::Low,
                "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string \
                 values only).",
            );
        with_replace_null_with_default(def)
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.fields = config.list("fields").unwrap_or_default().to_vec();
        if let Some(raw) = props.get("replacement").filter(|r| r.trim().is_empty()) {
            return Err(invalid("replacement", raw, "String must be non-empty"));
        }
        self.replacement = config.non_empty_string("replacement").map(str::to_owned);
        self.replace_null_with_default = config.boolean("replace.null.with.default").unwrap_or(true);
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let (schema, value) = self.side.take(&mut record);
        match schema {
            None => {
                let mut entries = require_map(&value, PURPOSE)?.to_vec();
                for field in &self.fields {
                    let masked = self.masked(map_get(&entries, field).unwrap_or(&Value::Null), None)?;
                    map_put(&mut entries, field, masked);
                }
                Ok(Some(self.side.with(record, None, Value::Map(entries))))
            }
            Some(schema) => {
                let value = require_struct(&value, PURPOSE)?;
                let updated = map_fields(value, value.schema(), self.replace_null_with_default, |f, original| {
                    if self.fields.contains(&f.name) {
                        self.masked(&original, Some(&f.schema))
                    } else {
                        Ok(original)
                    }
                })?;
                Ok(Some(self.side.with(record, Some(schema), updated.into())))
            }
        }
    }
}

#[cfg(test)]
#[path = "mask_field_tests.rs"]
mod tests;
