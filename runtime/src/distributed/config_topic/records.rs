//! The records of the config topic, byte for byte as Kafka Connect writes them: string keys
//! (`connector-<name>`, `task-<name>-<n>`, `commit-<name>`, `target-state-<name>`,
//! `tasks-fencing-<name>`, `session-key`, `restart-connector-<name>`, `logger-cluster-<ns>`)
//! and values from its internal `JsonConverter` with `schemas.enable=false` (struct fields in
//! schema order, compact JSON), tombstones for deletions.

use aqueduct_sdk::Props;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::types::{RestartRequest, SessionKey, TargetState, TaskId};

const CONNECTOR: &str = "connector-";
const TASK: &str = "task-";
const COMMIT: &str = "commit-";
const TARGET_STATE: &str = "target-state-";
const TASK_COUNT: &str = "tasks-fencing-";
const SESSION_KEY: &str = "session-key";
const RESTART: &str = "restart-connector-";
const LOGGER: &str = "logger-cluster-";

/// One record of the config topic.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigRecord {
    /// `connector-<name>` = `{"properties": {...}}`: the connector's config, applied at once.
    Connector {
        /// The connector.
        name: String,
        /// Its configuration.
        props: Props,
    },
    /// `connector-<name>` tombstone: the connector was deleted.
    ConnectorDeleted {
        /// The connector.
        name: String,
    },
    /// `task-<name>-<n>` = `{"properties": {...}}`: one task's config, which takes effect only
    /// with the next commit record of its connector.
    TaskConfig {
        /// The task.
        task: TaskId,
        /// Its configuration.
        props: Props,
    },
    /// `commit-<name>` = `{"tasks": n}`: the task configs written before it apply, and the
    /// connector has `tasks` tasks.
    Commit {
        /// The connector.
        name: String,
        /// Its number of tasks.
        tasks: u32,
    },
    /// `target-state-<name>` = `{"state": ..., "state.v2": ...}`; `state` is `PAUSED` for
    /// `STOPPED`, for workers older than KIP-875.
    TargetState {
        /// The connector.
        name: String,
        /// Its target state.
        state: TargetState,
    },
    /// `target-state-<name>` tombstone, written with the connector's.
    TargetStateDeleted {
        /// The connector.
        name: String,
    },
    /// `tasks-fencing-<name>` = `{"task-count": n}`: the task producers that exactly-once
    /// zombie fencing covered (KIP-618).
    TaskCount {
        /// The connector.
        name: String,
        /// The task count fenced.
        tasks: u32,
    },
    /// `session-key` = `{"key": base64, "algorithm": ..., "creation-timestamp": ms}`.
    SessionKey(SessionKey),
    /// `restart-connector-<name>` = `{"include-tasks": bool, "only-failed": bool}`.
    Restart(RestartRequest),
    /// `logger-cluster-<namespace>` = `{"level": ...}`: a cluster-wide log level (KIP-976).
    LoggerLevel {
        /// The logger namespace.
        namespace: String,
        /// The level, e.g. `DEBUG`.
        level: String,
    },
}

