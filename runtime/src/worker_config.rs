//! The worker's configuration: Kafka Connect's worker keys, parsed and checked before any I/O.

use std::path::Path;

use anyhow::{Context, Result};
use aqueduct_sdk::{Config, ConfigDef, ConfigType, Importance, Props, Validator};

/// Prefixes whose keys are passed through to the Kafka clients (TLS and SASL included).
pub const CLIENT_PREFIXES: [&str; 3] = ["producer.", "consumer.", "admin."];

/// The worker keys Aqueduct understands, with Kafka Connect's names and defaults.
pub fn config_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    ConfigDef::new()
        .define(
            "bootstrap.servers",
            List,
            Some("localhost:9092"),
            High,
            "Kafka brokers to connect to (host:port, comma-separated).",
        )
        .define("group.id", String, Some(""), High, "The worker group; reserved for distributed mode.")
        .define(
            "exactly.once.source.support",
            String,
            Some("disabled"),
            High,
            "enabled: source tasks write their records and source offsets to Kafka in one transaction each (KIP-618); disabled: at least once.",
        )
        .validator(Validator::one_of(&["disabled", "enabled"]))
        .define(
            "key.converter",
            Class,
            Some("org.apache.kafka.connect.json.JsonConverter"),
            High,
            "Converter for record keys; settings under key.converter.*.",
        )
        .define(
            "value.converter",
            Class,
            Some("org.apache.kafka.connect.json.JsonConverter"),
            High,
            "Converter for record values; settings under value.converter.*.",
        )
        .define(
            "header.converter",
            Class,
            Some("org.apache.kafka.connect.storage.SimpleHeaderConverter"),
            Low,
            "Converter for record header values; settings under header.converter.*.",
        )
        .define(
            "offset.storage.file.filename",
            String,
            Some(""),
            High,
            "Standalone: keep source offsets in this file instead of a Kafka topic.",
        )
        .define(
            "offset.storage.topic",
            String,
            Some("connect-offsets"),
            High,
            "The compacted topic holding source offsets.",
        )
        .validator(Validator::NonEmpty)
        .define("offset.storage.partitions", Int, Some("25"), Low, "Partitions of the offset topic when it is created.")
        .validator(Validator::at_least(1.0))
        .define(
            "offset.storage.replication.factor",
            Int,
            Some("-1"),
            Low,
            "Replication factor of the offset topic when it is created; -1 for the broker default.",
        )
        .define(
            "offset.flush.interval.ms",
            Long,
            Some("60000"),
            Low,
            "How often acknowledged source offsets are written and sink offsets committed.",
        )
        .validator(Validator::at_least(1.0))
        .define(
            "offset.flush.timeout.ms",
            Long,
            Some("5000"),
            Low,
            "How long a flush waits for outstanding records on shutdown.",
        )
        .validator(Validator::at_least(0.0))
        .define(
            "task.shutdown.graceful.timeout.ms",
            Long,
            Some("5000"),
            Low,
            "How long a stopping task may take before it is abandoned.",
        )
        .validator(Validator::at_least(0.0))
        .define("rest.host.name", String, Some("0.0.0.0"), Low, "Address the REST API binds to.")
        .define("rest.port", Int, Some("8083"), Low, "Port of the REST API.")
        .validator(Validator::Range { min: Some(0.0), max: Some(65535.0) })
        .define(
            "rest.advertised.host.name",
            String,
            Some(""),
            Low,
            "Host name in worker ids; defaults to rest.host.name.",
        )
        .define("rest.advertised.port", Int, Some("0"), Low, "Port in worker ids and the advertised URL; defaults to rest.port.")
        .define(
            "config.storage.topic",
            String,
            Some(""),
            High,
            "Distributed: the compacted, single-partition topic of connector and task configs (required).",
        )
        .define(
            "status.storage.topic",
            String,
            Some(""),
            High,
            "Distributed: the compacted topic of connector and task statuses (required).",
        )
        .define(
            "config.storage.replication.factor",
            Int,
            Some("-1"),
            Low,
            "Replication factor of the config topic when it is created; -1 for the broker default.",
        )
        .define(
            "status.storage.replication.factor",
            Int,
            Some("-1"),
            Low,
            "Replication factor of the status topic when it is created; -1 for the broker default.",
        )
        .define("status.storage.partitions", Int, Some("5"), Low, "Partitions of the status topic when it is created.")
        .define(
            "session.timeout.ms",
            Int,
            Some("10000"),
            Medium,
            "Distributed: how long the group coordinator waits for a worker's heartbeat before removing it.",
        )
        .validator(Validator::at_least(1.0))
        .define("heartbeat.interval.ms", Int, Some("3000"), Medium, "Distributed: time between heartbeats.")
        .validator(Validator::at_least(1.0))
        .define(
            "rebalance.timeout.ms",
            Int,
            Some("60000"),
            Medium,
            "Distributed: how long every worker may take to rejoin in a rebalance.",
        )
        .validator(Validator::at_least(1.0))
        .define(
            "scheduled.rebalance.max.delay.ms",
            Int,
            Some("300000"),
            Medium,
            "Distributed: how long the work of a departed worker is held for it before it is reassigned.",
        )
        .validator(Validator::at_least(0.0))
        .define(
            "worker.sync.timeout.ms",
            Int,
            Some("3000"),
            Medium,
            "Distributed: how long a worker waits to read the config topic up to its assignment before rejoining.",
        )
        .validator(Validator::at_least(0.0))
        .define(
            "connect.protocol",
            String,
            Some("sessioned"),
            Low,
            "Distributed: the newest group sub-protocol offered: compatible or sessioned (eager is not supported).",
        )
        .define("plugin.path", List, Some(""), Low, "Directories searched for connector plugins loaded at run time.")
        .define(
            "transport",
            String,
            Some("kafka"),
            High,
            "kafka: records go through Kafka topics; embedded (standalone only): through in-process bounded channels, no broker contacted.",
        )
        .validator(Validator::one_of(&["kafka", "embedded"]))
        .define(
            "embedded.buffer.max.records",
            Long,
            Some("10000"),
            Medium,
            "Embedded transport: records each topic holds until every subscribed sink committed them; a source waits when it is full.",
        )
        .validator(Validator::at_least(1.0))
        .define(
            "embedded.converters.skip",
            Boolean,
            Some("false"),
            Medium,
            "Embedded transport: hand a source record's schema and value to sinks as they are, without the converters (only when source and sink agree on the data).",
        )
}

