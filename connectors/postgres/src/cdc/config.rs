//! Configuration of the CDC source: Debezium's PostgreSQL connector keys, parsed into a typed
//! [`CdcConfig`] before any I/O.

use std::time::Duration;

use aqueduct_sdk::{ConfigDef, ConfigType, ConfigValue, ConnectError, Importance, Props, Result, Validator};
use regex::Regex;

/// `database.hostname`: the server's host.
pub const HOSTNAME: &str = "database.hostname";
/// `database.port`.
pub const PORT: &str = "database.port";
/// `database.user`: needs the REPLICATION attribute (or superuser).
pub const USER: &str = "database.user";
/// `database.password`.
pub const PASSWORD: &str = "database.password";
/// `database.dbname`: the database to capture.
pub const DBNAME: &str = "database.dbname";
/// `database.sslmode`: only plain connections are supported (`disable`, `allow`, `prefer`).
pub const SSLMODE: &str = "database.sslmode";
/// `topic.prefix`: the logical server name; topics are `<prefix>.<schema>.<table>`.
pub const TOPIC_PREFIX: &str = "topic.prefix";
/// `plugin.name`: the logical decoding plugin; only `pgoutput` is supported.
pub const PLUGIN_NAME: &str = "plugin.name";
/// `slot.name`: the logical replication slot.
pub const SLOT_NAME: &str = "slot.name";
/// `slot.drop.on.stop`: drop the slot when the task stops (tests, demos).
pub const SLOT_DROP_ON_STOP: &str = "slot.drop.on.stop";
/// `publication.name`.
pub const PUBLICATION_NAME: &str = "publication.name";
/// `publication.autocreate.mode`: `all_tables`, `filtered` or `disabled`.
pub const PUBLICATION_AUTOCREATE: &str = "publication.autocreate.mode";
/// `schema.include.list`: regexes on schema names.
pub const SCHEMA_INCLUDE: &str = "schema.include.list";
/// `schema.exclude.list`.
pub const SCHEMA_EXCLUDE: &str = "schema.exclude.list";
/// `table.include.list`: regexes on `schema.table`.
pub const TABLE_INCLUDE: &str = "table.include.list";
/// `table.exclude.list`.
pub const TABLE_EXCLUDE: &str = "table.exclude.list";
/// `snapshot.mode`.
pub const SNAPSHOT_MODE: &str = "snapshot.mode";
/// `snapshot.fetch.size`: rows fetched per round trip while snapshotting.
pub const SNAPSHOT_FETCH_SIZE: &str = "snapshot.fetch.size";
/// `max.batch.size`: records per poll.
pub const MAX_BATCH_SIZE: &str = "max.batch.size";
/// `poll.interval.ms`: how long a poll waits for changes before returning an empty batch.
pub const POLL_INTERVAL_MS: &str = "poll.interval.ms";
/// `heartbeat.interval.ms`: 0 disables heartbeats.
pub const HEARTBEAT_INTERVAL_MS: &str = "heartbeat.interval.ms";
/// `topic.heartbeat.prefix`.
pub const HEARTBEAT_TOPIC_PREFIX: &str = "topic.heartbeat.prefix";
/// `tombstones.on.delete`.
pub const TOMBSTONES_ON_DELETE: &str = "tombstones.on.delete";
/// `skipped.operations`: `c`, `u`, `d`, `t` or `none`.
pub const SKIPPED_OPERATIONS: &str = "skipped.operations";
/// `decimal.handling.mode`: `precise`, `double` or `string`.
pub const DECIMAL_HANDLING: &str = "decimal.handling.mode";
/// `time.precision.mode`: `adaptive`, `adaptive_time_microseconds` or `connect`.
pub const TIME_PRECISION: &str = "time.precision.mode";
/// `binary.handling.mode`: `bytes`, `base64`, `base64-url-safe` or `hex`.
pub const BINARY_HANDLING: &str = "binary.handling.mode";
/// `interval.handling.mode`: `numeric` or `string`.
pub const INTERVAL_HANDLING: &str = "interval.handling.mode";
/// `unavailable.value.placeholder`: stands for unchanged TOAST values.
pub const UNAVAILABLE_PLACEHOLDER: &str = "unavailable.value.placeholder";
/// `status.update.interval.ms`: how often the confirmed position is reported to the server.
pub const STATUS_UPDATE_INTERVAL_MS: &str = "status.update.interval.ms";
/// `slot.max.retries`: how often to retry a slot held by another connection.
pub const SLOT_MAX_RETRIES: &str = "slot.max.retries";
/// `slot.retry.delay.ms`: the delay between those retries.
pub const SLOT_RETRY_DELAY_MS: &str = "slot.retry.delay.ms";
/// `stale.offset.handling.mode`: `fail` or `warn` when the slot has moved past the stored offset.
pub const STALE_OFFSET_HANDLING: &str = "stale.offset.handling.mode";

