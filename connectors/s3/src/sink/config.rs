//! Configuration of the S3 sink: Confluent's keys, parsed into a typed [`SinkConfig`] before any I/O.

use aqueduct_sdk::{ConfigDef, ConfigType, ConnectError, Importance, Props, Result, Validator};

use crate::format::{self, Format};
use crate::partitioner::{self, Partitioner, TIMEZONE};
use crate::storage::config::{self as storage, StorageConfig};
use crate::storage::upload::MIN_PART_SIZE;

/// `flush.size`: records per object (per Kafka partition and commit).
pub const FLUSH_SIZE: &str = "flush.size";
/// `rotate.interval.ms`: record time spanned by one object before it is committed.
pub const ROTATE_INTERVAL_MS: &str = "rotate.interval.ms";
/// `rotate.schedule.interval.ms`: wall-clock time after which open objects are committed.
pub const ROTATE_SCHEDULE_INTERVAL_MS: &str = "rotate.schedule.interval.ms";
/// `filename.offset.zero.pad.width`.
pub const ZERO_PAD_WIDTH: &str = "filename.offset.zero.pad.width";
/// `s3.part.size`: bytes per part of a multipart upload.
pub const PART_SIZE: &str = "s3.part.size";
/// `behavior.on.null.values`: `fail` or `ignore`.
pub const BEHAVIOR_ON_NULL_VALUES: &str = "behavior.on.null.values";
/// `schema.compatibility`: only `NONE` (a schema change starts a new object).
pub const SCHEMA_COMPATIBILITY: &str = "schema.compatibility";

/// What the sink does with a tombstone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullValues {
    /// The task fails (or, with `errors.tolerance=all`, reports the record to the dead-letter queue).
    Fail,
    /// The record is skipped.
    Ignore,
}

/// The sink's settings.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// The connector's name, for logs.
    pub connector: String,
    /// The bucket and object layout.
    pub storage: StorageConfig,
    /// How objects are encoded.
    pub format: Format,
    /// Which folder a record goes to.
    pub partitioner: Partitioner,
    /// Records per commit of a Kafka partition's objects.
    pub flush_size: u64,
    /// Record-time span of an object; `None`: no time rotation.
    pub rotate_interval_ms: Option<i64>,
    /// Wall-clock rotation period; `None`: none.
    pub rotate_schedule_interval_ms: Option<i64>,
    /// Digits of the start offset in object names.
    pub zero_pad_width: usize,
    /// Bytes per multipart part.
    pub part_size: usize,
    /// What to do with tombstones.
    pub null_values: NullValues,
}

/// Every key the sink understands.
pub fn config_def() -> ConfigDef {
    let def = ConfigDef::new()
        .define(FLUSH_SIZE, ConfigType::Long, None, Importance::High,
            "Records written to the objects of one Kafka partition before they are committed.")
        .validator(Validator::at_least(1.0))
        .group("Connector")
        .define(ROTATE_INTERVAL_MS, ConfigType::Long, Some("-1"), Importance::High,
            "Commit the open objects of a Kafka partition when a record's time is this far past the first one's (record time: the time-based partitioner's extractor, else the Kafka timestamp). -1: off.")
        .group("Connector")
        .define(ROTATE_SCHEDULE_INTERVAL_MS, ConfigType::Long, Some("-1"), Importance::Medium,
            "Commit open objects on this wall-clock schedule (needs timezone), so a quiet partition's tail is written. Not deterministic across restarts. -1: off.")
        .group("Connector")
        .define(ZERO_PAD_WIDTH, ConfigType::Int, Some("10"), Importance::Low,
            "Digits of the start offset in object names (zero-padded).")
        .validator(Validator::at_least(1.0))
        .group("Connector")
        .define(PART_SIZE, ConfigType::Int, Some("26214400"), Importance::High,
            "Bytes per part of a multipart upload (at least 5242880); also the most an open object buffers.")
        .validator(Validator::at_least(MIN_PART_SIZE as f64))
        .group("S3")
        .define(BEHAVIOR_ON_NULL_VALUES, ConfigType::String, Some("fail"), Importance::Low,
            "Tombstones: fail (or to the dead-letter queue with errors.tolerance=all) or ignore.")
        .validator(Validator::one_of(&["fail", "ignore"]))
        .group("Connector")
        .define(SCHEMA_COMPATIBILITY, ConfigType::String, Some("NONE"), Importance::Low,
            "Schema evolution: NONE (a record with another schema starts a new object).")
        .validator(Validator::one_of(&["NONE"]))
        .group("Schema");
    partitioner::define(format::define(storage::define(def)))
}

