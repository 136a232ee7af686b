//! Converters: between the SDK's data model and the bytes in Kafka (JSON, String, ByteArray).

mod bytes;
pub mod json;
mod string;

use aqueduct_sdk::{ConnectError, Props, Result, SchemaRef, Value};

pub use self::bytes::ByteArrayConverter;
pub use self::json::JsonConverter;
pub use self::string::StringConverter;

/// Serializes keys or values for Kafka and back, like Kafka Connect's `Converter`.
pub trait Converter: Send + Sync {
    /// Connect data to bytes; `None` for a null value.
    fn encode(&self, topic: &str, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>>;
    /// Bytes (or null) to Connect data.
    fn decode(&self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)>;
    /// Kafka Connect's class name for it (in dead-letter headers).
    fn class(&self) -> &'static str;
}

/// Every converter name accepted in `key.converter`/`value.converter`, short name first.
pub const CONVERTERS: &[(&str, &[&str])] = &[
    ("JsonConverter", &["org.apache.kafka.connect.json.JsonConverter", "json"]),
    ("StringConverter", &["org.apache.kafka.connect.storage.StringConverter", "string"]),
    ("ByteArrayConverter", &["org.apache.kafka.connect.converters.ByteArrayConverter", "bytes"]),
];

/// Builds the converter named `class` with its own settings `props` (the keys after the
/// `key.converter.` / `value.converter.` prefix). `is_key` selects key or value defaults.
pub fn build(class: &str, props: &Props) -> Result<Box<dyn Converter>> {
    let short = CONVERTERS
        .iter()
        .find(|(short, aliases)| *short == class || aliases.contains(&class))
        .map(|(short, _)| *short)
        .ok_or_else(|| {
            let known: Vec<&str> =
                CONVERTERS.iter().flat_map(|(s, a)| std::iter::once(*s).chain(a.iter().copied())).collect();
            ConnectError::config(format!("Unknown converter class '{class}'; available: {}", known.join(", ")))
        })?;
    Ok(match short {
        "JsonConverter" => Box::new(JsonConverter::from_props(props)?),
        "StringConverter" => Box::new(StringConverter),
        _ => Box::new(ByteArrayConverter),
    })
}