/// Debezium's default placeholder for values the server did not send (unchanged TOAST).
pub const DEFAULT_UNAVAILABLE_PLACEHOLDER: &str = "__debezium_unavailable_value";

/// The keys of the CDC source.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(HOSTNAME, ConfigType::String, None, Importance::High, "Resolvable hostname or IP address of the PostgreSQL server.")
        .validator(Validator::NonEmpty)
        .group("Connection")
        .define(PORT, ConfigType::Int, Some("5432"), Importance::High, "Port of the PostgreSQL server.")
        .validator(Validator::Range { min: Some(1.0), max: Some(65535.0) })
        .group("Connection")
        .define(USER, ConfigType::String, None, Importance::High, "Name of the database user; it needs the REPLICATION attribute (or superuser).")
        .validator(Validator::NonEmpty)
        .group("Connection")
        .define(PASSWORD, ConfigType::Password, Some(""), Importance::High, "Password of the database user.")
        .group("Connection")
        .define(DBNAME, ConfigType::String, None, Importance::High, "The name of the database to capture changes from.")
        .validator(Validator::NonEmpty)
        .group("Connection")
        .define(SSLMODE, ConfigType::String, Some("prefer"), Importance::Medium, "Whether to use an encrypted connection. Only plain connections are supported: disable, allow and prefer connect without TLS; require, verify-ca and verify-full are rejected.")
        .validator(Validator::one_of(&["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]))
        .group("Connection")
        .define(TOPIC_PREFIX, ConfigType::String, None, Importance::High, "Topic prefix (logical server name) of every topic this connector writes: <prefix>.<schema>.<table>. Also the source partition of the offsets.")
        .validator(Validator::Custom(validate_topic_prefix))
        .group("Connector")
        .define(PLUGIN_NAME, ConfigType::String, Some("pgoutput"), Importance::Medium, "The logical decoding plugin. Only pgoutput (built into PostgreSQL 10+) is supported.")
        .validator(Validator::Custom(validate_plugin))
        .group("Replication")
        .define(SLOT_NAME, ConfigType::String, Some("debezium"), Importance::Medium, "The logical replication slot streamed from; created when missing. Lower-case letters, digits and underscores.")
        .validator(Validator::Custom(validate_slot_name))
        .group("Replication")
        .define(SLOT_DROP_ON_STOP, ConfigType::Boolean, Some("false"), Importance::Low, "Drop the replication slot when the task stops. For tests and demos: changes made while the connector is stopped are lost.")
        .group("Replication")
        .define(PUBLICATION_NAME, ConfigType::String, Some("dbz_publication"), Importance::Medium, "The publication whose tables are streamed.")
        .validator(Validator::Custom(validate_publication_name))
        .group("Replication")
        .define(PUBLICATION_AUTOCREATE, ConfigType::String, Some("all_tables"), Importance::Medium, "all_tables: create the publication FOR ALL TABLES when missing; filtered: create it (or set its tables) for the tables the filters capture; disabled: the publication must exist.")
        .validator(Validator::one_of(&["all_tables", "filtered", "disabled"]))
        .group("Replication")
        .define(SCHEMA_INCLUDE, ConfigType::List, Some(""), Importance::Medium, "Regular expressions matching the schemas to capture (whole names); empty: every non-system schema.")
        .group("Filters")
        .define(SCHEMA_EXCLUDE, ConfigType::List, Some(""), Importance::Medium, "Regular expressions matching schemas not to capture.")
        .group("Filters")
        .define(TABLE_INCLUDE, ConfigType::List, Some(""), Importance::Medium, "Regular expressions matching the tables to capture, as schema.table (whole names); empty: every table of the captured schemas.")
        .group("Filters")
        .define(TABLE_EXCLUDE, ConfigType::List, Some(""), Importance::Medium, "Regular expressions matching tables (schema.table) not to capture.")
        .group("Filters")
        .define(SNAPSHOT_MODE, ConfigType::String, Some("initial"), Importance::Medium, "initial: snapshot the captured tables when no offsets are stored, then stream; initial_only: snapshot, then stop; never (or no_data): stream only; always: snapshot at every start, then stream; when_needed: like initial, and also when the stored offset is older than the slot's confirmed position (the changes in between are gone).")
        .validator(Validator::one_of(&["initial", "initial_only", "never", "no_data", "always", "when_needed"]))
        .group("Snapshot")
        .define(STALE_OFFSET_HANDLING, ConfigType::String, Some("fail"), Importance::Medium, "When the stored offset is older than the replication slot's confirmed_flush_lsn (someone advanced or re-created the slot; the changes in between cannot be streamed): fail stops the task with an error; warn logs a warning and streams from the slot's position, losing those changes. snapshot.mode=when_needed takes a new snapshot instead.")
        .validator(Validator::one_of(&["fail", "warn"]))
        .group("Snapshot")
        .define(SNAPSHOT_FETCH_SIZE, ConfigType::Int, Some("10240"), Importance::Medium, "Rows read per round trip (cursor FETCH) while snapshotting a table.")
        .validator(Validator::at_least(1.0))
        .group("Snapshot")
        .define(MAX_BATCH_SIZE, ConfigType::Int, Some("2048"), Importance::Low, "Maximum records returned per poll.")
        .validator(Validator::at_least(1.0))
        .group("Connector")
        .define(POLL_INTERVAL_MS, ConfigType::Long, Some("500"), Importance::Low, "How long a poll waits for new changes before returning an empty batch.")
        .validator(Validator::Range { min: Some(1.0), max: Some(60_000.0) })
        .group("Connector")
        .define(HEARTBEAT_INTERVAL_MS, ConfigType::Int, Some("0"), Importance::Medium, "How often a heartbeat record is sent when the stream advanced without captured changes, so the slot's confirmed position advances; 0 disables heartbeats.")
        .validator(Validator::at_least(0.0))
        .group("Connector")
        .define(HEARTBEAT_TOPIC_PREFIX, ConfigType::String, Some("__debezium-heartbeat"), Importance::Low, "Heartbeat records go to <prefix>.<topic.prefix>.")
        .validator(Validator::NonEmpty)
        .group("Connector")
        .define(TOMBSTONES_ON_DELETE, ConfigType::Boolean, Some("true"), Importance::Medium, "Follow each delete event with a tombstone (same key, null value) for log compaction.")
        .group("Events")
        .define(SKIPPED_OPERATIONS, ConfigType::List, Some("t"), Importance::Low, "Operations not to emit: c (inserts), u (updates), d (deletes), t (truncates), or none.")
        .validator(Validator::Custom(validate_skipped_operations))
        .group("Events")
        .define(DECIMAL_HANDLING, ConfigType::String, Some("precise"), Importance::Medium, "numeric columns as precise Decimals (bytes), double, or string.")
        .validator(Validator::one_of(&["precise", "double", "string"]))
        .group("Events")
        .define(TIME_PRECISION, ConfigType::String, Some("adaptive"), Importance::Medium, "adaptive: Debezium's io.debezium.time types at the column's precision; adaptive_time_microseconds: time columns always MicroTime; connect: Kafka Connect's Date/Time/Timestamp (milliseconds).")
        .validator(Validator::one_of(&["adaptive", "adaptive_time_microseconds", "connect"]))
        .group("Events")
        .define(BINARY_HANDLING, ConfigType::String, Some("bytes"), Importance::Low, "bytea columns as bytes, base64, base64-url-safe or hex strings.")
        .validator(Validator::one_of(&["bytes", "base64", "base64-url-safe", "hex"]))
        .group("Events")
        .define(INTERVAL_HANDLING, ConfigType::String, Some("numeric"), Importance::Low, "interval columns as microseconds (io.debezium.time.MicroDuration) or ISO-8601 strings.")
        .validator(Validator::one_of(&["numeric", "string"]))
        .group("Events")
        .define(UNAVAILABLE_PLACEHOLDER, ConfigType::String, Some(DEFAULT_UNAVAILABLE_PLACEHOLDER), Importance::Low, "Stands for a TOASTed value the server did not send because it did not change (strings; UTF-8 bytes for binary columns).")
        .group("Events")
        .define(STATUS_UPDATE_INTERVAL_MS, ConfigType::Int, Some("10000"), Importance::Low, "Longest time between standby status updates (the confirmed position) sent to the server.")
        .validator(Validator::Range { min: Some(10.0), max: Some(600_000.0) })
        .group("Replication")
        .define(SLOT_MAX_RETRIES, ConfigType::Int, Some("6"), Importance::Low, "How many times to retry when the replication slot is in use by another connection (e.g. the walsender of a crashed task that the server has not noticed yet) before failing.")
        .validator(Validator::at_least(0.0))
        .group("Replication")
        .define(SLOT_RETRY_DELAY_MS, ConfigType::Long, Some("10000"), Importance::Low, "Delay between those retries.")
        .validator(Validator::at_least(0.0))
        .group("Replication")
}

fn validate_topic_prefix(value: &ConfigValue) -> std::result::Result<(), String> {
    match value {
        ConfigValue::String(s) if s.is_empty() => Err("String must be non-empty".into()),
        ConfigValue::String(s) if !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) => {
            Err("Only letters, digits, '.', '_' and '-' are allowed (it names topics)".into())
        }
        _ => Ok(()),
    }
}

fn validate_plugin(value: &ConfigValue) -> std::result::Result<(), String> {
    match value {
        ConfigValue::String(s) if s.eq_ignore_ascii_case("pgoutput") => Ok(()),
        ConfigValue::String(_) => {
            Err("only the pgoutput plugin is supported (decoderbufs and wal2json are not)".into())
        }
        _ => Ok(()),
    }
}

fn validate_slot_name(value: &ConfigValue) -> std::result::Result<(), String> {
    match value {
        ConfigValue::String(s)
            if s.is_empty()
                || s.len() > 63
                || !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') =>
        {
            Err("a slot name has 1 to 63 lower-case letters, digits or underscores".into())
        }
        _ => Ok(()),
    }
}

fn validate_publication_name(value: &ConfigValue) -> std::result::Result<(), String> {
    match value {
        ConfigValue::String(s) if s.is_empty() => Err("String must be non-empty".into()),
        ConfigValue::String(s) if s.chars().any(|c| c == ',' || c.is_whitespace()) => {
            Err("a publication name cannot contain commas or white space".into())
        }
        _ => Ok(()),
    }
}

fn validate_skipped_operations(value: &ConfigValue) -> std::result::Result<(), String> {
    if let ConfigValue::List(ops) = value {
        for op in ops {
            if !matches!(op.as_str(), "c" | "u" | "d" | "t" | "none") {
                return Err(format!("unknown operation '{op}' (use c, u, d, t or none)"));
            }
        }
    }
    Ok(())
}

/// What to do about the publication at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutocreateMode {
    /// Create it `FOR ALL TABLES` when missing.
    AllTables,
    /// Create it for the captured tables, or set its tables to them.
    Filtered,
    /// It must exist.
    Disabled,
}

