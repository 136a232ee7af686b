//! The statuses the status topic holds, built by applying its records in order with Kafka
//! Connect's rules: a connector tombstone removes the connector and all its tasks; a task's
//! `UNASSIGNED` written in the same or an older generation than its `RUNNING` is stale and
//! ignored (a worker that had not read the newer status yet).

use std::collections::BTreeMap;

use super::records::{Status, StatusRecord, StatusState, TopicStatus};
use crate::distributed::config_topic::TaskId;

/// Every status read so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusSnapshot {
    /// Connector statuses by name.
    pub connectors: BTreeMap<String, Status>,
    /// Task statuses by connector, then task number.
    pub tasks: BTreeMap<String, BTreeMap<u32, Status>>,
    /// Active topics by connector, then topic.
    pub topics: BTreeMap<String, BTreeMap<String, TopicStatus>>,
}

impl StatusSnapshot {
    /// A connector's status.
    pub fn connector(&self, name: &str) -> Option<&Status> {
        self.connectors.get(name)
    }

    /// A task's status.
    pub fn task(&self, id: &TaskId) -> Option<&Status> {
        self.tasks.get(&id.connector).and_then(|t| t.get(&id.task))
    }

    /// The statuses of a connector's tasks, by task number.
    pub fn connector_tasks(&self, name: &str) -> Vec<(TaskId, Status)> {
        self.tasks
            .get(name)
            .map(|t| t.iter().map(|(n, s)| (TaskId::new(name, *n), s.clone())).collect())
            .unwrap_or_default()
    }

    /// The topics a connector used.
    pub fn connector_topics(&self, name: &str) -> Vec<TopicStatus> {
        self.topics.get(name).map(|t| t.values().cloned().collect()).unwrap_or_default()
    }

    /// Applies one record.
    pub fn apply(&mut self, record: StatusRecord) {
        match record {
            StatusRecord::Connector { name, status: None } => {
                tracing::trace!(connector = %name, "connector status removed");
                self.connectors.remove(&name);
                self.tasks.remove(&name);
            }
            StatusRecord::Connector { name, status: Some(status) } => {
                self.connectors.insert(name, status);
            }
            StatusRecord::Task { id, status: None } => {
                if let Some(tasks) = self.tasks.get_mut(&id.connector) {
                    tasks.remove(&id.task);
                    if tasks.is_empty() {
                        self.tasks.remove(&id.connector);
                    }
                }
            }
            StatusRecord::Task { id, status: Some(status) } => {
                let tasks = self.tasks.entry(id.connector.clone()).or_default();
                let stale = status.state == StatusState::Unassigned
                    && tasks
                        .get(&id.task)
                        .is_some_and(|c| c.state == StatusState::Running && c.generation >= status.generation);
                if stale {
                    tracing::trace!(task = %id, "ignoring a stale UNASSIGNED status");
                    return;
                }
                tasks.insert(id.task, status);
            }
            StatusRecord::Topic { topic, connector, status: None } => {
                if let Some(topics) = self.topics.get_mut(&connector) {
                    topics.remove(&topic);
                }
            }
            StatusRecord::Topic { topic, connector, status: Some(status) } => {
                self.topics.entry(connector).or_default().insert(topic, status);
            }
        }
    }

    /// Kafka Connect's `putSafe` check: a write may replace `current` when there is none,
    /// when the same worker wrote it, or when it is not from a newer generation.
    pub fn can_write_safely(current: Option<&Status>, status: &Status) -> bool {
        current.is_none_or(|c| c.worker_id == status.worker_id || c.generation <= status.generation)
    }
}