impl SinkConfig {
    /// Parses and checks a configuration; the first problem is an error naming its key.
    pub fn parse(props: &Props) -> Result<SinkConfig> {
        let config = config_def().parse(props)?;
        let positive = |key: &str| config.long(key).filter(|v| *v > 0);
        let config_sink = SinkConfig {
            connector: props.get("name").cloned().unwrap_or_default(),
            storage: StorageConfig::from_config(&config),
            format: Format::from_config(&config)?,
            partitioner: Partitioner::from_config(&config)?,
            flush_size: config.long(FLUSH_SIZE).unwrap_or(1).max(1) as u64,
            rotate_interval_ms: positive(ROTATE_INTERVAL_MS),
            rotate_schedule_interval_ms: positive(ROTATE_SCHEDULE_INTERVAL_MS),
            zero_pad_width: config.int(ZERO_PAD_WIDTH).unwrap_or(10).max(1) as usize,
            part_size: config.int(PART_SIZE).unwrap_or(26_214_400).max(0) as usize,
            null_values: match config.string(BEHAVIOR_ON_NULL_VALUES) {
                Some("ignore") => NullValues::Ignore,
                _ => NullValues::Fail,
            },
        };
        if config_sink.rotate_schedule_interval_ms.is_some() && config.non_empty_string(TIMEZONE).is_none() {
            return Err(ConnectError::config(format!("{ROTATE_SCHEDULE_INTERVAL_MS} needs {TIMEZONE}")));
        }
        Ok(config_sink)
    }

    /// The object name of a file of `topic`/`partition` starting at `start_offset` in `encoded`:
    /// `<topics.dir>/<topic>/<encoded>/<topic>+<partition>+<padded offset><ext>`.
    pub fn object_key(&self, topic: &str, partition: i32, encoded: &str, start_offset: i64) -> String {
        let s = &self.storage;
        format!(
            "{folder}{d}{topic}{f}{partition}{f}{start_offset:0width$}{ext}",
            folder = s.folder(topic, encoded),
            d = s.directory_delim,
            f = s.file_delim,
            width = self.zero_pad_width,
            ext = self.format.extension(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(extra: &[(&str, &str)]) -> Props {
        let mut props: Props = [
            ("name", "s3-sink"),
            ("s3.bucket.name", "b"),
            ("format.class", "io.confluent.connect.s3.format.json.JsonFormat"),
            ("flush.size", "3"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        props.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        props
    }

    #[test]
    fn object_keys_are_confluents() {
        let config = SinkConfig::parse(&props(&[])).expect("valid");
        assert_eq!(
            config.object_key("orders", 1, "partition=1", 42),
            "topics/orders/partition=1/orders+1+0000000042.json"
        );
        let config = SinkConfig::parse(&props(&[("topics.dir", "/backup/"), ("filename.offset.zero.pad.width", "4")]))
            .expect("valid");
        assert_eq!(config.object_key("t", 0, "partition=0", 7), "backup/t/partition=0/t+0+0007.json");
    }

    #[test]
    fn bad_settings_name_their_key() {
        for (key, value, expected) in [
            ("flush.size", "0", "flush.size"),
            ("format.class", "io.confluent.connect.s3.format.csv.CsvFormat", "format.class"),
            ("s3.part.size", "1000", "s3.part.size"),
            ("partitioner.class", "x.Mine", "partitioner.class"),
            ("rotate.schedule.interval.ms", "1000", "timezone"),
            ("schema.compatibility", "BACKWARD", "schema.compatibility"),
        ] {
            let err = SinkConfig::parse(&props(&[(key, value)])).expect_err("refused");
            assert!(err.to_string().contains(expected), "{key}={value}: {err}");
        }
        let mut no_flush = props(&[]);
        no_flush.remove("flush.size");
        assert!(SinkConfig::parse(&no_flush).expect_err("refused").to_string().contains("flush.size"));
    }
}
