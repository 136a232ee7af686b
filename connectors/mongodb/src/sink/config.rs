//! Keys of the MongoDB sink (the MongoDB Kafka connector's), parsed into a typed [`SinkConfig`].

use std::time::Duration;

use aqueduct_sdk::{ConfigDef, ConfigType, ConfigValue, ConnectError, Importance, Props, Result, Validator};

/// The connection string.
pub const CONNECTION_URI: &str = "connection.uri";
/// The database to write to.
pub const DATABASE: &str = "database";
/// The collection to write to; empty: the topic name.
pub const COLLECTION: &str = "collection";
/// How a document's `_id` is chosen.
pub const ID_STRATEGY: &str = "document.id.strategy";
/// Replace an `_id` already in the value with the strategy's.
pub const ID_OVERWRITE: &str = "document.id.strategy.overwrite.existing";
/// `string` or `binary` UUIDs for the UUID strategy.
pub const ID_UUID_FORMAT: &str = "document.id.strategy.uuid.format";
/// `AllowList` or `BlockList` for `PartialValueStrategy`.
pub const PARTIAL_VALUE_TYPE: &str = "document.id.strategy.partial.value.projection.type";
/// Fields for `PartialValueStrategy`.
pub const PARTIAL_VALUE_LIST: &str = "document.id.strategy.partial.value.projection.list";
/// `AllowList` or `BlockList` for `PartialKeyStrategy`.
pub const PARTIAL_KEY_TYPE: &str = "document.id.strategy.partial.key.projection.type";
/// Fields for `PartialKeyStrategy`.
pub const PARTIAL_KEY_LIST: &str = "document.id.strategy.partial.key.projection.list";
/// How a record becomes a write.
pub const WRITE_MODEL: &str = "writemodel.strategy";
/// Delete the document of a record whose value is null (a tombstone).
pub const DELETE_ON_NULL: &str = "delete.on.null.values";
/// The handler of change-data-capture events.
pub const CDC_HANDLER: &str = "change.data.capture.handler";
/// Ordered bulk writes (stop at the first failing write).
pub const BULK_ORDERED: &str = "bulk.write.ordered";
/// Most writes per bulk write; 0: no limit beyond the server's.
pub const MAX_BATCH_SIZE: &str = "max.batch.size";
/// In-task retries of a bulk write that failed transiently.
pub const MAX_NUM_RETRIES: &str = "max.num.retries";
/// Wait between those retries (ms).
pub const RETRIES_DEFER_TIMEOUT: &str = "retries.defer.timeout";

const ID_PACKAGE: &str = "com.mongodb.kafka.connect.sink.processor.id.strategy.";
const WRITE_PACKAGE: &str = "com.mongodb.kafka.connect.sink.writemodel.strategy.";

/// How the `_id` of a written document is chosen (the MongoDB connector's `IdStrategy` classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdStrategy {
    /// A new ObjectId (kept when the value has an `_id` already, unless overwriting).
    BsonOid,
    /// The `_id` field of the key document.
    ProvidedInKey,
    /// The `_id` field of the value document.
    ProvidedInValue,
    /// A projection of the value document.
    PartialValue,
    /// A projection of the key document.
    PartialKey,
    /// The whole key document.
    FullKey,
    /// A random UUID.
    Uuid,
    /// `topic-partition-offset`.
    KafkaMetaData,
}

impl IdStrategy {
    fn parse(name: &str) -> Option<IdStrategy> {
        let simple = name.trim().strip_prefix(ID_PACKAGE).unwrap_or(name.trim());
        Some(match simple {
            "BsonOidStrategy" => IdStrategy::BsonOid,
            "ProvidedInKeyStrategy" => IdStrategy::ProvidedInKey,
            "ProvidedInValueStrategy" => IdStrategy::ProvidedInValue,
            "PartialValueStrategy" => IdStrategy::PartialValue,
            "PartialKeyStrategy" => IdStrategy::PartialKey,
            "FullKeyStrategy" => IdStrategy::FullKey,
            "UuidStrategy" => IdStrategy::Uuid,
            "KafkaMetaDataStrategy" => IdStrategy::KafkaMetaData,
            _ => return None,
        })
    }

