//! The keys every connector config has (Kafka Connect's `ConnectorConfig`, `SinkConnectorConfig`,
//! error handling and KIP-158 topic creation), and reading connector config files.

use std::path::Path;

use anyhow::{bail, Context, Result};
use aqueduct_sdk::{Config, ConfigDef, ConfigType, Importance, Props, Validator};
use regex::Regex;
use serde_json::Value as Json;

use crate::kafka::TopicSpec;
use crate::worker_config::{json_object_to_props, parse_props, strip_prefix};

/// Keys shared by every connector.
pub fn common_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    ConfigDef::new()
        .define("name", String, None, High, "Globally unique name of the connector.")
        .validator(Validator::NonEmpty)
        .group("Common")
        .define("connector.class", Class, None, High, "The connector plugin: a short name (e.g. FileStreamSource) or a Kafka Connect class name.")
        .validator(Validator::NonEmpty)
        .group("Common")
        .define("tasks.max", Int, Some("1"), High, "Maximum number of tasks for this connector.")
        .validator(Validator::at_least(1.0))
        .group("Common")
        .define("connector.plugin.version", String, Some(""), Medium, "The version of the connector plugin to run when several are installed (KIP-891: a version, a Maven range such as [1.0,2.0), or latest); the newest when empty.")
        .group("Common")
        .define("key.converter", Class, Some(""), Low, "Key converter; the worker's when empty.")
        .group("Common")
        .define("key.converter.plugin.version", String, Some(""), Low, "The version of the key converter (KIP-891); the newest when empty.")
        .group("Common")
        .define("value.converter", Class, Some(""), Low, "Value converter; the worker's when empty.")
        .group("Common")
        .define("value.converter.plugin.version", String, Some(""), Low, "The version of the value converter (KIP-891); the newest when empty.")
        .group("Common")
        .define("header.converter", Class, Some(""), Low, "Header converter; the worker's when empty.")
        .group("Common")
        .define("header.converter.plugin.version", String, Some(""), Low, "The version of the header converter (KIP-891); the newest when empty.")
        .group("Common")
        .define("errors.tolerance", String, Some("none"), Medium, "none: the first bad record fails the task; all: bad records are skipped (and logged or sent to the dead-letter topic).")
        .validator(Validator::one_of(&["none", "all"]))
        .group("Error Handling")
        .define("errors.retry.timeout", Long, Some("0"), Medium, "How long a retriable failure is retried, in ms; -1 forever, 0 not at all.")
        .validator(Validator::at_least(-1.0))
        .group("Error Handling")
        .define("errors.retry.delay.max.ms", Long, Some("60000"), Medium, "Longest backoff between retries.")
        .validator(Validator::at_least(1.0))
        .group("Error Handling")
        .define("errors.log.enable", Boolean, Some("false"), Medium, "Log each skipped record's error.")
        .group("Error Handling")
        .define("errors.log.include.messages", Boolean, Some("false"), Low, "Include the record's topic, partition and offset in that log line.")
        .group("Error Handling")
}

/// Keys of sink connectors.
pub fn sink_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    common_def()
        .define("topics", List, Some(""), High, "Topics to consume (or use topics.regex).")
        .group("Common")
        .define("topics.regex", String, Some(""), High, "Regular expression of topics to consume.")
        .group("Common")
        .merge(&dead_letter_def())
}

/// The dead-letter keys: every sink, and sources as an Aqueduct extension (records that fail a
/// transform or conversion, with `errors.tolerance=all`).
fn dead_letter_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    ConfigDef::new()
        .define(
            "errors.deadletterqueue.topic.name",
            String,
            Some(""),
            Medium,
            "Topic for records that fail conversion or that the task reports; empty for none.",
        )
        .group("Error Handling")
        .define(
            "errors.deadletterqueue.topic.replication.factor",
            Int,
            Some("-1"),
            Low,
            "Replication factor of the dead-letter topic when created; -1 for the broker default.",
        )
        .group("Error Handling")
        .define(
            "errors.deadletterqueue.file",
            String,
            Some(""),
            Medium,
            "A file of JSON lines receiving records that fail conversion or that the task reports (the embedded transport's dead-letter queue); empty for none.",
        )
        .group("Error Handling")
        .define(
            "errors.deadletterqueue.context.headers.enable",
            Boolean,
            Some("false"),
            Low,
            "Add __connect.errors.* headers describing the failure.",
        )
        .group("Error Handling")
}

