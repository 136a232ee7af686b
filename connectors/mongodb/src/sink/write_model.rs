//! A record as writes: the document path (id strategy + write model strategy) and the
//! change-data-capture handlers (MongoDB change events, Debezium envelopes).

use std::time::{SystemTime, UNIX_EPOCH};

use aqueduct_sdk::debezium::{self, Op};
use aqueduct_sdk::{Schema, SinkRecord, Value};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary, Bson, DateTime, Document};
use tracing::debug;

use crate::convert::{to_document, value_to_bson};
use crate::extjson;
use crate::sink::bulk::WriteOp;
use crate::sink::config::{CdcHandler, IdStrategy, Projection, SinkConfig, WriteModel};

/// The writes for one record; `Err` is a message for a data error (bad or unusable record).
pub fn plan(config: &SinkConfig, record: &SinkRecord) -> Result<Vec<WriteOp>, String> {
    match config.cdc {
        None => documents(config, record),
        Some(CdcHandler::MongoChangeStream) => change_event(record),
        Some(CdcHandler::DebeziumRdbms) => debezium_rdbms(record),
        Some(CdcHandler::DebeziumMongo) => debezium_mongo(record),
    }
}

fn key_document(record: &SinkRecord) -> Result<Document, String> {
    if record.key.is_null() {
        return Err("the record has no key".into());
    }
    to_document(record.key_schema.as_deref(), &record.key, "record key")
}

fn project(doc: &Document, projection: &Projection) -> Document {
    let listed = |k: &str| projection.fields.iter().any(|f| f == k || f.starts_with(&format!("{k}.")));
    let mut out = Document::new();
    for (k, v) in doc {
        let keep = listed(k) == projection.allow;
        if keep {
            let nested: Vec<String> =
                projection.fields.iter().filter_map(|f| f.strip_prefix(&format!("{k}."))).map(str::to_owned).collect();
            let value = match (v, nested.is_empty()) {
                (Bson::Document(sub), false) => {
                    Bson::Document(project(sub, &Projection { allow: projection.allow, fields: nested }))
                }
                _ => v.clone(),
            };
            out.insert(k.clone(), value);
        }
    }
    out
}

fn generate_id(config: &SinkConfig, record: &SinkRecord, value: Option<&Document>) -> Result<Bson, String> {
    let name = format!("{:?}Strategy", config.id_strategy);
    Ok(match config.id_strategy {
        IdStrategy::BsonOid => Bson::ObjectId(ObjectId::new()),
        IdStrategy::ProvidedInKey => {
            key_document(record)?.get("_id").cloned().ok_or(format!("{name}: the record key has no _id field"))?
        }
        IdStrategy::ProvidedInValue => {
            value.and_then(|v| v.get("_id")).cloned().ok_or(format!("{name}: the record value has no _id field"))?
        }
        IdStrategy::PartialValue => {
            Bson::Document(project(value.ok_or(format!("{name}: the record has no value"))?, &config.partial_value))
        }
        IdStrategy::PartialKey => Bson::Document(project(&key_document(record)?, &config.partial_key)),
        IdStrategy::FullKey => Bson::Document(key_document(record)?),
        IdStrategy::Uuid => {
            let uuid = mongodb::bson::Uuid::new();
            if config.uuid_binary {
                Bson::Binary(Binary { subtype: BinarySubtype::Uuid, bytes: uuid.bytes().to_vec() })
            } else {
                Bson::String(uuid.to_string())
            }
        }
        IdStrategy::KafkaMetaData => {
            Bson::String(format!("{}-{}-{}", record.topic, record.kafka_partition, record.kafka_offset))
        }
    })
}

