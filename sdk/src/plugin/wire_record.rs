//! The wire form of what transforms, predicates and converters exchange: a [`ConnectRecord`],
//! and the bytes of a converted key or value.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{headers_in, headers_out, schema_in, schema_out, WireHeader, WireSchema, WireValue};
use crate::transform::ConnectRecord;
use crate::value::Value;
use crate::ConnectError;

/// A [`ConnectRecord`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct WireConnectRecord {
    pub topic: String,
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<WireSchema>,
    pub key: WireValue,
    pub value_schema: Option<WireSchema>,
    pub value: WireValue,
    pub timestamp: Option<i64>,
    pub headers: Vec<WireHeader>,
}

impl From<&ConnectRecord> for WireConnectRecord {
    fn from(r: &ConnectRecord) -> Self {
        WireConnectRecord {
            topic: r.topic.clone(),
            kafka_partition: r.kafka_partition,
            key_schema: schema_out(r.key_schema.as_ref()),
            key: WireValue::from(&r.key),
            value_schema: schema_out(r.value_schema.as_ref()),
            value: WireValue::from(&r.value),
            timestamp: r.timestamp,
            headers: headers_out(&r.headers),
        }
    }
}

impl TryFrom<WireConnectRecord> for ConnectRecord {
    type Error = ConnectError;
    fn try_from(r: WireConnectRecord) -> Result<Self, ConnectError> {
        Ok(ConnectRecord {
            topic: r.topic,
            kafka_partition: r.kafka_partition,
            key_schema: schema_in(r.key_schema)?,
            key: Value::try_from(r.key)?,
            value_schema: schema_in(r.value_schema)?,
            value: Value::try_from(r.value)?,
            timestamp: r.timestamp,
            headers: headers_in(r.headers)?,
        })
    }
}

/// Bytes out, as base64 (standard alphabet, padded).
pub fn bytes_out(bytes: Option<&[u8]>) -> Option<String> {
    bytes.map(|b| base64::engine::general_purpose::STANDARD.encode(b))
}

/// Bytes in, from base64.
pub fn bytes_in(bytes: Option<String>) -> Result<Option<Vec<u8>>, ConnectError> {
    bytes
        .map(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| ConnectError::fatal(format!("plugin wire: bytes: {e}")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Header, Schema};

    #[test]
    fn a_connect_record_and_bytes_round_trip() {
        let mut record = ConnectRecord::new("t", Value::from("v")).with_key(Some(Schema::string()), Value::from("k"));
        record.kafka_partition = Some(3);
        record.timestamp = Some(9);
        record.headers.push(Header { key: "h".into(), schema: None, value: Value::Int32(1) });
        let text = serde_json::to_string(&WireConnectRecord::from(&record)).expect("serializes");
        let wire: WireConnectRecord = serde_json::from_str(&text).expect("parses");
        assert_eq!(ConnectRecord::try_from(wire).expect("converts"), record);
        let bytes = [0u8, 255, 10];
        assert_eq!(bytes_in(bytes_out(Some(&bytes))).expect("decodes"), Some(bytes.to_vec()));
        assert_eq!(bytes_in(bytes_out(None)).expect("decodes"), None);
        assert!(bytes_in(Some("not base64!".into())).is_err());
    }
}