    /// True when the id comes from the record key (needed to delete on tombstones).
    pub fn from_key(self) -> bool {
        matches!(self, IdStrategy::ProvidedInKey | IdStrategy::PartialKey | IdStrategy::FullKey)
    }
}

/// How a record becomes a write (the MongoDB connector's `WriteModelStrategy` classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteModel {
    /// `ReplaceOne({_id}, doc, upsert)` — also `DefaultWriteModelStrategy`.
    ReplaceOneDefault,
    /// `ReplaceOne(<business key from _id>, doc without _id, upsert)`.
    ReplaceOneBusinessKey,
    /// `UpdateOne({_id}, {$set: doc}, upsert)`.
    UpdateOneDefault,
    /// `UpdateOne({_id}, {$set: doc + _modifiedTS, $setOnInsert: {_insertedTS}}, upsert)`.
    UpdateOneTimestamps,
    /// `InsertOne(doc)`.
    InsertOneDefault,
}

impl WriteModel {
    fn parse(name: &str) -> Option<WriteModel> {
        let simple = name.trim().strip_prefix(WRITE_PACKAGE).unwrap_or(name.trim());
        Some(match simple {
            "DefaultWriteModelStrategy" | "ReplaceOneDefaultStrategy" => WriteModel::ReplaceOneDefault,
            "ReplaceOneBusinessKeyStrategy" => WriteModel::ReplaceOneBusinessKey,
            "UpdateOneDefaultStrategy" => WriteModel::UpdateOneDefault,
            "UpdateOneTimestampsStrategy" => WriteModel::UpdateOneTimestamps,
            "InsertOneDefaultStrategy" => WriteModel::InsertOneDefault,
            _ => return None,
        })
    }
}

/// Change-data-capture handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdcHandler {
    /// MongoDB change events (`operationType`, `documentKey`, `fullDocument`, `updateDescription`).
    MongoChangeStream,
    /// Debezium envelopes from relational databases: `_id` is the key document.
    DebeziumRdbms,
    /// Debezium envelopes from MongoDB: `_id` is the key's `id`.
    DebeziumMongo,
}

impl CdcHandler {
    fn parse(name: &str) -> Option<Option<CdcHandler>> {
        let name = name.trim();
        let cdc = "com.mongodb.kafka.connect.sink.cdc.";
        let simple = name.strip_prefix(cdc).unwrap_or(name);
        Some(match simple {
            "" => None,
            "mongodb.ChangeStreamHandler" | "mongodb" => Some(CdcHandler::MongoChangeStream),
            "debezium.rdbms.RdbmsHandler"
            | "debezium.rdbms.postgres.PostgresHandler"
            | "debezium.rdbms.mysql.MysqlHandler"
            | "debezium" => Some(CdcHandler::DebeziumRdbms),
            "debezium.mongodb.MongoDbHandler" | "debezium.mongodb.ChangeStreamHandler" | "debezium-mongodb" => {
                Some(CdcHandler::DebeziumMongo)
            }
            _ => return None,
        })
    }
}

/// A projection: keep (AllowList) or drop (BlockList) fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    /// True for AllowList.
    pub allow: bool,
    /// Field names (dotted paths reach into sub-documents).
    pub fields: Vec<String>,
}

fn valid_with(
    parse: fn(&str) -> bool,
    names: &'static str,
) -> impl Fn(&ConfigValue) -> std::result::Result<(), String> {
    move |v| match v {
        ConfigValue::String(s) if parse(s) => Ok(()),
        _ => Err(format!("unknown value; one of {names}")),
    }
}

