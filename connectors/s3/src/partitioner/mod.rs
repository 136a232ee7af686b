//! Partitioners (`partitioner.class`): which folder under a topic a record's object goes to,
//! as Confluent's storage partitioners encode it.
//!
//! - `DefaultPartitioner`: `partition=<kafka partition>`;
//! - `FieldPartitioner`: `<field>=<value>` for each of `partition.field.name`;
//! - `TimeBasedPartitioner`: the record's time (`timestamp.extractor`) floored to
//!   `partition.duration.ms` in `timezone`, printed with the Joda pattern `path.format`;
//!   `HourlyPartitioner` and `DailyPartitioner` fix the pattern and duration.

mod path_format;

use aqueduct_sdk::{Config, ConfigDef, ConfigType, ConnectError, Importance, Result, SinkRecord, Validator, Value};
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

pub use path_format::PathFormat;

/// `partitioner.class`.
pub const PARTITIONER_CLASS: &str = "partitioner.class";
/// `partition.field.name`: the fields of `FieldPartitioner`.
pub const PARTITION_FIELD_NAME: &str = "partition.field.name";
/// `path.format`: the Joda pattern of `TimeBasedPartitioner`.
pub const PATH_FORMAT: &str = "path.format";
/// `partition.duration.ms`: the time bucket of `TimeBasedPartitioner`.
pub const PARTITION_DURATION_MS: &str = "partition.duration.ms";
/// `timestamp.extractor`: `Record`, `RecordField` or `Wallclock`.
pub const TIMESTAMP_EXTRACTOR: &str = "timestamp.extractor";
/// `timestamp.field`: the value field `RecordField` reads.
pub const TIMESTAMP_FIELD: &str = "timestamp.field";
/// `timezone`: an IANA zone id such as `UTC` or `Europe/Paris`.
pub const TIMEZONE: &str = "timezone";
/// `locale`: required with time-based partitioners, as Confluent's are; names print in English.
pub const LOCALE: &str = "locale";

const PACKAGE: &str = "io.confluent.connect.storage.partitioner.";
const HOURLY_FORMAT: &str = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH";
const DAILY_FORMAT: &str = "'year'=YYYY/'month'=MM/'day'=dd";
const HOUR_MS: i64 = 3_600_000;

/// The partitioner keys, for a connector's [`ConfigDef`].
pub fn define(def: ConfigDef) -> ConfigDef {
    def.define(PARTITIONER_CLASS, ConfigType::String, Some("io.confluent.connect.storage.partitioner.DefaultPartitioner"),
            Importance::High,
            "DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, HourlyPartitioner or DailyPartitioner (io.confluent.connect.storage.partitioner.*).")
        .validator(Validator::Custom(check_class))
        .group("Partitioner")
        .define(PARTITION_FIELD_NAME, ConfigType::List, Some(""), Importance::Medium,
            "FieldPartitioner: the value fields whose values name the folder (dots reach into nested fields).")
        .group("Partitioner")
        .define(PATH_FORMAT, ConfigType::String, Some(""), Importance::Medium,
            "TimeBasedPartitioner: Joda-Time pattern of the folder, e.g. 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH.")
        .group("Partitioner")
        .define(PARTITION_DURATION_MS, ConfigType::Long, Some("-1"), Importance::Medium,
            "TimeBasedPartitioner: the time bucket in milliseconds.")
        .group("Partitioner")
        .define(TIMESTAMP_EXTRACTOR, ConfigType::String, Some("Wallclock"), Importance::Medium,
            "Time of a record: Record (its Kafka timestamp), RecordField (timestamp.field) or Wallclock.")
        .validator(Validator::Custom(check_extractor))
        .group("Partitioner")
        .define(TIMESTAMP_FIELD, ConfigType::String, Some("timestamp"), Importance::Medium,
            "RecordField: the value field holding the time (epoch milliseconds, a Timestamp, or ISO-8601 text).")
        .group("Partitioner")
        .define(TIMEZONE, ConfigType::String, Some(""), Importance::Medium,
            "Time zone of time-based folders and scheduled rotation (an IANA id such as UTC).")
        .validator(Validator::Custom(check_timezone))
        .group("Partitioner")
        .define(LOCALE, ConfigType::String, Some(""), Importance::Low,
            "Locale of time-based folders (required with them, as Confluent's; month and day names print in English).")
        .group("Partitioner")
}

fn check_class(value: &aqueduct_sdk::ConfigValue) -> std::result::Result<(), String> {
    match value {
        aqueduct_sdk::ConfigValue::String(class) => simple_class(class).map(|_| ()),
        _ => Ok(()),
    }
}

