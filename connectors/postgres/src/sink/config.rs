//! Configuration of the PostgreSQL sink: Confluent JDBC sink keys (plus a few Debezium JDBC sink
//! aliases), parsed into a typed [`SinkConfig`] before any I/O.

use std::time::Duration;

use aqueduct_sdk::{ConfigDef, ConfigType, ConnectError, Importance, KeyValidation, Props, Result, Validator};

use super::table::{Quoting, TableId};

/// JDBC or libpq URL of the database.
pub const CONNECTION_URL: &str = "connection.url";
/// User name (overrides the URL's).
pub const CONNECTION_USER: &str = "connection.user";
/// Debezium JDBC sink's name for [`CONNECTION_USER`].
pub const CONNECTION_USERNAME: &str = "connection.username";
/// Password (overrides the URL's).
pub const CONNECTION_PASSWORD: &str = "connection.password";
/// `insert`, `upsert` or `update`.
pub const INSERT_MODE: &str = "insert.mode";
/// `none`, `kafka`, `record_key` or `record_value`.
pub const PK_MODE: &str = "pk.mode";
/// Debezium JDBC sink's name for [`PK_MODE`].
pub const PRIMARY_KEY_MODE: &str = "primary.key.mode";
/// Primary key field names.
pub const PK_FIELDS: &str = "pk.fields";
/// Debezium JDBC sink's name for [`PK_FIELDS`].
pub const PRIMARY_KEY_FIELDS: &str = "primary.key.fields";
/// Value fields to write (empty: all).
pub const FIELDS_WHITELIST: &str = "fields.whitelist";
/// Alternative name for [`FIELDS_WHITELIST`].
pub const FIELDS_INCLUDE: &str = "fields.include";
/// Whether tombstones and Debezium `d` events delete rows.
pub const DELETE_ENABLED: &str = "delete.enabled";
/// Whether Debezium `t` events truncate the table.
pub const TRUNCATE_ENABLED: &str = "truncate.enabled";
/// Whether missing tables are created.
pub const AUTO_CREATE: &str = "auto.create";
/// Whether missing columns are added.
pub const AUTO_EVOLVE: &str = "auto.evolve";
/// Debezium JDBC sink's `schema.evolution` (`none` or `basic`).
pub const SCHEMA_EVOLUTION: &str = "schema.evolution";
/// Destination table name format, with `${topic}`.
pub const TABLE_NAME_FORMAT: &str = "table.name.format";
/// Rows per statement.
pub const BATCH_SIZE: &str = "batch.size";
/// `always` or `never`.
pub const QUOTE_SQL_IDENTIFIERS: &str = "quote.sql.identifiers";
/// Table keeping consumed Kafka offsets in the same transaction as the rows (exactly once).
pub const OFFSETS_STORAGE_TABLE: &str = "offsets.storage.table";
/// Connection timeout in seconds.
pub const CONNECTION_TIMEOUT: &str = "connection.timeout.sec";
/// The value standing for an unchanged TOAST value (the key of Debezium's PostgreSQL source).
pub const UNAVAILABLE_VALUE_PLACEHOLDER: &str = "unavailable.value.placeholder";
/// Debezium's default for [`UNAVAILABLE_VALUE_PLACEHOLDER`].
pub const DEFAULT_UNAVAILABLE_VALUE_PLACEHOLDER: &str = "__debezium_unavailable_value";

const MODES: &[&str] = &["insert", "upsert", "update"];
const PK_MODES: &[&str] = &["none", "kafka", "record_key", "record_value"];
/// Confluent's message for `delete.enabled` without `pk.mode=record_key`.
const DELETE_NEEDS_RECORD_KEY: &str = "Primary key mode must be 'record_key' when delete support is enabled";

