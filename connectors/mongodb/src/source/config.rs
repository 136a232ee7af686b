//! Keys of the MongoDB source (the MongoDB Kafka connector's, plus Debezium's for its alias),
//! parsed into a typed [`SourceConfig`] before any I/O.

use std::collections::BTreeMap;
use std::time::Duration;

use aqueduct_sdk::{ConfigDef, ConfigType, ConfigValue, ConnectError, Importance, Props, Result, Validator};
use mongodb::bson::{Document, Timestamp};
use mongodb::options::{FullDocumentBeforeChangeType, FullDocumentType};

use crate::extjson::{self, JsonFormat};

/// The connection string (MongoDB connector).
pub const CONNECTION_URI: &str = "connection.uri";
/// The connection string (Debezium); wins over `connection.uri` when set.
pub const DBZ_CONNECTION_STRING: &str = "mongodb.connection.string";
/// The database to watch; empty watches the whole deployment.
pub const DATABASE: &str = "database";
/// The collection(s) to watch; empty watches the whole database.
pub const COLLECTION: &str = "collection";
/// Debezium: regular expressions matching `db.collection` names to capture.
pub const COLLECTION_INCLUDE_LIST: &str = "collection.include.list";
/// Debezium: regular expressions matching database names to capture.
pub const DATABASE_INCLUDE_LIST: &str = "database.include.list";
/// An aggregation pipeline (JSON array) applied to the change stream.
pub const PIPELINE: &str = "pipeline";
/// `fullDocument` of the change stream.
pub const FULL_DOCUMENT: &str = "change.stream.full.document";
/// `fullDocumentBeforeChange` of the change stream.
pub const FULL_DOCUMENT_BEFORE_CHANGE: &str = "change.stream.full.document.before.change";
/// Publish only the `fullDocument` of each event.
pub const PUBLISH_FULL_DOCUMENT_ONLY: &str = "publish.full.document.only";
/// With `publish.full.document.only`, a tombstone for events without a full document (deletes).
pub const TOMBSTONE_ON_DELETE: &str = "publish.full.document.only.tombstone.on.delete";
/// Key records by `documentKey` rather than by the resume token.
pub const DOCUMENT_KEY_AS_KEY: &str = "change.stream.document.key.as.key";
/// `mongodb` (change events), `full_document` or `debezium` (envelopes).
pub const OUTPUT_FORMAT: &str = "output.format";
/// `json`, `schema` or `bson` for the record key.
pub const OUTPUT_FORMAT_KEY: &str = "output.format.key";
/// `json`, `schema` or `bson` for the record value.
pub const OUTPUT_FORMAT_VALUE: &str = "output.format.value";
/// How BSON is written as JSON.
pub const OUTPUT_JSON_FORMATTER: &str = "output.json.formatter";
/// `latest`, `timestamp` or `copy_existing`.
pub const STARTUP_MODE: &str = "startup.mode";
/// Where `startup.mode=timestamp` starts.
pub const STARTUP_TIMESTAMP: &str = "startup.mode.timestamp.start.at.operation.time";
/// Only copy namespaces matching this regular expression.
pub const COPY_NAMESPACE_REGEX: &str = "startup.mode.copy.existing.namespace.regex";
/// A pipeline (JSON array) run on each collection before copying.
pub const COPY_PIPELINE: &str = "startup.mode.copy.existing.pipeline";
/// Records buffered between the readers and `poll`.
pub const COPY_QUEUE_SIZE: &str = "startup.mode.copy.existing.queue.size";
/// `allowDiskUse` for the copy aggregation.
pub const COPY_ALLOW_DISK_USE: &str = "startup.mode.copy.existing.allow.disk.use";
/// Deprecated MongoDB connector key: `true` means `startup.mode=copy_existing`.
pub const LEGACY_COPY_EXISTING: &str = "copy.existing";
/// Debezium: `initial` copies existing documents, `never`/`no_data` does not.
pub const DBZ_SNAPSHOT_MODE: &str = "snapshot.mode";
/// Topic name prefix (also Debezium's logical server name).
pub const TOPIC_PREFIX: &str = "topic.prefix";
/// Topic name suffix.
pub const TOPIC_SUFFIX: &str = "topic.suffix";
/// Separator between topic name parts.
pub const TOPIC_SEPARATOR: &str = "topic.separator";
/// JSON object mapping `db` or `db.coll` (or `*`) to a topic name.
pub const TOPIC_NAMESPACE_MAP: &str = "topic.namespace.map";
/// Source partition name, replacing the default derived from the URI and namespace.
pub const OFFSET_PARTITION_NAME: &str = "offset.partition.name";
/// Most records per `poll`.
pub const POLL_MAX_BATCH_SIZE: &str = "poll.max.batch.size";
/// How long a change-stream `getMore` waits for new events.
pub const POLL_AWAIT_TIME_MS: &str = "poll.await.time.ms";
/// Cursor batch size; 0 leaves it to the server.
pub const BATCH_SIZE: &str = "batch.size";
/// Debezium: emit a tombstone after each delete event.
pub const TOMBSTONES_ON_DELETE: &str = "tombstones.on.delete";
/// How often (ms) a heartbeat carries the latest resume token when no event moved it; 0: off.
pub const HEARTBEAT_INTERVAL_MS: &str = "heartbeat.interval.ms";
/// The topic of heartbeat records.
pub const HEARTBEAT_TOPIC_NAME: &str = "heartbeat.topic.name";
/// Internal: the namespaces (`db.coll`) a task watches, as a JSON array.
pub const TASK_NAMESPACES: &str = "aqueduct.mongodb.task.namespaces";

