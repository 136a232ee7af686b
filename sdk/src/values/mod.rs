//! Kafka Connect's `org.apache.kafka.connect.data.Values` (4.1): values to text and text back,
//! with the schema inferred. `SimpleHeaderConverter` and `InsertHeader` rely on it.
//!
//! [`convert_to_string`] prints a value as Kafka Connect does: numbers as Java's `toString`,
//! bytes as base64, a Decimal as `BigDecimal.toString` (`1E+400`), a Date, Time or Timestamp
//! in UTC as `yyyy-MM-dd`, `HH:mm:ss.SSS'Z'` or `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` (the pattern
//! chosen by the instant, not the schema: midnight prints as a date, any instant before
//! 1970-01-02 as a time of day), arrays as `[a,b]`, maps as `{k:v}` and structs as
//! `{"field":value}`; strings inside those are quoted, `\` and `"` escaped with `\`.
//!
//! [`parse_string`] reads such text back as `Values.parseString` does:
//!
//! | text | schema | value |
//! |---|---|---|
//! | `""` | string | `""` |
//! | `null` | none | null |
//! | `true`, ` false ` | boolean | |
//! | `5`, `300`, `1.0`, `1e3` | narrowest of int8..int64 holding the whole number | |
//! | `1.5`, `1e20` | float32, or float64 beyond float32's range | |
//! | `9223372036854775808`, `1e400` | Decimal of the number's own scale (0, -400) | |
//! | `2019-08-23`, `14:34:54.346Z`, `2019-08-23T14:34:54.346Z` | Date, Time, Timestamp | |
//! | `[1,2,300]`, `{"a":1}` | array/map of the common element schema | elements converted to it |
//! | `[1,"a"]`, `{1:null}` | array/map without an element (or value) schema | elements as parsed |
//! | anything else (`abc`, `[foo]`, `{1:2`, `[1, null]`) | string | the original text |
//!
//! Inside arrays and maps strings are quoted (`["a"]`; `[a]` is a string), and quoted temporal
//! literals are temporal. Numbers widen to a common type (`[1, 2.5]` is float32) and ints widen
//! into a Date, Time or Timestamp (`[1, 2019-08-23]` is two Dates); a Date, Time or null that
//! does not fit the common schema makes the whole text a string, as in Kafka Connect.
//!
//! So `parse_string(convert_to_string(v))` gives back what Kafka Connect's does: the value with
//! the narrowest schema (`Int32(5)` becomes `Int8(5)`, `Float64(0.5)` becomes `Float32(0.5)`
//! and `Float64(0.1)` the float32 nearest 0.1, a Decimal with a fraction a float32, a midnight
//! Timestamp a Date, bytes their base64 string, a struct a map).
//!
//! # Kafka Connect's quirks, kept for compatibility
//! - Quoted strings are not unescaped: `["a\"b"]` reads as `a\"b`; whitespace-only pieces of a
//!   quoted string between delimiters are dropped (`[" "]` reads as `""`).
//! - At the top level, text after a number or temporal literal is ignored (`5,6` is 5, `1:2` is
//!   1), and text after a complete array or map too (`[1]]` is `[1]`); a trailing comma in an
//!   array or map is accepted (`[1,2,]`).
//! - When leading whitespace precedes an array or map that does not parse, the result is that
//!   whitespace alone (` [foo]` is `" "`).
//! - Temporal literals are parsed leniently, as `SimpleDateFormat` does: fields roll over
//!   (`2019-13-01` is 2020-01-01, `25:00:00.000Z` is a Time of 90,000,000 ms), a field may be
//!   negative or have any number of digits as long as the text has the pattern's length, and
//!   dates before 1582-10-15 are Julian.
//!
//! # Deviations
//! - Text is read as UTC; Kafka Connect reads and prints it in the JVM's default time zone
//!   (UTC on a worker that follows its docs).
//! - Digits are ASCII only; Java also accepts other Unicode decimal digits (`１２` is 12 there).
//!   An exponent in a temporal field (`2E19-08-23`, a Date in Java) is not a number here.
//! - Date with Time in one array or map gives Timestamp (Kafka Connect keeps the latest schema,
//!   which the other values do not fit); two Decimals of different scales give the larger scale,
//!   the values rescaled exactly (Kafka Connect keeps the latest scale and each value's own).
//! - Decimals, Dates, Times and Timestamps in an array or map without a common schema become
//!   their physical values (bytes, int32, int64): [`Value`] has no variant that carries a logical
//!   type on its own.
//! - A temporal literal whose value does not fit int32 (Date, Time) or int64 (Timestamp) after
//!   lenient rollover is not read as one.
//! - Arrays and maps nested deeper than 256 levels are an error, [`parse_string`]'s only one;
//!   the JVM would overflow its stack at some greater depth.
//! - Floats print as Java 19 and later print them (checked against JDK 25 on 80,000 values):
//!   the shortest digits that read back, at least two, the closest such. Java 17's older
//!   algorithm, which Kafka Connect 4.1 also runs on, sometimes prints other digits for the same
//!   double (`9.999999999999999E22` for `1.0E23`, `2.82879384806159008E17`); both read back the
//!   same.

mod decimal;
mod parse;
mod temporal;
#[cfg(test)]
mod tests;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::schema::{logical, Schema, SchemaRef};
use crate::{ConnectError, Result, Value};
use decimal::BigDecimal;