/// Why a config-topic record was not understood; Kafka Connect logs and skips such records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The record has no key, or it is not UTF-8.
    #[error("config record without a UTF-8 key")]
    NoKey,
    /// The key matches no record type.
    #[error("config record with an unknown key {0:?}")]
    UnknownKey(String),
    /// The value is not JSON (Kafka Connect does not count such a record in its offset).
    #[error("config record {key:?}: value is not JSON: {reason}")]
    NotJson {
        /// The record key.
        key: String,
        /// The parser's message.
        reason: String,
    },
    /// The value is JSON of the wrong shape.
    #[error("config record {key:?}: {reason}")]
    Invalid {
        /// The record key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl ConfigRecord {
    /// The record key.
    pub fn key(&self) -> String {
        match self {
            ConfigRecord::Connector { name, .. } | ConfigRecord::ConnectorDeleted { name } => {
                format!("{CONNECTOR}{name}")
            }
            ConfigRecord::TaskConfig { task, .. } => format!("{TASK}{}-{}", task.connector, task.task),
            ConfigRecord::Commit { name, .. } => format!("{COMMIT}{name}"),
            ConfigRecord::TargetState { name, .. } | ConfigRecord::TargetStateDeleted { name } => {
                format!("{TARGET_STATE}{name}")
            }
            ConfigRecord::TaskCount { name, .. } => format!("{TASK_COUNT}{name}"),
            ConfigRecord::SessionKey(_) => SESSION_KEY.to_owned(),
            ConfigRecord::Restart(r) => format!("{RESTART}{}", r.connector),
            ConfigRecord::LoggerLevel { namespace, .. } => format!("{LOGGER}{namespace}"),
        }
    }

    /// The key and value bytes to produce (`None`: a tombstone). Fixed-schema values list
    /// their fields in Kafka Connect's schema order (serde derives keep field order), so they
    /// are byte-identical to what Kafka Connect writes; property maps are sorted by key.
    pub fn encode(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let value = match self {
            ConfigRecord::Connector { props, .. } | ConfigRecord::TaskConfig { props, .. } => {
                to_json(&PropertiesV0 { properties: props })
            }
            ConfigRecord::ConnectorDeleted { .. } | ConfigRecord::TargetStateDeleted { .. } => {
                return (self.key().into_bytes(), None)
            }
            ConfigRecord::Commit { tasks, .. } => to_json(&CommitV0 { tasks: *tasks }),
            ConfigRecord::TargetState { state, .. } => {
                // Older workers know no STOPPED; they read `state` and see PAUSED.
                let v1 = if *state == TargetState::Stopped { TargetState::Paused } else { *state };
                to_json(&TargetStateV1 { state: v1.name(), state_v2: state.name() })
            }
            ConfigRecord::TaskCount { tasks, .. } => to_json(&TaskCountV0 { task_count: *tasks }),
            ConfigRecord::SessionKey(k) => to_json(&SessionKeyV0 {
                key: BASE64.encode(&k.key),
                algorithm: &k.algorithm,
                creation_timestamp: k.creation_timestamp,
            }),
            ConfigRecord::Restart(r) => {
                to_json(&RestartV0 { include_tasks: r.include_tasks, only_failed: r.only_failed })
            }
            ConfigRecord::LoggerLevel { level, .. } => to_json(&LoggerLevelV0 { level }),
        };
        (self.key().into_bytes(), Some(value))
    }

    /// Parses a record read from the topic, matching keys in Kafka Connect's order.
    pub fn decode(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<Self, DecodeError> {
        let key = key.and_then(|k| std::str::from_utf8(k).ok()).ok_or(DecodeError::NoKey)?;
        let json = value
            .map(serde_json::from_slice::<Json>)
            .transpose()
            .map_err(|e| DecodeError::NotJson { key: key.to_owned(), reason: e.to_string() })?;
        Self::from_json(key, json.as_ref())
    }

    /// Parses a record whose value is already parsed JSON (`None` or JSON `null`: tombstone).
    pub fn from_json(key: &str, value: Option<&Json>) -> Result<Self, DecodeError> {
        let value = value.filter(|v| !v.is_null());
        let invalid = |reason: String| DecodeError::Invalid { key: key.to_owned(), reason };
        let fields = || value.and_then(Json::as_object).ok_or_else(|| invalid("value is not a JSON object".into()));
        if let Some(name) = key.strip_prefix(TARGET_STATE) {
            let name = name.to_owned();
            let Some(_) = value else { return Ok(ConfigRecord::TargetStateDeleted { name }) };
            let fields = fields()?;
            // `state.v2` when it is a string, else the older `state` field.
            let text = match fields.get("state.v2").and_then(Json::as_str) {
                Some(v2) => v2,
                None => {
                    fields.get("state").and_then(Json::as_str).ok_or_else(|| invalid("no string 'state'".into()))?
                }
            };
            let state =
                TargetState::from_name(text).ok_or_else(|| invalid(format!("unknown target state {text:?}")))?;
            Ok(ConfigRecord::TargetState { name, state })
        } else if let Some(name) = key.strip_prefix(CONNECTOR) {
            let name = name.to_owned();
            match value {
                None => Ok(ConfigRecord::ConnectorDeleted { name }),
                Some(_) => Ok(ConfigRecord::Connector { name, props: properties(fields()?).map_err(invalid)? }),
            }
        } else if key.starts_with(TASK) {
            let task = parse_task_key(key).ok_or_else(|| invalid("cannot parse the task id".into()))?;
            if value.is_none() {
                return Err(invalid("task config tombstone".into()));
            }
            Ok(ConfigRecord::TaskConfig { task, props: properties(fields()?).map_err(invalid)? })
        } else if let Some(name) = key.strip_prefix(COMMIT) {
            let tasks = count(fields()?, "tasks").map_err(invalid)?;
            Ok(ConfigRecord::Commit { name: name.to_owned(), tasks })
        } else if let Some(name) = key.strip_prefix(RESTART) {
            let fields = fields()?;
            // Kafka Connect defaults each missing or non-boolean flag to false.
            let flag = |k: &str| fields.get(k).and_then(Json::as_bool).unwrap_or(false);
            Ok(ConfigRecord::Restart(RestartRequest {
                connector: name.to_owned(),
                only_failed: flag("only-failed"),
                include_tasks: flag("include-tasks"),
            }))
        } else if let Some(name) = key.strip_prefix(TASK_COUNT) {
            let tasks = count(fields()?, "task-count").map_err(invalid)?;
            Ok(ConfigRecord::TaskCount { name: name.to_owned(), tasks })
        } else if key == SESSION_KEY {
            let fields = fields()?;
            let text =
                |k: &str| fields.get(k).and_then(Json::as_str).ok_or_else(|| invalid(format!("no string '{k}'")));
            let key_bytes = BASE64.decode(text("key")?).map_err(|e| invalid(format!("'key' is not base64: {e}")))?;
            let algorithm = text("algorithm")?.to_owned();
            let creation_timestamp = fields
                .get("creation-timestamp")
                .and_then(Json::as_i64)
                .ok_or_else(|| invalid("no integer 'creation-timestamp'".into()))?;
            Ok(ConfigRecord::SessionKey(SessionKey { key: key_bytes, algorithm, creation_timestamp }))
        } else if let Some(namespace) = key.strip_prefix(LOGGER) {
            let level =
                fields()?.get("level").and_then(Json::as_str).ok_or_else(|| invalid("no string 'level'".into()))?;
            Ok(ConfigRecord::LoggerLevel { namespace: namespace.to_owned(), level: level.to_owned() })
        } else {
            Err(DecodeError::UnknownKey(key.to_owned()))
        }
    }
}

/// `task-<connector>-<n>` as Kafka Connect parses it: split on `-` (trailing empty parts
/// dropped, as Java's `split`), the last part is the number, the middle ones the name.
pub fn parse_task_key(key: &str) -> Option<TaskId> {
    java_split(key, '-', 1)
}

/// Splits as Java's `String.split` (trailing empty strings removed) and reads
/// `<prefix parts>-<connector>-<n>` with `skip` prefix parts.
pub(crate) fn java_split(key: &str, sep: char, skip: usize) -> Option<TaskId> {
    let mut parts: Vec<&str> = key.split(sep).collect();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    if parts.len() < skip + 2 {
        return None;
    }
    let task = parts[parts.len() - 1].parse::<i32>().ok().and_then(|n| u32::try_from(n).ok())?;
    Some(TaskId::new(parts[skip..parts.len() - 1].join("-"), task))
}

/// The `properties` map: string values kept, `null` values dropped (Kafka Connect's schema
/// allows them; `Props` has no null), other scalars as their JSON text.
fn properties(fields: &Map<String, Json>) -> Result<Props, String> {
    let map = fields.get("properties").and_then(Json::as_object).ok_or("'properties' is not a JSON object")?;
    Ok(map
        .iter()
        .filter_map(|(k, v)| match v {
            Json::Null => None,
            Json::String(s) => Some((k.clone(), s.clone())),
            other => Some((k.clone(), other.to_string())),
        })
        .collect())
}

/// An int32 field (Kafka Connect accepts Integer or Long); negative counts are invalid.
fn count(fields: &Map<String, Json>, name: &str) -> Result<u32, String> {
    fields
        .get(name)
        .and_then(Json::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("'{name}' is not a non-negative integer"))
}

/// Compact JSON of a value made of strings, numbers, booleans and string-keyed maps, which
/// always serializes.
fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("string-keyed JSON values always serialize")
}