fn valid_id(v: &ConfigValue) -> std::result::Result<(), String> {
    valid_with(|s| IdStrategy::parse(s).is_some(), "BsonOidStrategy, ProvidedInKeyStrategy, ProvidedInValueStrategy, PartialValueStrategy, PartialKeyStrategy, FullKeyStrategy, UuidStrategy, KafkaMetaDataStrategy")(v)
}

fn valid_write_model(v: &ConfigValue) -> std::result::Result<(), String> {
    valid_with(|s| WriteModel::parse(s).is_some(), "DefaultWriteModelStrategy, ReplaceOneDefaultStrategy, ReplaceOneBusinessKeyStrategy, UpdateOneDefaultStrategy, UpdateOneTimestampsStrategy, InsertOneDefaultStrategy")(v)
}

fn valid_cdc(v: &ConfigValue) -> std::result::Result<(), String> {
    valid_with(|s| CdcHandler::parse(s).is_some(), "com.mongodb.kafka.connect.sink.cdc.mongodb.ChangeStreamHandler, ...cdc.debezium.rdbms.RdbmsHandler (PostgresHandler, MysqlHandler), ...cdc.debezium.mongodb.MongoDbHandler")(v)
}

/// The keys of the sink.
pub fn sink_config_def() -> ConfigDef {
    let projection_types = ["", "AllowList", "BlockList", "whitelist", "blacklist", "none"];
    ConfigDef::new()
        .define(CONNECTION_URI, ConfigType::Password, Some("mongodb://localhost:27017"), Importance::High,
            "The MongoDB connection string (mongodb://host1[:port],host2/?replicaSet=...).")
        .define(DATABASE, ConfigType::String, None, Importance::High, "The database to write to.")
        .validator(Validator::NonEmpty)
        .define(COLLECTION, ConfigType::String, Some(""), Importance::High,
            "The collection to write to; empty: the record's topic name.")
        .define(ID_STRATEGY, ConfigType::String,
            Some("com.mongodb.kafka.connect.sink.processor.id.strategy.BsonOidStrategy"), Importance::High,
            "How the _id of a written document is chosen: BsonOidStrategy, ProvidedInKeyStrategy, ProvidedInValueStrategy, PartialValueStrategy, PartialKeyStrategy, FullKeyStrategy, UuidStrategy or KafkaMetaDataStrategy (full class names too).")
        .validator(Validator::Custom(valid_id))
        .define(ID_OVERWRITE, ConfigType::Boolean, Some("false"), Importance::Low,
            "Replace an _id already present in the value with the strategy's.")
        .define(ID_UUID_FORMAT, ConfigType::String, Some("string"), Importance::Low,
            "UuidStrategy output: string or binary.")
        .validator(Validator::one_of(&["string", "binary"]))
        .define(PARTIAL_VALUE_TYPE, ConfigType::String, Some(""), Importance::Low,
            "PartialValueStrategy projection: AllowList or BlockList.")
        .validator(Validator::one_of(&projection_types))
        .define(PARTIAL_VALUE_LIST, ConfigType::List, Some(""), Importance::Low,
            "PartialValueStrategy fields, comma-separated.")
        .define(PARTIAL_KEY_TYPE, ConfigType::String, Some(""), Importance::Low,
            "PartialKeyStrategy projection: AllowList or BlockList.")
        .validator(Validator::one_of(&projection_types))
        .define(PARTIAL_KEY_LIST, ConfigType::List, Some(""), Importance::Low, "PartialKeyStrategy fields, comma-separated.")
        .define(WRITE_MODEL, ConfigType::String,
            Some("com.mongodb.kafka.connect.sink.writemodel.strategy.DefaultWriteModelStrategy"), Importance::High,
            "How a record becomes a write: DefaultWriteModelStrategy (= ReplaceOneDefaultStrategy: replace by _id, upsert), ReplaceOneBusinessKeyStrategy, UpdateOneDefaultStrategy ($set, upsert), UpdateOneTimestampsStrategy or InsertOneDefaultStrategy.")
        .validator(Validator::Custom(valid_write_model))
        .define(DELETE_ON_NULL, ConfigType::Boolean, Some("false"), Importance::Medium,
            "Delete the document whose _id the key gives when a record's value is null (needs a key-based id strategy).")
        .define(CDC_HANDLER, ConfigType::String, Some(""), Importance::High,
            "Apply change events instead of documents: com.mongodb.kafka.connect.sink.cdc.mongodb.ChangeStreamHandler (MongoDB change events), ...cdc.debezium.rdbms.RdbmsHandler / PostgresHandler / MysqlHandler (Debezium envelopes from databases), ...cdc.debezium.mongodb.MongoDbHandler (Debezium envelopes from MongoDB).")
        .validator(Validator::Custom(valid_cdc))
        .define(BULK_ORDERED, ConfigType::Boolean, Some("true"), Importance::Medium,
            "Ordered bulk writes: writes after a failed one wait until it is reported (errors.tolerance=all) or fail the task.")
        .define(MAX_BATCH_SIZE, ConfigType::Int, Some("0"), Importance::Low,
            "Most writes per bulk write; 0: as many as a put gives.")
        .validator(Validator::at_least(0.0))
        .define(MAX_NUM_RETRIES, ConfigType::Int, Some("1"), Importance::Medium,
            "Retries of a bulk write that failed transiently, before the put is handed back to the runtime to retry with backoff.")
        .validator(Validator::at_least(0.0))
        .define(RETRIES_DEFER_TIMEOUT, ConfigType::Int, Some("5000"), Importance::Medium,
            "Wait between those retries (ms).")
        .validator(Validator::at_least(0.0))
}

