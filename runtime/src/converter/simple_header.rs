//! `SimpleHeaderConverter`, Kafka Connect's default `header.converter`: a header value is
//! written as its text ([`values::convert_to_string`]) and read back with its type inferred
//! from that text ([`values::parse_string`]), so `5` comes back as an `int8` and `true` as a
//! boolean, as in Kafka Connect.

use aqueduct_sdk::values;
use aqueduct_sdk::{Result, Schema, SchemaRef, SchemaType, Value};
use tracing::warn;

use super::Converter;

/// Header values as text, their types inferred when read.
pub struct SimpleHeaderConverter;

impl Converter for SimpleHeaderConverter {
    fn class(&self) -> &'static str {
        "org.apache.kafka.connect.storage.SimpleHeaderConverter"
    }

    fn encode(&self, _topic: &str, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        Ok(values::convert_to_string(schema, value).map(String::into_bytes))
    }

    /// Empty text is an empty string; bytes that are not UTF-8 stay bytes (where Kafka
    /// Connect's decoding would replace them with U+FFFD), so nothing is lost, and so does text
    /// that cannot be parsed (nested too deep), logged, as Kafka Connect keeps it.
    fn decode(&self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        let Some(bytes) = bytes else { return Ok((None, Value::Null)) };
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Ok((Some(Schema::primitive(SchemaType::Bytes)), Value::Bytes(bytes.to_vec())));
        };
        if text.is_empty() {
            return Ok((Some(Schema::string()), Value::String(String::new())));
        }
        Ok(values::parse_string(text).unwrap_or_else(|e| {
            warn!(topic, error = %e, "Failed to deserialize a header value, so using byte array");
            (Some(Schema::primitive(SchemaType::Bytes)), Value::Bytes(bytes.to_vec()))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &[u8]) -> (Option<SchemaType>, Value) {
        let (schema, value) = SimpleHeaderConverter.decode("t", Some(text)).expect("decodes");
        (schema.map(|s| s.schema_type), value)
    }

    #[test]
    fn values_go_out_as_text_and_come_back_typed() {
        let encoded = |v: Value| SimpleHeaderConverter.encode("t", None, &v).expect("encodes");
        assert_eq!(encoded(Value::Int32(5)), Some(b"5".to_vec()));
        assert_eq!(encoded(Value::from("plain text")), Some(b"plain text".to_vec()));
        assert_eq!(encoded(Value::Null), None);
        assert_eq!(decoded(b"5"), (Some(SchemaType::Int8), Value::Int8(5)));
        assert_eq!(decoded(b"true"), (Some(SchemaType::Boolean), Value::Boolean(true)));
        assert_eq!(decoded(b"plain text"), (Some(SchemaType::String), Value::from("plain text")));
        assert_eq!(decoded(b""), (Some(SchemaType::String), Value::from("")));
        assert_eq!(decoded(&[0xff, 0x00]), (Some(SchemaType::Bytes), Value::Bytes(vec![0xff, 0x00])));
        assert_eq!(SimpleHeaderConverter.decode("t", None).expect("null"), (None, Value::Null));
        let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
        assert_eq!(decoded(deep.as_bytes()), (Some(SchemaType::Bytes), Value::Bytes(deep.into_bytes())));
    }
}
