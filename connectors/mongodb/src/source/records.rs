//! Change events (and copied documents) as source records: the MongoDB connector's change
//! event document, its `fullDocument` only, or a Debezium envelope.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aqueduct_sdk::debezium::{self, Op};
use aqueduct_sdk::{
    offset_map, ConnectError, Field, OffsetMap, Result, Schema, SchemaRef, SchemaType, SourceRecord, Struct, Value,
};
use mongodb::bson::{Bson, Document};
use tracing::warn;

use crate::convert;
use crate::extjson::{self, JsonFormat};
use crate::source::config::{Form, OutputFormat, SourceConfig};

/// The source offset key holding the resume token (as JSON text), as in the MongoDB connector.
pub const ID_FIELD: &str = "_id";
/// The source offset key marking records of an unfinished copy.
pub const COPY_FIELD: &str = "copy";

/// Builds records for one source partition.
pub struct RecordBuilder {
    config: Arc<SourceConfig>,
    partition: OffsetMap,
    source_schema: SchemaRef,
    update_schema: SchemaRef,
    server: String,
}

/// The source offset of an event: its resume token, and the copy marker during a copy.
pub fn offset(token: &Document, copying: bool) -> OffsetMap {
    let text = extjson::document_to_string(token, JsonFormat::Relaxed);
    let mut offset = offset_map([(ID_FIELD, serde_json::Value::String(text))]);
    if copying {
        offset.insert(COPY_FIELD.into(), serde_json::Value::String("true".into()));
    }
    offset
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl RecordBuilder {
    /// A builder for records of `partition`.
    pub fn new(config: Arc<SourceConfig>, partition: OffsetMap) -> Self {
        let server = if config.topic_prefix.is_empty() { "mongodb".to_owned() } else { config.topic_prefix.clone() };
        let opt = |t: SchemaType| Schema::optional(t);
        let source_schema = Schema::struct_builder()
            .name("io.debezium.connector.mongo.Source")
            .field("version", Schema::string())
            .field("connector", Schema::string())
            .field("name", Schema::string())
            .field("ts_ms", Schema::int64())
            .field("snapshot", opt(SchemaType::String))
            .field("db", Schema::string())
            .field("collection", opt(SchemaType::String))
            .field("ord", Schema::primitive(SchemaType::Int32))
            .field("lsid", opt(SchemaType::String))
            .field("txnNumber", opt(SchemaType::Int64))
            .field("wallTime", opt(SchemaType::Int64))
            .build();
        let update_schema = Schema::struct_builder()
            .name("io.debezium.connector.mongodb.changestream.updatedescription")
            .optional()
            .field("removedFields", Schema::array(Schema::string()).optional().build())
            .field(
                "updatedFields",
                Schema::builder(SchemaType::String).optional().name(convert::JSON_SCHEMA_NAME).build(),
            )
            .field(
                "truncatedArrays",
                Schema::builder(SchemaType::String).optional().name(convert::JSON_SCHEMA_NAME).build(),
            )
            .build();
        RecordBuilder { config, partition, source_schema, update_schema, server }
    }

    /// The source partition of the records.
    pub fn partition(&self) -> &OffsetMap {
        &self.partition
    }

    /// The records for one event: none (filtered, or no topic for it), one, or an event and its
    /// tombstone.
    pub fn records(&self, event: &Document, offset: OffsetMap, copying: bool) -> Result<Vec<SourceRecord>> {
        let (db, coll) = namespace(event);
        let topic = self.topic(&db, coll.as_deref());
        if topic.is_empty() {
            // As the MongoDB connector: an event without a namespace and no topic.prefix.
            warn!(operation = operation(event), "no topic for this change event (it has no namespace); skipped");
            return Ok(Vec::new());
        }
        match self.config.format {
            OutputFormat::MongoDb => self.mongodb(event, offset, topic),
            OutputFormat::Debezium => self.debezium(event, offset, topic, &db, coll.as_deref(), copying),
        }
    }

    /// The topic of a namespace: `prefix.db.coll.suffix`, or the `topic.namespace.map` entry for
    /// `db.coll`, `db` or `*` in place of `db.coll`. Empty parts are left out.
    pub fn topic(&self, db: &str, coll: Option<&str>) -> String {
        let c = &self.config;
        let full = coll.map(|coll| format!("{db}.{coll}"));
        let mapped = full
            .as_ref()
            .and_then(|f| c.namespace_map.get(f))
            .or_else(|| c.namespace_map.get(db))
            .or_else(|| c.namespace_map.get("*"));
        let mut parts: Vec<&str> = vec![&c.topic_prefix];
        match mapped {
            Some(topic) => parts.push(topic),
            None => {
                parts.push(db);
                parts.extend(coll);
            }
        }
        parts.push(&c.topic_suffix);
        parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(&c.topic_separator)
    }

    fn mongodb(&self, event: &Document, offset: OffsetMap, topic: String) -> Result<Vec<SourceRecord>> {
        let c = &self.config;
        let value_doc = if c.full_document_only {
            match event.get("fullDocument") {
                Some(Bson::Document(d)) => Some(d),
                _ if c.full_document_only_tombstones && operation(event) == "delete" => None,
                _ => return Ok(Vec::new()),
            }
        } else {
            Some(event)
        };
        let key_doc = match event.get("documentKey") {
            Some(Bson::Document(d)) if c.document_key_as_key => d.clone(),
            _ => mongodb::bson::doc! { "_id": event.get("_id").cloned().unwrap_or(Bson::Null) },
        };
        let (key_schema, key) = self.form(c.key_form, &key_doc)?;
        let mut record =
            SourceRecord::new(self.partition.clone(), offset, topic, Value::Null).with_key(key_schema, key);
        if let Some(doc) = value_doc {
            let (schema, value) = self.form(c.value_form, doc)?;
            record.value_schema = schema;
            record.value = value;
        }
        Ok(vec![record])
    }

    fn form(&self, form: Form, doc: &Document) -> Result<(Option<SchemaRef>, Value)> {
        Ok(match form {
            Form::Json => (Some(Schema::string()), Value::String(extjson::document_to_string(doc, self.config.json))),
            Form::Schema => (None, Value::from_json(extjson::document_to_json(doc, self.config.json))),
            Form::Bson => {
                let mut bytes = Vec::new();
                doc.to_writer(&mut bytes)
                    .map_err(|e| ConnectError::data("encoding a document as BSON").with_source(e))?;
                (Some(Schema::primitive(SchemaType::Bytes)), Value::Bytes(bytes))
            }
        })
    }

    fn debezium(
        &self,
        event: &Document,
        offset: OffsetMap,
        topic: String,
        db: &str,
        coll: Option<&str>,
        copying: bool,
    ) -> Result<Vec<SourceRecord>> {
        let op = match (copying, operation(event)) {
            (true, _) => Op::Read,
            (false, "insert") => Op::Create,
            (false, "update" | "replace") => Op::Update,
            (false, "delete") => Op::Delete,
            _ => return Ok(Vec::new()), // drop, rename, invalidate...: Debezium emits no data event
        };
        let coll_name = coll.unwrap_or_default();
        let name = format!("{}.{db}.{coll_name}", self.server);
        let id = match event.get("documentKey") {
            Some(Bson::Document(k)) => k.get("_id").cloned().unwrap_or(Bson::Null),
            _ => Bson::Null,
        };
        let (id_schema, id_value) = convert::id_to_value(&id);
        let key_schema = Schema::struct_builder().name(format!("{name}.Key")).field("id", id_schema).build();
        let key = Value::Struct(Struct::new(key_schema.clone()).put("id", id_value)?);
        let doc_of = |field: &str| match event.get(field) {
            Some(Bson::Document(d)) => Some(d),
            _ => None,
        };
        let after = if op == Op::Delete { None } else { doc_of("fullDocument") };
        // A top-level field removed by `$unset` is absent from the full document; name it as
        // null so a row-based sink clears the column instead of keeping the old value.
        let patched;
        let removed = doc_of("updateDescription").and_then(|d| d.get_array("removedFields").ok());
        let after = match (after, removed) {
            (Some(full), Some(removed)) => {
                let mut doc = full.clone();
                for name in removed.iter().filter_map(Bson::as_str).filter(|n| !n.contains('.')) {
                    if !doc.contains_key(name) {
                        doc.insert(name, Bson::Null);
                    }
                }
                patched = doc;
                Some(&patched)
            }
            (after, _) => after,
        };
        let rows = convert::rows(&format!("{name}.Value"), doc_of("fullDocumentBeforeChange"), after)?;
        let mut schema = (*debezium::envelope_schema(&name, &rows.schema, &self.source_schema)).clone();
        schema.fields.push(Field { name: "updateDescription".into(), schema: self.update_schema.clone() });
        let schema = Arc::new(schema);
        let source = self.source(event, db, coll, copying)?;
        let envelope = debezium::envelope(&schema, op, rows.before, rows.after, source, now_ms())?;
        let envelope = match (envelope, doc_of("updateDescription")) {
            (Value::Struct(s), Some(desc)) => {
                Value::Struct(s.put("updateDescription", self.update_description(desc)?)?)
            }
            (other, _) => other,
        };
        let record = SourceRecord::new(self.partition.clone(), offset.clone(), topic.clone(), envelope)
            .with_key(Some(key_schema.clone()), key.clone())
            .with_value_schema(schema);
        let mut records = vec![record];
        if op == Op::Delete && self.config.tombstones_on_delete {
            records.push(
                SourceRecord::new(self.partition.clone(), offset, topic, Value::Null).with_key(Some(key_schema), key),
            );
        }
        Ok(records)
    }

    fn source(&self, event: &Document, db: &str, coll: Option<&str>, copying: bool) -> Result<Value> {
        let (ts_ms, ord) = match event.get("clusterTime") {
            Some(Bson::Timestamp(t)) => (i64::from(t.time) * 1000, i32::try_from(t.increment).unwrap_or(i32::MAX)),
            _ => (now_ms(), 0),
        };
        let lsid = match event.get("lsid") {
            Some(Bson::Document(d)) => Value::String(extjson::document_to_string(d, JsonFormat::Relaxed)),
            _ => Value::Null,
        };
        let txn = match event.get("txnNumber") {
            Some(Bson::Int64(n)) => Value::Int64(*n),
            Some(Bson::Int32(n)) => Value::Int64(i64::from(*n)),
            _ => Value::Null,
        };
        let wall = match event.get("wallTime") {
            Some(Bson::DateTime(d)) => Value::Int64(d.timestamp_millis()),
            _ => Value::Null,
        };
        let s = Struct::new(self.source_schema.clone())
            .put("version", env!("CARGO_PKG_VERSION"))?
            .put("connector", "mongodb")?
            .put("name", self.server.as_str())?
            .put("ts_ms", ts_ms)?
            .put("snapshot", if copying { Value::from("true") } else { Value::Null })?
            .put("db", db)?
            .put("collection", coll.map_or(Value::Null, Value::from))?
            .put("ord", ord)?
            .put("lsid", lsid)?
            .put("txnNumber", txn)?
            .put("wallTime", wall)?;
        Ok(Value::Struct(s))
    }

    fn update_description(&self, desc: &Document) -> Result<Value> {
        let removed = match desc.get("removedFields") {
            Some(Bson::Array(items)) => {
                Value::Array(items.iter().map(|b| Value::String(b.as_str().unwrap_or_default().to_owned())).collect())
            }
            _ => Value::Null,
        };
        let json = |field: &str| {
            desc.get(field).map_or(Value::Null, |b| Value::String(extjson::to_json(b, JsonFormat::Relaxed).to_string()))
        };
        let s = Struct::new(self.update_schema.clone())
            .put("removedFields", removed)?
            .put("updatedFields", json("updatedFields"))?
            .put("truncatedArrays", json("truncatedArrays"))?;
        Ok(Value::Struct(s))
    }
}

/// The event's `operationType`.
pub fn operation(event: &Document) -> &str {
    event.get_str("operationType").unwrap_or_default()
}

/// The event's `ns`: database and, when the event concerns one, collection.
pub fn namespace(event: &Document) -> (String, Option<String>) {
    match event.get_document("ns") {
        Ok(ns) => (ns.get_str("db").unwrap_or_default().to_owned(), ns.get_str("coll").ok().map(str::to_owned)),
        Err(_) => (String::new(), None),
    }
}
