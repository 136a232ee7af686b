//! Renders record values as PostgreSQL text input for a column: the statement casts that text
//! to the column's type, so any type PostgreSQL can read from text (uuid, jsonb, numeric,
//! timestamptz, enums, arrays, ...) can be written.

use std::fmt::Write as _;

use aqueduct_sdk::{json, logical, Schema, Value};

use super::types::{ColumnKind, Logical};

/// Why a value cannot go into a column.
pub type RenderError = String;

/// The text of `value` (typed by `schema` when known) for a column of `kind`; `None` for NULL.
pub fn render(value: &Value, schema: Option<&Schema>, kind: &ColumnKind) -> Result<Option<String>, RenderError> {
    if value.is_null() {
        return Ok(None);
    }
    let logical = schema.and_then(Logical::of);
    let mut out = String::new();
    match (value, kind) {
        (Value::Array(items), ColumnKind::Array(elem)) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            array_literal(items, item_schema, elem, &mut out)?;
        }
        (Value::Array(_) | Value::Map(_) | Value::Struct(_), _) if logical.is_none() => {
            if kind.is_numeric() || matches!(kind, ColumnKind::Bool | ColumnKind::Bytea) || is_temporal(kind) {
                return Err(format!("a {} cannot be written to a {kind:?} column", type_name(value)));
            }
            write_json(value, schema, &mut out)?;
        }
        // A string for a JSON column is JSON text (Debezium's Json type); anything else becomes a JSON string.
        (Value::String(s), ColumnKind::Json) if serde_json::from_str::<serde_json::Value>(s).is_ok() => out.push_str(s),
        (_, ColumnKind::Json) => write_json(value, schema, &mut out)?,
        _ => scalar(value, logical, kind, &mut out)?,
    }
    Ok(Some(out))
}

fn is_temporal(kind: &ColumnKind) -> bool {
    matches!(kind, ColumnKind::Date | ColumnKind::Time | ColumnKind::Timestamp | ColumnKind::TimestampTz)
}

fn type_name(value: &Value) -> &'static str {
    value.schema_type().map_or("null", |t| t.name())
}

/// A scalar value as text: numbers, strings, booleans, bytes and logical types.
fn scalar(value: &Value, logical: Option<Logical>, kind: &ColumnKind, out: &mut String) -> Result<(), RenderError> {
    match value {
        Value::Boolean(b) => out.push_str(match (b, kind.is_numeric()) {
            (true, true) => "1",
            (false, true) => "0",
            (true, false) => "true",
            (false, false) => "false",
        }),
        Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => {
            let n = value.as_i64().unwrap_or_default();
            match logical {
                Some(temporal) if !kind.is_numeric() => temporal_text(n, temporal, out)?,
                _ => {
                    let _ = write!(out, "{n}");
                }
            }
        }
        Value::Float32(f) => float_text(f64::from(*f), &f.to_string(), out),
        Value::Float64(f) => float_text(*f, &f.to_string(), out),
        Value::String(s) => out.push_str(s),
        Value::Bytes(bytes) => match logical {
            Some(Logical::Decimal(scale)) => decimal_text(bytes, scale, out)?,
            _ => {
                out.push_str("\\x");
                for b in bytes {
                    let _ = write!(out, "{b:02x}");
                }
            }
        },
        Value::Struct(_) | Value::Map(_) if logical == Some(Logical::VariableScaleDecimal) => {
            variable_scale_decimal(value, out)?;
        }
        Value::Null | Value::Array(_) | Value::Map(_) | Value::Struct(_) => {
            return Err(format!("a {} cannot be written to a {kind:?} column", type_name(value)))
        }
    }
    Ok(())
}

fn float_text(f: f64, shortest: &str, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        out.push_str(shortest);
    }
}