/// A parsed worker configuration.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    config: Config,
}

impl WorkerConfig {
    /// Parses worker properties; every invalid key is named with its reason.
    pub fn from_props(props: Props) -> Result<Self> {
        let config = config_def().parse(&props).map_err(|e| anyhow::anyhow!("invalid worker config: {e}"))?;
        Ok(WorkerConfig { config })
    }

    /// Reads a worker config file: a flat JSON object of keys (numbers and booleans allowed),
    /// or a Java-style `.properties` file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading worker config {}", path.display()))?;
        let props = parse_props(&text).with_context(|| format!("parsing worker config {}", path.display()))?;
        Self::from_props(props)
    }

    /// The raw properties.
    pub fn props(&self) -> &Props {
        self.config.originals()
    }
    /// A string key (defaults applied).
    pub fn string(&self, key: &str) -> &str {
        self.config.string(key).unwrap_or_default()
    }
    /// A long or int key (defaults applied).
    pub fn long(&self, key: &str) -> i64 {
        self.config.long(key).unwrap_or_default()
    }
    /// A boolean key (defaults applied).
    pub fn boolean(&self, key: &str) -> bool {
        self.config.boolean(key).unwrap_or_default()
    }
    /// The directories of `plugin.path`, searched for connector plugins at start.
    pub fn plugin_path(&self) -> Vec<std::path::PathBuf> {
        self.config.list("plugin.path").unwrap_or_default().iter().map(std::path::PathBuf::from).collect()
    }
    /// Whether `transport=embedded`: records move through in-process channels, not Kafka.
    pub fn embedded(&self) -> bool {
        self.string("transport") == "embedded"
    }
    /// Whether `bootstrap.servers` was written in the worker config (not just defaulted).
    pub fn bootstrap_servers_set(&self) -> bool {
        self.props().get("bootstrap.servers").is_some_and(|s| !s.trim().is_empty())
    }
    /// `bootstrap.servers` joined for librdkafka.
    pub fn bootstrap_servers(&self) -> String {
        self.config.list("bootstrap.servers").map(|l| l.join(",")).unwrap_or_default()
    }
    /// Keys starting with `prefix`, with the prefix removed.
    pub fn with_prefix(&self, prefix: &str) -> Props {
        strip_prefix(self.props(), prefix)
    }
    /// The worker id shown in statuses: `host:port` of the REST API.
    pub fn worker_id(&self, port: u16) -> String {
        let host = match self.string("rest.advertised.host.name") {
            "" => match self.string("rest.host.name") {
                "" | "0.0.0.0" => "127.0.0.1",
                h => h,
            },
            h => h,
        };
        format!("{host}:{port}")
    }
}

/// Keys of `props` starting with `prefix`, with the prefix removed.
pub fn strip_prefix(props: &Props, prefix: &str) -> Props {
    props.iter().filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone()))).collect()
}

/// Parses a flat JSON object (string, number or boolean values) or `key=value` lines.
pub fn parse_props(text: &str) -> Result<Props> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(text).context("malformed JSON")?;
        return json_object_to_props(&json);
    }
    let mut props = Props::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (k, v) =
            line.split_once(['=', ':']).with_context(|| format!("line {}: expected key=value, got {line:?}", n + 1))?;
        props.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(props)
}

/// Converts a flat JSON object to properties; numbers and booleans become strings.
pub fn json_object_to_props(json: &serde_json::Value) -> Result<Props> {
    let obj = json.as_object().context("expected a JSON object of configuration keys")?;
    obj.iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => anyhow::bail!("configuration key {k:?} must be a string, number or boolean, got {other}"),
            };
            Ok((k.clone(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_and_properties() {
        let json = parse_props(r#"{"bootstrap.servers": "a:1,b:2", "rest.port": 18083, "x": true}"#).expect("json");
        let w = WorkerConfig::from_props(json).expect("valid");
        assert_eq!(w.bootstrap_servers(), "a:1,b:2");
        assert_eq!(w.long("rest.port"), 18083);
        assert_eq!(w.long("offset.flush.interval.ms"), 60000);
        let props = parse_props("# c\nbootstrap.servers=k:9092\nproducer.acks = all\n").expect("properties");
        let w = WorkerConfig::from_props(props).expect("valid");
        assert_eq!(w.with_prefix("producer."), Props::from([("acks".to_owned(), "all".to_owned())]));
    }

    #[test]
    fn rejects_bad_keys_by_name() {
        let err =
            WorkerConfig::from_props(Props::from([("rest.port".to_owned(), "http".to_owned())])).expect_err("bad");
        assert!(err.to_string().contains("rest.port"), "{err}");
        assert!(parse_props(r#"{"a": {"b": 1}}"#).expect_err("nested").to_string().contains("\"a\""));
        assert!(parse_props("{oops").is_err());
    }
}