/// The document path: `_id` from the id strategy, then the write model strategy.
fn documents(config: &SinkConfig, record: &SinkRecord) -> Result<Vec<WriteOp>, String> {
    if record.value.is_null() {
        if !config.delete_on_null {
            debug!(topic = %record.topic, offset = record.kafka_offset, "skipping a record with a null value");
            return Ok(Vec::new());
        }
        let id = generate_id(config, record, None)?;
        return Ok(vec![WriteOp::Delete(doc! { "_id": id })]);
    }
    let mut value = to_document(record.value_schema.as_deref(), &record.value, "record value")?;
    let id = generate_id(config, record, Some(&value))?;
    if config.write_model == WriteModel::ReplaceOneBusinessKey {
        let Bson::Document(business_key) = id else {
            return Err("ReplaceOneBusinessKeyStrategy needs a document id (a partial projection)".into());
        };
        value.remove("_id");
        return Ok(vec![WriteOp::Replace { filter: business_key, replacement: value, upsert: true }]);
    }
    if config.overwrite_id || !value.contains_key("_id") {
        let mut with_id = doc! { "_id": id };
        value.remove("_id");
        with_id.extend(value);
        value = with_id;
    }
    let id = value.get("_id").cloned().unwrap_or(Bson::Null);
    Ok(vec![match config.write_model {
        WriteModel::ReplaceOneDefault | WriteModel::ReplaceOneBusinessKey => {
            WriteOp::Replace { filter: doc! { "_id": id }, replacement: value, upsert: true }
        }
        WriteModel::UpdateOneDefault => {
            value.remove("_id");
            WriteOp::Update { filter: doc! { "_id": id }, update: doc! { "$set": value }, upsert: true }
        }
        WriteModel::UpdateOneTimestamps => {
            value.remove("_id");
            let now = DateTime::from_millis(
                SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0)),
            );
            value.insert("_modifiedTS", now);
            WriteOp::Update {
                filter: doc! { "_id": id },
                update: doc! { "$set": value, "$setOnInsert": { "_insertedTS": now } },
                upsert: true,
            }
        }
        WriteModel::InsertOneDefault => WriteOp::Insert(value),
    }])
}

/// `{field: {$eq: value}}` for each field of a document key, so ids shaped like operators stay literal.
fn key_filter(key: &Document) -> Result<Document, String> {
    if !key.contains_key("_id") {
        return Err(format!("documentKey has no _id: {}", extjson::document_to_string(key, Default::default())));
    }
    let mut filter = Document::new();
    for (k, v) in key {
        if k.starts_with('$') {
            return Err(format!("documentKey has a $-prefixed field {k:?}"));
        }
        filter.insert(k.clone(), doc! { "$eq": v.clone() });
    }
    Ok(filter)
}

fn update_from_description(filter: &Document, desc: &Document) -> Result<Vec<WriteOp>, String> {
    let mut ops = Vec::new();
    if let Ok(truncated) = desc.get_array("truncatedArrays") {
        let mut push = Document::new();
        for t in truncated.iter().filter_map(Bson::as_document) {
            let field = t.get_str("field").map_err(|_| "truncatedArrays entry without field")?;
            let size = t.get("newSize").cloned().unwrap_or(Bson::Int32(0));
            push.insert(field, doc! { "$each": [], "$slice": size });
        }
        if !push.is_empty() {
            ops.push(WriteOp::Update { filter: filter.clone(), update: doc! { "$push": push }, upsert: false });
        }
    }
    let set = match desc.get("updatedFields") {
        Some(Bson::Document(d)) => d.clone(),
        Some(Bson::String(s)) => extjson::parse_document(s).map_err(|e| format!("updatedFields: {e}"))?,
        _ => Document::new(),
    };
    let mut unset = Document::new();
    if let Ok(removed) = desc.get_array("removedFields") {
        for field in removed {
            let field = field.as_str().ok_or("removedFields holds a non-string")?;
            unset.insert(field, "");
        }
    }
    let mut update = Document::new();
    if !set.is_empty() {
        update.insert("$set", set);
    }
    if !unset.is_empty() {
        update.insert("$unset", unset);
    }
    if !update.is_empty() {
        ops.push(WriteOp::Update { filter: filter.clone(), update, upsert: false });
    }
    Ok(ops)
}

