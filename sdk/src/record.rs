//! Records: what source tasks produce and sink tasks consume.

use std::collections::BTreeMap;
use std::fmt;

use crate::schema::SchemaRef;
use crate::Value;

/// A source partition or a source offset: a small JSON object, stored as JSON in the offset store.
pub type OffsetMap = serde_json::Map<String, serde_json::Value>;

/// Builds an [`OffsetMap`] from pairs: `offset_map([("file", json!("/tmp/x"))])`.
pub fn offset_map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, serde_json::Value)>) -> OffsetMap {
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

/// A record header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Header key.
    pub key: String,
    /// Schema of the value, when known.
    pub schema: Option<SchemaRef>,
    /// Header value.
    pub value: Value,
}

/// A topic and partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition { topic: topic.into(), partition }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Offsets per topic partition: for sink tasks, the offset of the *next* record to consume.
pub type TopicPartitionOffsets = BTreeMap<TopicPartition, i64>;

/// A record read from an external system by a [`SourceTask`](crate::SourceTask).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// Where in the source this record comes from (e.g. `{"filename": "/x"}`).
    pub source_partition: OffsetMap,
    /// The position of this record within its source partition (e.g. `{"position": 42}`).
    pub source_offset: OffsetMap,
    /// The Kafka topic to write to.
    pub topic: String,
    /// The Kafka partition, or `None` to let the producer's partitioner choose.
    pub kafka_partition: Option<i32>,
    /// Schema of the key, when known.
    pub key_schema: Option<SchemaRef>,
    /// The key; [`Value::Null`] for none.
    pub key: Value,
    /// Schema of the value, when known.
    pub value_schema: Option<SchemaRef>,
    /// The value; [`Value::Null`] is a tombstone.
    pub value: Value,
    /// Timestamp in milliseconds since the epoch; `None` lets the producer set it.
    pub timestamp: Option<i64>,
    /// Headers.
    pub headers: Vec<Header>,
}

impl SourceRecord {
    /// A record with a value and no key, schema, partition, timestamp or headers.
    pub fn new(source_partition: OffsetMap, source_offset: OffsetMap, topic: impl Into<String>, value: Value) -> Self {
        SourceRecord {
            source_partition,
            source_offset,
            topic: topic.into(),
            kafka_partition: None,
            key_schema: None,
            key: Value::Null,
            value_schema: None,
            value,
            timestamp: None,
            headers: Vec::new(),
        }
    }
    /// Sets the key and its schema.
    pub fn with_key(mut self, schema: Option<SchemaRef>, key: Value) -> Self {
        self.key_schema = schema;
        self.key = key;
        self
    }
    /// Sets the value schema.
    pub fn with_value_schema(mut self, schema: SchemaRef) -> Self {
        self.value_schema = Some(schema);
        self
    }
    /// Sets the timestamp.
    pub fn with_timestamp(mut self, millis: i64) -> Self {
        self.timestamp = Some(millis);
        self
    }
}

/// What Kafka said about a record it acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// Topic written.
    pub topic: String,
    /// Partition written.
    pub partition: i32,
    /// Offset assigned.
    pub offset: i64,
}

/// How a sink record's timestamp was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// No timestamp.
    NoTimestamp,
    /// Set by the producer.
    CreateTime,
    /// Set by the broker.
    LogAppendTime,
}

/// A record consumed from Kafka, given to a [`SinkTask`](crate::SinkTask).
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    /// Topic read.
    pub topic: String,
    /// Partition read.
    pub kafka_partition: i32,
    /// Offset of the record in its partition.
    pub kafka_offset: i64,
    /// Schema of the key, when the converter knows one.
    pub key_schema: Option<SchemaRef>,
    /// The key; [`Value::Null`] for none.
    pub key: Value,
    /// Schema of the value, when the converter knows one.
    pub value_schema: Option<SchemaRef>,
    /// The value; [`Value::Null`] for a tombstone.
    pub value: Value,
    /// Timestamp in milliseconds since the epoch.
    pub timestamp: Option<i64>,
    /// How the timestamp was set.
    pub timestamp_type: TimestampType,
    /// Headers.
    pub headers: Vec<Header>,
}

impl SinkRecord {
    /// A record of `topic`/`partition` at `offset` with a value (and its schema, if known), no
    /// key, a create-time timestamp of 0 and no headers.
    pub fn new(
        topic: impl Into<String>,
        partition: i32,
        offset: i64,
        value_schema: Option<SchemaRef>,
        value: Value,
    ) -> Self {
        SinkRecord {
            topic: topic.into(),
            kafka_partition: partition,
            kafka_offset: offset,
            key_schema: None,
            key: Value::Null,
            value_schema,
            value,
            timestamp: Some(0),
            timestamp_type: TimestampType::CreateTime,
            headers: Vec::new(),
        }
    }
    /// Sets the key and its schema.
    pub fn with_key(mut self, schema: Option<SchemaRef>, key: Value) -> Self {
        self.key_schema = schema;
        self.key = key;
        self
    }
    /// Sets the timestamp.
    pub fn with_timestamp(mut self, millis: i64) -> Self {
        self.timestamp = Some(millis);
        self
    }
    /// The topic partition this record was read from.
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(self.topic.clone(), self.kafka_partition)
    }
}
