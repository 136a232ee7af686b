//! The records of the status topic, byte for byte as Kafka Connect 4.1 writes them: keys
//! `status-connector-<name>`, `status-task-<name>-<n>`, `status-topic-<topic>:connector-<name>`;
//! values `{"state","trace","worker_id","generation","version"}` for connectors and tasks,
//! `{"topic":{"name","connector","task","discoverTimestamp"}}` for active topics; tombstones
//! when an instance is destroyed or a topic forgotten.

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::distributed::config_topic::records::java_split;
use crate::distributed::config_topic::TaskId;

const CONNECTOR: &str = "status-connector-";
const TASK: &str = "status-task-";
const TOPIC: &str = "status-topic-";
const TOPIC_SEPARATOR: &str = ":connector-";

/// Kafka Connect's `AbstractStatus.State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusState {
    /// Not running on any worker yet.
    Unassigned,
    /// Running.
    Running,
    /// Paused by the user.
    Paused,
    /// Failed; the trace says why.
    Failed,
    /// Deleted; never written as a value (a tombstone instead).
    Destroyed,
    /// Being restarted.
    Restarting,
    /// Stopped by the user (connectors only).
    Stopped,
}

impl StatusState {
    /// Kafka Connect's name, e.g. `RUNNING`.
    pub fn name(self) -> &'static str {
        match self {
            StatusState::Unassigned => "UNASSIGNED",
            StatusState::Running => "RUNNING",
            StatusState::Paused => "PAUSED",
            StatusState::Failed => "FAILED",
            StatusState::Destroyed => "DESTROYED",
            StatusState::Restarting => "RESTARTING",
            StatusState::Stopped => "STOPPED",
        }
    }

    /// The state of that name (exact case).
    pub fn from_name(name: &str) -> Option<Self> {
        use StatusState::*;
        [Unassigned, Running, Paused, Failed, Destroyed, Restarting, Stopped].into_iter().find(|s| s.name() == name)
    }

    /// The state as the REST API shows it (`None` for `DESTROYED`, which it never shows).
    pub fn api_state(self) -> Option<crate::status::State> {
        use crate::status::State;
        Some(match self {
            StatusState::Unassigned => State::Unassigned,
            StatusState::Running => State::Running,
            StatusState::Paused => State::Paused,
            StatusState::Failed => State::Failed,
            StatusState::Destroyed => return None,
            StatusState::Restarting => State::Restarting,
            StatusState::Stopped => State::Stopped,
        })
    }
}

impl From<crate::status::State> for StatusState {
    fn from(state: crate::status::State) -> Self {
        use crate::status::State;
        match state {
            State::Unassigned => StatusState::Unassigned,
            State::Running => StatusState::Running,
            State::Paused => StatusState::Paused,
            State::Failed => StatusState::Failed,
            State::Restarting => StatusState::Restarting,
            State::Stopped => StatusState::Stopped,
        }
    }
}

/// The status of a connector or task instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Its state.
    pub state: StatusState,
    /// The error trace when failed.
    pub trace: Option<String>,
    /// The worker running it (`host:port`).
    pub worker_id: String,
    /// The group generation the worker wrote it in.
    pub generation: i32,
    /// The plugin version (Kafka Connect 4.1, KIP-891); absent when unassigned.
    pub version: Option<String>,
}

/// A topic a connector's task used (KIP-558).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicStatus {
    /// The topic.
    pub topic: String,
    /// The connector.
    pub connector: String,
    /// The task that first used it.
    pub task: i32,
    /// When, in milliseconds since the epoch.
    pub discover_timestamp: i64,
}

/// One record of the status topic; `None` statuses are tombstones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusRecord {
    /// `status-connector-<name>`.
    Connector {
        /// The connector.
        name: String,
        /// Its status, or `None` once deleted.
        status: Option<Status>,
    },
    /// `status-task-<name>-<n>`.
    Task {
        /// The task.
        id: TaskId,
        /// Its status, or `None` once deleted.
        status: Option<Status>,
    },
    /// `status-topic-<topic>:connector-<name>`.
    Topic {
        /// The topic.
        topic: String,
        /// The connector.
        connector: String,
        /// The topic's use, or `None` once forgotten (topic tracking reset).
        status: Option<TopicStatus>,
    },
}

/// Why a status record was not understood; Kafka Connect logs and skips such records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status record {key:?}: {reason}")]
pub struct DecodeError {
    /// The record key (lossy UTF-8).
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

impl StatusRecord {
    /// The record key.
    pub fn key(&self) -> String {
        match self {
            StatusRecord::Connector { name, .. } => format!("{CONNECTOR}{name}"),
            StatusRecord::Task { id, .. } => format!("{TASK}{}-{}", id.connector, id.task),
            StatusRecord::Topic { topic, connector, .. } => format!("{TOPIC}{topic}{TOPIC_SEPARATOR}{connector}"),
        }
    }