/// When to snapshot the captured tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    /// When no offsets are stored (or a snapshot was interrupted), then stream.
    Initial,
    /// Like `Initial`, but stop after the snapshot (no slot is created).
    InitialOnly,
    /// Never; stream only (`never` and Debezium 2.x's `no_data`).
    Never,
    /// At every start, then stream from the stored position.
    Always,
    /// Like `Initial`, and also when the stored offset is behind the slot (changes are gone).
    WhenNeeded,
}

/// How `numeric` values are represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalMode {
    /// Kafka Connect Decimal (or Debezium's VariableScaleDecimal without a declared scale).
    Precise,
    /// float64.
    Double,
    /// The decimal text.
    String,
}

/// How temporal values are represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePrecisionMode {
    /// Debezium's types at the column's precision (ms up to 3 digits, µs above).
    Adaptive,
    /// Like adaptive, but `time` always in microseconds.
    AdaptiveTimeMicroseconds,
    /// Kafka Connect's logical types, in milliseconds.
    Connect,
}

/// How `bytea` values are represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryMode {
    /// Raw bytes.
    Bytes,
    /// Standard base64 text.
    Base64,
    /// URL-safe base64 text.
    Base64UrlSafe,
    /// Lower-case hex text.
    Hex,
}

/// How `interval` values are represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalMode {
    /// Microseconds (`io.debezium.time.MicroDuration`), months counted as 30.4375 days.
    Numeric,
    /// ISO-8601 text (`io.debezium.time.Interval`).
    String,
}

