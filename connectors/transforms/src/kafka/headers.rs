//! `DropHeaders` and `InsertHeader`.

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectRecord, Header, Importance, Props, Result, Schema, SchemaRef, SchemaType, Transform,
    Value,
};

use super::util::non_empty_list;

/// `DropHeaders`: removes every header named in `headers`.
#[derive(Debug, Default)]
pub struct DropHeaders {
    headers: Vec<String>,
}

single_descriptor!(DROP_HEADERS, "DropHeaders", DropHeaders, "Removes one or more headers from each record.");

impl Transform for DropHeaders {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define("headers", ConfigType::List, None, Importance::High, "The name of the headers to be removed.")
            .validator(non_empty_list())
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.headers = config.list("headers").unwrap_or_default().to_vec();
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        record.headers.retain(|h| !self.headers.contains(&h.key));
        Ok(Some(record))
    }
}

/// `InsertHeader`: adds a header `header` with `value.literal`, its type inferred as Kafka
/// Connect's `Values.parseString` does for the common cases: `true`/`false` are booleans, an
/// integral number the narrowest of int8..int64, another number a float32 (float64 beyond its
/// range), `null` a null; anything else (including arrays, maps and dates, which Kafka Connect
/// would also parse) a string.
#[derive(Debug)]
pub struct InsertHeader {
    header: String,
    schema: Option<SchemaRef>,
    value: Value,
}

impl Default for InsertHeader {
    fn default() -> Self {
        InsertHeader { header: String::new(), schema: None, value: Value::Null }
    }
}

single_descriptor!(INSERT_HEADER, "InsertHeader", InsertHeader, "Add a header to each record.");

impl Transform for InsertHeader {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define("header", ConfigType::String, None, Importance::High, "The name of the header.").define(
            "value.literal",
            ConfigType::String,
            None,
            Importance::High,
            "The literal value that is to be set as the header value on all records.",
        )
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.header = config.string("header").unwrap_or_default().to_owned();
        let (schema, value) = parse_literal(config.string("value.literal").unwrap_or_default());
        self.schema = schema;
        self.value = value;
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        record.headers.push(Header {
            key: self.header.clone(),
            schema: self.schema.clone(),
            value: self.value.clone(),
        });
        Ok(Some(record))
    }
}

/// A literal typed as Kafka Connect's `Values.parseString` types the common cases.
pub fn parse_literal(text: &str) -> (Option<SchemaRef>, Value) {
    let typed = |t: SchemaType, v: Value| (Some(Schema::primitive(t)), v);
    match text {
        "true" => return typed(SchemaType::Boolean, Value::Boolean(true)),
        "false" => return typed(SchemaType::Boolean, Value::Boolean(false)),
        "null" => return (None, Value::Null),
        _ => {}
    }
    let numeric = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
        && text.chars().any(|c| c.is_ascii_digit());
    if let (true, Ok(number)) = (numeric, text.parse::<f64>()) {
        if let Ok(i) = text.parse::<i64>().or_else(|_| integral(number).ok_or(())) {
            return if let Ok(v) = i8::try_from(i) {
                typed(SchemaType::Int8, Value::Int8(v))
            } else if let Ok(v) = i16::try_from(i) {
                typed(SchemaType::Int16, Value::Int16(v))
            } else if let Ok(v) = i32::try_from(i) {
                typed(SchemaType::Int32, Value::Int32(v))
            } else {
                typed(SchemaType::Int64, Value::Int64(i))
            };
        }
        if number.is_finite() && number.abs() <= f64::from(f32::MAX) {
            return typed(SchemaType::Float32, Value::Float32(number as f32));
        }
        return typed(SchemaType::Float64, Value::Float64(number));
    }
    typed(SchemaType::String, Value::String(text.to_owned()))
}

/// The integer a float holds exactly, if any and within i64.
fn integral(number: f64) -> Option<i64> {
    (number.fract() == 0.0 && number.abs() < 9.2e18).then_some(number as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::util::test_support::props;

    fn header(k: &str, v: i32) -> Header {
        Header { key: k.into(), schema: None, value: Value::Int32(v) }
    }

    #[test]
    fn drop_headers_removes_every_named_header() {
        let mut t = (DROP_HEADERS.factory)();
        t.configure(&props(&[("headers", "a, b")])).expect("valid");
        let mut r = ConnectRecord::new("t", Value::Null);
        r.headers = vec![header("a", 1), header("c", 2), header("b", 3), header("a", 4)];
        let out = t.apply(r).expect("applies").expect("kept");
        assert_eq!(out.headers, vec![header("c", 2)]);
        let e = (DROP_HEADERS.factory)().configure(&props(&[("headers", "")])).expect_err("empty");
        assert_eq!(e.message(), "Invalid value  for configuration headers: Empty list");
    }

    #[test]
    fn insert_header_appends_a_typed_literal() {
        let mut t = (INSERT_HEADER.factory)();
        t.configure(&props(&[("header", "h"), ("value.literal", "300")])).expect("valid");
        let mut r = ConnectRecord::new("t", Value::Null);
        r.headers = vec![header("h", 1)];
        let out = t.apply(r).expect("applies").expect("kept");
        assert_eq!(out.headers.len(), 2, "added, not replaced");
        assert_eq!(out.headers[1].value, Value::Int16(300));
        assert_eq!(out.headers[1].schema.as_ref().map(|s| s.schema_type), Some(SchemaType::Int16));
        assert!((INSERT_HEADER.factory)().configure(&props(&[("header", "h")])).is_err());
    }

    #[test]
    fn literals_are_typed_as_values_parse_string() {
        assert_eq!(parse_literal("true").1, Value::Boolean(true));
        assert_eq!(parse_literal("FALSE").1, Value::String("FALSE".into()));
        assert_eq!(parse_literal("1").1, Value::Int8(1));
        assert_eq!(parse_literal("-7").1, Value::Int8(-7));
        assert_eq!(parse_literal("70000").1, Value::Int32(70000));
        assert_eq!(parse_literal("5000000000").1, Value::Int64(5_000_000_000));
        assert_eq!(parse_literal("1e3").1, Value::Int16(1000));
        assert_eq!(parse_literal("1.0").1, Value::Int8(1));
        assert_eq!(parse_literal("1.5").1, Value::Float32(1.5));
        assert_eq!(parse_literal("3.4028235E39").1, Value::Float64(3.4028235E39));
        assert_eq!(parse_literal("NaN").1, Value::String("NaN".into()));
        assert_eq!(parse_literal("abc").1, Value::String("abc".into()));
        assert_eq!(parse_literal(""), (Some(Schema::string()), Value::String(String::new())));
        assert_eq!(parse_literal("null"), (None, Value::Null));
    }
}
