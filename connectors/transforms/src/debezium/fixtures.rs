//! Change events shaped as this project's sources emit them, for the transforms' tests: the
//! Postgres CDC source (`connectors/postgres/src/cdc/events.rs`) and the MongoDB source with
//! `output.format=debezium` (`connectors/mongodb/src/source/records.rs`), built with the SDK's
//! envelope code.

use std::sync::Arc;

use aqueduct_sdk::debezium::{envelope, envelope_schema, Op};
use aqueduct_sdk::{ConnectRecord, Field, Props, Schema, SchemaRef, SchemaType, Struct, Value};

/// Properties from pairs.
pub fn props(pairs: &[(&str, &str)]) -> Props {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The Postgres source block schema (`io.debezium.connector.postgresql.Source`).
pub fn pg_source_schema() -> SchemaRef {
    Schema::struct_builder()
        .name("io.debezium.connector.postgresql.Source")
        .field("version", Schema::string())
        .field("connector", Schema::string())
        .field("name", Schema::string())
        .field("ts_ms", Schema::int64())
        .field("snapshot", Schema::builder(SchemaType::String).optional().name("io.debezium.data.Enum").build())
        .field("db", Schema::string())
        .field("schema", Schema::string())
        .field("table", Schema::string())
        .field("txId", Schema::optional(SchemaType::Int64))
        .field("lsn", Schema::optional(SchemaType::Int64))
        .build()
}

/// Table `srv.public.customers (id int8 key, email text, score int4 default 7)`.
pub struct PgTable {
    /// `srv.public.customers.Key`.
    pub key_schema: SchemaRef,
    /// `srv.public.customers.Value` (optional).
    pub row_schema: SchemaRef,
    /// `srv.public.customers.Envelope`.
    pub envelope_schema: SchemaRef,
    source_schema: SchemaRef,
}

impl PgTable {
    /// The table `srv.public.<table>`.
    pub fn new(table: &str) -> PgTable {
        let base = format!("srv.public.{table}");
        let row_schema = Schema::struct_builder()
            .name(format!("{base}.Value"))
            .optional()
            .field("id", Schema::int64())
            .field("email", Schema::optional(SchemaType::String))
            .field("score", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(7)).build())
            .build();
        let key_schema = Schema::struct_builder().name(format!("{base}.Key")).field("id", Schema::int64()).build();
        let source_schema = pg_source_schema();
        let envelope_schema = envelope_schema(&base, &row_schema, &source_schema);
        PgTable { key_schema, row_schema, envelope_schema, source_schema }
    }

    /// A row.
    pub fn row(&self, id: i64, email: Option<&str>) -> Value {
        let s = Struct::new(self.row_schema.clone()).put("id", id).expect("id");
        Value::Struct(s.put("email", email.map_or(Value::Null, Value::from)).expect("email"))
    }

    fn source(&self, table: &str) -> Value {
        let s = Struct::new(self.source_schema.clone());
        let s =
            [("version", "0.1.0"), ("connector", "postgresql"), ("name", "srv"), ("db", "shop"), ("schema", "public")]
                .into_iter()
                .fold(s, |s, (k, v)| s.put(k, v).expect("source field"));
        let s = s.put("table", table).and_then(|s| s.put("ts_ms", 1_700_000_000_000i64)).expect("source field");
        Value::Struct(s.put("txId", 555i64).and_then(|s| s.put("lsn", 24_023_128i64)).expect("source field"))
    }

    /// A change record as the source emits it (topic `srv.public.<table>`, key `{id}`).
    pub fn event(&self, op: Op, before: Option<Value>, after: Option<Value>) -> ConnectRecord {
        let table =
            self.envelope_schema.name.as_deref().unwrap_or_default().split('.').nth(2).unwrap_or_default().to_owned();
        let id = after.as_ref().or(before.as_ref()).and_then(|r| r.field("id")).cloned().unwrap_or(Value::Null);
        let key = Value::Struct(Struct::new(self.key_schema.clone()).put("id", id).expect("key"));
        let value = envelope(&self.envelope_schema, op, before, after, self.source(&table), 1_700_000_000_123)
            .expect("envelope");
        ConnectRecord::new(format!("srv.public.{table}"), Value::Null)
            .with_key(Some(self.key_schema.clone()), key)
            .with_value(Some(self.envelope_schema.clone()), value)
    }

    /// The tombstone following a delete of `id`.
    pub fn tombstone(&self, id: i64) -> ConnectRecord {
        let key = Value::Struct(Struct::new(self.key_schema.clone()).put("id", id).expect("key"));
        let table =
            self.envelope_schema.name.as_deref().unwrap_or_default().split('.').nth(2).unwrap_or_default().to_owned();
        ConnectRecord::new(format!("srv.public.{table}"), Value::Null).with_key(Some(self.key_schema.clone()), key)
    }
}