/// Operations not emitted (`skipped.operations`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkippedOps {
    /// Inserts.
    pub create: bool,
    /// Updates.
    pub update: bool,
    /// Deletes.
    pub delete: bool,
    /// Truncates.
    pub truncate: bool,
}

/// How column values become record values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSettings {
    /// `decimal.handling.mode`.
    pub decimal: DecimalMode,
    /// `time.precision.mode`.
    pub time_precision: TimePrecisionMode,
    /// `binary.handling.mode`.
    pub binary: BinaryMode,
    /// `interval.handling.mode`.
    pub interval: IntervalMode,
    /// `unavailable.value.placeholder`.
    pub unavailable_placeholder: String,
}

impl Default for ValueSettings {
    fn default() -> Self {
        ValueSettings {
            decimal: DecimalMode::Precise,
            time_precision: TimePrecisionMode::Adaptive,
            binary: BinaryMode::Bytes,
            interval: IntervalMode::Numeric,
            unavailable_placeholder: DEFAULT_UNAVAILABLE_PLACEHOLDER.to_owned(),
        }
    }
}

/// Which tables are captured: schema and table regexes, matched against whole names.
#[derive(Debug, Clone, Default)]
pub struct TableFilter {
    schema_include: Vec<Regex>,
    schema_exclude: Vec<Regex>,
    table_include: Vec<Regex>,
    table_exclude: Vec<Regex>,
}