/// Keys of source connectors.
pub fn source_def() -> ConfigDef {
    use ConfigType::*;
    use Importance::*;
    common_def()
        .merge(&dead_letter_def())
        .define(
            "topic.creation.groups",
            List,
            Some(""),
            Low,
            "Groups of topic creation rules (KIP-158), matched in order before 'default'.",
        )
        .group("Topic Creation")
        .define(
            "topic.creation.default.partitions",
            Int,
            Some("1"),
            Low,
            "Partitions of topics the connector writes to that do not exist; -1 for the broker default.",
        )
        .group("Topic Creation")
        .define(
            "topic.creation.default.replication.factor",
            Int,
            Some("-1"),
            Low,
            "Replication factor of created topics; -1 for the broker default.",
        )
        .group("Topic Creation")
        .define(
            "exactly.once.support",
            String,
            Some("requested"),
            Medium,
            "required: refuse the connector unless it declares exactly-once support for this configuration; requested: no such check.",
        )
        .validator(Validator::one_of(&["requested", "required"]))
        .group("Exactly Once Support")
        .define(
            "transaction.boundary",
            String,
            Some("poll"),
            Medium,
            "With exactly-once support: poll (a transaction per non-empty poll), interval (every transaction.boundary.interval.ms), or connector (the task decides).",
        )
        .validator(Validator::one_of(&["poll", "interval", "connector"]))
        .group("Exactly Once Support")
        .define(
            "transaction.boundary.interval.ms",
            Long,
            Some("-1"),
            Low,
            "With transaction.boundary=interval: how long a transaction stays open; -1 for the worker's offset.flush.interval.ms.",
        )
        .group("Exactly Once Support")
        .define(
            "offsets.storage.topic",
            String,
            Some(""),
            Low,
            "A separate offsets topic for this connector (created compacted when missing); the worker's offset.storage.topic when empty. Offsets not found there are read from the worker's.",
        )
        .group("Offsets")
}

/// A parsed connector config: the common keys typed, everything else kept as given.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    config: Config,
}

impl ConnectorConfig {
    /// Parses `props` against `def` (the common keys plus source or sink keys).
    pub fn parse(def: &ConfigDef, props: &Props) -> aqueduct_sdk::Result<Self> {
        Ok(ConnectorConfig { config: def.parse(props)? })
    }
    /// The connector name.
    pub fn name(&self) -> &str {
        self.config.string("name").unwrap_or_default()
    }
    /// The raw properties.
    pub fn props(&self) -> &Props {
        self.config.originals()
    }
    /// `tasks.max`.
    pub fn tasks_max(&self) -> usize {
        self.config.int("tasks.max").and_then(|n| usize::try_from(n).ok()).unwrap_or(1)
    }
    /// A string key.
    pub fn string(&self, key: &str) -> &str {
        self.config.string(key).unwrap_or_default()
    }
    /// A boolean key.
    pub fn boolean(&self, key: &str) -> bool {
        self.config.boolean(key).unwrap_or(false)
    }
    /// A long key.
    pub fn long(&self, key: &str) -> i64 {
        self.config.long(key).unwrap_or_default()
    }
    /// `topics`, for sinks.
    pub fn topics(&self) -> Vec<String> {
        self.config.list("topics").map(<[String]>::to_vec).unwrap_or_default()
    }
    /// True when `errors.tolerance=all`.
    pub fn tolerate_all(&self) -> bool {
        self.string("errors.tolerance").eq_ignore_ascii_case("all")
    }
    /// Keys after `prefix`, e.g. `producer.override.`.
    pub fn with_prefix(&self, prefix: &str) -> Props {
        strip_prefix(self.props(), prefix)
    }
}

/// KIP-158 topic creation rules of a source connector.
#[derive(Debug, Clone)]
pub struct TopicCreation {
    groups: Vec<CreationGroup>,
}

#[derive(Debug, Clone)]
struct CreationGroup {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    partitions: i32,
    replication_factor: i32,
    configs: Vec<(String, String)>,
}

impl TopicCreation {
    /// Reads `topic.creation.*` of a source connector config; bad regexes or numbers name the key.
    pub fn from_config(config: &ConnectorConfig) -> Result<Self> {
        let props = config.props();
        let default_partitions = config.long("topic.creation.default.partitions") as i32;
        let default_rf = config.long("topic.creation.default.replication.factor") as i32;
        let names: Vec<String> =
            aqueduct_sdk::config::parse_list(props.get("topic.creation.groups").map_or("", String::as_str));
        let any = Regex::new(".*")?;
        let mut groups = Vec::new();
        for name in names.iter().map(String::as_str).chain(std::iter::once("default")) {
            let prefix = format!("topic.creation.{name}.");
            let own = strip_prefix(props, &prefix);
            let number = |key: &str, default: i32| -> Result<i32> {
                match own.get(key) {
                    Some(v) => v
                        .trim()
                        .parse()
                        .with_context(|| format!("Invalid value {v} for configuration {prefix}{key}: not an integer")),
                    None => Ok(default),
                }
            };
            let regexes = |key: &str| -> Result<Vec<Regex>> {
                aqueduct_sdk::config::parse_list(own.get(key).map_or("", String::as_str))
                    .iter()
                    .map(|r| {
                        Regex::new(&format!("^(?:{r})$"))
                            .with_context(|| format!("Invalid regex {r} for configuration {prefix}{key}"))
                    })
                    .collect()
            };
            let include = if name == "default" { vec![any.clone()] } else { regexes("include")? };
            let configs = own
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "include" | "exclude" | "partitions" | "replication.factor"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            groups.push(CreationGroup {
                include,
                exclude: regexes("exclude")?,
                partitions: number("partitions", default_partitions)?,
                replication_factor: number("replication.factor", default_rf)?,
                configs,
            });
        }
        Ok(TopicCreation { groups })
    }

