//! The cluster's configuration as the config topic says it is: Kafka Connect's
//! `ClusterConfigState`, built by applying records in log order exactly as its
//! `KafkaConfigBackingStore` does.
//!
//! The rules kept from Kafka Connect:
//! - a connector config applies at once; a connector seen for the first time is `STARTED`
//!   unless a target state says otherwise;
//! - task configs are buffered per connector and take effect only when a `commit-<name>`
//!   record arrives whose `tasks` count they cover (tasks `0..n` all present; extra ones from
//!   compaction are tolerated); a commit they do not cover marks the connector *inconsistent*
//!   (its tasks are withheld until a later complete commit) and the buffer is cleared either way;
//! - a commit for a connector with no config deletes what is left of it;
//! - a connector tombstone removes its config, task count and task configs, not its target
//!   state (which has its own tombstone); a target-state tombstone for a connector that still
//!   has a config resets it to `STARTED`;
//! - a commit marks the connector as pending zombie fencing, a later task-count record clears it;
//! - `offset` is the offset *after* the last record read (the consumer position), what workers
//!   exchange in the group protocol as their config offset: a member whose offset is behind the
//!   leader's assignment reads the config topic to at least that offset before starting work.

use std::collections::{BTreeMap, BTreeSet};

use aqueduct_sdk::Props;

use super::records::ConfigRecord;
use super::types::{RestartRequest, SessionKey, TargetState, TaskId};

/// An immutable view of the config topic at some offset.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigSnapshot {
    /// The offset after the last record read; -1 before any record.
    pub offset: i64,
    /// The latest session key, if one was read.
    pub session_key: Option<SessionKey>,
    /// Connector configs by name.
    pub connectors: BTreeMap<String, Props>,
    /// Target states by connector.
    pub target_states: BTreeMap<String, TargetState>,
    /// Committed task counts by connector.
    pub task_counts: BTreeMap<String, u32>,
    /// Committed task configs.
    pub task_configs: BTreeMap<TaskId, Props>,
    /// Task-count (fencing) records by connector.
    pub task_count_records: BTreeMap<String, u32>,
    /// How many times a new set of task configs was committed, by connector (from 0).
    pub task_config_generations: BTreeMap<String, u32>,
    /// The connector config in force when its task configs were last committed.
    pub applied_connector_configs: BTreeMap<String, Props>,
    /// Connectors whose latest task configs came after their latest task-count record.
    pub pending_fencing: BTreeSet<String>,
    /// Connectors whose last commit was not covered by the task configs read before it.
    pub inconsistent: BTreeSet<String>,
}

impl ConfigSnapshot {
    /// Whether the connector has a config.
    pub fn contains(&self, connector: &str) -> bool {
        self.connectors.contains_key(connector)
    }

    /// The connector's config.
    pub fn connector_config(&self, connector: &str) -> Option<&Props> {
        self.connectors.get(connector)
    }

    /// The connector's target state (connectors without a record are `STARTED`).
    pub fn target_state(&self, connector: &str) -> Option<TargetState> {
        self.target_states.get(connector).copied()
    }

    /// The committed number of tasks (0 when none).
    pub fn task_count(&self, connector: &str) -> u32 {
        self.task_counts.get(connector).copied().unwrap_or(0)
    }

    /// The connector's current tasks: `0..task_count`, none while it is inconsistent.
    pub fn tasks(&self, connector: &str) -> Vec<TaskId> {
        if self.inconsistent.contains(connector) {
            return Vec::new();
        }
        (0..self.task_count(connector)).map(|n| TaskId::new(connector, n)).collect()
    }

    /// A committed task config.
    pub fn task_config(&self, task: &TaskId) -> Option<&Props> {
        self.task_configs.get(task)
    }
}

/// What changed when a record was applied (Kafka Connect's `UpdateListener` calls).
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigUpdate {
    /// A connector config was written.
    ConnectorConfig(String),
    /// A connector was deleted.
    ConnectorRemoved(String),
    /// A commit applied these task configs (possibly none, e.g. when stopping).
    TaskConfigs(Vec<TaskId>),
    /// The target state of an existing connector changed.
    TargetState(String),
    /// A new session key.
    SessionKey,
    /// A restart was requested.
    Restart(RestartRequest),
    /// A cluster-wide log level was set.
    LoggerLevel {
        /// The logger namespace.
        namespace: String,
        /// The level.
        level: String,
    },
}

/// The snapshot being built, plus the task configs waiting for their commit.
#[derive(Debug, Clone, Default)]
pub struct ConfigState {
    snapshot: ConfigSnapshot,
    deferred: BTreeMap<String, BTreeMap<u32, Props>>,
}