/// MongoDB change events, as the MongoDB connector's `ChangeStreamHandler` applies them.
fn change_event(record: &SinkRecord) -> Result<Vec<WriteOp>, String> {
    if record.value.is_null() {
        return Ok(Vec::new());
    }
    let event = to_document(record.value_schema.as_deref(), &record.value, "change event")?;
    let op = event.get_str("operationType").map_err(|_| "change event without a string operationType".to_owned())?;
    let key = || event.get_document("documentKey").map_err(|_| format!("{op} event without a documentKey document"));
    let full = || match event.get("fullDocument") {
        Some(Bson::Document(d)) => Some(d.clone()),
        _ => None,
    };
    Ok(match op {
        "insert" | "replace" => {
            let doc = full().ok_or(format!("{op} event without a fullDocument"))?;
            vec![WriteOp::Replace { filter: key_filter(key()?)?, replacement: doc, upsert: true }]
        }
        "update" => {
            let filter = key_filter(key()?)?;
            match full() {
                Some(doc) => vec![WriteOp::Replace { filter, replacement: doc, upsert: false }],
                None => {
                    let desc = event
                        .get_document("updateDescription")
                        .map_err(|_| "update event with neither fullDocument nor updateDescription".to_owned())?;
                    update_from_description(&filter, desc)?
                }
            }
        }
        "delete" => vec![WriteOp::Delete(key_filter(key()?)?)],
        other => {
            debug!(operation = other, "ignoring a change event that is not a document change");
            Vec::new()
        }
    })
}

fn field_schema<'a>(schema: Option<&'a Schema>, name: &str) -> Option<&'a Schema> {
    schema.and_then(|s| s.field(name)).map(|f| &*f.schema)
}

fn image(record: &SinkRecord, name: &str, value: Option<&Value>) -> Result<Option<Document>, String> {
    match value {
        None => Ok(None),
        Some(v) => to_document(field_schema(record.value_schema.as_deref(), name), v, name).map(Some),
    }
}

/// Debezium envelopes from relational sources: `_id` is the key document (the primary key).
fn debezium_rdbms(record: &SinkRecord) -> Result<Vec<WriteOp>, String> {
    if record.value.is_null() {
        return Ok(Vec::new()); // tombstone after a delete
    }
    let event = debezium::parse(&record.value).ok_or("the record value is not a Debezium envelope")?;
    let key = if record.key.is_null() { Document::new() } else { key_document(record)? };
    let before = image(record, "before", event.before)?;
    let filter = match (key.is_empty(), event.op) {
        (false, _) => doc! { "_id": key.clone() },
        (true, Op::Create | Op::Read) => doc! { "_id": ObjectId::new() },
        (true, _) => before.clone().filter(|b| !b.is_empty()).ok_or("no key and no before image to find the row")?,
    };
    Ok(match event.op {
        Op::Create | Op::Read | Op::Update => {
            let after = image(record, "after", event.after)?.ok_or("a create/update event without an after image")?;
            let mut doc = Document::new();
            if let Some(id) = filter.get("_id") {
                doc.insert("_id", id.clone());
            }
            for (k, v) in after {
                if !key.contains_key(&k) {
                    doc.insert(k, v);
                }
            }
            vec![WriteOp::Replace { filter, replacement: doc, upsert: true }]
        }
        Op::Delete => vec![WriteOp::Delete(filter)],
        Op::Truncate => Vec::new(),
    })
}

