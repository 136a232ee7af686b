//! `ByteArrayConverter`: raw bytes, unchanged.

use aqueduct_sdk::{ConnectError, Result, Schema, SchemaRef, SchemaType, Value};

use super::Converter;

/// Passes bytes through; only `bytes` values (or null) can be written.
pub struct ByteArrayConverter;

impl Converter for ByteArrayConverter {
    fn class(&self) -> &'static str {
        "org.apache.kafka.connect.converters.ByteArrayConverter"
    }

    fn encode(&self, topic: &str, _schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        match value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            Value::String(s) => Ok(Some(s.as_bytes().to_vec())),
            other => Err(ConnectError::data(format!(
                "ByteArrayConverter for topic {topic} needs bytes, got {}",
                other.schema_type().map_or("null", |t| t.name())
            ))),
        }
    }

    fn decode(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        let value = bytes.map_or(Value::Null, |b| Value::Bytes(b.to_vec()));
        Ok((Some(Schema::optional(SchemaType::Bytes)), value))
    }
}
