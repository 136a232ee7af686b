//! Single message transforms and predicates, as Kafka Connect's `Transformation` and
//! `Predicate`: a transform changes (or drops) one record between the converter and the task,
//! in both directions; a predicate decides whether a transform applies to a record.
//!
//! A transform sees a [`ConnectRecord`], the part Kafka Connect's `ConnectRecord` has in common
//! for source and sink records: topic, partition, key and value with their schemas, timestamp,
//! headers. The runtime keeps the rest aside (a source record's partition and offset; a sink
//! record's Kafka offset and its original topic and partition, which consumer offsets are
//! committed for) and puts it back after the chain ran. Each task runs its own instances, so
//! [`Transform::apply`] may keep caches in `&mut self`.
//!
//! A transform is registered as connectors are, through a [`TransformDescriptor`] naming its
//! class and aliases; `Key`/`Value` variants (`Cast$Key`, `Cast$Value`) are two descriptors.
//! A built-in's factory is a function ([`TransformFactory::Builtin`], usable in a `const`); a
//! transform loaded from a plugin at run time is a closure over its library
//! ([`TransformFactory::Shared`]). Either is called like a function: `(descriptor.factory)()`.
//!
//! ```
//! use aqueduct_sdk::*;
//!
//! /// Uppercases the topic name.
//! struct UpperTopic;
//!
//! impl Transform for UpperTopic {
//!     fn config_def(&self) -> ConfigDef { ConfigDef::new() }
//!     fn configure(&mut self, _props: &Props) -> Result<()> { Ok(()) }
//!     fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
//!         record.topic = record.topic.to_uppercase();
//!         Ok(Some(record))
//!     }
//! }
//!
//! pub const UPPER_TOPIC: TransformDescriptor = TransformDescriptor {
//!     class: "com.example.UpperTopic",
//!     aliases: &["UpperTopic"],
//!     version: "1.0.0",
//!     doc: "Uppercases the topic name.",
//!     factory: TransformFactory::Builtin(|| Box::new(UpperTopic)),
//! };
//!
//! let mut t = (UPPER_TOPIC.factory)();
//! t.configure(&Props::new()).unwrap();
//! let out = t.apply(ConnectRecord::new("orders", Value::Null)).unwrap().unwrap();
//! assert_eq!(out.topic, "ORDERS");
//! ```

use std::ops::Deref;
use std::sync::Arc;

use crate::config::{ConfigDef, Props};
use crate::error::Result;
use crate::record::{Header, OffsetMap, SinkRecord, SourceRecord, TimestampType};
use crate::schema::SchemaRef;
use crate::value::Value;

/// What a transform sees and changes of a record (Kafka Connect's `ConnectRecord`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectRecord {
    /// The topic (a source record's destination, a sink record's topic).
    pub topic: String,
    /// The Kafka partition; `None` lets the producer choose (source records).
    pub kafka_partition: Option<i32>,
    /// Schema of the key, when known.
    pub key_schema: Option<SchemaRef>,
    /// The key; [`Value::Null`] for none.
    pub key: Value,
    /// Schema of the value, when known.
    pub value_schema: Option<SchemaRef>,
    /// The value; [`Value::Null`] is a tombstone.
    pub value: Value,
    /// Timestamp in milliseconds since the epoch.
    pub timestamp: Option<i64>,
    /// Headers.
    pub headers: Vec<Header>,
}

impl ConnectRecord {
    /// A record with a topic and a value, nothing else.
    pub fn new(topic: impl Into<String>, value: Value) -> Self {
        ConnectRecord {
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

    /// Sets the value and its schema.
    pub fn with_value(mut self, schema: Option<SchemaRef>, value: Value) -> Self {
        self.value_schema = schema;
        self.value = value;
        self
    }

    /// Whether the value is a tombstone (null).
    pub fn is_tombstone(&self) -> bool {
        matches!(self.value, Value::Null)
    }
}

/// What the runtime keeps aside of a source record while its transforms run.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceCoordinates {
    /// The record's source partition.
    pub source_partition: OffsetMap,
    /// The record's source offset.
    pub source_offset: OffsetMap,
}

impl SourceRecord {
    /// Splits the record into what transforms see and what they do not.
    pub fn into_parts(self) -> (SourceCoordinates, ConnectRecord) {
        let coordinates =
            SourceCoordinates { source_partition: self.source_partition, source_offset: self.source_offset };
        let record = ConnectRecord {
            topic: self.topic,
            kafka_partition: self.kafka_partition,
            key_schema: self.key_schema,
            key: self.key,
            value_schema: self.value_schema,
            value: self.value,
            timestamp: self.timestamp,
            headers: self.headers,
        };
        (coordinates, record)
    }