/// Every key the sink understands.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(CONNECTION_URL, ConfigType::String, None, Importance::High,
            "Database URL: jdbc:postgresql://host:port/db?user=..., postgres://user:pass@host:port/db, or a libpq key=value string.")
        .validator(Validator::Custom(check_url))
        .group("Connection")
        .define(CONNECTION_USER, ConfigType::String, Some(""), Importance::High, "User name; overrides the URL's.")
        .group("Connection")
        .define(CONNECTION_USERNAME, ConfigType::String, Some(""), Importance::Low, "Alias of connection.user (Debezium JDBC sink).")
        .group("Connection")
        .define(CONNECTION_PASSWORD, ConfigType::Password, Some(""), Importance::High, "Password; overrides the URL's.")
        .group("Connection")
        .define(CONNECTION_TIMEOUT, ConfigType::Int, Some("30"), Importance::Low, "Seconds to wait when connecting.")
        .validator(Validator::at_least(1.0))
        .group("Connection")
        .define(INSERT_MODE, ConfigType::String, Some("insert"), Importance::High,
            "insert: INSERT; upsert: INSERT ... ON CONFLICT (pk) DO UPDATE; update: UPDATE ... WHERE pk matches.")
        .validator(Validator::one_of(MODES))
        .group("Writes")
        .define(BATCH_SIZE, ConfigType::Int, Some("3000"), Importance::Medium, "Most rows written by one statement.")
        .validator(Validator::at_least(1.0))
        .group("Writes")
        .define(DELETE_ENABLED, ConfigType::Boolean, Some("false"), Importance::Medium,
            "Whether tombstones (null values) and Debezium delete events delete the row. Requires pk.mode=record_key.")
        .group("Writes")
        .define(TRUNCATE_ENABLED, ConfigType::Boolean, Some("false"), Importance::Low,
            "Whether Debezium truncate events (op 't') truncate the table.")
        .group("Writes")
        .define(OFFSETS_STORAGE_TABLE, ConfigType::String, Some(""), Importance::Medium,
            "Exactly once: a table where each transaction also stores the next Kafka offset per topic partition; \
             on partition assignment the task resumes from it. Empty disables it.")
        .group("Writes")
        .define(UNAVAILABLE_VALUE_PLACEHOLDER, ConfigType::String, Some(DEFAULT_UNAVAILABLE_VALUE_PLACEHOLDER), Importance::Low,
            "A value (a string, its UTF-8 bytes, or an array of that one string) standing for an unchanged TOAST value: \
             such a column is left out of the row's INSERT/UPDATE, so the stored value stays. Empty disables this.")
        .group("Writes")
        .define(TABLE_NAME_FORMAT, ConfigType::String, Some("${topic}"), Importance::Medium,
            "Destination table; '${topic}' is replaced by the record's topic. 'schema.table' names a schema.")
        .validator(Validator::NonEmpty)
        .group("Data Mapping")
        .define(PK_MODE, ConfigType::String, Some("none"), Importance::High,
            "Where the primary key comes from: none, kafka (topic, partition, offset), record_key, record_value.")
        .validator(Validator::one_of(PK_MODES))
        .group("Data Mapping")
        .define(PRIMARY_KEY_MODE, ConfigType::String, Some(""), Importance::Low, "Alias of pk.mode (Debezium JDBC sink).")
        .group("Data Mapping")
        .define(PK_FIELDS, ConfigType::List, Some(""), Importance::Medium,
            "Primary key columns. kafka: three names (default __connect_topic,__connect_partition,__connect_offset); \
             record_key: key fields (default all; one name for a primitive key); record_value: value fields (default all).")
        .group("Data Mapping")
        .define(PRIMARY_KEY_FIELDS, ConfigType::List, Some(""), Importance::Low, "Alias of pk.fields (Debezium JDBC sink).")
        .group("Data Mapping")
        .define(FIELDS_WHITELIST, ConfigType::List, Some(""), Importance::Medium,
            "Value fields to write; empty writes all.")
        .group("Data Mapping")
        .define(FIELDS_INCLUDE, ConfigType::List, Some(""), Importance::Low, "Alias of fields.whitelist.")
        .group("Data Mapping")
        .define(AUTO_CREATE, ConfigType::Boolean, Some("false"), Importance::Medium,
            "Whether to CREATE TABLE from the record schema when the table is missing.")
        .group("DDL Support")
        .define(AUTO_EVOLVE, ConfigType::Boolean, Some("false"), Importance::Medium,
            "Whether to ALTER TABLE ADD COLUMN (nullable) for record fields the table lacks.")
        .group("DDL Support")
        .define(SCHEMA_EVOLUTION, ConfigType::String, Some("none"), Importance::Low,
            "Debezium JDBC sink: 'basic' turns on auto.create and auto.evolve.")
        .validator(Validator::one_of(&["none", "basic"]))
        .group("DDL Support")
        .define(QUOTE_SQL_IDENTIFIERS, ConfigType::String, Some("always"), Importance::Medium,
            "always: quote table and column names (case kept); never: leave them unquoted (folded to lower case).")
        .validator(Validator::one_of(&["always", "never"]))
        .group("SQL")
}

fn check_url(value: &aqueduct_sdk::ConfigValue) -> std::result::Result<(), String> {
    match value {
        aqueduct_sdk::ConfigValue::String(url) => parse_url(url).map(|_| ()),
        _ => Ok(()),
    }
}

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    /// Plain `INSERT`.
    Insert,
    /// `INSERT ... ON CONFLICT (pk) DO UPDATE`.
    Upsert,
    /// `UPDATE ... WHERE pk = ...`.
    Update,
}