/// Schemas never captured.
const SYSTEM_SCHEMAS: &[&str] = &["pg_catalog", "information_schema", "pg_toast"];

impl TableFilter {
    fn compile(key: &str, patterns: &[String]) -> Result<Vec<Regex>> {
        patterns
            .iter()
            .map(|p| {
                Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                    ConnectError::config(format!(
                        "Invalid value {p} for configuration {key}: not a regular expression: {e}"
                    ))
                })
            })
            .collect()
    }

    /// True when `schema.table` is captured.
    pub fn captures(&self, schema: &str, table: &str) -> bool {
        if SYSTEM_SCHEMAS.contains(&schema) || schema.starts_with("pg_temp") || schema.starts_with("pg_toast") {
            return false;
        }
        let any = |set: &[Regex], s: &str| set.iter().any(|r| r.is_match(s));
        if !self.schema_include.is_empty() && !any(&self.schema_include, schema) {
            return false;
        }
        if any(&self.schema_exclude, schema) {
            return false;
        }
        let full = format!("{schema}.{table}");
        if !self.table_include.is_empty() && !any(&self.table_include, &full) {
            return false;
        }
        !any(&self.table_exclude, &full)
    }
}

/// The parsed configuration of the CDC source.
#[derive(Debug, Clone)]
pub struct CdcConfig {
    /// The connector's name (`name`), for logs.
    pub connector_name: String,
    /// `database.hostname`.
    pub hostname: String,
    /// `database.port`.
    pub port: u16,
    /// `database.user`.
    pub user: String,
    /// `database.password`.
    pub password: String,
    /// `database.dbname`.
    pub dbname: String,
    /// `topic.prefix`.
    pub topic_prefix: String,
    /// `slot.name`.
    pub slot_name: String,
    /// `slot.drop.on.stop`.
    pub drop_slot_on_stop: bool,
    /// `publication.name`.
    pub publication_name: String,
    /// `publication.autocreate.mode`.
    pub publication_autocreate: AutocreateMode,
    /// The table filters.
    pub filter: TableFilter,
    /// `snapshot.mode`.
    pub snapshot_mode: SnapshotMode,
    /// `stale.offset.handling.mode=fail` (the default): a stored offset behind the slot fails the task.
    pub fail_on_stale_offset: bool,
    /// `snapshot.fetch.size`.
    pub snapshot_fetch_size: usize,
    /// `max.batch.size`.
    pub max_batch_size: usize,
    /// `poll.interval.ms`.
    pub poll_interval: Duration,
    /// `heartbeat.interval.ms`; `None` when 0.
    pub heartbeat_interval: Option<Duration>,
    /// `topic.heartbeat.prefix`.
    pub heartbeat_topic_prefix: String,
    /// `tombstones.on.delete`.
    pub tombstones_on_delete: bool,
    /// `skipped.operations`.
    pub skipped: SkippedOps,
    /// How values are represented.
    pub values: ValueSettings,
    /// `status.update.interval.ms`.
    pub status_update_interval: Duration,
    /// `slot.max.retries`.
    pub slot_max_retries: u32,
    /// `slot.retry.delay.ms`.
    pub slot_retry_delay: Duration,
}