/// Debezium's connector class, whose events default to Debezium envelopes.
pub const DEBEZIUM_CLASS: &str = "io.debezium.connector.mongodb.MongoDbConnector";

/// The keys of the source.
pub fn source_config_def() -> ConfigDef {
    ConfigDef::new()
        .define(CONNECTION_URI, ConfigType::Password, Some("mongodb://localhost:27017"), Importance::High,
            "The MongoDB connection string (mongodb://host1[:port],host2/?replicaSet=...).")
        .define(DBZ_CONNECTION_STRING, ConfigType::Password, Some(""), Importance::Low,
            "Debezium's name for the connection string; used instead of connection.uri when set.")
        .define(DATABASE, ConfigType::String, Some(""), Importance::Medium,
            "The database to watch. Empty watches every database of the deployment.")
        .define(COLLECTION, ConfigType::List, Some(""), Importance::Medium,
            "The collection(s) to watch in `database`, comma-separated; one task each (up to tasks.max). Empty watches the whole database.")
        .define(COLLECTION_INCLUDE_LIST, ConfigType::List, Some(""), Importance::Medium,
            "Debezium: regular expressions matched against `db.collection`; matching collections are resolved at start.")
        .validator(Validator::Custom(valid_regexes))
        .define(DATABASE_INCLUDE_LIST, ConfigType::List, Some(""), Importance::Low,
            "Debezium: regular expressions matched against database names.")
        .validator(Validator::Custom(valid_regexes))
        .define(PIPELINE, ConfigType::String, Some("[]"), Importance::Medium,
            "An aggregation pipeline (JSON array) applied to the change stream and to copied documents, e.g. [{\"$match\": {\"operationType\": \"insert\"}}].")
        .validator(Validator::Custom(valid_pipeline))
        .define(FULL_DOCUMENT, ConfigType::String, Some(""), Importance::Medium,
            "fullDocument of the change stream: default, updateLookup, whenAvailable or required. Empty: the server default, or updateLookup for Debezium output.")
        .validator(Validator::one_of(&["", "default", "updateLookup", "whenAvailable", "required"]))
        .define(FULL_DOCUMENT_BEFORE_CHANGE, ConfigType::String, Some(""), Importance::Low,
            "fullDocumentBeforeChange of the change stream: default, off, whenAvailable or required (needs changeStreamPreAndPostImages on the collection).")
        .validator(Validator::one_of(&["", "default", "off", "whenAvailable", "required"]))
        .define(PUBLISH_FULL_DOCUMENT_ONLY, ConfigType::Boolean, Some("false"), Importance::High,
            "Publish only the fullDocument of each event (events without one are skipped).")
        .define(TOMBSTONE_ON_DELETE, ConfigType::Boolean, Some("false"), Importance::Low,
            "With publish.full.document.only, publish a tombstone (null value) for events without a full document, such as deletes.")
        .define(DOCUMENT_KEY_AS_KEY, ConfigType::Boolean, Some("true"), Importance::Low,
            "Use the event's documentKey as the record key (otherwise the resume token {\"_id\": ...}).")
        .define(OUTPUT_FORMAT, ConfigType::String, Some(""), Importance::High,
            "mongodb (the MongoDB connector's change events), full_document (same as publish.full.document.only) or debezium (Debezium envelopes whose after is a row of top-level fields). Empty: debezium when connector.class is io.debezium.connector.mongodb.MongoDbConnector, else mongodb.")
        .validator(Validator::one_of(&["", "mongodb", "full_document", "debezium"]))
        .define(OUTPUT_FORMAT_KEY, ConfigType::String, Some("json"), Importance::Medium,
            "Record key form for the mongodb format: json (a JSON string), schema (a structured map of the Extended JSON) or bson (raw BSON bytes).")
        .validator(Validator::one_of(&["json", "schema", "bson"]))
        .define(OUTPUT_FORMAT_VALUE, ConfigType::String, Some("json"), Importance::Medium,
            "Record value form for the mongodb format: json, schema or bson, as for output.format.key.")
        .validator(Validator::one_of(&["json", "schema", "bson"]))
        .define(OUTPUT_JSON_FORMATTER, ConfigType::String,
            Some("com.mongodb.kafka.connect.source.json.formatter.DefaultJson"), Importance::Medium,
            "How BSON becomes JSON: DefaultJson (legacy strict), ExtendedJson (canonical), relaxed, or SimplifiedJson; full class names or short names.")
        .validator(Validator::Custom(valid_formatter))
        .define(STARTUP_MODE, ConfigType::String, Some(""), Importance::High,
            "Where a new source (no stored offset) starts: latest, timestamp (startup.mode.timestamp.start.at.operation.time) or copy_existing (copy the current documents first, then stream from a point taken before the copy). Empty: latest, or copy_existing with copy.existing=true or Debezium's snapshot.mode=initial.")
        .validator(Validator::one_of(&["", "latest", "timestamp", "copy_existing"]))
        .define(STARTUP_TIMESTAMP, ConfigType::String, Some(""), Importance::Low,
            "For startup.mode=timestamp: seconds since the epoch, an ISO-8601 instant, or {\"$timestamp\": {\"t\": .., \"i\": ..}}. Empty: now.")
        .validator(Validator::Custom(valid_timestamp))
        .define(COPY_NAMESPACE_REGEX, ConfigType::String, Some(""), Importance::Low,
            "Only copy existing documents of namespaces (db.coll) matching this regular expression.")
        .validator(Validator::Custom(valid_regex))
        .define(COPY_PIPELINE, ConfigType::String, Some("[]"), Importance::Low,
            "An aggregation pipeline (JSON array) run on each collection before its documents are copied, e.g. a $match.")
        .validator(Validator::Custom(valid_pipeline))
        .define(COPY_QUEUE_SIZE, ConfigType::Int, Some("16000"), Importance::Low,
            "Records buffered between the MongoDB readers and poll.")
        .validator(Validator::at_least(1.0))
        .define(COPY_ALLOW_DISK_USE, ConfigType::Boolean, Some("true"), Importance::Low,
            "allowDiskUse for the copy aggregation.")
        .define(LEGACY_COPY_EXISTING, ConfigType::Boolean, Some("false"), Importance::Low,
            "Deprecated: true means startup.mode=copy_existing.")
        .define(DBZ_SNAPSHOT_MODE, ConfigType::String, Some(""), Importance::Low,
            "Debezium: initial (copy existing documents, then stream) or never/no_data (stream only). Used when startup.mode is empty.")
        .validator(Validator::one_of(&["", "initial", "never", "no_data", "when_needed", "initial_only"]))
        .define(TOPIC_PREFIX, ConfigType::String, Some(""), Importance::Medium,
            "Prefix of topic names (prefix.db.coll); Debezium's logical server name in source.name.")
        .define(TOPIC_SUFFIX, ConfigType::String, Some(""), Importance::Low, "Suffix of topic names.")
        .define(TOPIC_SEPARATOR, ConfigType::String, Some("."), Importance::Low, "Separator between topic name parts.")
        .define(TOPIC_NAMESPACE_MAP, ConfigType::String, Some(""), Importance::Low,
            "JSON object mapping a database, db.collection or * to a topic name, e.g. {\"shop.orders\": \"orders\", \"*\": \"other\"}.")
        .validator(Validator::Custom(valid_namespace_map))
        .define(OFFSET_PARTITION_NAME, ConfigType::String, Some(""), Importance::Medium,
            "Name of the source partition holding the resume token. Set a new name to start afresh (e.g. after the stored token expired).")
        .define(POLL_MAX_BATCH_SIZE, ConfigType::Int, Some("1000"), Importance::Low, "Most records returned per poll.")
        .validator(Validator::at_least(1.0))
        .define(POLL_AWAIT_TIME_MS, ConfigType::Long, Some("5000"), Importance::Low,
            "How long a change-stream getMore waits for new events (ms).")
        .validator(Validator::at_least(1.0))
        .define(BATCH_SIZE, ConfigType::Int, Some("0"), Importance::Low, "Cursor batch size; 0 lets the server decide.")
        .validator(Validator::at_least(0.0))
        .define(HEARTBEAT_INTERVAL_MS, ConfigType::Long, Some("0"), Importance::Medium,
            "Every this many ms, when the change stream's resume token moved without an emitted record (no events, or events filtered out), send a heartbeat record carrying it, so its offset is stored. 0: off.")
        .validator(Validator::at_least(0.0))
        .define(HEARTBEAT_TOPIC_NAME, ConfigType::String, Some("__mongodb_heartbeats"), Importance::Low,
            "The topic of heartbeat records (key: the resume token as JSON text, value: null).")
        .define(TOMBSTONES_ON_DELETE, ConfigType::Boolean, Some("true"), Importance::Low,
            "Debezium output: follow each delete event with a tombstone for log compaction.")
}