/// A parsed sink configuration.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// Connection string.
    pub uri: String,
    /// Database.
    pub database: String,
    /// Collection; empty: the topic name.
    pub collection: String,
    /// `_id` strategy.
    pub id_strategy: IdStrategy,
    /// Overwrite an existing `_id`.
    pub overwrite_id: bool,
    /// Binary UUIDs.
    pub uuid_binary: bool,
    /// Partial value projection.
    pub partial_value: Projection,
    /// Partial key projection.
    pub partial_key: Projection,
    /// Write model.
    pub write_model: WriteModel,
    /// Delete on tombstones.
    pub delete_on_null: bool,
    /// CDC handler.
    pub cdc: Option<CdcHandler>,
    /// Ordered bulk writes.
    pub ordered: bool,
    /// Writes per bulk write.
    pub max_batch: usize,
    /// In-task retries.
    pub retries: u32,
    /// Wait between retries.
    pub retry_delay: Duration,
}

fn projection(kind: &str, fields: &[String]) -> Projection {
    Projection { allow: !matches!(kind, "BlockList" | "blacklist"), fields: fields.to_vec() }
}

impl SinkConfig {
    /// Parses and checks `props`.
    pub fn parse(props: &Props) -> Result<SinkConfig> {
        let c = sink_config_def().parse(props)?;
        let s = |k: &str| c.string(k).unwrap_or_default().to_owned();
        let list = |k: &str| c.list(k).map(<[String]>::to_vec).unwrap_or_default();
        let uri = s(CONNECTION_URI);
        crate::client::check_uri(&uri, CONNECTION_URI).map_err(ConnectError::config)?;
        let id_strategy = IdStrategy::parse(&s(ID_STRATEGY)).unwrap_or(IdStrategy::BsonOid);
        let write_model = WriteModel::parse(&s(WRITE_MODEL)).unwrap_or(WriteModel::ReplaceOneDefault);
        let cdc = CdcHandler::parse(&s(CDC_HANDLER)).flatten();
        let delete_on_null = c.boolean(DELETE_ON_NULL).unwrap_or(false);
        if delete_on_null && cdc.is_none() && !id_strategy.from_key() {
            return Err(ConnectError::config(format!(
                "{DELETE_ON_NULL}=true needs {ID_STRATEGY} to take the id from the key \
                 (ProvidedInKeyStrategy, PartialKeyStrategy or FullKeyStrategy)"
            )));
        }
        let partial_value = projection(&s(PARTIAL_VALUE_TYPE), &list(PARTIAL_VALUE_LIST));
        if id_strategy == IdStrategy::PartialValue && partial_value.fields.is_empty() {
            return Err(ConnectError::config(format!("PartialValueStrategy needs {PARTIAL_VALUE_LIST}")));
        }
        if write_model == WriteModel::ReplaceOneBusinessKey
            && !matches!(id_strategy, IdStrategy::PartialValue | IdStrategy::PartialKey)
        {
            return Err(ConnectError::config(format!(
                "ReplaceOneBusinessKeyStrategy needs {ID_STRATEGY}=PartialValueStrategy or PartialKeyStrategy"
            )));
        }
        let int = |k: &str, d: i32| u32::try_from(c.int(k).unwrap_or(d)).unwrap_or(0);
        Ok(SinkConfig {
            uri,
            database: s(DATABASE),
            collection: s(COLLECTION),
            id_strategy,
            overwrite_id: c.boolean(ID_OVERWRITE).unwrap_or(false),
            uuid_binary: c.string(ID_UUID_FORMAT) == Some("binary"),
            partial_value,
            partial_key: projection(&s(PARTIAL_KEY_TYPE), &list(PARTIAL_KEY_LIST)),
            write_model,
            delete_on_null,
            cdc,
            ordered: c.boolean(BULK_ORDERED).unwrap_or(true),
            max_batch: usize::try_from(int(MAX_BATCH_SIZE, 0)).unwrap_or(0),
            retries: int(MAX_NUM_RETRIES, 1),
            retry_delay: Duration::from_millis(u64::from(int(RETRIES_DEFER_TIMEOUT, 5000))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_and_class_names() {
        let c = SinkConfig::parse(&props(&[("database", "d")])).expect("valid");
        assert_eq!(
            (c.id_strategy, c.write_model, c.cdc, c.ordered),
            (IdStrategy::BsonOid, WriteModel::ReplaceOneDefault, None, true)
        );
        let c = SinkConfig::parse(&props(&[
            ("database", "d"),
            ("document.id.strategy", "com.mongodb.kafka.connect.sink.processor.id.strategy.ProvidedInKeyStrategy"),
            ("writemodel.strategy", "com.mongodb.kafka.connect.sink.writemodel.strategy.InsertOneDefaultStrategy"),
            (
                "change.data.capture.handler",
                "com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.postgres.PostgresHandler",
            ),
            ("delete.on.null.values", "true"),
        ]))
        .expect("valid");
        assert_eq!(c.id_strategy, IdStrategy::ProvidedInKey);
        assert_eq!(c.write_model, WriteModel::InsertOneDefault);
        assert_eq!(c.cdc, Some(CdcHandler::DebeziumRdbms));
    }

    #[test]
    fn inconsistent_settings_are_config_errors() {
        assert!(SinkConfig::parse(&props(&[])).is_err(), "database is required");
        let err = SinkConfig::parse(&props(&[("database", "d"), ("delete.on.null.values", "true")])).expect_err("oid");
        assert!(err.to_string().contains("delete.on.null.values"), "{err}");
        let err = SinkConfig::parse(&props(&[("database", "d"), ("document.id.strategy", "Nope")])).expect_err("x");
        assert!(err.to_string().contains("document.id.strategy"), "{err}");
        let err = SinkConfig::parse(&props(&[("database", "d"), ("document.id.strategy", "PartialValueStrategy")]))
            .expect_err("no list");
        assert!(err.to_string().contains("projection.list"), "{err}");
    }
}
