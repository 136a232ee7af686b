//! Where the objects are: Confluent's S3 storage keys, shared by the sink and the source.

use aqueduct_sdk::{Config, ConfigDef, ConfigType, Importance, Validator};

/// `s3.bucket.name`.
pub const BUCKET: &str = "s3.bucket.name";
/// `s3.region`.
pub const REGION: &str = "s3.region";
/// `store.url`: an S3-compatible endpoint instead of AWS's.
pub const STORE_URL: &str = "store.url";
/// `s3.path.style.access.enabled`.
pub const PATH_STYLE: &str = "s3.path.style.access.enabled";
/// `aws.access.key.id`.
pub const ACCESS_KEY_ID: &str = "aws.access.key.id";
/// `aws.secret.access.key`.
pub const SECRET_ACCESS_KEY: &str = "aws.secret.access.key";
/// `topics.dir`: the top-level prefix of every object.
pub const TOPICS_DIR: &str = "topics.dir";
/// `directory.delim`.
pub const DIRECTORY_DELIM: &str = "directory.delim";
/// `file.delim`: between topic, partition and offset in an object's name.
pub const FILE_DELIM: &str = "file.delim";
/// `s3.retry.backoff.ms`: the first backoff of the client's retries.
pub const RETRY_BACKOFF_MS: &str = "s3.retry.backoff.ms";
/// `s3.part.retries`: attempts of one request before the task is told to retry.
pub const PART_RETRIES: &str = "s3.part.retries";
/// `storage.class`: only Confluent's S3 storage.
pub const STORAGE_CLASS: &str = "storage.class";

/// Where objects are stored and how to reach them.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageConfig {
    /// The bucket.
    pub bucket: String,
    /// The region (signing region for a custom endpoint too).
    pub region: String,
    /// A custom endpoint (`store.url`), e.g. an S3-compatible server.
    pub endpoint: Option<String>,
    /// Bucket in the path rather than the host name.
    pub path_style: bool,
    /// Static credentials; `None` uses the default AWS credential chain.
    pub credentials: Option<(String, String)>,
    /// The prefix every object name starts with.
    pub topics_dir: String,
    /// Between the parts of an object's path.
    pub directory_delim: String,
    /// Between topic, partition and start offset in an object's file name.
    pub file_delim: String,
    /// First retry backoff of one request, in milliseconds.
    pub retry_backoff_ms: u64,
    /// Attempts of one request.
    pub attempts: u32,
}

/// The storage keys, for a connector's [`ConfigDef`].
pub fn define(def: ConfigDef) -> ConfigDef {
    def.define(BUCKET, ConfigType::String, None, Importance::High, "The S3 bucket.")
        .validator(Validator::NonEmpty)
        .group("S3")
        .define(REGION, ConfigType::String, Some("us-west-2"), Importance::Medium, "The AWS region of the bucket.")
        .group("S3")
        .define(
            STORE_URL,
            ConfigType::String,
            Some(""),
            Importance::High,
            "Endpoint of an S3-compatible store (e.g. http://127.0.0.1:9000); empty: AWS's endpoint for the region.",
        )
        .group("S3")
        .define(
            PATH_STYLE,
            ConfigType::Boolean,
            Some("true"),
            Importance::Low,
            "Address the bucket in the URL path (needed by most S3-compatible stores) rather than the host name.",
        )
        .group("S3")
        .define(
            ACCESS_KEY_ID,
            ConfigType::String,
            Some(""),
            Importance::High,
            "Access key id; empty: the default AWS credential chain (environment, profile, instance role).",
        )
        .group("S3")
        .define(SECRET_ACCESS_KEY, ConfigType::Password, Some(""), Importance::High, "Secret access key.")
        .group("S3")
        .define(TOPICS_DIR, ConfigType::String, Some("topics"), Importance::High, "Top-level prefix of the objects.")
        .group("Storage")
        .define(DIRECTORY_DELIM, ConfigType::String, Some("/"), Importance::Low, "Directory delimiter.")
        .validator(Validator::NonEmpty)
        .group("Storage")
        .define(
            FILE_DELIM,
            ConfigType::String,
            Some("+"),
            Importance::Low,
            "Delimiter between topic, partition and start offset in object names.",
        )
        .validator(Validator::NonEmpty)
        .group("Storage")
        .define(
            RETRY_BACKOFF_MS,
            ConfigType::Long,
            Some("200"),
            Importance::Low,
            "First backoff of a failed S3 request, in milliseconds (doubling up to 20 s).",
        )
        .validator(Validator::at_least(0.0))
        .group("S3")
        .define(
            PART_RETRIES,
            ConfigType::Int,
            Some("3"),
            Importance::Medium,
            "Retries of one S3 request before the task backs off and tries again later.",
        )
        .validator(Validator::at_least(0.0))
        .group("S3")
        .define(
            STORAGE_CLASS,
            ConfigType::String,
            Some("io.confluent.connect.s3.storage.S3Storage"),
            Importance::Low,
            "Storage implementation; only S3 (io.confluent.connect.s3.storage.S3Storage).",
        )
        .validator(Validator::Custom(check_storage_class))
        .group("Storage")
}

fn check_storage_class(value: &aqueduct_sdk::ConfigValue) -> Result<(), String> {
    match value {
        aqueduct_sdk::ConfigValue::String(class) if !class.trim().ends_with("S3Storage") => {
            Err(format!("only io.confluent.connect.s3.storage.S3Storage is supported, not '{class}'"))
        }
        _ => Ok(()),
    }
}

impl StorageConfig {
    /// The storage settings of a parsed configuration.
    pub fn from_config(config: &Config) -> StorageConfig {
        let text = |key: &str| config.string(key).unwrap_or_default().trim().to_owned();
        let key_id = text(ACCESS_KEY_ID);
        StorageConfig {
            bucket: text(BUCKET),
            region: text(REGION),
            endpoint: Some(text(STORE_URL)).filter(|u| !u.is_empty()),
            path_style: config.boolean(PATH_STYLE).unwrap_or(true),
            credentials: (!key_id.is_empty()).then(|| (key_id, text(SECRET_ACCESS_KEY))),
            topics_dir: text(TOPICS_DIR).trim_matches('/').to_owned(),
            directory_delim: config.string(DIRECTORY_DELIM).unwrap_or("/").to_owned(),
            file_delim: config.string(FILE_DELIM).unwrap_or("+").to_owned(),
            retry_backoff_ms: config.long(RETRY_BACKOFF_MS).unwrap_or(200).max(0) as u64,
            attempts: config.int(PART_RETRIES).unwrap_or(3).max(0) as u32 + 1,
        }
    }

    /// The folder of a topic's encoded partition: `<topics.dir>/<topic>/<encoded partition>`.
    pub fn folder(&self, topic: &str, encoded_partition: &str) -> String {
        let d = &self.directory_delim;
        if self.topics_dir.is_empty() {
            format!("{topic}{d}{encoded_partition}")
        } else {
            format!("{}{d}{topic}{d}{encoded_partition}", self.topics_dir)
        }
    }

    /// The prefix of every object of `topic`.
    pub fn topic_prefix(&self, topic: &str) -> String {
        let d = &self.directory_delim;
        if self.topics_dir.is_empty() {
            format!("{topic}{d}")
        } else {
            format!("{}{d}{topic}{d}", self.topics_dir)
        }
    }
}
