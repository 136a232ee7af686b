//! A record as the sink loop receives it, from a Kafka consumer or an embedded topic, and its
//! conversion to a [`SinkRecord`].

use aqueduct_sdk::{ConnectError, Header, SinkRecord, TimestampType};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::Message;

use crate::converter::header_error;
use crate::dead_letter::Stage;
use crate::embedded::{EmbeddedRecord, Payload};
use crate::task_context::TaskSetup;

/// A consumed record before conversion.
pub(crate) trait Incoming {
    /// Topic.
    fn topic(&self) -> &str;
    /// Partition.
    fn partition(&self) -> i32;
    /// Offset.
    fn offset(&self) -> i64;
    /// Key bytes.
    fn key(&self) -> Option<&[u8]>;
    /// Value bytes.
    fn payload(&self) -> Option<&[u8]>;
    /// Timestamp and its kind.
    fn timestamp(&self) -> (Option<i64>, TimestampType);
    /// Header keys with their bytes (`None` for null), in order.
    fn headers(&self) -> Vec<(&str, Option<&[u8]>)>;
    /// The record itself, when the transport carries it unconverted.
    fn unconverted(&self) -> Option<SinkRecord> {
        None
    }
}

impl Incoming for BorrowedMessage<'_> {
    fn topic(&self) -> &str {
        Message::topic(self)
    }
    fn partition(&self) -> i32 {
        Message::partition(self)
    }
    fn offset(&self) -> i64 {
        Message::offset(self)
    }
    fn key(&self) -> Option<&[u8]> {
        Message::key(self)
    }
    fn payload(&self) -> Option<&[u8]> {
        Message::payload(self)
    }
    fn timestamp(&self) -> (Option<i64>, TimestampType) {
        match Message::timestamp(self) {
            rdkafka::Timestamp::NotAvailable => (None, TimestampType::NoTimestamp),
            rdkafka::Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
            rdkafka::Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
        }
    }
    fn headers(&self) -> Vec<(&str, Option<&[u8]>)> {
        Message::headers(self).map(|hs| hs.iter().map(|h| (h.key, h.value)).collect()).unwrap_or_default()
    }
}

impl Incoming for EmbeddedRecord {
    fn topic(&self) -> &str {
        &self.topic
    }
    fn partition(&self) -> i32 {
        self.partition
    }
    fn offset(&self) -> i64 {
        self.offset
    }
    fn key(&self) -> Option<&[u8]> {
        match &self.payload {
            Payload::Bytes { key, .. } => key.as_deref(),
            Payload::Data { .. } => None,
        }
    }
    fn payload(&self) -> Option<&[u8]> {
        match &self.payload {
            Payload::Bytes { value, .. } => value.as_deref(),
            Payload::Data { .. } => None,
        }
    }
    fn timestamp(&self) -> (Option<i64>, TimestampType) {
        (Some(self.timestamp), self.timestamp_type())
    }
    fn headers(&self) -> Vec<(&str, Option<&[u8]>)> {
        match &self.payload {
            Payload::Bytes { headers, .. } => headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect(),
            // Carried unconverted: `unconverted` has them.
            Payload::Data { .. } => Vec::new(),
        }
    }
    fn unconverted(&self) -> Option<SinkRecord> {
        let Payload::Data { key_schema, key, value_schema, value, headers } = &self.payload else { return None };
        Some(SinkRecord {
            topic: self.topic.clone(),
            kafka_partition: self.partition,
            kafka_offset: self.offset,
            key_schema: key_schema.clone(),
            key: key.clone(),
            value_schema: value_schema.clone(),
            value: value.clone(),
            timestamp: Some(self.timestamp),
            timestamp_type: self.timestamp_type(),
            headers: headers.clone(),
        })
    }
}

/// Converts a consumed record with the task's converters (or takes it as it is, when its
/// transport carried it unconverted); a failure names the converter stage.
pub(crate) fn convert(
    setup: &TaskSetup,
    message: &dyn Incoming,
) -> std::result::Result<SinkRecord, (Stage, ConnectError)> {
    if let Some(record) = message.unconverted() {
        return Ok(record);
    }
    let topic = message.topic();
    let (key_schema, key) = setup.key_converter.decode(topic, message.key()).map_err(|e| (Stage::KeyConverter, e))?;
    let (value_schema, value) =
        setup.value_converter.decode(topic, message.payload()).map_err(|e| (Stage::ValueConverter, e))?;
    let headers = message
        .headers()
        .into_iter()
        .map(|(key, bytes)| {
            let decoded = setup.header_converter.decode(topic, bytes);
            let (schema, value) = decoded.map_err(|e| (Stage::HeaderConverter, header_error(key, e)))?;
            Ok(Header { key: key.to_owned(), schema, value })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let (timestamp, timestamp_type) = message.timestamp();
    Ok(SinkRecord {
        topic: topic.to_owned(),
        kafka_partition: message.partition(),
        kafka_offset: message.offset(),
        key_schema,
        key,
        value_schema,
        value,
        timestamp,
        timestamp_type,
        headers,
    })
}
