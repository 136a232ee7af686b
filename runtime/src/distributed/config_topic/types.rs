//! The values config records carry: task ids, target states, session keys, restart requests.

use std::fmt;

/// A task of a connector: Kafka Connect's `ConnectorTaskId`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId {
    /// The connector's name.
    pub connector: String,
    /// The task's number, from 0.
    pub task: u32,
}

impl TaskId {
    /// Task `task` of `connector`.
    pub fn new(connector: impl Into<String>, task: u32) -> Self {
        TaskId { connector: connector.into(), task }
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// What the user asked a connector to do (Kafka Connect's `TargetState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetState {
    /// Run the connector and its tasks.
    Started,
    /// Keep the connector and tasks, move no data.
    Paused,
    /// Shut the connector and its tasks down (task count 0); offsets may be changed.
    Stopped,
}

impl TargetState {
    /// Kafka Connect's name: `STARTED`, `PAUSED`, `STOPPED`.
    pub fn name(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    /// The state of that name (exact case, as Java's `valueOf`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "STARTED" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// The key the leader signs internal REST requests with (KIP-507).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// The raw key bytes (base64 in the record).
    pub key: Vec<u8>,
    /// The JCA algorithm name, e.g. `HmacSHA256`.
    pub algorithm: String,
    /// When the leader created it, in milliseconds since the epoch.
    pub creation_timestamp: i64,
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKey")
            .field("key", &"[hidden]")
            .field("algorithm", &self.algorithm)
            .field("creation_timestamp", &self.creation_timestamp)
            .finish()
    }
}

/// A request to restart a connector and maybe its tasks (KIP-745).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRequest {
    /// The connector.
    pub connector: String,
    /// Restart only the instances that are FAILED.
    pub only_failed: bool,
    /// Restart its tasks too.
    pub include_tasks: bool,
}
