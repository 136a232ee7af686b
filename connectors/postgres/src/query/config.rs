//! Configuration of the query-based source: Confluent's JDBC source connector keys, parsed into
//! a typed [`QueryConfig`] before any I/O.

use std::time::Duration;

use aqueduct_sdk::{ConfigDef, ConfigType, ConnectError, Importance, Props, Result, Validator};

use crate::sink::config::parse_url;

/// `connection.url`: `jdbc:postgresql://host:port/db`, `postgres://...` or libpq key=value.
pub const CONNECTION_URL: &str = "connection.url";
/// `connection.user`: overrides the URL's user.
pub const CONNECTION_USER: &str = "connection.user";
/// `connection.password`: overrides the URL's password.
pub const CONNECTION_PASSWORD: &str = "connection.password";
/// `mode`: `bulk`, `incrementing`, `timestamp` or `timestamp+incrementing`.
pub const MODE: &str = "mode";
/// `incrementing.column.name`: a strictly increasing integer column.
pub const INCREMENTING_COLUMN: &str = "incrementing.column.name";
/// `timestamp.column.name`: timestamp columns; the first non-null one (COALESCE) is used.
pub const TIMESTAMP_COLUMN: &str = "timestamp.column.name";
/// `table.whitelist`: tables to copy (`table` or `schema.table`); empty copies all.
pub const TABLE_WHITELIST: &str = "table.whitelist";
/// `table.blacklist`: tables not to copy.
pub const TABLE_BLACKLIST: &str = "table.blacklist";
/// `table.include.list`: alias of `table.whitelist` (newer Confluent releases).
pub const TABLE_INCLUDE: &str = "table.include.list";
/// `table.exclude.list`: alias of `table.blacklist`.
pub const TABLE_EXCLUDE: &str = "table.exclude.list";
/// `query`: a custom query read instead of tables (one task).
pub const QUERY: &str = "query";
/// `topic.prefix`: topics are `<prefix><table>` (or the prefix itself with `query`).
pub const TOPIC_PREFIX: &str = "topic.prefix";
/// `poll.interval.ms`: how often each table is polled for new data.
pub const POLL_INTERVAL_MS: &str = "poll.interval.ms";
/// `batch.max.rows`: most rows read per query and returned per poll.
pub const BATCH_MAX_ROWS: &str = "batch.max.rows";
/// `timestamp.delay.interval.ms`: rows are read only once their timestamp is this old.
pub const TIMESTAMP_DELAY_MS: &str = "timestamp.delay.interval.ms";
/// `validate.non.null`: whether the incrementing/timestamp columns must be NOT NULL.
pub const VALIDATE_NON_NULL: &str = "validate.non.null";
/// Task key: the tables assigned to one task, `schema.table` comma-separated (as Confluent's `tables`).
pub const TASK_TABLES: &str = "tables";

const MODES: &[&str] = &["bulk", "incrementing", "timestamp", "timestamp+incrementing"];