/// Where primary key columns come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PkMode {
    /// No key.
    None,
    /// The record's topic, partition and offset, in columns with these three names.
    Kafka([String; 3]),
    /// The record key: these fields of a struct/map key (empty: all), or one name for a primitive key.
    RecordKey(Vec<String>),
    /// These fields of the record value (empty: all).
    RecordValue(Vec<String>),
}

impl PkMode {
    /// True when records carry a key the sink can match rows on.
    pub fn has_key(&self) -> bool {
        !matches!(self, PkMode::None)
    }
}

/// The parsed sink configuration.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// The connector name (`name`), used in logs and the offsets table.
    pub connector: String,
    /// Connection settings, credentials applied.
    pub connection: tokio_postgres::Config,
    /// The database URL with the password hidden, for logs and errors.
    pub url_for_logs: String,
    /// How rows are written.
    pub insert_mode: InsertMode,
    /// Where the primary key comes from.
    pub pk_mode: PkMode,
    /// Value fields to write; empty: all.
    pub fields_whitelist: Vec<String>,
    /// Whether tombstones and `d` events delete rows.
    pub delete_enabled: bool,
    /// Whether `t` events truncate tables.
    pub truncate_enabled: bool,
    /// Whether missing tables are created.
    pub auto_create: bool,
    /// Whether missing columns are added.
    pub auto_evolve: bool,
    /// Destination table format, with `${topic}`.
    pub table_name_format: String,
    /// Rows per statement.
    pub batch_size: usize,
    /// Identifier quoting.
    pub quoting: Quoting,
    /// Exactly-once offsets table, when enabled.
    pub offsets_table: Option<TableId>,
    /// The value standing for an unchanged TOAST value; `None` when detection is off.
    pub unavailable_placeholder: Option<String>,
}

impl SinkConfig {
    /// Parses and cross-checks `props`; the error names each bad key.
    pub fn parse(props: &Props) -> Result<SinkConfig> {
        let config = config_def().parse(props)?;
        let string = |key: &str| config.string(key).unwrap_or_default().to_owned();
        let list = |key: &str| config.list(key).map(<[String]>::to_vec).unwrap_or_default();
        let given = |key: &str| props.get(key).is_some_and(|v| !v.trim().is_empty());

        let insert_mode = match string(INSERT_MODE).to_ascii_lowercase().as_str() {
            "upsert" => InsertMode::Upsert,
            "update" => InsertMode::Update,
            _ => InsertMode::Insert,
        };
        let mode = if !given(PK_MODE) && given(PRIMARY_KEY_MODE) { string(PRIMARY_KEY_MODE) } else { string(PK_MODE) };
        let fields =
            if !given(PK_FIELDS) && given(PRIMARY_KEY_FIELDS) { list(PRIMARY_KEY_FIELDS) } else { list(PK_FIELDS) };
        let pk_mode = pk_mode(&mode, fields)?;
        let delete_enabled = config.boolean(DELETE_ENABLED).unwrap_or(false);
        if let Some(problem) = cross_check(insert_mode, &pk_mode, delete_enabled) {
            return Err(ConnectError::config(problem));
        }
        let basic_evolution = string(SCHEMA_EVOLUTION).eq_ignore_ascii_case("basic");
        let quoting =
            if string(QUOTE_SQL_IDENTIFIERS).eq_ignore_ascii_case("never") { Quoting::Never } else { Quoting::Always };
        let offsets_table = match string(OFFSETS_STORAGE_TABLE) {
            name if name.is_empty() => None,
            name => Some(TableId::parse(&name)),
        };
        let mut connection = parse_url(&string(CONNECTION_URL)).map_err(ConnectError::config)?;
        let user = if given(CONNECTION_USER) { string(CONNECTION_USER) } else { string(CONNECTION_USERNAME) };
        if !user.is_empty() {
            connection.user(&user);
        }
        let password = config.string(CONNECTION_PASSWORD).unwrap_or_default();
        if !password.is_empty() {
            connection.password(password);
        }
        let timeout = config.int(CONNECTION_TIMEOUT).unwrap_or(30).max(1);
        connection.connect_timeout(Duration::from_secs(u64::from(timeout.unsigned_abs())));
        if connection.get_application_name().is_none() {
            connection.application_name("aqueduct-postgres-sink");
        }
        let whitelist = if given(FIELDS_WHITELIST) { list(FIELDS_WHITELIST) } else { list(FIELDS_INCLUDE) };
        Ok(SinkConfig {
            connector: props.get("name").cloned().unwrap_or_default(),
            url_for_logs: url_for_logs(&connection),
            connection,
            insert_mode,
            pk_mode,
            fields_whitelist: whitelist,
            delete_enabled,
            truncate_enabled: config.boolean(TRUNCATE_ENABLED).unwrap_or(false),
            auto_create: config.boolean(AUTO_CREATE).unwrap_or(false) || basic_evolution,
            auto_evolve: config.boolean(AUTO_EVOLVE).unwrap_or(false) || basic_evolution,
            table_name_format: string(TABLE_NAME_FORMAT),
            batch_size: usize::try_from(config.int(BATCH_SIZE).unwrap_or(3000)).unwrap_or(1).max(1),
            quoting,
            offsets_table,
            unavailable_placeholder: Some(string(UNAVAILABLE_VALUE_PLACEHOLDER)).filter(|p| !p.is_empty()),
        })
    }