fn simple_class(class: &str) -> std::result::Result<&'static str, String> {
    let simple = class.trim().strip_prefix(PACKAGE).unwrap_or(class.trim());
    ["DefaultPartitioner", "FieldPartitioner", "TimeBasedPartitioner", "HourlyPartitioner", "DailyPartitioner"]
        .into_iter()
        .find(|c| *c == simple)
        .ok_or_else(|| format!("unknown partitioner '{class}': use {PACKAGE}DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, HourlyPartitioner or DailyPartitioner"))
}

fn check_extractor(value: &aqueduct_sdk::ConfigValue) -> std::result::Result<(), String> {
    match value {
        aqueduct_sdk::ConfigValue::String(name) => Extractor::parse(name).map(|_| ()),
        _ => Ok(()),
    }
}

fn check_timezone(value: &aqueduct_sdk::ConfigValue) -> std::result::Result<(), String> {
    match value {
        aqueduct_sdk::ConfigValue::String(zone) if !zone.trim().is_empty() => parse_zone(zone).map(|_| ()),
        _ => Ok(()),
    }
}

fn parse_zone(zone: &str) -> std::result::Result<Tz, String> {
    zone.trim()
        .parse::<Tz>()
        .map_err(|_| format!("unknown time zone '{zone}' (use an IANA id such as UTC or Europe/Paris)"))
}

/// Where a record's time comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Extractor {
    /// The record's Kafka timestamp.
    Record,
    /// A field of the value.
    RecordField(String),
    /// The time the sink sees the record.
    Wallclock,
}

impl Extractor {
    fn parse(name: &str) -> std::result::Result<Extractor, String> {
        let simple = name.trim().rsplit(['.', '$']).next().unwrap_or_default();
        match simple.trim_end_matches("TimestampExtractor") {
            "Record" => Ok(Extractor::Record),
            "RecordField" => Ok(Extractor::RecordField(String::new())),
            "Wallclock" => Ok(Extractor::Wallclock),
            _ => Err(format!("unknown timestamp extractor '{name}': use Record, RecordField or Wallclock")),
        }
    }

    /// The record's time in epoch milliseconds.
    pub fn extract(&self, record: &SinkRecord, now_ms: i64) -> Result<i64> {
        match self {
            Extractor::Wallclock => Ok(now_ms),
            Extractor::Record => record.timestamp.ok_or_else(|| {
                ConnectError::data(format!(
                    "record {}-{}@{} has no timestamp for timestamp.extractor=Record",
                    record.topic, record.kafka_partition, record.kafka_offset
                ))
            }),
            Extractor::RecordField(field) => {
                let value = lookup(&record.value, field).ok_or_else(|| {
                    ConnectError::data(format!("timestamp.field '{field}' is missing from the record value"))
                })?;
                match value {
                    Value::Int64(ms) => Ok(*ms),
                    Value::Int32(v) => Ok(i64::from(*v)),
                    Value::String(text) => {
                        chrono::DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis()).map_err(|e| {
                            ConnectError::data(format!("timestamp.field '{field}': '{text}' is not ISO-8601: {e}"))
                        })
                    }
                    other => Err(ConnectError::data(format!(
                        "timestamp.field '{field}' must hold epoch milliseconds, a Timestamp or ISO-8601 text, not {}",
                        other.schema_type().map_or("null", |t| t.name())
                    ))),
                }
            }
        }
    }
}

/// A field of a struct or string-keyed map, `a.b` reaching into nested values.
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, name| match v {
        Value::Struct(s) => s.get(name),
        Value::Map(_) => v.map_get(name),
        _ => None,
    })
}

/// How records are spread over folders.
#[derive(Debug, Clone, PartialEq)]
pub enum Partitioner {
    /// `partition=<kafka partition>`.
    Default,
    /// `<field>=<value>/...`.
    Field {
        /// The value fields.
        fields: Vec<String>,
    },
    /// Time buckets.
    Time {
        /// The folder pattern.
        format: PathFormat,
        /// The bucket length.
        duration_ms: i64,
        /// Where a record's time comes from.
        extractor: Extractor,
        /// The zone buckets and folder names are in.
        zone: Tz,
    },
}