/// The keys of the query source.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(CONNECTION_URL, ConfigType::String, None, Importance::High,
            "Database URL: jdbc:postgresql://host:port/db?user=..., postgres://user:pass@host:port/db, or a libpq key=value string.")
        .validator(Validator::Custom(|v| match v {
            aqueduct_sdk::ConfigValue::String(url) => parse_url(url).map(|_| ()),
            _ => Ok(()),
        }))
        .group("Database")
        .define(CONNECTION_USER, ConfigType::String, Some(""), Importance::High, "User name; overrides the URL's.")
        .group("Database")
        .define(CONNECTION_PASSWORD, ConfigType::Password, Some(""), Importance::High, "Password; overrides the URL's.")
        .group("Database")
        .define(TABLE_WHITELIST, ConfigType::List, Some(""), Importance::Medium,
            "Tables to copy (`table` or `schema.table`); empty copies every table. Not with table.blacklist.")
        .group("Database")
        .define(TABLE_BLACKLIST, ConfigType::List, Some(""), Importance::Medium, "Tables not to copy.")
        .group("Database")
        .define(TABLE_INCLUDE, ConfigType::List, Some(""), Importance::Low, "Alias of table.whitelist.")
        .group("Database")
        .define(TABLE_EXCLUDE, ConfigType::List, Some(""), Importance::Low, "Alias of table.blacklist.")
        .group("Database")
        .define(MODE, ConfigType::String, Some(""), Importance::High,
            "bulk (the whole table each poll), incrementing, timestamp or timestamp+incrementing.")
        .group("Mode")
        .define(INCREMENTING_COLUMN, ConfigType::String, Some(""), Importance::Medium,
            "A strictly increasing integer column (incrementing and timestamp+incrementing modes).")
        .group("Mode")
        .define(TIMESTAMP_COLUMN, ConfigType::List, Some(""), Importance::Medium,
            "Timestamp columns telling new and modified rows; several are COALESCEd in order.")
        .group("Mode")
        .define(VALIDATE_NON_NULL, ConfigType::Boolean, Some("true"), Importance::Low,
            "Whether the incrementing and timestamp columns must be NOT NULL.")
        .group("Mode")
        .define(QUERY, ConfigType::String, Some(""), Importance::Medium,
            "A query read instead of tables; incremental modes filter it as a subquery.")
        .group("Mode")
        .define(TOPIC_PREFIX, ConfigType::String, None, Importance::High,
            "Prefix of the topic names: `<prefix><table>`, or the topic itself with `query`.")
        .group("Connector")
        .define(POLL_INTERVAL_MS, ConfigType::Int, Some("5000"), Importance::High, "How often each table is polled, in ms.")
        .validator(Validator::at_least(1.0))
        .group("Connector")
        .define(BATCH_MAX_ROWS, ConfigType::Int, Some("100"), Importance::Low, "Most rows per query and per poll.")
        .validator(Validator::at_least(1.0))
        .group("Connector")
        .define(TIMESTAMP_DELAY_MS, ConfigType::Long, Some("0"), Importance::High,
            "Rows are read once their timestamp is this old, so transactions still open can commit.")
        .validator(Validator::at_least(0.0))
        .group("Connector")
}

/// How rows are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The whole table each poll.
    Bulk,
    /// Rows with a larger incrementing column.
    Incrementing,
    /// Rows with a later timestamp.
    Timestamp,
    /// Rows with a later timestamp, or the same timestamp and a larger incrementing column.
    TimestampIncrementing,
}

impl Mode {
    /// Whether the mode tracks an incrementing column.
    pub fn uses_incrementing(self) -> bool {
        matches!(self, Mode::Incrementing | Mode::TimestampIncrementing)
    }
    /// Whether the mode tracks timestamp columns.
    pub fn uses_timestamp(self) -> bool {
        matches!(self, Mode::Timestamp | Mode::TimestampIncrementing)
    }
}

/// The typed configuration.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// The connector's name, for logs.
    pub connector: String,
    /// Where to connect.
    pub connection: tokio_postgres::Config,
    /// `host:port/db`, for logs.
    pub url_for_logs: String,
    /// The mode.
    pub mode: Mode,
    /// The incrementing column (empty when the mode has none).
    pub incrementing_column: String,
    /// The timestamp columns (empty when the mode has none).
    pub timestamp_columns: Vec<String>,
    /// Tables to copy; empty means all.
    pub whitelist: Vec<String>,
    /// Tables not to copy.
    pub blacklist: Vec<String>,
    /// The custom query, if any.
    pub query: Option<String>,
    /// The topic prefix.
    pub topic_prefix: String,
    /// How often each table is polled.
    pub poll_interval: Duration,
    /// Rows per query.
    pub batch_max_rows: i64,
    /// How old a timestamp must be.
    pub timestamp_delay_ms: i64,
    /// Whether the tracking columns must be NOT NULL.
    pub validate_non_null: bool,
}

