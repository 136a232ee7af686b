//! Result columns: how each PostgreSQL type is selected, its Connect schema, and the decoding
//! of its binary wire value.

use std::error::Error;

use aqueduct_sdk::{logical, ConnectError, Result, Schema, SchemaRef, SchemaType, Value};
use tokio_postgres::types::{FromSql, Type};

/// Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS * 86_400 * 1_000_000;

/// How a column's value is read and mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `bool` -> boolean.
    Boolean,
    /// `int2` -> int16.
    Int16,
    /// `int4` -> int32.
    Int32,
    /// `int8` -> int64.
    Int64,
    /// `float4` -> float32.
    Float32,
    /// `float8` -> float64.
    Float64,
    /// `numeric` with a declared scale -> Decimal of that scale.
    Decimal(i32),
    /// `date` -> Date.
    Date,
    /// `timestamp`, `timestamptz` -> Timestamp (milliseconds).
    Timestamp,
    /// `bytea` -> bytes.
    Bytes,
    /// Text types, and every other type read as `::text` (uuid, json, numeric without scale...).
    Text,
}

/// One result column.
#[derive(Debug, Clone)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// How it is mapped.
    pub kind: Kind,
    /// Whether it may be null.
    pub nullable: bool,
    /// The column's type name, for messages.
    pub type_name: String,
}

impl Column {
    /// A column of type `ty`; `scale` is the numeric scale when declared.
    pub fn new(name: &str, ty: &Type, scale: Option<i32>, nullable: bool) -> Column {
        let kind = match *ty {
            Type::BOOL => Kind::Boolean,
            Type::INT2 => Kind::Int16,
            Type::INT4 => Kind::Int32,
            Type::INT8 => Kind::Int64,
            Type::FLOAT4 => Kind::Float32,
            Type::FLOAT8 => Kind::Float64,
            Type::NUMERIC => scale.map_or(Kind::Text, Kind::Decimal),
            Type::DATE => Kind::Date,
            Type::TIMESTAMP | Type::TIMESTAMPTZ => Kind::Timestamp,
            Type::BYTEA => Kind::Bytes,
            _ => Kind::Text,
        };
        Column { name: name.to_owned(), kind, nullable, type_name: ty.name().to_owned() }
    }

    /// The select-list expression for this column (qualified by `alias`).
    pub fn select(&self, alias: &str) -> String {
        let column = format!("{alias}.{}", quote(&self.name));
        match self.kind {
            Kind::Text => format!("{column}::text"),
            _ => column,
        }
    }

    /// The Connect schema of the column.
    pub fn schema(&self) -> SchemaRef {
        let builder = match self.kind {
            Kind::Boolean => Schema::builder(SchemaType::Boolean),
            Kind::Int16 => Schema::builder(SchemaType::Int16),
            Kind::Int32 => Schema::builder(SchemaType::Int32),
            Kind::Int64 => Schema::builder(SchemaType::Int64),
            Kind::Float32 => Schema::builder(SchemaType::Float32),
            Kind::Float64 => Schema::builder(SchemaType::Float64),
            Kind::Decimal(scale) => logical::decimal(scale),
            Kind::Date => logical::date(),
            Kind::Timestamp => logical::timestamp(),
            Kind::Bytes => Schema::builder(SchemaType::Bytes),
            Kind::Text => Schema::builder(SchemaType::String),
        };
        if self.nullable {
            builder.optional().build()
        } else {
            builder.build()
        }
    }

    /// Decodes the binary value at `index` of `row`.
    pub fn value(&self, row: &tokio_postgres::Row, index: usize) -> Result<Value> {
        let raw: Raw = row
            .try_get(index)
            .map_err(|e| ConnectError::data(format!("column '{}' ({}): {e}", self.name, self.type_name)))?;
        let Some(bytes) = raw.0 else { return Ok(Value::Null) };
        decode(self.kind, &bytes).ok_or_else(|| {
            ConnectError::data(format!("column '{}' ({}): undecodable value", self.name, self.type_name))
        })
    }
}

/// Double-quotes an identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A value's raw binary bytes, whatever the type.
struct Raw(Option<Vec<u8>>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> std::result::Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Raw(Some(raw.to_vec())))
    }
    fn from_sql_null(_: &Type) -> std::result::Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Raw(None))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

fn decode(kind: Kind, bytes: &[u8]) -> Option<Value> {
    Some(match kind {
        Kind::Boolean => Value::Boolean(*bytes.first()? != 0),
        Kind::Int16 => Value::Int16(i16::from_be_bytes(bytes.try_into().ok()?)),
        Kind::Int32 => Value::Int32(i32::from_be_bytes(bytes.try_into().ok()?)),
        Kind::Int64 => Value::Int64(i64::from_be_bytes(bytes.try_into().ok()?)),
        Kind::Float32 => Value::Float32(f32::from_be_bytes(bytes.try_into().ok()?)),
        Kind::Float64 => Value::Float64(f64::from_be_bytes(bytes.try_into().ok()?)),
        Kind::Decimal(scale) => Value::Bytes(logical::decimal_bytes(numeric_unscaled(bytes, scale)?)),
        Kind::Date => {
            let days = i64::from(i32::from_be_bytes(bytes.try_into().ok()?)) + PG_EPOCH_DAYS;
            Value::Int32(i32::try_from(days).ok()?)
        }
        Kind::Timestamp => Value::Int64(timestamp_micros(bytes)?.div_euclid(1000)),
        Kind::Bytes => Value::Bytes(bytes.to_vec()),
        Kind::Text => Value::String(String::from_utf8_lossy(bytes).into_owned()),
    })
}

/// Microseconds since the Unix epoch of a binary `timestamp`/`timestamptz`.
pub fn timestamp_micros(bytes: &[u8]) -> Option<i64> {
    i64::from_be_bytes(bytes.try_into().ok()?).checked_add(PG_EPOCH_MICROS)
}

/// The unscaled value of a binary `numeric` at `scale` (NaN and infinities are `None`).
fn numeric_unscaled(bytes: &[u8], scale: i32) -> Option<i128> {
    let word = |i: usize| bytes.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(i16::from_be_bytes(word(2)?.to_be_bytes()));
    let sign = word(4)?;
    if sign != 0 && sign != 0x4000 {
        return None;
    }
    // value = sum(digit[i] * 10000^(weight - i)); scaled by 10^scale.
    let mut unscaled: i128 = 0;
    for i in 0..ndigits {
        let digit = i128::from(word(8 + 2 * i)?);
        let exponent = 4 * (weight - i32::try_from(i).ok()?) + scale;
        let term = if exponent >= 0 {
            digit.checked_mul(10i128.checked_pow(u32::try_from(exponent).ok()?)?)?
        } else {
            digit / 10i128.checked_pow(exponent.unsigned_abs())?
        };
        unscaled = unscaled.checked_add(term)?;
    }
    Some(if sign == 0x4000 { -unscaled } else { unscaled })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_numeric() {
        // 1234.5 at scale 2: ndigits 2, weight 0, sign +, dscale 1, digits [1234, 5000].
        let bytes = [0, 2, 0, 0, 0, 0, 0, 1, 0x04, 0xD2, 0x13, 0x88];
        assert_eq!(numeric_unscaled(&bytes, 2), Some(123_450));
        // -0.5 at scale 2: ndigits 1, weight -1, sign -, digits [5000].
        let negative = [0, 1, 0xFF, 0xFF, 0x40, 0, 0, 1, 0x13, 0x88];
        assert_eq!(numeric_unscaled(&negative, 2), Some(-50));
    }
}