fn string_of(value: &ConfigValue) -> &str {
    match value {
        ConfigValue::String(s) => s,
        _ => "",
    }
}

fn valid_pipeline(value: &ConfigValue) -> std::result::Result<(), String> {
    parse_pipeline(string_of(value)).map(|_| ())
}

fn valid_formatter(value: &ConfigValue) -> std::result::Result<(), String> {
    JsonFormat::parse(string_of(value))
        .map(|_| ())
        .ok_or_else(|| format!("unknown JSON formatter; one of {}", JsonFormat::names().join(", ")))
}

fn valid_timestamp(value: &ConfigValue) -> std::result::Result<(), String> {
    parse_timestamp(string_of(value)).map(|_| ())
}

fn valid_regex(value: &ConfigValue) -> std::result::Result<(), String> {
    regex::Regex::new(string_of(value)).map(|_| ()).map_err(|e| format!("not a regular expression: {e}"))
}

fn valid_regexes(value: &ConfigValue) -> std::result::Result<(), String> {
    if let ConfigValue::List(items) = value {
        for item in items {
            regex::Regex::new(item).map_err(|e| format!("{item:?} is not a regular expression: {e}"))?;
        }
    }
    Ok(())
}

fn valid_namespace_map(value: &ConfigValue) -> std::result::Result<(), String> {
    parse_namespace_map(string_of(value)).map(|_| ())
}