    /// The source record of a transformed record.
    pub fn from_parts(coordinates: SourceCoordinates, record: ConnectRecord) -> Self {
        SourceRecord {
            source_partition: coordinates.source_partition,
            source_offset: coordinates.source_offset,
            topic: record.topic,
            kafka_partition: record.kafka_partition,
            key_schema: record.key_schema,
            key: record.key,
            value_schema: record.value_schema,
            value: record.value,
            timestamp: record.timestamp,
            headers: record.headers,
        }
    }
}

/// What the runtime keeps aside of a sink record while its transforms run: where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkCoordinates {
    /// The topic it was read from.
    pub topic: String,
    /// The partition it was read from.
    pub kafka_partition: i32,
    /// Its offset there.
    pub kafka_offset: i64,
    /// How its timestamp was set.
    pub timestamp_type: TimestampType,
}

impl SinkRecord {
    /// Splits the record into what transforms see and where it was read.
    pub fn into_parts(self) -> (SinkCoordinates, ConnectRecord) {
        let coordinates = SinkCoordinates {
            topic: self.topic.clone(),
            kafka_partition: self.kafka_partition,
            kafka_offset: self.kafka_offset,
            timestamp_type: self.timestamp_type,
        };
        let record = ConnectRecord {
            topic: self.topic,
            kafka_partition: Some(self.kafka_partition),
            key_schema: self.key_schema,
            key: self.key,
            value_schema: self.value_schema,
            value: self.value,
            timestamp: self.timestamp,
            headers: self.headers,
        };
        (coordinates, record)
    }

    /// The sink record of a transformed record: topic and partition as transformed (a router
    /// may change them), offset and timestamp type as read.
    pub fn from_parts(coordinates: &SinkCoordinates, record: ConnectRecord) -> Self {
        SinkRecord {
            topic: record.topic,
            kafka_partition: record.kafka_partition.unwrap_or(coordinates.kafka_partition),
            kafka_offset: coordinates.kafka_offset,
            key_schema: record.key_schema,
            key: record.key,
            value_schema: record.value_schema,
            value: record.value,
            timestamp: record.timestamp,
            timestamp_type: coordinates.timestamp_type,
            headers: record.headers,
        }
    }
}

/// A single message transform (Kafka Connect's `Transformation`).
pub trait Transform: Send {
    /// The keys it understands (under `transforms.<alias>.`); drives validation.
    fn config_def(&self) -> ConfigDef;
    /// Configures it from its keys (the `transforms.<alias>.` prefix removed); a bad key is a
    /// [`ConnectError::config`](crate::ConnectError::config) naming it.
    fn configure(&mut self, props: &Props) -> Result<()>;
    /// Transforms one record; `None` drops it. An error is handled by the runtime as
    /// `errors.tolerance` says (skipped, dead-lettered, or the task fails).
    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>>;
}

/// A condition on records deciding whether a transform applies (Kafka Connect's `Predicate`).
pub trait Predicate: Send {
    /// The keys it understands (under `predicates.<alias>.`).
    fn config_def(&self) -> ConfigDef;
    /// Configures it from its keys (prefix removed).
    fn configure(&mut self, props: &Props) -> Result<()>;
    /// Whether `record` matches. An error fails the stage the predicate guards, as a failing
    /// transform does (`errors.tolerance` decides what becomes of the record).
    fn test(&self, record: &ConnectRecord) -> Result<bool>;
}

/// Creates a transform, as a closure: what a plugin loaded at run time supplies.
pub type SharedTransformFactory = Arc<dyn Fn() -> Box<dyn Transform> + Send + Sync>;
/// Creates a predicate, as a closure: what a plugin loaded at run time supplies.
pub type SharedPredicateFactory = Arc<dyn Fn() -> Box<dyn Predicate> + Send + Sync>;

/// Creates unconfigured instances of one transform; called like a function
/// (`(descriptor.factory)()`) through its [`Deref`] to `dyn Fn`.
#[derive(Clone)]
pub enum TransformFactory {
    /// A function, as a built-in names in a `const` descriptor.
    Builtin(fn() -> Box<dyn Transform>),
    /// A closure, as a plugin loaded at run time supplies.
    Shared(SharedTransformFactory),
}

impl Deref for TransformFactory {
    type Target = dyn Fn() -> Box<dyn Transform> + Send + Sync;
    fn deref(&self) -> &Self::Target {
        match self {
            TransformFactory::Builtin(f) => f,
            TransformFactory::Shared(f) => &**f,
        }
    }
}