impl CdcConfig {
    /// Parses and checks `props` (no I/O).
    pub fn parse(props: &Props) -> Result<CdcConfig> {
        let c = config_def().parse(props)?;
        let string = |key: &str| c.string(key).unwrap_or_default().to_owned();
        let list = |key: &str| c.list(key).map(<[String]>::to_vec).unwrap_or_default();
        let sslmode = string(SSLMODE).to_ascii_lowercase();
        if matches!(sslmode.as_str(), "require" | "verify-ca" | "verify-full") {
            return Err(ConnectError::config(format!(
                "Invalid value {sslmode} for configuration {SSLMODE}: TLS connections are not supported by this connector yet; use disable or prefer"
            )));
        }
        let filter = TableFilter {
            schema_include: TableFilter::compile(SCHEMA_INCLUDE, &list(SCHEMA_INCLUDE))?,
            schema_exclude: TableFilter::compile(SCHEMA_EXCLUDE, &list(SCHEMA_EXCLUDE))?,
            table_include: TableFilter::compile(TABLE_INCLUDE, &list(TABLE_INCLUDE))?,
            table_exclude: TableFilter::compile(TABLE_EXCLUDE, &list(TABLE_EXCLUDE))?,
        };
        let skipped_list = list(SKIPPED_OPERATIONS);
        let skipped = SkippedOps {
            create: skipped_list.iter().any(|o| o == "c"),
            update: skipped_list.iter().any(|o| o == "u"),
            delete: skipped_list.iter().any(|o| o == "d"),
            truncate: skipped_list.iter().any(|o| o == "t"),
        };
        let positive = |key: &str, default: i32| usize::try_from(c.int(key).unwrap_or(default).max(1)).unwrap_or(1);
        let heartbeat_ms = c.int(HEARTBEAT_INTERVAL_MS).unwrap_or(0).max(0);
        Ok(CdcConfig {
            connector_name: props.get("name").cloned().unwrap_or_default(),
            hostname: string(HOSTNAME),
            port: u16::try_from(c.int(PORT).unwrap_or(5432)).unwrap_or(5432),
            user: string(USER),
            password: c.string(PASSWORD).unwrap_or_default().to_owned(),
            dbname: string(DBNAME),
            topic_prefix: string(TOPIC_PREFIX),
            slot_name: string(SLOT_NAME),
            drop_slot_on_stop: c.boolean(SLOT_DROP_ON_STOP).unwrap_or(false),
            publication_name: string(PUBLICATION_NAME),
            publication_autocreate: match string(PUBLICATION_AUTOCREATE).to_ascii_lowercase().as_str() {
                "filtered" => AutocreateMode::Filtered,
                "disabled" => AutocreateMode::Disabled,
                _ => AutocreateMode::AllTables,
            },
            filter,
            snapshot_mode: match string(SNAPSHOT_MODE).to_ascii_lowercase().as_str() {
                "initial_only" => SnapshotMode::InitialOnly,
                "never" | "no_data" => SnapshotMode::Never,
                "always" => SnapshotMode::Always,
                "when_needed" => SnapshotMode::WhenNeeded,
                _ => SnapshotMode::Initial,
            },
            fail_on_stale_offset: !string(STALE_OFFSET_HANDLING).eq_ignore_ascii_case("warn"),
            snapshot_fetch_size: positive(SNAPSHOT_FETCH_SIZE, 10240),
            max_batch_size: positive(MAX_BATCH_SIZE, 2048),
            poll_interval: Duration::from_millis(u64::try_from(c.long(POLL_INTERVAL_MS).unwrap_or(500)).unwrap_or(500)),
            heartbeat_interval: (heartbeat_ms > 0).then(|| Duration::from_millis(heartbeat_ms.unsigned_abs().into())),
            heartbeat_topic_prefix: string(HEARTBEAT_TOPIC_PREFIX),
            tombstones_on_delete: c.boolean(TOMBSTONES_ON_DELETE).unwrap_or(true),
            skipped,
            values: ValueSettings {
                decimal: match string(DECIMAL_HANDLING).to_ascii_lowercase().as_str() {
                    "double" => DecimalMode::Double,
                    "string" => DecimalMode::String,
                    _ => DecimalMode::Precise,
                },
                time_precision: match string(TIME_PRECISION).to_ascii_lowercase().as_str() {
                    "connect" => TimePrecisionMode::Connect,
                    "adaptive_time_microseconds" => TimePrecisionMode::AdaptiveTimeMicroseconds,
                    _ => TimePrecisionMode::Adaptive,
                },
                binary: match string(BINARY_HANDLING).to_ascii_lowercase().as_str() {
                    "base64" => BinaryMode::Base64,
                    "base64-url-safe" => BinaryMode::Base64UrlSafe,
                    "hex" => BinaryMode::Hex,
                    _ => BinaryMode::Bytes,
                },
                interval: match string(INTERVAL_HANDLING).to_ascii_lowercase().as_str() {
                    "string" => IntervalMode::String,
                    _ => IntervalMode::Numeric,
                },
                unavailable_placeholder: c.string(UNAVAILABLE_PLACEHOLDER).unwrap_or_default().to_owned(),
            },
            status_update_interval: Duration::from_millis(
                u64::try_from(c.int(STATUS_UPDATE_INTERVAL_MS).unwrap_or(10_000)).unwrap_or(10_000),
            ),
            slot_max_retries: u32::try_from(c.int(SLOT_MAX_RETRIES).unwrap_or(6)).unwrap_or(0),
            slot_retry_delay: Duration::from_millis(
                u64::try_from(c.long(SLOT_RETRY_DELAY_MS).unwrap_or(10_000)).unwrap_or(0),
            ),
        })
    }