/// Parses a pipeline: a JSON array of stage documents (Extended JSON allowed inside).
pub fn parse_pipeline(text: &str) -> std::result::Result<Vec<Document>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e}); expected a JSON array of stages"))?;
    let serde_json::Value::Array(stages) = json else {
        return Err("expected a JSON array of pipeline stages, e.g. [{\"$match\": {...}}]".into());
    };
    stages
        .into_iter()
        .enumerate()
        .map(|(i, stage)| match extjson::from_json(stage) {
            Ok(mongodb::bson::Bson::Document(d)) => Ok(d),
            Ok(_) => Err(format!("stage {i} is not a document")),
            Err(e) => Err(format!("stage {i}: {e}")),
        })
        .collect()
}

/// Parses `startup.mode.timestamp.start.at.operation.time`; empty means "now".
pub fn parse_timestamp(text: &str) -> std::result::Result<Option<Timestamp>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(secs) = text.parse::<u32>() {
        return Ok(Some(Timestamp { time: secs, increment: 0 }));
    }
    if text.starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        return match extjson::from_json(json) {
            Ok(mongodb::bson::Bson::Timestamp(t)) => Ok(Some(t)),
            _ => Err("expected {\"$timestamp\": {\"t\": <seconds>, \"i\": <increment>}}".into()),
        };
    }
    let millis = mongodb::bson::DateTime::parse_rfc3339_str(text)
        .map_err(|_| "expected seconds since the epoch, an ISO-8601 instant or a BSON timestamp".to_owned())?
        .timestamp_millis();
    let secs = u32::try_from(millis / 1000).map_err(|_| "instant out of range for a BSON timestamp".to_owned())?;
    Ok(Some(Timestamp { time: secs, increment: 0 }))
}

