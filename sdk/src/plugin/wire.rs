//! The wire form of the data model: what crosses the plugin boundary, as JSON.
//!
//! The public types keep no serde derives (their representation is theirs to change); these
//! mirror structs are the contract, converted with `From`/[`TryFrom`] both ways. Floats travel
//! as their IEEE bits (JSON has no NaN or infinities) and bytes as base64, so every [`Value`]
//! round-trips exactly. A struct value carries its schema, so each side rebuilds shared
//! [`SchemaRef`]s of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigDef, ConfigType, Importance, KeyValidation, Validator};
use crate::record::{Header, OffsetMap, RecordMetadata, SinkRecord, SourceRecord, TimestampType, TopicPartition};
use crate::schema::{Field, Schema, SchemaRef, SchemaType};
use crate::value::{Struct, Value};
use crate::{ConnectError, ErrorKind, TopicPartitionOffsets};

/// A [`Value`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum WireValue {
    Null,
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    /// The IEEE 754 bits.
    Float32(u32),
    /// The IEEE 754 bits.
    Float64(u64),
    String(String),
    /// Base64 (standard alphabet, padded).
    Bytes(String),
    Array(Vec<WireValue>),
    Map(Vec<(WireValue, WireValue)>),
    /// The struct's schema and its values in field order.
    Struct(Box<WireSchema>, Vec<WireValue>),
}

/// A [`Schema`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct WireSchema {
    /// [`SchemaType::name`].
    pub ty: String,
    pub optional: bool,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    pub default: Option<WireValue>,
    pub parameters: BTreeMap<String, String>,
    pub fields: Vec<(String, WireSchema)>,
    pub key_schema: Option<Box<WireSchema>>,
    pub value_schema: Option<Box<WireSchema>>,
}

fn bad(what: &str) -> ConnectError {
    ConnectError::fatal(format!("plugin wire: {what}"))
}

impl From<&Value> for WireValue {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => WireValue::Null,
            Value::Boolean(b) => WireValue::Boolean(*b),
            Value::Int8(i) => WireValue::Int8(*i),
            Value::Int16(i) => WireValue::Int16(*i),
            Value::Int32(i) => WireValue::Int32(*i),
            Value::Int64(i) => WireValue::Int64(*i),
            Value::Float32(f) => WireValue::Float32(f.to_bits()),
            Value::Float64(f) => WireValue::Float64(f.to_bits()),
            Value::String(s) => WireValue::String(s.clone()),
            Value::Bytes(b) => WireValue::Bytes(base64::engine::general_purpose::STANDARD.encode(b)),
            Value::Array(items) => WireValue::Array(items.iter().map(WireValue::from).collect()),
            Value::Map(entries) => {
                WireValue::Map(entries.iter().map(|(k, v)| (WireValue::from(k), WireValue::from(v))).collect())
            }
            Value::Struct(s) => WireValue::Struct(
                Box::new(WireSchema::from(s.schema().as_ref())),
                s.values().iter().map(WireValue::from).collect(),
            ),
        }
    }
}

impl TryFrom<WireValue> for Value {
    type Error = ConnectError;
    fn try_from(v: WireValue) -> Result<Self, ConnectError> {
        Ok(match v {
            WireValue::Null => Value::Null,
            WireValue::Boolean(b) => Value::Boolean(b),
            WireValue::Int8(i) => Value::Int8(i),
            WireValue::Int16(i) => Value::Int16(i),
            WireValue::Int32(i) => Value::Int32(i),
            WireValue::Int64(i) => Value::Int64(i),
            WireValue::Float32(bits) => Value::Float32(f32::from_bits(bits)),
            WireValue::Float64(bits) => Value::Float64(f64::from_bits(bits)),
            WireValue::String(s) => Value::String(s),
            WireValue::Bytes(b) => Value::Bytes(
                base64::engine::general_purpose::STANDARD.decode(b).map_err(|e| bad(&format!("bytes: {e}")))?,
            ),
            WireValue::Array(items) => Value::Array(items.into_iter().map(Value::try_from).collect::<Result<_, _>>()?),
            WireValue::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| Ok((Value::try_from(k)?, Value::try_from(v)?)))
                    .collect::<Result<_, ConnectError>>()?,
            ),
            WireValue::Struct(schema, values) => {
                let schema = SchemaRef::try_from(*schema)?;
                let values = values.into_iter().map(Value::try_from).collect::<Result<_, _>>()?;
                Value::Struct(Struct::from_values(schema, values)?)
            }
        })
    }
}