impl ConfigState {
    /// An empty state (offset -1).
    pub fn new() -> Self {
        ConfigState { snapshot: ConfigSnapshot { offset: -1, ..ConfigSnapshot::default() }, deferred: BTreeMap::new() }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> &ConfigSnapshot {
        &self.snapshot
    }

    /// Task configs read but not committed yet, by connector.
    pub fn deferred(&self) -> &BTreeMap<String, BTreeMap<u32, Props>> {
        &self.deferred
    }

    /// Applies the raw record at `offset`: a value that is not JSON is skipped without moving
    /// the offset, any other unreadable record moves it and is skipped (both logged), as in
    /// Kafka Connect.
    pub fn apply_raw(&mut self, offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Vec<ConfigUpdate> {
        let json = match value.map(serde_json::from_slice::<serde_json::Value>).transpose() {
            Ok(json) => json,
            Err(e) => {
                tracing::error!(offset, error = %e, "skipping config record whose value is not JSON");
                return Vec::new();
            }
        };
        self.snapshot.offset = offset + 1;
        let key = match key.map(std::str::from_utf8) {
            Some(Ok(key)) => key,
            _ => {
                tracing::error!(offset, "skipping config record without a UTF-8 key");
                return Vec::new();
            }
        };
        match ConfigRecord::from_json(key, json.as_ref()) {
            Ok(record) => self.apply(record),
            Err(e) => {
                tracing::error!(offset, error = %e, "skipping config record");
                Vec::new()
            }
        }
    }

    /// Applies one decoded record (the offset is [`ConfigState::apply_raw`]'s business).
    pub fn apply(&mut self, record: ConfigRecord) -> Vec<ConfigUpdate> {
        let s = &mut self.snapshot;
        match record {
            ConfigRecord::Connector { name, props } => {
                tracing::debug!(connector = %name, "connector config");
                s.connectors.insert(name.clone(), props);
                s.target_states.entry(name.clone()).or_insert(TargetState::Started);
                vec![ConfigUpdate::ConnectorConfig(name)]
            }
            ConfigRecord::ConnectorDeleted { name } => {
                tracing::info!(connector = %name, "connector removed");
                self.remove_connector(&name);
                vec![ConfigUpdate::ConnectorRemoved(name)]
            }
            ConfigRecord::TaskConfig { task, props } => {
                tracing::debug!(%task, "task config, waiting for its commit");
                self.deferred.entry(task.connector).or_default().insert(task.task, props);
                Vec::new()
            }
            ConfigRecord::Commit { name, tasks } => self.commit(name, tasks),
            ConfigRecord::TargetState { name, state } => {
                let previous = s.target_states.insert(name.clone(), state);
                if previous != Some(state) && s.connectors.contains_key(&name) {
                    vec![ConfigUpdate::TargetState(name)]
                } else {
                    Vec::new()
                }
            }
            ConfigRecord::TargetStateDeleted { name } => {
                s.target_states.remove(&name);
                if s.connectors.contains_key(&name) {
                    s.target_states.insert(name, TargetState::Started);
                }
                Vec::new()
            }
            ConfigRecord::TaskCount { name, tasks } => {
                s.task_count_records.insert(name.clone(), tasks);
                s.pending_fencing.remove(&name);
                Vec::new()
            }
            ConfigRecord::SessionKey(key) => {
                s.session_key = Some(key);
                vec![ConfigUpdate::SessionKey]
            }
            ConfigRecord::Restart(request) => vec![ConfigUpdate::Restart(request)],
            ConfigRecord::LoggerLevel { namespace, level } => vec![ConfigUpdate::LoggerLevel { namespace, level }],
        }
    }

    fn commit(&mut self, name: String, tasks: u32) -> Vec<ConfigUpdate> {
        let s = &mut self.snapshot;
        let Some(config) = s.connectors.get(&name).cloned() else {
            // Deleted earlier, and compaction removed its config and tombstone: drop the rest.
            tracing::debug!(connector = %name, "ignoring task commit of a connector without a config");
            self.remove_connector(&name);
            return Vec::new();
        };
        let deferred = self.deferred.get_mut(&name);
        let complete = (0..tasks).all(|n| deferred.as_ref().is_some_and(|d| d.contains_key(&n)));
        let mut updated = Vec::new();
        if !complete {
            tracing::debug!(connector = %name, tasks, "incomplete task configs before this commit (compaction?)");
            s.inconsistent.insert(name.clone());
        } else {
            if let Some(deferred) = &deferred {
                for (n, props) in deferred.iter() {
                    s.task_configs.insert(TaskId::new(name.clone(), *n), props.clone());
                    updated.push(TaskId::new(name.clone(), *n));
                }
                s.task_config_generations.entry(name.clone()).and_modify(|g| *g += 1).or_insert(0);
            }
            s.inconsistent.remove(&name);
            s.applied_connector_configs.insert(name.clone(), config);
        }
        if let Some(deferred) = deferred {
            deferred.clear();
        }
        s.task_counts.insert(name.clone(), tasks);
        s.pending_fencing.insert(name);
        vec![ConfigUpdate::TaskConfigs(updated)]
    }

    fn remove_connector(&mut self, name: &str) {
        let s = &mut self.snapshot;
        s.connectors.remove(name);
        s.task_counts.remove(name);
        s.task_configs.retain(|id, _| id.connector != name);
        s.applied_connector_configs.remove(name);
        self.deferred.remove(name);
    }
}