/// A MongoDB `output.format=debezium` event of `srv.shop.orders`: rows as structs of the
/// document's top-level fields, a `source` block and an `updateDescription` field.
pub fn mongo_event(op: Op, before: Option<(&str, i64)>, after: Option<(&str, i64)>) -> ConnectRecord {
    let opt = Schema::optional;
    let row_schema = Schema::struct_builder()
        .name("srv.shop.orders.Value")
        .optional()
        .field("_id", opt(SchemaType::String))
        .field("qty", opt(SchemaType::Int64))
        .build();
    let source_schema = Schema::struct_builder()
        .name("io.debezium.connector.mongo.Source")
        .field("version", Schema::string())
        .field("connector", Schema::string())
        .field("name", Schema::string())
        .field("ts_ms", Schema::int64())
        .field("db", Schema::string())
        .field("collection", opt(SchemaType::String))
        .field("ord", Schema::primitive(SchemaType::Int32))
        .build();
    let update_schema = Schema::struct_builder()
        .name("io.debezium.connector.mongodb.changestream.updatedescription")
        .optional()
        .field("removedFields", Schema::array(Schema::string()).optional().build())
        .field("updatedFields", Schema::builder(SchemaType::String).optional().name("io.debezium.data.Json").build())
        .build();
    let mut schema = (*envelope_schema("srv.shop.orders", &row_schema, &source_schema)).clone();
    schema.fields.push(Field { name: "updateDescription".into(), schema: update_schema.clone() });
    let schema = Arc::new(schema);
    let row = |(id, qty): (&str, i64)| {
        Value::Struct(Struct::new(row_schema.clone()).put("_id", id).and_then(|s| s.put("qty", qty)).expect("row"))
    };
    let source = Struct::new(source_schema)
        .put("version", "0.1.0")
        .and_then(|s| s.put("connector", "mongodb"))
        .and_then(|s| s.put("name", "srv"))
        .and_then(|s| s.put("ts_ms", 1_700_000_000_000i64))
        .and_then(|s| s.put("db", "shop"))
        .and_then(|s| s.put("collection", "orders"))
        .and_then(|s| s.put("ord", 1))
        .expect("source");
    let id = after.or(before).map_or("", |(id, _)| id);
    let value = envelope(&schema, op, before.map(row), after.map(row), Value::Struct(source), 1_700_000_000_456)
        .expect("envelope");
    let value = match (value, op) {
        (Value::Struct(s), Op::Update) => {
            let desc = Struct::new(update_schema)
                .put("removedFields", Value::Array(vec![]))
                .and_then(|d| d.put("updatedFields", "{\"qty\": 2}"))
                .expect("update description");
            Value::Struct(s.put("updateDescription", desc).expect("field"))
        }
        (other, _) => other,
    };
    let key_schema = Schema::struct_builder().name("srv.shop.orders.Key").field("id", Schema::string()).build();
    let key = Value::Struct(Struct::new(key_schema.clone()).put("id", id).expect("key"));
    ConnectRecord::new("srv.shop.orders", Value::Null).with_key(Some(key_schema), key).with_value(Some(schema), value)
}

/// A schemaless envelope (as read with `schemas.enable=false`).
pub fn schemaless(json: serde_json::Value) -> ConnectRecord {
    ConnectRecord::new("srv.public.customers", Value::from_json(json))
        .with_key(None, Value::from_json(serde_json::json!({"id": 1})))
}

/// A map value with its entries sorted by key (to compare maps built in any order).
pub fn sorted(value: &aqueduct_sdk::Value) -> aqueduct_sdk::Value {
    match value {
        Value::Map(entries) => {
            let mut entries = entries.clone();
            entries.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
            Value::Map(entries)
        }
        other => other.clone(),
    }
}
