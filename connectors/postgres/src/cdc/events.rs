//! Debezium change events: the `source` block, envelopes, tombstones, truncates, heartbeats.

use aqueduct_sdk::debezium::{envelope, Op};
use aqueduct_sdk::{OffsetMap, Result, Schema, SchemaRef, SchemaType, SourceRecord, Struct, Value};

use super::table::TableSchema;

/// The connector version reported in `source.version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The schema of the `source` block (`io.debezium.connector.postgresql.Source`).
pub fn source_schema() -> SchemaRef {
    let snapshot = Schema::builder(SchemaType::String)
        .optional()
        .name("io.debezium.data.Enum")
        .version(1)
        .parameter("allowed", "true,last,false,incremental")
        .default_value(Value::String("false".into()))
        .build();
    Schema::struct_builder()
        .name("io.debezium.connector.postgresql.Source")
        .field("version", Schema::string())
        .field("connector", Schema::string())
        .field("name", Schema::string())
        .field("ts_ms", Schema::int64())
        .field("snapshot", snapshot)
        .field("db", Schema::string())
        .field("sequence", Schema::optional(SchemaType::String))
        .field("ts_us", Schema::optional(SchemaType::Int64))
        .field("ts_ns", Schema::optional(SchemaType::Int64))
        .field("schema", Schema::string())
        .field("table", Schema::string())
        .field("txId", Schema::optional(SchemaType::Int64))
        .field("lsn", Schema::optional(SchemaType::Int64))
        .field("xmin", Schema::optional(SchemaType::Int64))
        .build()
}

/// What the `source` block of one event says.
#[derive(Debug, Clone)]
pub struct SourceInfo<'a> {
    /// `topic.prefix`.
    pub server: &'a str,
    /// The database name.
    pub db: &'a str,
    /// When the change was committed (or read, for snapshots), µs since the epoch.
    pub ts_usec: i64,
    /// `true`, `last` or `false`.
    pub snapshot: &'static str,
    /// Transaction id.
    pub tx_id: Option<u32>,
    /// LSN of the change.
    pub lsn: u64,
    /// Commit LSN of the previous transaction, for `sequence`.
    pub last_commit_lsn: Option<u64>,
}

impl SourceInfo<'_> {
    /// The `source` struct for an event of `table`.
    pub fn to_value(&self, schema: &SchemaRef, table: &TableSchema) -> Result<Value> {
        let sequence =
            format!("[{},\"{}\"]", self.last_commit_lsn.map_or("null".to_owned(), |l| format!("\"{l}\"")), self.lsn);
        let s = Struct::new(schema.clone())
            .put("version", VERSION)?
            .put("connector", "postgresql")?
            .put("name", self.server)?
            .put("ts_ms", Value::Int64(self.ts_usec.div_euclid(1000)))?
            .put("snapshot", self.snapshot)?
            .put("db", self.db)?
            .put("sequence", sequence)?
            .put("ts_us", Value::Int64(self.ts_usec))?
            .put("ts_ns", Value::Int64(self.ts_usec.saturating_mul(1000)))?
            .put("schema", table.id.schema.as_str())?
            .put("table", table.id.table.as_str())?
            .put("txId", self.tx_id.map_or(Value::Null, |x| Value::Int64(i64::from(x))))?
            .put("lsn", i64::try_from(self.lsn).map_or(Value::Null, Value::Int64))?;
        Ok(Value::Struct(s))
    }
}

/// Builds the records of one change.
pub struct EventBuilder<'a> {
    /// The table changed.
    pub table: &'a TableSchema,
    /// The source partition.
    pub partition: &'a OffsetMap,
    /// The `source` schema.
    pub source_schema: &'a SchemaRef,
    /// When the connector processed the event, ms since the epoch (`ts_ms` of the envelope).
    pub now_ms: i64,
}

impl EventBuilder<'_> {
    /// A change event keyed by the row's key (from `after`, or `before` for deletes).
    pub fn change(
        &self,
        op: Op,
        before: Option<Value>,
        after: Option<Value>,
        source: &SourceInfo<'_>,
        offset: OffsetMap,
    ) -> Result<SourceRecord> {
        let key_row = after.as_ref().or(before.as_ref()).unwrap_or(&Value::Null);
        let key = self.table.key_of(key_row)?;
        let source = source.to_value(self.source_schema, self.table)?;
        let value = envelope(&self.table.envelope_schema, op, before, after, source, self.now_ms)?;
        Ok(SourceRecord::new(self.partition.clone(), offset, self.table.topic.clone(), value)
            .with_key(self.table.key_schema.clone(), key)
            .with_value_schema(self.table.envelope_schema.clone()))
    }

    /// The tombstone following a delete: same key, null value and no value schema.
    pub fn tombstone(&self, deleted: &SourceRecord, offset: OffsetMap) -> SourceRecord {
        SourceRecord::new(self.partition.clone(), offset, self.table.topic.clone(), Value::Null)
            .with_key(deleted.key_schema.clone(), deleted.key.clone())
    }

    /// A truncate event: no key, an envelope without images.
    pub fn truncate(&self, source: &SourceInfo<'_>, offset: OffsetMap) -> Result<SourceRecord> {
        let source = source.to_value(self.source_schema, self.table)?;
        let value = envelope(&self.table.envelope_schema, Op::Truncate, None, None, source, self.now_ms)?;
        Ok(SourceRecord::new(self.partition.clone(), offset, self.table.topic.clone(), value)
            .with_value_schema(self.table.envelope_schema.clone()))
    }
}

/// The key schema of heartbeat records (`io.debezium.connector.common.ServerNameKey`).
pub fn heartbeat_key_schema() -> SchemaRef {
    Schema::struct_builder()
        .name("io.debezium.connector.common.ServerNameKey")
        .field("serverName", Schema::string())
        .build()
}

/// The value schema of heartbeat records (`io.debezium.connector.common.Heartbeat`).
pub fn heartbeat_value_schema() -> SchemaRef {
    Schema::struct_builder().name("io.debezium.connector.common.Heartbeat").field("ts_ms", Schema::int64()).build()
}

/// A heartbeat record: carries the offset forward when no captured table changed.
pub fn heartbeat(
    topic: &str,
    server: &str,
    partition: &OffsetMap,
    offset: OffsetMap,
    now_ms: i64,
    schemas: &(SchemaRef, SchemaRef),
) -> Result<SourceRecord> {
    let key = Struct::new(schemas.0.clone()).put("serverName", server)?;
    let value = Struct::new(schemas.1.clone()).put("ts_ms", Value::Int64(now_ms))?;
    Ok(SourceRecord::new(partition.clone(), offset, topic, Value::Struct(value))
        .with_key(Some(schemas.0.clone()), Value::Struct(key))
        .with_value_schema(schemas.1.clone()))
}
