//! The config topic as a store: read to its end at start, tailed afterwards, written the way
//! Kafka Connect's `KafkaConfigBackingStore` writes it.
//!
//! Like Kafka Connect, it expects a single writer at a time (the group leader; followers
//! forward their REST writes), and the writes that must be seen before the call returns
//! (connector configs, task configs, task counts, session keys, restarts) read the topic back
//! to its end.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aqueduct_sdk::{Props, Result};
use tokio::sync::{broadcast, watch};

use super::records::ConfigRecord;
use super::snapshot::{ConfigSnapshot, ConfigState, ConfigUpdate};
use super::types::{RestartRequest, SessionKey, TargetState, TaskId};
use crate::distributed::kafka_log::{KafkaLog, LogOptions};
use crate::distributed::settings::InternalTopics;
use crate::kafka::KafkaClients;

/// How long one write (send, acknowledgement and read-back) may take: Kafka Connect's 30 s.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many updates a slow subscriber may fall behind before it misses some (it should then
/// take a fresh [`ConfigStore::snapshot`]).
const UPDATE_BUFFER: usize = 1024;

/// The config topic, read and tailed.
pub struct ConfigStore {
    log: KafkaLog,
    state: Arc<Mutex<ConfigState>>,
    updates: broadcast::Sender<ConfigUpdate>,
    offsets: watch::Receiver<i64>,
}

impl ConfigStore {
    /// Creates the topic when missing (`config.storage.topic`: one partition, compacted,
    /// `config.storage.replication.factor`), refuses one with several partitions or a delete
    /// policy, and returns once every record in it has been applied. Committed records only:
    /// exactly-once clusters write this topic in transactions.
    pub async fn open(clients: &KafkaClients, topics: &InternalTopics) -> Result<Self> {
        let state = Arc::new(Mutex::new(ConfigState::new()));
        let (updates, _) = broadcast::channel(UPDATE_BUFFER);
        let (offset_tx, offsets) = watch::channel(-1);
        let apply = {
            let (state, updates) = (state.clone(), updates.clone());
            move |record: crate::distributed::kafka_log::LogRecord| {
                let (changes, offset) = {
                    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                    let changes = state.apply_raw(record.offset, record.key.as_deref(), record.value.as_deref());
                    (changes, state.snapshot().offset)
                };
                for change in changes {
                    // No subscriber yet (e.g. while opening) is fine.
                    let _ = updates.send(change);
                }
                offset_tx.send_replace(offset);
            }
        };
        let options = LogOptions {
            spec: topics.config_topic_spec(),
            purpose: "configs".to_owned(),
            read_committed: true,
            single_partition: true,
        };
        let log = KafkaLog::open(clients, options, apply).await?;
        let store = ConfigStore { log, state, updates, offsets };
        let snapshot = store.snapshot();
        tracing::info!(
            topic = %store.log.topic(),
            offset = snapshot.offset,
            connectors = snapshot.connectors.len(),
            "read connector configurations"
        );
        Ok(store)
    }

    /// The topic name.
    pub fn topic(&self) -> &str {
        self.log.topic()
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> ConfigSnapshot {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).snapshot().clone()
    }