/// Parses `topic.namespace.map`: a JSON object of strings.
pub fn parse_namespace_map(text: &str) -> std::result::Result<BTreeMap<String, String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(BTreeMap::new());
    }
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let serde_json::Value::Object(map) = json else { return Err("expected a JSON object".into()) };
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            other => Err(format!("the topic for {k:?} must be a string, found {other}")),
        })
        .collect()
}

/// Where a new source (no stored offset) starts.
#[derive(Debug, Clone, PartialEq)]
pub enum StartupMode {
    /// From now on.
    Latest,
    /// From an operation time (`None`: now).
    Timestamp(Option<Timestamp>),
    /// Copy the existing documents, then stream from a point taken before the copy.
    CopyExisting,
}

/// The output shape of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// The MongoDB connector's change event document.
    MongoDb,
    /// Debezium envelopes.
    Debezium,
}

/// The form of a record key or value in the `mongodb` format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// An Extended JSON string.
    Json,
    /// A structured map of the Extended JSON.
    Schema,
    /// Raw BSON bytes.
    Bson,
}

impl Form {
    fn parse(text: &str) -> Form {
        match text {
            "schema" => Form::Schema,
            "bson" => Form::Bson,
            _ => Form::Json,
        }
    }
}

/// A parsed source configuration.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// The connection string.
    pub uri: String,
    /// The key the connection string came from (for messages).
    pub uri_key: &'static str,
    /// The database; empty for the whole deployment.
    pub database: String,
    /// Collections listed in `collection`.
    pub collections: Vec<String>,
    /// Debezium include lists.
    pub collection_include: Vec<String>,
    /// Debezium database include list.
    pub database_include: Vec<String>,
    /// The change stream pipeline.
    pub pipeline: Vec<Document>,
    /// `fullDocument`.
    pub full_document: Option<FullDocumentType>,
    /// `fullDocumentBeforeChange`.
    pub full_document_before_change: Option<FullDocumentBeforeChangeType>,
    /// Publish the full document only.
    pub full_document_only: bool,
    /// Tombstones for events without a full document, with `full_document_only`.
    pub full_document_only_tombstones: bool,
    /// Key by documentKey.
    pub document_key_as_key: bool,
    /// Output shape.
    pub format: OutputFormat,
    /// Key form.
    pub key_form: Form,
    /// Value form.
    pub value_form: Form,
    /// JSON dialect.
    pub json: JsonFormat,
    /// Start point of a new source.
    pub startup: StartupMode,
    /// Copy only namespaces matching this.
    pub copy_namespace_regex: Option<regex::Regex>,
    /// Pipeline before the copy.
    pub copy_pipeline: Vec<Document>,
    /// Buffer between readers and poll.
    pub queue_size: usize,
    /// allowDiskUse for the copy.
    pub allow_disk_use: bool,
    /// Topic prefix.
    pub topic_prefix: String,
    /// Topic suffix.
    pub topic_suffix: String,
    /// Topic separator.
    pub topic_separator: String,
    /// Namespace to topic map.
    pub namespace_map: BTreeMap<String, String>,
    /// Partition name override.
    pub partition_name: String,
    /// Records per poll.
    pub max_batch: usize,
    /// getMore wait.
    pub await_time: Duration,
    /// Cursor batch size.
    pub batch_size: Option<u32>,
    /// Debezium delete tombstones.
    pub tombstones_on_delete: bool,
    /// Heartbeat interval; `None`: off.
    pub heartbeat_interval: Option<Duration>,
    /// Heartbeat topic.
    pub heartbeat_topic: String,
    /// `errors.tolerance=all`: restart a stream whose resume token was lost instead of failing.
    pub tolerate_errors: bool,
    /// The namespaces assigned to this task (task configs only).
    pub task_namespaces: Vec<String>,
}