fn decimal_text(bytes: &[u8], scale: i32, out: &mut String) -> Result<(), RenderError> {
    let unscaled = logical::decimal_unscaled(bytes)
        .ok_or_else(|| format!("decimal of {} bytes is larger than 128 bits", bytes.len()))?;
    out.push_str(&logical::decimal_to_string(unscaled, scale));
    Ok(())
}

fn variable_scale_decimal(value: &Value, out: &mut String) -> Result<(), RenderError> {
    let scale = value.field("scale").and_then(Value::as_i64).unwrap_or(0);
    match value.field("value") {
        Some(Value::Bytes(bytes)) => decimal_text(bytes, i32::try_from(scale).unwrap_or(0), out),
        _ => Err("VariableScaleDecimal without bytes in 'value'".to_owned()),
    }
}

/// A temporal logical value as PostgreSQL input text.
fn temporal_text(n: i64, logical: Logical, out: &mut String) -> Result<(), RenderError> {
    match logical {
        Logical::Date => write_date(n, out),
        Logical::Time(unit) => {
            let per = unit.per_second();
            let secs = n.div_euclid(per);
            let frac = n.rem_euclid(per);
            let _ =
                write!(out, "{:02}:{:02}:{:02}.{frac:0w$}", secs / 3600, secs / 60 % 60, secs % 60, w = unit.digits());
        }
        Logical::Timestamp(unit, utc) => {
            let per = unit.per_second();
            let secs = n.div_euclid(per);
            let frac = n.rem_euclid(per);
            let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
            let bc = write_ymd(days, out);
            let _ = write!(
                out,
                " {:02}:{:02}:{:02}.{frac:0w$}",
                day_secs / 3600,
                day_secs / 60 % 60,
                day_secs % 60,
                w = unit.digits()
            );
            if utc {
                out.push_str("+00");
            }
            if bc {
                out.push_str(" BC");
            }
        }
        Logical::MicroDuration => {
            let _ = write!(out, "{n} microseconds");
        }
        Logical::Decimal(_) | Logical::VariableScaleDecimal => {
            return Err("a decimal must be bytes or a struct, not an integer".to_owned())
        }
    }
    Ok(())
}

fn write_date(days: i64, out: &mut String) {
    if write_ymd(days, out) {
        out.push_str(" BC");
    }
}

/// Writes `YYYY-MM-DD` for days since 1970-01-01; true when the year is BC (then written as such).
fn write_ymd(days: i64, out: &mut String) -> bool {
    let (y, m, d) = aqueduct_sdk::logical::civil_from_days(days);
    let (year, bc) = if y <= 0 { (1 - y, true) } else { (y, false) };
    let _ = write!(out, "{year:04}-{m:02}-{d:02}");
    bc
}

/// A PostgreSQL array literal (`{"a","b",NULL}`) of `items` for elements of `elem`.
fn array_literal(
    items: &[Value],
    schema: Option<&Schema>,
    elem: &ColumnKind,
    out: &mut String,
) -> Result<(), RenderError> {
    out.push('{');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            Value::Null => out.push_str("NULL"),
            Value::Array(inner) if *elem != ColumnKind::Json => {
                array_literal(inner, schema.and_then(|s| s.value_schema.as_deref()), elem, out)?;
            }
            _ => {
                let text = render(item, schema, elem)?.unwrap_or_default();
                out.push('"');
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
    }
    out.push('}');
    Ok(())
}

/// Writes `value` as JSON: the SDK's JSON ([`aqueduct_sdk::json::write_json`], Decimals as
/// numbers, NaN as `"NaN"`), with temporal logical types as PostgreSQL's date/time strings,
/// `io.debezium.data.Json` strings as the JSON they hold and VariableScaleDecimals as numbers.
pub fn write_json(value: &Value, schema: Option<&Schema>, out: &mut String) -> Result<(), RenderError> {
    json::write_json_with(out, schema, value, true, &json_logical)
}