/// Kafka Connect's `Values.parseString`: the value `text` spells and the schema inferred for
/// it; `(None, Value::Null)` for `null`. Text that does not parse is a string of the whole text
/// (the [module docs](self) list Kafka Connect's exceptions, kept here), not an error: the only
/// error is a data error for arrays or maps nested deeper than 256 levels.
pub fn parse_string(text: &str) -> Result<(Option<SchemaRef>, Value)> {
    if text.is_empty() {
        return Ok((Some(Schema::string()), Value::String(String::new())));
    }
    match parse::Parser::new(text).parse(false) {
        Ok(Some((schema, value))) => Ok((Some(schema), value)),
        Ok(None) => Ok((None, Value::Null)),
        // At the top level an invalid structure is re-read as a string, so only depth fails.
        Err(_) => {
            let start: String = text.chars().take(32).collect();
            let more = if start.len() < text.len() { "..." } else { "" };
            Err(ConnectError::data(format!(
                "arrays and maps nested more than {} deep cannot be parsed: {start}{more}",
                parse::MAX_DEPTH
            )))
        }
    }
}

/// Kafka Connect's `Values.convertToString`: `None` for null, otherwise the text
/// [`parse_string`] reads back. `schema` tells the logical types (Decimal, Date, Time,
/// Timestamp) of the value and of the elements of its arrays and maps; without it values
/// print as their physical types.
pub fn convert_to_string(schema: Option<&SchemaRef>, value: &Value) -> Option<String> {
    if value.is_null() {
        return None;
    }
    let mut out = String::new();
    append(&mut out, schema.map(|s| &**s), value, false);
    Some(out)
}

/// `Values.append`: `embedded` values (inside an array, map or struct) quote their strings.
fn append(out: &mut String, schema: Option<&Schema>, value: &Value, embedded: bool) {
    if let Some(schema) = schema {
        if let Some(millis) = temporal::millis_of(schema, value) {
            out.push_str(&temporal::format(millis));
            return;
        }
        if let (Some(scale), Value::Bytes(bytes)) = (logical::decimal_scale(schema), value) {
            if let Some(decimal) = BigDecimal::from_bytes(bytes, scale) {
                out.push_str(&decimal.to_java_string());
                return;
            }
        }
    }
    let quoted = |out: &mut String, text: &str| {
        if embedded {
            out.push('"');
            out.push_str(&text.replace('\\', "\\\\").replace('"', "\\\""));
            out.push('"');
        } else {
            out.push_str(text);
        }
    };
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(v) => out.push_str(&v.to_string()),
        Value::Int16(v) => out.push_str(&v.to_string()),
        Value::Int32(v) => out.push_str(&v.to_string()),
        Value::Int64(v) => out.push_str(&v.to_string()),
        Value::Float32(v) => out.push_str(&java_float_to_string(f64::from(*v), true)),
        Value::Float64(v) => out.push_str(&java_float_to_string(*v, false)),
        Value::String(s) => quoted(out, s),
        Value::Bytes(b) => quoted(out, &BASE64.encode(b)),
        Value::Array(items) => {
            let element = schema.and_then(|s| s.value_schema.as_deref());
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, element, item, true);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let key_schema = schema.and_then(|s| s.key_schema.as_deref());
            let value_schema = schema.and_then(|s| s.value_schema.as_deref());
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, key_schema, k, true);
                out.push(':');
                append(out, value_schema, v, true);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push('{');
            for (i, field) in s.schema().fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, None, &Value::String(field.name.clone()), true);
                out.push(':');
                // Java's `Struct.get`: a null field prints its default.
                let field_value = s.get_or_default(&field.name).unwrap_or(&Value::Null);
                append(out, Some(&field.schema), field_value, true);
            }
            out.push('}');
        }
    }
}

/// Java's `Double.toString` (`Float.toString` when `float32`, the value then exactly a float),
/// as Java 19 and later print it: the shortest digits that read back as the value, at least two
/// (`4.9E-324`), the closest such when there are two; plain from 10^-3 up to 10^7
/// (`0.001`, `1234567.0`), otherwise `d.dddE±n` (`1.0E7`, `1.0E-4`).
pub fn java_float_to_string(value: f64, float32: bool) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Java picks, among the decimals of the shortest length (at least 2) that read back as the
    // value, the closest one, ties to even: Rust's shortest digits may be the other neighbour.
    let shortest = if float32 { format!("{:e}", value as f32) } else { format!("{value:e}") };
    let length = shortest.split_once('e').map_or(1, |(m, _)| m.bytes().filter(u8::is_ascii_digit).count()).max(2);
    let closest = if float32 {
        Some(format!("{:.*e}", length - 1, value as f32)).filter(|c| c.parse::<f32>().ok() == Some(value as f32))
    } else {
        Some(format!("{value:.*e}", length - 1)).filter(|c| c.parse::<f64>().ok() == Some(value))
    };
    let repr = closest.unwrap_or(shortest);
    let (mantissa, exponent) = repr.split_once('e').unwrap_or((&repr, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if mantissa.starts_with('-') { "-" } else { "" };
    let digits = mantissa.chars().filter(char::is_ascii_digit).collect::<String>();
    let digits = match digits.trim_end_matches('0') {
        "" => "0",
        trimmed => trimmed,
    };
    if (-3..7).contains(&exponent) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            let padded = format!("{digits:0<int_len$}");
            let (int, frac) = padded.split_at(int_len);
            format!("{sign}{int}.{}", if frac.is_empty() { "0" } else { frac })
        } else {
            format!("{sign}0.{}{digits}", "0".repeat(exponent.unsigned_abs() as usize - 1))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        format!("{sign}{first}.{}E{exponent}", if rest.is_empty() { "0" } else { rest })
    }
}