impl SourceConfig {
    /// Parses and checks `props`; every problem is a config error naming its key.
    pub fn parse(props: &Props) -> Result<SourceConfig> {
        let c = source_config_def().parse(props)?;
        let s = |k: &str| c.string(k).unwrap_or_default().to_owned();
        let list = |k: &str| c.list(k).map(<[String]>::to_vec).unwrap_or_default();
        let (uri, uri_key) = match c.non_empty_string(DBZ_CONNECTION_STRING) {
            Some(u) => (u.to_owned(), DBZ_CONNECTION_STRING),
            None => (s(CONNECTION_URI), CONNECTION_URI),
        };
        crate::client::check_uri(&uri, uri_key).map_err(ConnectError::config)?;
        let debezium_class = props.get("connector.class").is_some_and(|c| c == DEBEZIUM_CLASS);
        let (format, full_document_only) = match c.string(OUTPUT_FORMAT).unwrap_or_default() {
            "debezium" => (OutputFormat::Debezium, false),
            "full_document" => (OutputFormat::MongoDb, true),
            "mongodb" => (OutputFormat::MongoDb, c.boolean(PUBLISH_FULL_DOCUMENT_ONLY).unwrap_or(false)),
            _ if debezium_class => (OutputFormat::Debezium, false),
            _ => (OutputFormat::MongoDb, c.boolean(PUBLISH_FULL_DOCUMENT_ONLY).unwrap_or(false)),
        };
        let full_document = match c.string(FULL_DOCUMENT).unwrap_or_default() {
            "updateLookup" => Some(FullDocumentType::UpdateLookup),
            "whenAvailable" => Some(FullDocumentType::WhenAvailable),
            "required" => Some(FullDocumentType::Required),
            "" if format == OutputFormat::Debezium => Some(FullDocumentType::UpdateLookup),
            _ => None,
        };
        let full_document_before_change = match c.string(FULL_DOCUMENT_BEFORE_CHANGE).unwrap_or_default() {
            "off" => Some(FullDocumentBeforeChangeType::Off),
            "whenAvailable" => Some(FullDocumentBeforeChangeType::WhenAvailable),
            "required" => Some(FullDocumentBeforeChangeType::Required),
            _ => None,
        };
        let startup = match c.string(STARTUP_MODE).unwrap_or_default() {
            "latest" => StartupMode::Latest,
            "copy_existing" => StartupMode::CopyExisting,
            "timestamp" => StartupMode::Timestamp(
                parse_timestamp(&s(STARTUP_TIMESTAMP))
                    .map_err(|e| ConnectError::config(format!("{STARTUP_TIMESTAMP}: {e}")))?,
            ),
            _ if c.boolean(LEGACY_COPY_EXISTING).unwrap_or(false) => StartupMode::CopyExisting,
            _ => match c.string(DBZ_SNAPSHOT_MODE).unwrap_or_default() {
                "initial" | "when_needed" | "initial_only" => StartupMode::CopyExisting,
                "" if debezium_class => StartupMode::CopyExisting,
                _ => StartupMode::Latest,
            },
        };
        let copy_regex = s(COPY_NAMESPACE_REGEX);
        let copy_namespace_regex = if copy_regex.is_empty() {
            None
        } else {
            Some(
                regex::Regex::new(&copy_regex)
                    .map_err(|e| ConnectError::config(format!("{COPY_NAMESPACE_REGEX}: {e}")))?,
            )
        };
        let pipeline = |k: &str| parse_pipeline(&s(k)).map_err(|e| ConnectError::config(format!("{k}: {e}")));
        let task_namespaces = match props.get(TASK_NAMESPACES) {
            None => Vec::new(),
            Some(text) => {
                serde_json::from_str(text).map_err(|e| ConnectError::config(format!("{TASK_NAMESPACES}: {e}")))?
            }
        };
        let database = s(DATABASE);
        let collections = list(COLLECTION);
        if database.is_empty() && !collections.is_empty() {
            return Err(ConnectError::config(format!("{COLLECTION} is set but {DATABASE} is empty")));
        }
        Ok(SourceConfig {
            uri,
            uri_key,
            database,
            collections,
            collection_include: list(COLLECTION_INCLUDE_LIST),
            database_include: list(DATABASE_INCLUDE_LIST),
            pipeline: pipeline(PIPELINE)?,
            full_document,
            full_document_before_change,
            full_document_only,
            full_document_only_tombstones: c.boolean(TOMBSTONE_ON_DELETE).unwrap_or(false),
            document_key_as_key: c.boolean(DOCUMENT_KEY_AS_KEY).unwrap_or(true),
            format,
            key_form: Form::parse(c.string(OUTPUT_FORMAT_KEY).unwrap_or_default()),
            value_form: Form::parse(c.string(OUTPUT_FORMAT_VALUE).unwrap_or_default()),
            json: JsonFormat::parse(c.string(OUTPUT_JSON_FORMATTER).unwrap_or_default()).unwrap_or_default(),
            startup,
            copy_namespace_regex,
            copy_pipeline: pipeline(COPY_PIPELINE)?,
            queue_size: usize::try_from(c.int(COPY_QUEUE_SIZE).unwrap_or(16000)).unwrap_or(16000).max(1),
            allow_disk_use: c.boolean(COPY_ALLOW_DISK_USE).unwrap_or(true),
            topic_prefix: s(TOPIC_PREFIX),
            topic_suffix: s(TOPIC_SUFFIX),
            topic_separator: c.string(TOPIC_SEPARATOR).unwrap_or(".").to_owned(),
            namespace_map: parse_namespace_map(&s(TOPIC_NAMESPACE_MAP))
                .map_err(|e| ConnectError::config(format!("{TOPIC_NAMESPACE_MAP}: {e}")))?,
            partition_name: s(OFFSET_PARTITION_NAME),
            max_batch: usize::try_from(c.int(POLL_MAX_BATCH_SIZE).unwrap_or(1000)).unwrap_or(1000).max(1),
            await_time: Duration::from_millis(
                u64::try_from(c.long(POLL_AWAIT_TIME_MS).unwrap_or(5000)).unwrap_or(5000),
            ),
            batch_size: u32::try_from(c.int(BATCH_SIZE).unwrap_or(0)).ok().filter(|b| *b > 0),
            tombstones_on_delete: c.boolean(TOMBSTONES_ON_DELETE).unwrap_or(true),
            heartbeat_interval: u64::try_from(c.long(HEARTBEAT_INTERVAL_MS).unwrap_or(0))
                .ok()
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis),
            heartbeat_topic: s(HEARTBEAT_TOPIC_NAME),
            tolerate_errors: props.get("errors.tolerance").is_some_and(|t| t.eq_ignore_ascii_case("all")),
            task_namespaces,
        })
    }
}

#[cfg(test)]
mod tests;
