//! Configuration keys of the file source and sink.

use std::path::PathBuf;

use aqueduct_sdk::{ConfigDef, ConfigType, Importance, Props, Result, Validator};

/// The file to read (source) or append to (sink).
pub const FILE_CONFIG: &str = "file";
/// The topic the source writes to.
pub const TOPIC_CONFIG: &str = "topic";
/// The maximum number of lines the source returns per poll.
pub const BATCH_SIZE_CONFIG: &str = "batch.size";
/// The default of [`BATCH_SIZE_CONFIG`], as in Kafka Connect.
pub const DEFAULT_BATCH_SIZE: i32 = 2000;

/// The keys of `FileStreamSource`.
pub fn source_config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            FILE_CONFIG,
            ConfigType::String,
            Some(""),
            Importance::High,
            "Source filename. Must be set: reading standard input is not supported.",
        )
        .validator(Validator::NonEmpty)
        .define(TOPIC_CONFIG, ConfigType::String, None, Importance::High, "The topic to publish data to.")
        .validator(Validator::NonEmpty)
        .define(
            BATCH_SIZE_CONFIG,
            ConfigType::Int,
            Some("2000"),
            Importance::Low,
            "The maximum number of records the source task can read from the file each time it is polled.",
        )
        .validator(Validator::at_least(1.0))
}

/// The keys of `FileStreamSink`.
pub fn sink_config_def() -> ConfigDef {
    ConfigDef::new()
        .define(FILE_CONFIG, ConfigType::String, None, Importance::High, "Destination filename; lines are appended.")
        .validator(Validator::NonEmpty)
}

/// A parsed source configuration.
#[derive(Debug, Clone)]
pub(crate) struct SourceConfig {
    pub file: PathBuf,
    pub topic: String,
    pub batch_size: usize,
}

impl SourceConfig {
    pub fn parse(props: &Props) -> Result<Self> {
        let config = source_config_def().parse(props)?;
        let batch_size = config.int(BATCH_SIZE_CONFIG).unwrap_or(DEFAULT_BATCH_SIZE).max(1);
        Ok(SourceConfig {
            file: PathBuf::from(config.string(FILE_CONFIG).unwrap_or_default()),
            topic: config.string(TOPIC_CONFIG).unwrap_or_default().to_owned(),
            batch_size: usize::try_from(batch_size).unwrap_or(1),
        })
    }
}

/// A parsed sink configuration.
#[derive(Debug, Clone)]
pub(crate) struct SinkConfig {
    pub file: PathBuf,
}

impl SinkConfig {
    pub fn parse(props: &Props) -> Result<Self> {
        let config = sink_config_def().parse(props)?;
        Ok(SinkConfig { file: PathBuf::from(config.string(FILE_CONFIG).unwrap_or_default()) })
    }
}

/// The connector name for log fields: Kafka Connect passes it as `name` in the configuration.
pub(crate) fn connector_name(props: &Props) -> String {
    props.get("name").cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn source_requires_file_and_topic() {
        let err = SourceConfig::parse(&props(&[])).expect_err("file and topic missing");
        let msg = err.to_string();
        assert!(msg.contains("configuration file"), "{msg}");
        assert!(msg.contains("\"topic\""), "{msg}");
        assert!(SourceConfig::parse(&props(&[("file", "/x"), ("topic", "t"), ("batch.size", "0")])).is_err());
        let ok = SourceConfig::parse(&props(&[("file", "/x"), ("topic", "t")])).expect("valid");
        assert_eq!(ok.batch_size, 2000);
        assert_eq!(ok.file, PathBuf::from("/x"));
    }

    #[test]
    fn sink_requires_file() {
        assert!(SinkConfig::parse(&props(&[])).is_err());
        assert!(SinkConfig::parse(&props(&[("file", " ")])).is_err());
        assert!(SinkConfig::parse(&props(&[("file", "/out")])).is_ok());
    }
}