    /// The spec of `topic`: the first group whose include matches and exclude does not.
    pub fn spec(&self, topic: &str) -> TopicSpec {
        let group = self
            .groups
            .iter()
            .find(|g| g.include.iter().any(|r| r.is_match(topic)) && !g.exclude.iter().any(|r| r.is_match(topic)));
        match group {
            Some(g) => TopicSpec {
                name: topic.to_owned(),
                partitions: g.partitions,
                replication_factor: g.replication_factor,
                configs: g.configs.clone(),
            },
            None => TopicSpec { name: topic.to_owned(), partitions: 1, replication_factor: -1, configs: Vec::new() },
        }
    }
}

/// Reads a connector config file: `{"name": ..., "config": {...}}`, the flat form
/// `{"name": ..., "connector.class": ...}`, or a `.properties` file.
pub fn load_file(path: &Path) -> Result<Props> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading connector config {}", path.display()))?;
    parse_connector_json(&text).with_context(|| format!("in connector config {}", path.display()))
}

/// Parses a connector config in either JSON form (or properties); the name ends up in `name`.
pub fn parse_connector_json(text: &str) -> Result<Props> {
    if !text.trim_start().starts_with('{') {
        return parse_props(text);
    }
    let json: Json = serde_json::from_str(text).context("malformed JSON")?;
    let Some(obj) = json.as_object() else { bail!("expected a JSON object") };
    match obj.get("config") {
        Some(config @ Json::Object(_)) => {
            let mut props = json_object_to_props(config)?;
            if let Some(name) = obj.get("name").and_then(Json::as_str) {
                props.insert("name".to_owned(), name.to_owned());
            }
            Ok(props)
        }
        Some(_) => bail!("\"config\" must be a JSON object"),
        None => json_object_to_props(&json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_json_forms() {
        let nested =
            parse_connector_json(r#"{"name":"a","config":{"connector.class":"X","tasks.max":2}}"#).expect("nested");
        assert_eq!(nested.get("name").map(String::as_str), Some("a"));
        assert_eq!(nested.get("tasks.max").map(String::as_str), Some("2"));
        let flat = parse_connector_json(r#"{"name":"a","connector.class":"X"}"#).expect("flat");
        assert_eq!(flat.get("connector.class").map(String::as_str), Some("X"));
        assert!(parse_connector_json(r#"{"name":"a","config":[1]}"#).is_err());
        assert!(parse_connector_json("{ nope").is_err());
    }

    #[test]
    fn validates_common_keys() {
        let props =
            Props::from([("connector.class".to_owned(), "X".to_owned()), ("tasks.max".to_owned(), "0".to_owned())]);
        let msg = ConnectorConfig::parse(&common_def(), &props).expect_err("invalid").to_string();
        assert!(msg.contains("\"name\""), "{msg}");
        assert!(msg.contains("tasks.max"), "{msg}");
    }

    #[test]
    fn topic_creation_groups_match_in_order() {
        let props: Props = [
            ("name", "s"),
            ("connector.class", "X"),
            ("topic.creation.groups", "compacted"),
            ("topic.creation.compacted.include", "state\\..*"),
            ("topic.creation.compacted.exclude", "state\\.tmp"),
            ("topic.creation.compacted.partitions", "3"),
            ("topic.creation.compacted.cleanup.policy", "compact"),
            ("topic.creation.default.partitions", "5"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let config = ConnectorConfig::parse(&source_def(), &props).expect("valid");
        let tc = TopicCreation::from_config(&config).expect("valid rules");
        let s = tc.spec("state.users");
        assert_eq!((s.partitions, s.configs.clone()), (3, vec![("cleanup.policy".to_owned(), "compact".to_owned())]));
        assert_eq!(tc.spec("state.tmp").partitions, 5);
        assert_eq!(tc.spec("other").replication_factor, -1);
    }
}