/// The JSON of the logical types PostgreSQL reads differently from Kafka Connect's JSON.
fn json_logical(schema: &Schema, value: &Value, out: &mut String) -> Option<Result<(), RenderError>> {
    let result = match (value, Logical::of(schema)) {
        (
            Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_),
            Some(temporal @ (Logical::Date | Logical::Time(_) | Logical::Timestamp(..) | Logical::MicroDuration)),
        ) => {
            let mut text = String::new();
            temporal_text(value.as_i64().unwrap_or_default(), temporal, &mut text)
                .map(|()| json::push_string(out, &text))
        }
        (Value::Bytes(bytes), Some(Logical::Decimal(scale))) => decimal_text(bytes, scale, out),
        (Value::Struct(_) | Value::Map(_), Some(Logical::VariableScaleDecimal)) => variable_scale_decimal(value, out),
        (Value::String(s), _) if schema.name.as_deref() == Some(super::types::debezium_names::JSON) => {
            out.push_str(s);
            Ok(())
        }
        _ => return None,
    };
    Some(result)
}

#[cfg(test)]
mod tests {
    use aqueduct_sdk::{Schema, SchemaType, Struct};

    use super::*;

    fn text(value: &Value, schema: Option<&Schema>, kind: &ColumnKind) -> String {
        render(value, schema, kind).expect("renders").expect("not null")
    }

    #[test]
    fn renders_logical_types() {
        let date = logical::date().build();
        assert_eq!(text(&Value::Int32(19_723), Some(&date), &ColumnKind::Date), "2024-01-01");
        assert_eq!(text(&Value::Int32(-719_163), Some(&date), &ColumnKind::Date), "0001-12-31 BC");
        let time = logical::time().build();
        assert_eq!(text(&Value::Int32(45_296_789), Some(&time), &ColumnKind::Time), "12:34:56.789");
        let ts = logical::timestamp().build();
        assert_eq!(
            text(&Value::Int64(1_704_067_200_123), Some(&ts), &ColumnKind::TimestampTz),
            "2024-01-01 00:00:00.123+00"
        );
        assert_eq!(text(&Value::Int64(-1), Some(&ts), &ColumnKind::TimestampTz), "1969-12-31 23:59:59.999+00");
        assert_eq!(text(&Value::Int64(5), Some(&ts), &ColumnKind::Int), "5");
        let dec = logical::decimal(2).build();
        assert_eq!(text(&Value::Bytes(logical::decimal_bytes(-12345)), Some(&dec), &ColumnKind::Numeric), "-123.45");
        assert_eq!(text(&Value::Bytes(vec![1, 0xab]), None, &ColumnKind::Bytea), "\\x01ab");
        assert_eq!(text(&Value::Float64(f64::NAN), None, &ColumnKind::Float), "NaN");
        assert_eq!(text(&Value::Float32(0.1), None, &ColumnKind::Float), "0.1");
    }

    #[test]
    fn renders_arrays_and_json() {
        let arr = Value::Array(vec![Value::from("a\"b"), Value::Null, Value::from("c,d")]);
        let kind = ColumnKind::Array(Box::new(ColumnKind::Text));
        assert_eq!(text(&arr, None, &kind), r#"{"a\"b",NULL,"c,d"}"#);
        assert_eq!(text(&arr, None, &ColumnKind::Json), r#"["a\"b",null,"c,d"]"#);
        let schema = Schema::struct_builder()
            .field("n", Schema::int64())
            .field("s", Schema::optional(SchemaType::String))
            .build();
        let s = Struct::new(schema.clone()).put("n", 1i64).expect("field");
        assert_eq!(text(&Value::Struct(s.clone()), Some(&schema), &ColumnKind::Json), r#"{"n":1,"s":null}"#);
        assert!(render(&Value::Struct(s), Some(&schema), &ColumnKind::Int).is_err());
        let map = Value::Map(vec![(Value::Int64(1), Value::from("x"))]);
        assert_eq!(text(&map, None, &ColumnKind::Json), r#"[[1,"x"]]"#);
    }
}