    /// The current session key, without copying the rest of the state.
    pub fn session_key(&self) -> Option<SessionKey> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).snapshot().session_key.clone()
    }

    /// Whether the connector has a config.
    pub fn contains(&self, connector: &str) -> bool {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).snapshot().contains(connector)
    }

    /// Every change applied from now on (nothing before). A receiver that lags by more than
    /// 1024 updates gets `Lagged` and should re-read [`ConfigStore::snapshot`].
    pub fn subscribe(&self) -> broadcast::Receiver<ConfigUpdate> {
        self.updates.subscribe()
    }

    /// Reads the topic to its end (Kafka Connect's `refresh`).
    pub async fn refresh(&self, timeout: Duration) -> Result<()> {
        self.log.read_to_end(timeout).await
    }

    /// Waits until the records up to `offset` (exclusive, a config offset as exchanged in the
    /// group protocol) are applied; retriable error after `timeout`.
    pub async fn wait_for_offset(&self, offset: i64, timeout: Duration) -> Result<()> {
        let mut offsets = self.offsets.clone();
        let reached = tokio::time::timeout(timeout, offsets.wait_for(|o| *o >= offset)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(aqueduct_sdk::ConnectError::fatal(format!("the reader of {} has stopped", self.topic()))),
            Err(_) => Err(aqueduct_sdk::ConnectError::retriable(format!(
                "timed out after {timeout:?} reading {} to offset {offset}",
                self.topic()
            ))),
        }
    }

    /// Writes a connector config, after its target state when one is given (a connector
    /// created stopped or paused), and reads it back.
    pub async fn put_connector_config(&self, name: &str, props: Props, target: Option<TargetState>) -> Result<()> {
        let mut records = Vec::new();
        if let Some(state) = target {
            records.push(ConfigRecord::TargetState { name: name.to_owned(), state });
        }
        records.push(ConfigRecord::Connector { name: name.to_owned(), props });
        self.write_and_read_back(&records).await
    }

    /// Deletes a connector: tombstones for its config and target state, read back.
    pub async fn remove_connector_config(&self, name: &str) -> Result<()> {
        let records = [
            ConfigRecord::ConnectorDeleted { name: name.to_owned() },
            ConfigRecord::TargetStateDeleted { name: name.to_owned() },
        ];
        self.write_and_read_back(&records).await
    }

    /// Writes the task configs of a connector, reads them back, then writes the commit record
    /// that makes them take effect (with the task count) and reads that back.
    pub async fn put_task_configs(&self, name: &str, configs: Vec<Props>) -> Result<()> {
        self.refresh(WRITE_TIMEOUT).await?;
        let count = u32::try_from(configs.len())
            .map_err(|_| aqueduct_sdk::ConnectError::config(format!("{name}: too many task configs")))?;
        let tasks: Vec<ConfigRecord> = configs
            .into_iter()
            .zip(0..)
            .map(|(props, n)| ConfigRecord::TaskConfig { task: TaskId::new(name, n), props })
            .collect();
        if !tasks.is_empty() {
            self.write_and_read_back(&tasks).await?;
        }
        self.write_and_read_back(&[ConfigRecord::Commit { name: name.to_owned(), tasks: count }]).await
    }

    /// Writes a target state. As in Kafka Connect it is not read back: the change takes effect
    /// when the reader applies it.
    pub async fn put_target_state(&self, name: &str, state: TargetState) -> Result<()> {
        self.write(&[ConfigRecord::TargetState { name: name.to_owned(), state }]).await
    }

    /// Writes the task count that zombie fencing covered (exactly-once sources), read back.
    pub async fn put_task_count_record(&self, name: &str, tasks: u32) -> Result<()> {
        self.write_and_read_back(&[ConfigRecord::TaskCount { name: name.to_owned(), tasks }]).await
    }

    /// Writes a new session key, read back.
    pub async fn put_session_key(&self, key: SessionKey) -> Result<()> {
        self.write_and_read_back(&[ConfigRecord::SessionKey(key)]).await
    }

    /// Writes a restart request, read back.
    pub async fn put_restart_request(&self, request: RestartRequest) -> Result<()> {
        self.write_and_read_back(&[ConfigRecord::Restart(request)]).await
    }

    /// Writes a cluster-wide log level (not read back, as in Kafka Connect).
    pub async fn put_logger_level(&self, namespace: &str, level: &str) -> Result<()> {
        let record = ConfigRecord::LoggerLevel { namespace: namespace.to_owned(), level: level.to_owned() };
        self.write(&[record]).await
    }

    /// Writes records in order and waits for Kafka's acknowledgements.
    pub async fn write(&self, records: &[ConfigRecord]) -> Result<()> {
        for record in records {
            tracing::debug!(topic = %self.topic(), key = %record.key(), "writing config record");
        }
        self.log.send(records.iter().map(ConfigRecord::encode).collect(), WRITE_TIMEOUT).await
    }

    /// Writes records, then reads the topic to its end so they are applied on return.
    pub async fn write_and_read_back(&self, records: &[ConfigRecord]) -> Result<()> {
        self.write(records).await?;
        self.refresh(WRITE_TIMEOUT).await
    }

    /// Stops tailing the topic.
    pub async fn close(self) {
        self.log.close().await;
    }
}