/// Debezium envelopes from MongoDB: `_id` from the key's `id` (Extended JSON text, or a plain value).
fn debezium_mongo(record: &SinkRecord) -> Result<Vec<WriteOp>, String> {
    if record.value.is_null() {
        return Ok(Vec::new());
    }
    let event = debezium::parse(&record.value).ok_or("the record value is not a Debezium envelope")?;
    let id = match record.key.field("id") {
        Some(Value::String(text)) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(json) if text.starts_with(['{', '"', '[']) => extjson::from_json(json)?,
            _ => Bson::String(text.clone()),
        },
        Some(other) => value_to_bson(None, other)?,
        None => return Err("the record key has no id field".into()),
    };
    let filter = doc! { "_id": id.clone() };
    Ok(match event.op {
        Op::Create | Op::Read | Op::Update => match image(record, "after", event.after)? {
            Some(after) => {
                let mut doc = doc! { "_id": id };
                doc.extend(after.into_iter().filter(|(k, _)| k != "_id"));
                vec![WriteOp::Replace { filter, replacement: doc, upsert: true }]
            }
            None => match record.value.field("updateDescription") {
                Some(desc) if !desc.is_null() => {
                    let desc = to_document(None, desc, "updateDescription")?;
                    update_from_description(&filter, &desc)?
                }
                _ => return Err("an update event with neither after nor updateDescription".into()),
            },
        },
        Op::Delete => vec![WriteOp::Delete(filter)],
        Op::Truncate => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::Props;

    fn config(pairs: &[(&str, &str)]) -> SinkConfig {
        let mut props: Props = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        props.insert("database".into(), "d".into());
        SinkConfig::parse(&props).expect("valid config")
    }

    fn record(key: serde_json::Value, value: serde_json::Value) -> SinkRecord {
        SinkRecord::new("t", 0, 7, None, Value::from_json(value)).with_key(None, Value::from_json(key))
    }

    #[test]
    fn default_strategies_replace_by_id() {
        let c = config(&[]);
        let ops = plan(&c, &record(serde_json::json!(null), serde_json::json!({"_id": 3, "a": 1}))).expect("ops");
        assert_eq!(
            ops,
            vec![WriteOp::Replace { filter: doc! {"_id": 3}, replacement: doc! {"_id": 3, "a": 1}, upsert: true }]
        );
        let ops = plan(&c, &record(serde_json::json!(null), serde_json::json!({"a": 1}))).expect("ops");
        let WriteOp::Replace { replacement, .. } = &ops[0] else { panic!("replace") };
        assert!(matches!(replacement.get("_id"), Some(Bson::ObjectId(_))), "a new ObjectId first");
        assert_eq!(plan(&c, &record(serde_json::json!(1), serde_json::json!(null))).expect("skip"), vec![]);
    }

    #[test]
    fn key_strategies_updates_inserts_and_deletes() {
        let c = config(&[
            ("document.id.strategy", "ProvidedInKeyStrategy"),
            ("delete.on.null.values", "true"),
            ("writemodel.strategy", "UpdateOneDefaultStrategy"),
        ]);
        let ops = plan(&c, &record(serde_json::json!({"_id": "k"}), serde_json::json!({"a": 1}))).expect("ops");
        assert_eq!(
            ops,
            vec![WriteOp::Update { filter: doc! {"_id": "k"}, update: doc! {"$set": {"a": 1}}, upsert: true }]
        );
        let ops = plan(&c, &record(serde_json::json!({"_id": "k"}), serde_json::json!(null))).expect("ops");
        assert_eq!(ops, vec![WriteOp::Delete(doc! {"_id": "k"})]);
        let err = plan(&c, &record(serde_json::json!({"x": 1}), serde_json::json!({"a": 1}))).expect_err("no _id");
        assert!(err.contains("ProvidedInKeyStrategy"), "{err}");
        let c = config(&[
            ("document.id.strategy", "PartialValueStrategy"),
            ("document.id.strategy.partial.value.projection.list", "a,b.c"),
            ("document.id.strategy.partial.value.projection.type", "AllowList"),
            ("writemodel.strategy", "ReplaceOneBusinessKeyStrategy"),
        ]);
        let ops =
            plan(&c, &record(serde_json::json!(null), serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}, "e": 4})))
                .expect("ops");
        assert_eq!(
            ops,
            vec![WriteOp::Replace {
                filter: doc! {"a": 1, "b": {"c": 2}},
                replacement: doc! {"a": 1, "b": {"c": 2, "d": 3}, "e": 4},
                upsert: true,
            }]
        );
        let c = config(&[
            ("writemodel.strategy", "InsertOneDefaultStrategy"),
            ("document.id.strategy", "KafkaMetaDataStrategy"),
        ]);
        let ops = plan(&c, &record(serde_json::json!(null), serde_json::json!({"a": 1}))).expect("ops");
        assert_eq!(ops, vec![WriteOp::Insert(doc! {"_id": "t-0-7", "a": 1})]);
    }

    #[test]
    fn mongodb_change_events() {
        let c = config(&[(
            "change.data.capture.handler",
            "com.mongodb.kafka.connect.sink.cdc.mongodb.ChangeStreamHandler",
        )]);
        let update = serde_json::json!({"operationType": "update", "documentKey": {"_id": 1},
            "updateDescription": {"updatedFields": {"a.b": 2}, "removedFields": ["c"], "truncatedArrays": [{"field": "arr", "newSize": 1}]}});
        let ops = plan(&c, &record(serde_json::json!(null), update)).expect("ops");
        let filter = doc! {"_id": {"$eq": 1}};
        assert_eq!(
            ops,
            vec![
                WriteOp::Update {
                    filter: filter.clone(),
                    update: doc! {"$push": {"arr": {"$each": [], "$slice": 1}}},
                    upsert: false
                },
                WriteOp::Update {
                    filter: filter.clone(),
                    update: doc! {"$set": {"a.b": 2}, "$unset": {"c": ""}},
                    upsert: false
                },
            ]
        );
        let insert = serde_json::json!({"operationType": "insert", "documentKey": {"_id": 1}, "fullDocument": {"_id": 1, "x": {"$numberLong": "5"}}});
        let ops = plan(&c, &record(serde_json::json!(null), insert)).expect("ops");
        assert_eq!(
            ops,
            vec![WriteOp::Replace { filter: filter.clone(), replacement: doc! {"_id": 1, "x": 5i64}, upsert: true }]
        );
        let delete = serde_json::json!({"operationType": "delete", "documentKey": {"_id": 1}});
        assert_eq!(plan(&c, &record(serde_json::json!(null), delete)).expect("ops"), vec![WriteOp::Delete(filter)]);
        assert!(plan(&c, &record(serde_json::json!(null), serde_json::json!({"x": 1})))
            .expect_err("no op")
            .contains("operationType"));
        let text = Value::String("not json".into());
        let mut r = record(serde_json::json!(null), serde_json::json!(null));
        r.value = text;
        assert!(plan(&c, &r).expect_err("bad json").contains("change event"));
    }

    #[test]
    fn debezium_envelopes_from_postgres() {
        let c = config(&[(
            "change.data.capture.handler",
            "com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.postgres.PostgresHandler",
        )]);
        let create = serde_json::json!({"op": "c", "before": null, "after": {"id": 5, "name": "x"}, "source": {}});
        let ops = plan(&c, &record(serde_json::json!({"id": 5}), create)).expect("ops");
        assert_eq!(
            ops,
            vec![WriteOp::Replace {
                filter: doc! {"_id": {"id": 5}},
                replacement: doc! {"_id": {"id": 5}, "name": "x"},
                upsert: true
            }]
        );
        let delete = serde_json::json!({"op": "d", "before": {"id": 5}, "after": null, "source": {}});
        let ops = plan(&c, &record(serde_json::json!({"id": 5}), delete)).expect("ops");
        assert_eq!(ops, vec![WriteOp::Delete(doc! {"_id": {"id": 5}})]);
        assert_eq!(
            plan(&c, &record(serde_json::json!({"id": 5}), serde_json::json!(null))).expect("tombstone"),
            vec![]
        );
        assert!(plan(&c, &record(serde_json::json!({"id": 5}), serde_json::json!({"a": 1}))).is_err());
    }

    #[test]
    fn debezium_envelopes_from_mongodb() {
        let c = config(&[(
            "change.data.capture.handler",
            "com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.MongoDbHandler",
        )]);
        let create = serde_json::json!({"op": "c", "after": "{\"_id\": {\"$oid\": \"5f1e2d3c4b5a697887960504\"}, \"a\": 1}", "source": {}});
        let ops = plan(&c, &record(serde_json::json!({"id": "{\"$oid\": \"5f1e2d3c4b5a697887960504\"}"}), create))
            .expect("ops");
        let oid = ObjectId::parse_str("5f1e2d3c4b5a697887960504").expect("oid");
        assert_eq!(
            ops,
            vec![WriteOp::Replace { filter: doc! {"_id": oid}, replacement: doc! {"_id": oid, "a": 1}, upsert: true }]
        );
        let ours = serde_json::json!({"op": "u", "after": {"_id": "k1", "a": 2}, "source": {}});
        let ops = plan(&c, &record(serde_json::json!({"id": "k1"}), ours)).expect("ops");
        assert_eq!(
            ops,
            vec![WriteOp::Replace {
                filter: doc! {"_id": "k1"},
                replacement: doc! {"_id": "k1", "a": 2},
                upsert: true
            }]
        );
    }
}
