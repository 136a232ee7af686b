//! `StringConverter`: UTF-8 text.

use aqueduct_sdk::{ConnectError, Result, Schema, SchemaRef, SchemaType, Value};

use super::json::to_json_text;
use super::Converter;

/// Writes strings as UTF-8 (other values as their JSON text); reads everything as an optional string.
pub struct StringConverter;

impl Converter for StringConverter {
    fn class(&self) -> &'static str {
        "org.apache.kafka.connect.storage.StringConverter"
    }

    fn encode(&self, _topic: &str, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        Ok(match value {
            Value::Null => None,
            Value::String(s) => Some(s.as_bytes().to_vec()),
            other => Some(to_json_text(schema.map(|s| &**s), other, false).into_bytes()),
        })
    }

    fn decode(&self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        let value = match bytes {
            None => Value::Null,
            Some(b) => Value::String(
                String::from_utf8(b.to_vec())
                    .map_err(|e| ConnectError::data(format!("record on topic {topic} is not UTF-8")).with_source(e))?,
            ),
        };
        Ok((Some(Schema::optional(SchemaType::String)), value))
    }
}