    /// The heartbeat topic: `<topic.heartbeat.prefix>.<topic.prefix>`.
    pub fn heartbeat_topic(&self) -> String {
        format!("{}.{}", self.heartbeat_topic_prefix, self.topic_prefix)
    }

    /// `host:port/db` for logs and errors.
    pub fn server(&self) -> String {
        format!("{}:{}/{}", self.hostname, self.port, self.dbname)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        let mut p: Props = [(HOSTNAME, "localhost"), (USER, "postgres"), (DBNAME, "postgres"), (TOPIC_PREFIX, "srv")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for (k, v) in pairs {
            p.insert((*k).to_owned(), (*v).to_owned());
        }
        p
    }

    #[test]
    fn defaults_follow_debezium() {
        let c = CdcConfig::parse(&props(&[])).expect("valid");
        assert_eq!((c.port, c.slot_name.as_str(), c.publication_name.as_str()), (5432, "debezium", "dbz_publication"));
        assert_eq!(c.publication_autocreate, AutocreateMode::AllTables);
        assert_eq!(c.snapshot_mode, SnapshotMode::Initial);
        assert!(c.fail_on_stale_offset, "a stored offset behind the slot fails by default");
        assert!(c.tombstones_on_delete);
        assert!(c.skipped.truncate && !c.skipped.delete);
        assert_eq!(c.heartbeat_interval, None);
        assert_eq!(c.heartbeat_topic(), "__debezium-heartbeat.srv");
        assert_eq!(c.values, ValueSettings::default());
    }

    #[test]
    fn rejects_bad_settings_by_name() {
        let err = CdcConfig::parse(&props(&[(PLUGIN_NAME, "decoderbufs")])).expect_err("plugin");
        assert!(err.to_string().contains("plugin.name"), "{err}");
        assert!(err.to_string().contains("pgoutput"), "{err}");
        let err = CdcConfig::parse(&props(&[(SLOT_NAME, "Bad-Slot")])).expect_err("slot");
        assert!(err.to_string().contains("slot.name"), "{err}");
        let err = CdcConfig::parse(&props(&[(SNAPSHOT_MODE, "sometimes")])).expect_err("mode");
        assert!(err.to_string().contains("snapshot.mode"), "{err}");
        let err = CdcConfig::parse(&props(&[(TABLE_INCLUDE, "public.(")])).expect_err("regex");
        assert!(err.to_string().contains("table.include.list"), "{err}");
        let err = CdcConfig::parse(&props(&[(SSLMODE, "require")])).expect_err("tls");
        assert!(err.to_string().contains("database.sslmode"), "{err}");
        let mut missing = props(&[]);
        missing.remove(TOPIC_PREFIX);
        assert!(CdcConfig::parse(&missing).expect_err("prefix").to_string().contains("topic.prefix"));
    }

    #[test]
    fn no_data_means_never_and_filters_match_whole_names() {
        let c = CdcConfig::parse(&props(&[
            (SNAPSHOT_MODE, "no_data"),
            (TABLE_INCLUDE, "public\\.orders.*,inv\\.items"),
            (TABLE_EXCLUDE, "public\\.orders_old"),
            (SKIPPED_OPERATIONS, "none"),
        ]))
        .expect("valid");
        assert_eq!(c.snapshot_mode, SnapshotMode::Never);
        assert!(c.filter.captures("public", "orders"));
        assert!(c.filter.captures("public", "orders_2024"));
        assert!(!c.filter.captures("public", "orders_old"));
        assert!(c.filter.captures("inv", "items"));
        assert!(!c.filter.captures("inv", "items2"));
        assert!(!c.filter.captures("xpublic", "orders"));
        assert!(!c.filter.captures("pg_catalog", "pg_class"));
        assert_eq!(c.skipped, SkippedOps::default());
    }
}