    /// The key and value bytes to produce (`None`: a tombstone; a `DESTROYED` status is
    /// written as one, as Kafka Connect does), fields in Kafka Connect's schema order.
    pub fn encode(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let value = match self {
            StatusRecord::Connector { status, .. } | StatusRecord::Task { status, .. } => {
                status.as_ref().filter(|s| s.state != StatusState::Destroyed).map(|s| {
                    to_json(&StatusV0 {
                        state: s.state.name(),
                        trace: s.trace.as_deref(),
                        worker_id: &s.worker_id,
                        generation: s.generation,
                        version: s.version.as_deref(),
                    })
                })
            }
            StatusRecord::Topic { status, .. } => status.as_ref().map(|t| {
                to_json(&TopicStatusV0 {
                    topic: TopicValueV0 {
                        name: &t.topic,
                        connector: &t.connector,
                        task: t.task,
                        discover_timestamp: t.discover_timestamp,
                    },
                })
            }),
        };
        (self.key().into_bytes(), value)
    }

    /// Parses a record read from the topic, as Kafka Connect's `KafkaStatusBackingStore.read`.
    pub fn decode(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<Self, DecodeError> {
        let key_text = key.map(String::from_utf8_lossy).unwrap_or_default().into_owned();
        let invalid = |reason: &str| DecodeError { key: key_text.clone(), reason: reason.to_owned() };
        let json = value
            .map(serde_json::from_slice::<Json>)
            .transpose()
            .map_err(|e| invalid(&format!("value is not JSON: {e}")))?
            .filter(|v| !v.is_null());
        if let Some(name) = key_text.strip_prefix(CONNECTOR) {
            if name.is_empty() {
                return Err(invalid("empty connector name"));
            }
            let status = json.as_ref().map(|v| status(v).map_err(|r| invalid(&r))).transpose()?;
            Ok(StatusRecord::Connector { name: name.to_owned(), status })
        } else if key_text.starts_with(TASK) {
            let id = java_split(&key_text, '-', 2).ok_or_else(|| invalid("cannot parse the task id"))?;
            let status = json.as_ref().map(|v| status(v).map_err(|r| invalid(&r))).transpose()?;
            Ok(StatusRecord::Task { id, status })
        } else if let Some(rest) = key_text.strip_prefix(TOPIC) {
            // Kafka Connect: the topic ends at the first ':', the connector starts after the
            // separator's length (topic names cannot contain ':').
            let colon = rest.find(':').ok_or_else(|| invalid("no ':' in topic status key"))?;
            let topic = &rest[..colon];
            let connector = rest.get(colon + TOPIC_SEPARATOR.len()..).unwrap_or_default();
            if topic.is_empty() || connector.is_empty() {
                return Err(invalid("empty topic or connector in topic status key"));
            }
            let status = json.as_ref().map(|v| topic_status(v).map_err(|r| invalid(&r))).transpose()?;
            Ok(StatusRecord::Topic { topic: topic.to_owned(), connector: connector.to_owned(), status })
        } else {
            Err(invalid("unknown key"))
        }
    }
}

fn object(value: &Json) -> Result<&Map<String, Json>, String> {
    value.as_object().ok_or_else(|| "value is not a JSON object".to_owned())
}

/// A connector or task status; `trace` and `version` may be missing or null, `worker_id`
/// must be a string, `generation` an integer.
fn status(value: &Json) -> Result<Status, String> {
    let fields = object(value)?;
    let state_name = fields.get("state").and_then(Json::as_str).ok_or("no string 'state'")?;
    let state = StatusState::from_name(state_name).ok_or_else(|| format!("unknown state {state_name:?}"))?;
    let optional = |k: &str| match fields.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("'{k}' is not a string")),
    };
    let worker_id = fields.get("worker_id").and_then(Json::as_str).ok_or("no string 'worker_id'")?.to_owned();
    let generation = fields
        .get("generation")
        .and_then(Json::as_i64)
        .and_then(|g| i32::try_from(g).ok())
        .ok_or("no integer 'generation'")?;
    Ok(Status { state, trace: optional("trace")?, worker_id, generation, version: optional("version")? })
}

fn topic_status(value: &Json) -> Result<TopicStatus, String> {
    let inner = object(value)?.get("topic").and_then(Json::as_object).ok_or("no object 'topic'")?;
    let text = |k: &str| inner.get(k).and_then(Json::as_str).map(str::to_owned).ok_or(format!("no string '{k}'"));
    let number = |k: &str| inner.get(k).and_then(Json::as_i64).ok_or(format!("no integer '{k}'"));
    Ok(TopicStatus {
        topic: text("name")?,
        connector: text("connector")?,
        task: i32::try_from(number("task")?).map_err(|_| "'task' out of range".to_owned())?,
        discover_timestamp: number("discoverTimestamp")?,
    })
}

/// Compact JSON of a value made of strings, numbers and nulls, which always serializes.
fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("string-keyed JSON values always serialize")
}

/// `STATUS_SCHEMA_V0` (with 4.1's `version`); `trace` and `version` are written as `null`
/// when absent, as Kafka Connect's converter writes optional struct fields.
#[derive(Serialize)]
struct StatusV0<'a> {
    state: &'a str,
    trace: Option<&'a str>,
    worker_id: &'a str,
    generation: i32,
    version: Option<&'a str>,
}

/// `TOPIC_STATUS_SCHEMA_V0`: a one-entry map `topic` -> `TOPIC_STATUS_VALUE_SCHEMA_V0`.
#[derive(Serialize)]
struct TopicStatusV0<'a> {
    topic: TopicValueV0<'a>,
}

#[derive(Serialize)]
struct TopicValueV0<'a> {
    name: &'a str,
    connector: &'a str,
    task: i32,
    #[serde(rename = "discoverTimestamp")]
    discover_timestamp: i64,
}