impl Partitioner {
    /// The partitioner of a validated configuration; missing keys of the chosen class are errors naming them.
    pub fn from_config(config: &Config) -> Result<Partitioner> {
        let text = |key: &str| config.string(key).unwrap_or_default().trim().to_owned();
        let class = simple_class(&text(PARTITIONER_CLASS))
            .map_err(|e| ConnectError::config(format!("{PARTITIONER_CLASS}: {e}")))?;
        let (pattern, duration_ms) = match class {
            "DefaultPartitioner" => return Ok(Partitioner::Default),
            "FieldPartitioner" => {
                let fields: Vec<String> = config.list(PARTITION_FIELD_NAME).unwrap_or_default().to_vec();
                if fields.is_empty() {
                    return Err(ConnectError::config(format!(
                        "{PARTITION_FIELD_NAME} must name at least one field for FieldPartitioner"
                    )));
                }
                return Ok(Partitioner::Field { fields });
            }
            "HourlyPartitioner" => (HOURLY_FORMAT.to_owned(), HOUR_MS),
            "DailyPartitioner" => (DAILY_FORMAT.to_owned(), 24 * HOUR_MS),
            _ => (text(PATH_FORMAT), config.long(PARTITION_DURATION_MS).unwrap_or(-1)),
        };
        if pattern.is_empty() {
            return Err(ConnectError::config(format!("{PATH_FORMAT} must be set for TimeBasedPartitioner")));
        }
        if duration_ms <= 0 {
            return Err(ConnectError::config(format!(
                "{PARTITION_DURATION_MS} must be positive for TimeBasedPartitioner"
            )));
        }
        for key in [TIMEZONE, LOCALE] {
            if text(key).is_empty() {
                return Err(ConnectError::config(format!("{key} must be set for {class}")));
            }
        }
        let format = PathFormat::parse(&pattern).map_err(|e| ConnectError::config(format!("{PATH_FORMAT}: {e}")))?;
        let zone = parse_zone(&text(TIMEZONE)).map_err(|e| ConnectError::config(format!("{TIMEZONE}: {e}")))?;
        let extractor = match Extractor::parse(&text(TIMESTAMP_EXTRACTOR)).map_err(ConnectError::config)? {
            Extractor::RecordField(_) => Extractor::RecordField(text(TIMESTAMP_FIELD)),
            other => other,
        };
        Ok(Partitioner::Time { format, duration_ms, extractor, zone })
    }

    /// The encoded partition (the folder below the topic) of `record`.
    pub fn encode(&self, record: &SinkRecord, now_ms: i64, delim: &str) -> Result<String> {
        match self {
            Partitioner::Default => Ok(format!("partition={}", record.kafka_partition)),
            Partitioner::Field { fields } => {
                let mut parts = Vec::with_capacity(fields.len());
                for field in fields {
                    let value = lookup(&record.value, field).ok_or_else(|| {
                        ConnectError::data(format!("{PARTITION_FIELD_NAME} '{field}' is missing from the record value"))
                    })?;
                    parts.push(format!("{field}={}", field_text(field, value)?));
                }
                Ok(parts.join(delim))
            }
            Partitioner::Time { format, duration_ms, extractor, zone } => {
                let time = extractor.extract(record, now_ms)?;
                Ok(format.format(&bucket_start(time, *duration_ms, zone)))
            }
        }
    }

    /// The record time `rotate.interval.ms` measures: the time-based partitioner's extractor,
    /// else the record's Kafka timestamp.
    pub fn record_time(&self, record: &SinkRecord, now_ms: i64) -> Option<i64> {
        match self {
            Partitioner::Time { extractor, .. } => extractor.extract(record, now_ms).ok(),
            _ => record.timestamp,
        }
    }

    /// The zone of time-based folders, for scheduled rotation.
    pub fn zone(&self) -> Option<Tz> {
        match self {
            Partitioner::Time { zone, .. } => Some(*zone),
            _ => None,
        }
    }
}

fn field_text(field: &str, value: &Value) -> Result<String> {
    Ok(match value {
        Value::String(s) => s.clone(),
        Value::Boolean(b) => b.to_string(),
        Value::Int8(v) => v.to_string(),
        Value::Int16(v) => v.to_string(),
        Value::Int32(v) => v.to_string(),
        Value::Int64(v) => v.to_string(),
        other => {
            return Err(ConnectError::data(format!(
                "{PARTITION_FIELD_NAME} '{field}' must be a string, boolean or integer, not {}",
                other.schema_type().map_or("null", |t| t.name())
            )))
        }
    })
}

/// The start of the bucket holding `time`, as wall-clock time in `zone` (what the folder shows).
fn bucket_start(time: i64, duration_ms: i64, zone: &Tz) -> chrono::DateTime<Utc> {
    let utc = Utc.timestamp_millis_opt(time).single().unwrap_or_default();
    let local = utc.with_timezone(zone).naive_local().and_utc().timestamp_millis();
    let start = local.div_euclid(duration_ms) * duration_ms;
    Utc.timestamp_millis_opt(start).single().unwrap_or_default()
}

/// The next multiple of `interval_ms` after `now_ms`, counted in `zone`'s wall-clock time.
pub fn next_boundary(now_ms: i64, interval_ms: i64, zone: Option<Tz>) -> i64 {
    let offset = zone.map_or(0, |zone| {
        let utc = Utc.timestamp_millis_opt(now_ms).single().unwrap_or_default();
        utc.with_timezone(&zone).naive_local().and_utc().timestamp_millis() - now_ms
    });
    ((now_ms + offset).div_euclid(interval_ms) + 1) * interval_ms - offset
}

#[cfg(test)]
mod tests;