impl From<&Schema> for WireSchema {
    fn from(s: &Schema) -> Self {
        WireSchema {
            ty: s.schema_type.name().to_owned(),
            optional: s.optional,
            name: s.name.clone(),
            version: s.version,
            doc: s.doc.clone(),
            default: s.default.as_ref().map(WireValue::from),
            parameters: s.parameters.clone(),
            fields: s.fields.iter().map(|f| (f.name.clone(), WireSchema::from(f.schema.as_ref()))).collect(),
            key_schema: s.key_schema.as_deref().map(|k| Box::new(WireSchema::from(k))),
            value_schema: s.value_schema.as_deref().map(|v| Box::new(WireSchema::from(v))),
        }
    }
}

impl TryFrom<WireSchema> for SchemaRef {
    type Error = ConnectError;
    fn try_from(s: WireSchema) -> Result<Self, ConnectError> {
        let schema_type = SchemaType::from_name(&s.ty).ok_or_else(|| bad(&format!("schema type {}", s.ty)))?;
        let fields = s
            .fields
            .into_iter()
            .map(|(name, schema)| Ok(Field { name, schema: SchemaRef::try_from(schema)? }))
            .collect::<Result<_, ConnectError>>()?;
        Ok(Arc::new(Schema {
            schema_type,
            optional: s.optional,
            name: s.name,
            version: s.version,
            doc: s.doc,
            default: s.default.map(Value::try_from).transpose()?,
            parameters: s.parameters,
            fields,
            key_schema: s.key_schema.map(|k| SchemaRef::try_from(*k)).transpose()?,
            value_schema: s.value_schema.map(|v| SchemaRef::try_from(*v)).transpose()?,
        }))
    }
}

/// A schema out (none stays none).
pub fn schema_out(s: Option<&SchemaRef>) -> Option<WireSchema> {
    s.map(|s| WireSchema::from(s.as_ref()))
}

/// A schema in (none stays none).
pub fn schema_in(s: Option<WireSchema>) -> Result<Option<SchemaRef>, ConnectError> {
    s.map(SchemaRef::try_from).transpose()
}

/// A [`Header`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct WireHeader {
    pub key: String,
    pub schema: Option<WireSchema>,
    pub value: WireValue,
}

fn headers_out(headers: &[Header]) -> Vec<WireHeader> {
    headers
        .iter()
        .map(|h| WireHeader {
            key: h.key.clone(),
            schema: schema_out(h.schema.as_ref()),
            value: WireValue::from(&h.value),
        })
        .collect()
}

fn headers_in(headers: Vec<WireHeader>) -> Result<Vec<Header>, ConnectError> {
    headers
        .into_iter()
        .map(|h| Ok(Header { key: h.key, schema: schema_in(h.schema)?, value: Value::try_from(h.value)? }))
        .collect()
}

/// A [`SourceRecord`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct WireSourceRecord {
    pub source_partition: OffsetMap,
    pub source_offset: OffsetMap,
    pub topic: String,
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<WireSchema>,
    pub key: WireValue,
    pub value_schema: Option<WireSchema>,
    pub value: WireValue,
    pub timestamp: Option<i64>,
    pub headers: Vec<WireHeader>,
}