    /// The destination table of a record from `topic`.
    pub fn table_for(&self, topic: &str) -> TableId {
        TableId::parse(&self.table_name_format.replace("${topic}", topic))
    }
}

fn pk_mode(mode: &str, fields: Vec<String>) -> Result<PkMode> {
    Ok(match mode.to_ascii_lowercase().as_str() {
        "kafka" => match fields.len() {
            0 => PkMode::Kafka(["__connect_topic".into(), "__connect_partition".into(), "__connect_offset".into()]),
            3 => PkMode::Kafka([fields[0].clone(), fields[1].clone(), fields[2].clone()]),
            _ => {
                return Err(ConnectError::config(format!(
                    "Invalid value {} for configuration {PK_FIELDS}: pk.mode=kafka needs exactly 3 names \
                     (topic, partition, offset columns) or none",
                    fields.join(",")
                )))
            }
        },
        "record_key" => PkMode::RecordKey(fields),
        "record_value" => PkMode::RecordValue(fields),
        "none" => PkMode::None,
        other => {
            return Err(ConnectError::config(format!(
                "Invalid value {other} for configuration {PK_MODE}: String must be one of: {}",
                PK_MODES.join(", ")
            )))
        }
    })
}

/// Checks keys against each other, as Confluent's JDBC sink does; the problem, if any.
fn cross_check(mode: InsertMode, pk: &PkMode, delete_enabled: bool) -> Option<String> {
    if delete_enabled && !matches!(pk, PkMode::RecordKey(_)) {
        return Some(format!("Invalid value true for configuration {DELETE_ENABLED}: {DELETE_NEEDS_RECORD_KEY}"));
    }
    if mode != InsertMode::Insert && !pk.has_key() {
        let name = if mode == InsertMode::Upsert { "upsert" } else { "update" };
        return Some(format!(
            "Invalid value {name} for configuration {INSERT_MODE}: {name} needs a primary key; set {PK_MODE} \
             to kafka, record_key or record_value"
        ));
    }
    None
}

/// Validates `props` key by key, then adds cross-key problems to the key they concern.
pub fn validate(props: &Props) -> Vec<KeyValidation> {
    let mut results = config_def().validate(props);
    if results.iter().any(|r| !r.errors.is_empty()) {
        return results;
    }
    if let Err(e) = SinkConfig::parse(props) {
        let message = e.message().to_owned();
        let key = [DELETE_ENABLED, INSERT_MODE, PK_FIELDS, CONNECTION_URL]
            .into_iter()
            .find(|k| message.contains(&format!("configuration {k}")))
            .unwrap_or(CONNECTION_URL);
        if let Some(entry) = results.iter_mut().find(|r| r.name == key) {
            entry.errors.push(message);
        }
    }
    results
}