/// Creates unconfigured instances of one predicate; called like a function, as
/// [`TransformFactory`].
#[derive(Clone)]
pub enum PredicateFactory {
    /// A function, as a built-in names in a `const` descriptor.
    Builtin(fn() -> Box<dyn Predicate>),
    /// A closure, as a plugin loaded at run time supplies.
    Shared(SharedPredicateFactory),
}

impl Deref for PredicateFactory {
    type Target = dyn Fn() -> Box<dyn Predicate> + Send + Sync;
    fn deref(&self) -> &Self::Target {
        match self {
            PredicateFactory::Builtin(f) => f,
            PredicateFactory::Shared(f) => &**f,
        }
    }
}

/// A transform as the runtime registers it.
///
/// A transform loaded at run time has its names leaked to `'static`, as a connector's: plugin
/// libraries are loaded once, at start, and never unloaded.
#[derive(Clone)]
pub struct TransformDescriptor {
    /// The class name used in `transforms.<alias>.type`, e.g.
    /// `"org.apache.kafka.connect.transforms.Cast$Value"`.
    pub class: &'static str,
    /// Other accepted names, e.g. a short name.
    pub aliases: &'static [&'static str],
    /// Its version.
    pub version: &'static str,
    /// One line on what it does.
    pub doc: &'static str,
    /// Creates unconfigured instances.
    pub factory: TransformFactory,
}

/// A predicate as the runtime registers it.
#[derive(Clone)]
pub struct PredicateDescriptor {
    /// The class name used in `predicates.<alias>.type`.
    pub class: &'static str,
    /// Other accepted names.
    pub aliases: &'static [&'static str],
    /// Its version.
    pub version: &'static str,
    /// One line on what it does.
    pub doc: &'static str,
    /// Creates unconfigured instances.
    pub factory: PredicateFactory,
}

impl TransformDescriptor {
    /// True when `name` is the class or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.class == name || self.aliases.contains(&name)
    }
}

impl PredicateDescriptor {
    /// True when `name` is the class or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.class == name || self.aliases.contains(&name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offset_map;
    use serde_json::json;

    struct Rename(&'static str);
    impl Transform for Rename {
        fn config_def(&self) -> ConfigDef {
            ConfigDef::new()
        }
        fn configure(&mut self, _props: &Props) -> Result<()> {
            Ok(())
        }
        fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
            record.topic = self.0.to_owned();
            Ok(Some(record))
        }
    }

    #[test]
    fn both_kinds_of_factory_are_called_like_functions() {
        let builtin = TransformFactory::Builtin(|| Box::new(Rename("fn")));
        let name = "closure";
        let shared = TransformFactory::Shared(Arc::new(move || Box::new(Rename(name))));
        for (factory, topic) in [(builtin, "fn"), (shared.clone(), "closure")] {
            let out = factory().apply(ConnectRecord::new("t", Value::Null)).expect("applies").expect("kept");
            assert_eq!(out.topic, topic);
        }
    }

    #[test]
    fn a_source_record_comes_back_whole() {
        let mut r =
            SourceRecord::new(offset_map([("f", json!("a"))]), offset_map([("p", json!(3))]), "t", Value::Int32(7))
                .with_timestamp(5);
        r.kafka_partition = Some(2);
        let (coordinates, mut c) = r.clone().into_parts();
        assert_eq!((c.topic.as_str(), c.kafka_partition, c.timestamp), ("t", Some(2), Some(5)));
        assert_eq!(SourceRecord::from_parts(coordinates.clone(), c.clone()), r);
        c.topic = "routed".into();
        assert_eq!(SourceRecord::from_parts(coordinates, c).topic, "routed");
    }

    #[test]
    fn a_sink_record_keeps_where_it_was_read() {
        let r = SinkRecord {
            topic: "t".into(),
            kafka_partition: 1,
            kafka_offset: 42,
            key_schema: None,
            key: Value::String("k".into()),
            value_schema: None,
            value: Value::Null,
            timestamp: Some(9),
            timestamp_type: TimestampType::CreateTime,
            headers: Vec::new(),
        };
        let (coordinates, mut c) = r.clone().into_parts();
        assert!(c.is_tombstone());
        assert_eq!(SinkRecord::from_parts(&coordinates, c.clone()), r);
        c.topic = "routed".into();
        let routed = SinkRecord::from_parts(&coordinates, c);
        assert_eq!((routed.topic.as_str(), routed.kafka_offset, coordinates.topic.as_str()), ("routed", 42, "t"));
    }
}
