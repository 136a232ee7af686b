//! The Aqueduct connector SDK: the only crate a connector depends on.
//!
//! It mirrors Kafka Connect's `connect-api` in async Rust:
//! - the data model: [`Schema`], [`Value`], [`SourceRecord`], [`SinkRecord`];
//! - connectors ([`SourceConnector`], [`SinkConnector`]) that validate a configuration and split
//!   the work into task configurations;
//! - tasks ([`SourceTask`], [`SinkTask`]) that move the data, with documented lifecycles and
//!   at-least-once guarantees;
//! - single message transforms and predicates ([`Transform`], [`Predicate`]) that change or drop
//!   records between the converter and the task;
//! - [`ConfigDef`]: typed keys, defaults, documentation and validators;
//! - [`values`]: Kafka Connect's `Values`, values to text and back with the schema inferred, as
//!   `SimpleHeaderConverter` and `InsertHeader` need;
//! - [`ConnectError`]: one error type whose [`ErrorKind`] tells the runtime to retry, skip or fail;
//! - [`plugin`]: connectors built as a `cdylib` and loaded by a worker at run time from
//!   `plugin.path` ([`declare_plugin!`] with the `plugin` feature), over a boundary that shares no
//!   Rust types, allocator or tokio runtime (the module docs say why that is sound).
//!
//! # A complete source connector
//!
//! A connector that counts from where it left off, one record per poll:
//!
//! ```
//! use std::sync::Arc;
//! use aqueduct_sdk::*;
//! use serde_json::json;
//!
//! struct CounterConnector { props: Props }
//!
//! fn config_def() -> ConfigDef {
//!     ConfigDef::new()
//!         .define("topic", ConfigType::String, None, Importance::High, "Topic to write to.")
//!         .validator(Validator::NonEmpty)
//! }
//!
//! #[async_trait]
//! impl Connector for CounterConnector {
//!     fn config_def(&self) -> ConfigDef { config_def() }
//!     async fn start(&mut self, _ctx: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
//!         config_def().parse(&props)?; // reject bad configs before any I/O
//!         self.props = props;
//!         Ok(())
//!     }
//!     fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>> {
//!         Ok(vec![self.props.clone()]) // one counter, one task
//!     }
//! }
//!
//! impl SourceConnector for CounterConnector {
//!     fn create_task(&self) -> Box<dyn SourceTask> {
//!         Box::new(CounterTask { topic: String::new(), next: 0 })
//!     }
//! }
//!
//! struct CounterTask { topic: String, next: i64 }
//!
//! fn partition() -> OffsetMap { offset_map([("counter", json!("main"))]) }
//!
//! #[async_trait]
//! impl SourceTask for CounterTask {
//!     async fn start(&mut self, ctx: SourceTaskContext, props: Props) -> Result<()> {
//!         let config = config_def().parse(&props)?;
//!         self.topic = config.string("topic").unwrap_or_default().to_owned();
//!         // Resume after the last offset Kafka acknowledged and the runtime stored.
//!         if let Some(stored) = ctx.offset(&partition()) {
//!             self.next = stored["n"].as_i64().unwrap_or(-1) + 1;
//!         }
//!         Ok(())
//!     }
//!     async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
//!         let n = self.next;
//!         self.next += 1;
//!         let offset = offset_map([("n", json!(n))]);
//!         Ok(vec![SourceRecord::new(partition(), offset, self.topic.clone(), Value::Int64(n))])
//!     }
//! }
//!
//! /// Registered with the runtime under its class name.
//! pub const PLUGIN: PluginDescriptor = PluginDescriptor {
//!     class: "Counter",
//!     aliases: &["com.example.CounterConnector"],
//!     version: "1.0.0",
//!     factory: ConnectorFactory::Source(|| Box::new(CounterConnector { props: Props::new() })),
//! };
//!
//! # struct NoOffsets;
//! # impl OffsetReader for NoOffsets { fn offset(&self, _: &OffsetMap) -> Option<OffsetMap> { None } }
//! # tokio_test(async {
//! let mut task = CounterConnector { props: Props::new() }.create_task();
//! let props = Props::from([("topic".to_owned(), "counts".to_owned())]);
//! task.start(SourceTaskContext::new("counter", 0, Arc::new(NoOffsets)), props).await.unwrap();
//! let records = task.poll().await.unwrap();
//! assert_eq!(records[0].value, Value::Int64(0));
//! assert_eq!(records[0].topic, "counts");
//! # });
//! # fn tokio_test(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

#![warn(missing_docs)]

pub mod config;
pub mod connector;
pub mod converter;
pub mod debezium;
pub mod error;
pub mod exactly_once;
pub mod json;
pub mod plugin;
pub mod record;
pub mod schema;
pub mod task;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transform;
pub mod value;
pub mod values;

pub use async_trait::async_trait;
pub use config::{Config, ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, KeyValidation, Props, Validator};
pub use connector::{
    Connector, ConnectorContext, ConnectorFactory, PluginDescriptor, SharedSinkFactory, SharedSourceFactory,
    SinkConnector, SourceConnector,
};
pub use converter::{Converter, ConverterDescriptor, ConverterFactory, SharedConverterFactory};
pub use error::{ConnectError, ErrorKind, Result, ResultExt};
pub use exactly_once::{ExactlyOnceSupport, TransactionContext, TransactionRequests};
pub use record::{
    offset_map, Header, OffsetMap, RecordMetadata, SinkRecord, SourceRecord, TimestampType, TopicPartition,
    TopicPartitionOffsets,
};
pub use schema::{logical, Field, Schema, SchemaBuilder, SchemaRef, SchemaType};
pub use serde_json;
pub use task::{
    ErrantRecordReporter, OffsetReader, ProgressReporter, SinkTask, SinkTaskContext, SourceTask, SourceTaskContext,
};
pub use transform::{
    ConnectRecord, Predicate, PredicateDescriptor, PredicateFactory, SharedPredicateFactory, SharedTransformFactory,
    SinkCoordinates, SourceCoordinates, Transform, TransformDescriptor, TransformFactory,
};
pub use value::{Struct, Value};