/// Parses a JDBC (`jdbc:postgresql://`), URL (`postgres://`, `postgresql://`) or libpq
/// key=value connection string. JDBC query parameters are mapped to libpq settings.
pub fn parse_url(url: &str) -> std::result::Result<tokio_postgres::Config, String> {
    let url = url.trim();
    let url = url.strip_prefix("jdbc:").unwrap_or(url);
    if !url.contains("://") {
        return url.parse().map_err(|e| format!("Invalid value for configuration {CONNECTION_URL}: {e}"));
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let base = match base.split_once("://") {
        Some(("postgresql" | "postgres", rest)) => format!("postgresql://{rest}"),
        _ => {
            return Err(format!(
                "Invalid value for configuration {CONNECTION_URL}: expected jdbc:postgresql://host:port/db or postgres://..."
            ))
        }
    };
    let mut config: tokio_postgres::Config =
        base.parse().map_err(|e| format!("Invalid value for configuration {CONNECTION_URL}: {e}"))?;
    let mut options = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key {
            "user" => {
                config.user(&value);
            }
            "password" => {
                config.password(value.as_bytes());
            }
            "dbname" => {
                config.dbname(&value);
            }
            "ApplicationName" | "application_name" => {
                config.application_name(&value);
            }
            "currentSchema" => options.push(format!("-c search_path={value}")),
            "options" => options.push(value),
            "connectTimeout" | "connect_timeout" | "loginTimeout" => {
                if let Ok(secs) = value.parse::<u64>() {
                    config.connect_timeout(Duration::from_secs(secs.max(1)));
                }
            }
            "ssl" if value == "true" => return Err(tls_unsupported()),
            "sslmode" if !matches!(value.as_str(), "disable" | "allow" | "prefer") => return Err(tls_unsupported()),
            _ => tracing::debug!(parameter = key, "ignoring connection URL parameter"),
        }
    }
    if !options.is_empty() {
        config.options(options.join(" "));
    }
    Ok(config)
}

fn tls_unsupported() -> String {
    format!("Invalid value for configuration {CONNECTION_URL}: TLS (ssl=true, sslmode=require/verify-*) is not supported yet")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn url_for_logs(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[allow(unreachable_patterns)]
            _ => "socket".to_owned(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().or(config.get_user()).unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn parses_jdbc_and_postgres_urls() {
        let c = parse_url("jdbc:postgresql://db.example:5433/shop?user=app&password=p%40ss&currentSchema=s1")
            .expect("valid");
        assert_eq!(c.get_ports(), &[5433]);
        assert_eq!(c.get_dbname(), Some("shop"));
        assert_eq!(c.get_user(), Some("app"));
        assert_eq!(c.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(c.get_options(), Some("-c search_path=s1"));
        let c = parse_url("postgres://u:pw@127.0.0.1:5432/postgres").expect("valid");
        assert_eq!(c.get_user(), Some("u"));
        assert!(parse_url("jdbc:mysql://x/y").is_err());
        assert!(parse_url("jdbc:postgresql://x/y?sslmode=require").is_err());
        assert!(parse_url("host=localhost user=postgres").is_ok());
    }

    #[test]
    fn defaults_follow_confluent() {
        let c =
            SinkConfig::parse(&props(&[("connection.url", "jdbc:postgresql://h/db"), ("name", "n")])).expect("valid");
        assert_eq!(c.insert_mode, InsertMode::Insert);
        assert_eq!(c.pk_mode, PkMode::None);
        assert_eq!(c.batch_size, 3000);
        assert!(!c.delete_enabled && !c.auto_create && !c.auto_evolve);
        assert_eq!(c.table_for("orders"), TableId::parse("orders"));
        assert_eq!(c.quoting, Quoting::Always);
        assert!(c.offsets_table.is_none());
        assert_eq!(c.connector, "n");
        assert_eq!(c.unavailable_placeholder.as_deref(), Some(DEFAULT_UNAVAILABLE_VALUE_PLACEHOLDER));
    }

    #[test]
    fn cross_checks_keys_like_confluent() {
        let base = [("connection.url", "postgres://h/db")];
        let with = |extra: &[(&str, &str)]| {
            let mut p = props(&base);
            p.extend(props(extra));
            SinkConfig::parse(&p)
        };
        let err = with(&[("delete.enabled", "true"), ("pk.mode", "record_value")]).expect_err("invalid");
        assert!(err.message().contains(DELETE_NEEDS_RECORD_KEY), "{err}");
        assert!(with(&[("insert.mode", "upsert")]).is_err());
        assert!(with(&[("pk.mode", "kafka"), ("pk.fields", "a,b")]).is_err());
        let ok = with(&[("primary.key.mode", "record_key"), ("primary.key.fields", "id"), ("delete.enabled", "true")])
            .expect("Debezium aliases");
        assert_eq!(ok.pk_mode, PkMode::RecordKey(vec!["id".into()]));
        let ok = with(&[("schema.evolution", "basic"), ("fields.include", "a")]).expect("valid");
        assert!(ok.auto_create && ok.auto_evolve);
        assert_eq!(ok.fields_whitelist, vec!["a".to_owned()]);
        let v = validate(&props(&[("connection.url", "postgres://h/db"), ("delete.enabled", "true")]));
        let entry = v.iter().find(|r| r.name == DELETE_ENABLED).expect("key");
        assert_eq!(entry.errors.len(), 1, "{v:?}");
    }
}
