//! `DropHeaders` and `InsertHeader`.

use aqueduct_sdk::values::parse_string;
use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectRecord, Header, Importance, Props, Result, SchemaRef, Transform, Value,
};

use super::util::{invalid, non_empty_list};

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

/// `InsertHeader`: adds a header `header` with `value.literal`, its schema and value inferred by
/// [`parse_string`] (Kafka Connect's `Values.parseString`): `true` is a boolean, `300` an int16,
/// `1.5` a float32, `[1,2]` an array of int8, `2019-08-23` a Date, `null` a null, `abc` a string.
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
        let literal = config.string("value.literal").unwrap_or_default();
        let (schema, value) = parse_string(literal).map_err(|e| invalid("value.literal", literal, e.message()))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::util::test_support::props;
    use aqueduct_sdk::{logical, Schema, SchemaType};

    /// The value `InsertHeader` sets for a `value.literal`.
    fn parse_literal(text: &str) -> (Option<SchemaRef>, Value) {
        let mut t = (INSERT_HEADER.factory)();
        t.configure(&props(&[("header", "h"), ("value.literal", text)])).expect("valid");
        let out = t.apply(ConnectRecord::new("t", Value::Null)).expect("applies").expect("kept");
        let header = out.headers.into_iter().next().expect("one header");
        (header.schema, header.value)
    }

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
        // What the old approximation left as strings, Kafka Connect parses.
        assert_eq!(parse_literal("[1, 2]").1, Value::Array(vec![Value::Int8(1), Value::Int8(2)]));
        assert_eq!(parse_literal("2019-08-23"), (Some(logical::date().build()), Value::Int32(18_131)));
        assert_eq!(parse_literal("[1, null]").1, Value::String("[1, null]".into()));
    }

    #[test]
    fn insert_header_rejects_a_literal_nested_too_deep() {
        let deep = "[".repeat(300);
        let e = (INSERT_HEADER.factory)()
            .configure(&props(&[("header", "h"), ("value.literal", &deep)]))
            .expect_err("too deep");
        assert_eq!(e.kind(), aqueduct_sdk::ErrorKind::Config);
        assert!(
            e.message().starts_with("Invalid value [[[") && e.message().contains("for configuration value.literal: "),
            "{}",
            e.message()
        );
    }
}