impl From<&SourceRecord> for WireSourceRecord {
    fn from(r: &SourceRecord) -> Self {
        WireSourceRecord {
            source_partition: r.source_partition.clone(),
            source_offset: r.source_offset.clone(),
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

impl TryFrom<WireSourceRecord> for SourceRecord {
    type Error = ConnectError;
    fn try_from(r: WireSourceRecord) -> Result<Self, ConnectError> {
        Ok(SourceRecord {
            source_partition: r.source_partition,
            source_offset: r.source_offset,
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

/// A [`SinkRecord`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct WireSinkRecord {
    pub topic: String,
    pub kafka_partition: i32,
    pub kafka_offset: i64,
    pub key_schema: Option<WireSchema>,
    pub key: WireValue,
    pub value_schema: Option<WireSchema>,
    pub value: WireValue,
    pub timestamp: Option<i64>,
    /// `none`, `create` or `log_append`.
    pub timestamp_type: String,
    pub headers: Vec<WireHeader>,
}

impl From<&SinkRecord> for WireSinkRecord {
    fn from(r: &SinkRecord) -> Self {
        WireSinkRecord {
            topic: r.topic.clone(),
            kafka_partition: r.kafka_partition,
            kafka_offset: r.kafka_offset,
            key_schema: schema_out(r.key_schema.as_ref()),
            key: WireValue::from(&r.key),
            value_schema: schema_out(r.value_schema.as_ref()),
            value: WireValue::from(&r.value),
            timestamp: r.timestamp,
            timestamp_type: match r.timestamp_type {
                TimestampType::NoTimestamp => "none",
                TimestampType::CreateTime => "create",
                TimestampType::LogAppendTime => "log_append",
            }
            .to_owned(),
            headers: headers_out(&r.headers),
        }
    }
}

impl TryFrom<WireSinkRecord> for SinkRecord {
    type Error = ConnectError;
    fn try_from(r: WireSinkRecord) -> Result<Self, ConnectError> {
        Ok(SinkRecord {
            topic: r.topic,
            kafka_partition: r.kafka_partition,
            kafka_offset: r.kafka_offset,
            key_schema: schema_in(r.key_schema)?,
            key: Value::try_from(r.key)?,
            value_schema: schema_in(r.value_schema)?,
            value: Value::try_from(r.value)?,
            timestamp: r.timestamp,
            timestamp_type: match r.timestamp_type.as_str() {
                "create" => TimestampType::CreateTime,
                "log_append" => TimestampType::LogAppendTime,
                _ => TimestampType::NoTimestamp,
            },
            headers: headers_in(r.headers)?,
        })
    }
}

/// A [`TopicPartition`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct WireTopicPartition {
    pub topic: String,
    pub partition: i32,
}

/// Topic partitions out.
pub fn partitions_out(partitions: &[TopicPartition]) -> Vec<WireTopicPartition> {
    partitions.iter().map(|tp| WireTopicPartition { topic: tp.topic.clone(), partition: tp.partition }).collect()
}

/// Topic partitions in.
pub fn partitions_in(partitions: Vec<WireTopicPartition>) -> Vec<TopicPartition> {
    partitions.into_iter().map(|tp| TopicPartition::new(tp.topic, tp.partition)).collect()
}

/// Offsets per partition out.
pub fn offsets_out(offsets: &TopicPartitionOffsets) -> Vec<(WireTopicPartition, i64)> {
    offsets
        .iter()
        .map(|(tp, o)| (WireTopicPartition { topic: tp.topic.clone(), partition: tp.partition }, *o))
        .collect()
}

/// Offsets per partition in.
pub fn offsets_in(offsets: Vec<(WireTopicPartition, i64)>) -> TopicPartitionOffsets {
    offsets.into_iter().map(|(tp, o)| (TopicPartition::new(tp.topic, tp.partition), o)).collect()
}

/// A [`RecordMetadata`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct WireRecordMetadata {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl From<&RecordMetadata> for WireRecordMetadata {
    fn from(m: &RecordMetadata) -> Self {
        WireRecordMetadata { topic: m.topic.clone(), partition: m.partition, offset: m.offset }
    }
}

impl From<WireRecordMetadata> for RecordMetadata {
    fn from(m: WireRecordMetadata) -> Self {
        RecordMetadata { topic: m.topic, partition: m.partition, offset: m.offset }
    }
}

/// A [`ConnectError`] on the wire: its kind, message and the causes' messages, outermost first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    /// [`ErrorKind::code`].
    pub kind: String,
    /// [`ConnectError::message`].
    pub message: String,
    /// The messages of the causes, outermost first.
    pub causes: Vec<String>,
}

impl From<&ConnectError> for WireError {
    fn from(e: &ConnectError) -> Self {
        let mut causes = Vec::new();
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            causes.push(c.to_string());
            cause = c.source();
        }
        WireError { kind: e.kind().code().to_owned(), message: e.message().to_owned(), causes }
    }
}

/// A cause rebuilt from its message.
#[derive(Debug)]
struct Cause {
    message: String,
    source: Option<Box<Cause>>,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl From<WireError> for ConnectError {
    fn from(e: WireError) -> Self {
        let kind = match e.kind.as_str() {
            "retriable" => ErrorKind::Retriable,
            "data" => ErrorKind::Data,
            "config" => ErrorKind::Config,
            _ => ErrorKind::Fatal,
        };
        // A cause's Display includes its own causes (`a: b`); keep only its own part.
        let mut chain: Option<Box<Cause>> = None;
        let mut inner = String::new();
        for full in e.causes.iter().rev() {
            let own = match full.strip_suffix(&inner) {
                Some(rest) if !inner.is_empty() => rest.strip_suffix(": ").unwrap_or(rest).to_owned(),
                _ => full.clone(),
            };
            chain = Some(Box::new(Cause { message: own, source: chain }));
            inner = full.clone();
        }
        let error = ConnectError::new(kind, e.message);
        match chain {
            Some(cause) => error.with_source(*cause),
            None => error,
        }
    }
}

/// A [`ConfigKey`](crate::ConfigKey) on the wire. A [`Validator::Custom`] does not cross (it is a function of
/// the plugin): the host shows the key without it, and the plugin still applies it in
/// `validate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct WireConfigKey {
    pub name: String,
    /// [`ConfigType::name`].
    pub ty: String,
    pub default: Option<String>,
    /// [`Importance::name`].
    pub importance: String,
    pub documentation: String,
    pub group: Option<String>,
    pub validator: Option<WireValidator>,
}

/// A [`Validator`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum WireValidator {
    Range { min: Option<f64>, max: Option<f64> },
    OneOf(Vec<String>),
    NonEmpty,
}

/// A config definition out.
pub fn config_def_out(def: &ConfigDef) -> Vec<WireConfigKey> {
    def.keys()
        .iter()
        .map(|k| WireConfigKey {
            name: k.name.clone(),
            ty: k.ty.name().to_owned(),
            default: k.default.clone(),
            importance: k.importance.name().to_owned(),
            documentation: k.documentation.clone(),
            group: k.group.clone(),
            validator: match &k.validator {
                Some(Validator::Range { min, max }) => Some(WireValidator::Range { min: *min, max: *max }),
                Some(Validator::OneOf(values)) => Some(WireValidator::OneOf(values.clone())),
                Some(Validator::NonEmpty) => Some(WireValidator::NonEmpty),
                Some(Validator::Custom(_)) | None => None,
            },
        })
        .collect()
}

/// A config definition in.
pub fn config_def_in(keys: Vec<WireConfigKey>) -> ConfigDef {
    let mut def = ConfigDef::new();
    for k in keys {
        let ty = match k.ty.as_str() {
            "BOOLEAN" => ConfigType::Boolean,
            "INT" => ConfigType::Int,
            "LONG" => ConfigType::Long,
            "DOUBLE" => ConfigType::Double,
            "LIST" => ConfigType::List,
            "PASSWORD" => ConfigType::Password,
            "CLASS" => ConfigType::Class,
            _ => ConfigType::String,
        };
        let importance = match k.importance.as_str() {
            "HIGH" => Importance::High,
            "MEDIUM" => Importance::Medium,
            _ => Importance::Low,
        };
        def = def.define(&k.name, ty, k.default.as_deref(), importance, &k.documentation);
        if let Some(group) = &k.group {
            def = def.group(group);
        }
        def = match k.validator {
            Some(WireValidator::Range { min, max }) => def.validator(Validator::Range { min, max }),
            Some(WireValidator::OneOf(values)) => def.validator(Validator::OneOf(values)),
            Some(WireValidator::NonEmpty) => def.validator(Validator::NonEmpty),
            None => def,
        };
    }
    def
}

/// A [`KeyValidation`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct WireKeyValidation {
    pub name: String,
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
}

impl From<&KeyValidation> for WireKeyValidation {
    fn from(v: &KeyValidation) -> Self {
        WireKeyValidation {
            name: v.name.clone(),
            value: v.value.clone(),
            recommended_values: v.recommended_values.clone(),
            errors: v.errors.clone(),
        }
    }
}

impl From<WireKeyValidation> for KeyValidation {
    fn from(v: WireKeyValidation) -> Self {
        KeyValidation { name: v.name, value: v.value, recommended_values: v.recommended_values, errors: v.errors }
    }
}

#[path = "wire_record.rs"]
mod record;
pub use record::{bytes_in, bytes_out, WireConnectRecord};

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