/// `CONNECTOR_CONFIGURATION_V0` and `TASK_CONFIGURATION_V0`.
#[derive(Serialize)]
struct PropertiesV0<'a> {
    properties: &'a Props,
}

/// `CONNECTOR_TASKS_COMMIT_V0`.
#[derive(Serialize)]
struct CommitV0 {
    tasks: u32,
}

/// `TARGET_STATE_V1`.
#[derive(Serialize)]
struct TargetStateV1<'a> {
    state: &'a str,
    #[serde(rename = "state.v2")]
    state_v2: &'a str,
}

/// `TASK_COUNT_RECORD_V0`.
#[derive(Serialize)]
struct TaskCountV0 {
    #[serde(rename = "task-count")]
    task_count: u32,
}

/// `SESSION_KEY_V0`.
#[derive(Serialize)]
struct SessionKeyV0<'a> {
    key: String,
    algorithm: &'a str,
    #[serde(rename = "creation-timestamp")]
    creation_timestamp: i64,
}

/// `RESTART_REQUEST_V0`.
#[derive(Serialize)]
struct RestartV0 {
    #[serde(rename = "include-tasks")]
    include_tasks: bool,
    #[serde(rename = "only-failed")]
    only_failed: bool,
}

/// `LOGGER_LEVEL_V0`.
#[derive(Serialize)]
struct LoggerLevelV0<'a> {
    level: &'a str,
}