impl QueryConfig {
    /// Parses and cross-checks `props`; errors name the bad key.
    pub fn parse(props: &Props) -> Result<QueryConfig> {
        let config = config_def().parse(props)?;
        let string = |key: &str| config.string(key).unwrap_or_default().trim().to_owned();
        let list = |key: &str| config.list(key).map(<[String]>::to_vec).unwrap_or_default();
        let either = |a: &str, b: &str| if list(a).is_empty() { list(b) } else { list(a) };

        let mode = match string(MODE).as_str() {
            "bulk" => Mode::Bulk,
            "incrementing" => Mode::Incrementing,
            "timestamp" => Mode::Timestamp,
            "timestamp+incrementing" => Mode::TimestampIncrementing,
            other => {
                return Err(ConnectError::config(format!(
                    "Invalid value '{other}' for configuration {MODE}: must be one of {}",
                    MODES.join(", ")
                )))
            }
        };
        let incrementing_column = string(INCREMENTING_COLUMN);
        let timestamp_columns: Vec<String> = list(TIMESTAMP_COLUMN);
        if mode.uses_incrementing() && incrementing_column.is_empty() {
            return Err(ConnectError::config(format!(
                "{INCREMENTING_COLUMN} is required with {MODE}={}",
                string(MODE)
            )));
        }
        if mode.uses_timestamp() && timestamp_columns.is_empty() {
            return Err(ConnectError::config(format!("{TIMESTAMP_COLUMN} is required with {MODE}={}", string(MODE))));
        }
        let whitelist = either(TABLE_WHITELIST, TABLE_INCLUDE);
        let blacklist = either(TABLE_BLACKLIST, TABLE_EXCLUDE);
        if !whitelist.is_empty() && !blacklist.is_empty() {
            return Err(ConnectError::config(format!(
                "{TABLE_WHITELIST} and {TABLE_BLACKLIST} are exclusive: set at most one"
            )));
        }
        let query = Some(string(QUERY)).filter(|q| !q.is_empty());
        if query.is_some() && (!whitelist.is_empty() || !blacklist.is_empty()) {
            return Err(ConnectError::config(format!(
                "{QUERY} cannot be combined with {TABLE_WHITELIST} or {TABLE_BLACKLIST}"
            )));
        }

        let mut connection = parse_url(&string(CONNECTION_URL)).map_err(ConnectError::config)?;
        let user = string(CONNECTION_USER);
        if !user.is_empty() {
            connection.user(&user);
        }
        let password = config.string(CONNECTION_PASSWORD).unwrap_or_default();
        if !password.is_empty() {
            connection.password(password);
        }
        if connection.get_application_name().is_none() {
            connection.application_name("aqueduct-postgres-query");
        }
        let poll_ms = config.int(POLL_INTERVAL_MS).unwrap_or(5000).max(1);
        Ok(QueryConfig {
            connector: props.get("name").cloned().unwrap_or_default(),
            url_for_logs: url_for_logs(&connection),
            connection,
            mode,
            incrementing_column,
            timestamp_columns,
            whitelist,
            blacklist,
            query,
            topic_prefix: config.string(TOPIC_PREFIX).unwrap_or_default().to_owned(),
            poll_interval: Duration::from_millis(u64::from(poll_ms.unsigned_abs())),
            batch_max_rows: i64::from(config.int(BATCH_MAX_ROWS).unwrap_or(100).max(1)),
            timestamp_delay_ms: config.long(TIMESTAMP_DELAY_MS).unwrap_or(0).max(0),
            validate_non_null: config.boolean(VALIDATE_NON_NULL).unwrap_or(true),
        })
    }
}

fn url_for_logs(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(name)) => name.clone(),
        _ => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("postgres://{}@{host}:{port}/{}", config.get_user().unwrap_or(""), config.get_dbname().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        let mut p: Props = [("connection.url", "jdbc:postgresql://localhost:5432/db"), ("topic.prefix", "pg-")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        p.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        p
    }

    #[test]
    fn defaults_follow_confluent() {
        let cfg = QueryConfig::parse(&props(&[("mode", "bulk")])).expect("valid");
        assert_eq!(cfg.mode, Mode::Bulk);
        assert_eq!(cfg.poll_interval, Duration::from_millis(5000));
        assert_eq!(cfg.batch_max_rows, 100);
        assert_eq!(cfg.timestamp_delay_ms, 0);
        assert!(cfg.validate_non_null);
    }

    #[test]
    fn rejects_bad_mode_and_missing_columns() {
        let err = QueryConfig::parse(&props(&[("mode", "sideways")])).expect_err("bad mode");
        assert!(err.to_string().contains("sideways"), "{err}");
        let err = QueryConfig::parse(&props(&[("mode", "timestamp+incrementing"), ("timestamp.column.name", "ts")]))
            .expect_err("no incrementing column");
        assert!(err.to_string().contains(INCREMENTING_COLUMN), "{err}");
        let err =
            QueryConfig::parse(&props(&[("mode", "bulk"), ("table.whitelist", "a"), ("table.exclude.list", "b")]))
                .expect_err("both lists");
        assert!(err.to_string().contains("exclusive"), "{err}");
    }
}
