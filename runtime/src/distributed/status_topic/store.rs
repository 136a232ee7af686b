//! The status topic as a store: read to its end at start, tailed afterwards; statuses written
//! by key (Kafka's Java partitioner, so a key lands where Kafka Connect puts it) and visible
//! once read back, as in Kafka Connect's `KafkaStatusBackingStore`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aqueduct_sdk::Result;

use super::records::{Status, StatusRecord, TopicStatus};
use super::snapshot::StatusSnapshot;
use crate::distributed::config_topic::TaskId;
use crate::distributed::kafka_log::{KafkaLog, LogOptions, LogRecord};
use crate::distributed::settings::InternalTopics;
use crate::kafka::KafkaClients;

/// How long one status write may take before it fails (retriable).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The status topic, read and tailed.
pub struct StatusStore {
    log: KafkaLog,
    state: Arc<Mutex<StatusSnapshot>>,
}

impl StatusStore {
    /// Creates the topic when missing (`status.storage.topic`, `status.storage.partitions`,
    /// `status.storage.replication.factor`, compacted), and returns once every status in it has
    /// been read.
    pub async fn open(clients: &KafkaClients, topics: &InternalTopics) -> Result<Self> {
        let state = Arc::new(Mutex::new(StatusSnapshot::default()));
        let apply = {
            let state = state.clone();
            move |record: LogRecord| match StatusRecord::decode(record.key.as_deref(), record.value.as_deref()) {
                Ok(status) => state.lock().unwrap_or_else(PoisonError::into_inner).apply(status),
                Err(e) => {
                    tracing::warn!(partition = record.partition, offset = record.offset, error = %e, "skipping status record")
                }
            }
        };
        let options = LogOptions {
            spec: topics.status_topic_spec(),
            purpose: "statuses".to_owned(),
            read_committed: false,
            single_partition: false,
        };
        let log = KafkaLog::open(clients, options, apply).await?;
        let store = StatusStore { log, state };
        let snapshot = store.snapshot();
        tracing::info!(topic = %store.log.topic(), connectors = snapshot.connectors.len(), "read statuses");
        Ok(store)
    }

    /// The topic name.
    pub fn topic(&self) -> &str {
        self.log.topic()
    }

    /// A copy of every status read so far.
    pub fn snapshot(&self) -> StatusSnapshot {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// A connector's status.
    pub fn connector(&self, name: &str) -> Option<Status> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).connector(name).cloned()
    }

    /// A task's status.
    pub fn task(&self, id: &TaskId) -> Option<Status> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).task(id).cloned()
    }

    /// The statuses of a connector's tasks.
    pub fn connector_tasks(&self, name: &str) -> Vec<(TaskId, Status)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).connector_tasks(name)
    }

    /// The topics a connector used.
    pub fn connector_topics(&self, name: &str) -> Vec<TopicStatus> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).connector_topics(name)
    }

    /// Reads the topic to its end, so statuses written before are visible.
    pub async fn refresh(&self, timeout: Duration) -> Result<()> {
        self.log.read_to_end(timeout).await
    }

    /// Writes a connector's status (`DESTROYED`: a tombstone). With `safe`, skips the write
    /// (returning `false`) when another worker wrote the current status in a newer generation.
    pub async fn put_connector(&self, name: &str, status: Status, safe: bool) -> Result<bool> {
        if safe && !self.writable(|s| s.connector(name).cloned(), &status) {
            tracing::debug!(connector = name, "not overwriting a newer connector status");
            return Ok(false);
        }
        self.write(StatusRecord::Connector { name: name.to_owned(), status: Some(status) }).await?;
        Ok(true)
    }

    /// Writes a task's status (`DESTROYED`: a tombstone); `safe` as in
    /// [`StatusStore::put_connector`].
    pub async fn put_task(&self, id: &TaskId, status: Status, safe: bool) -> Result<bool> {
        if safe && !self.writable(|s| s.task(id).cloned(), &status) {
            tracing::debug!(task = %id, "not overwriting a newer task status");
            return Ok(false);
        }
        self.write(StatusRecord::Task { id: id.clone(), status: Some(status) }).await?;
        Ok(true)
    }

    /// Records that a connector's task used a topic.
    pub async fn put_topic(&self, status: TopicStatus) -> Result<()> {
        let (topic, connector) = (status.topic.clone(), status.connector.clone());
        self.write(StatusRecord::Topic { topic, connector, status: Some(status) }).await
    }

    /// Forgets that a connector used a topic (a tombstone).
    pub async fn delete_topic(&self, connector: &str, topic: &str) -> Result<()> {
        self.write(StatusRecord::Topic { topic: topic.to_owned(), connector: connector.to_owned(), status: None }).await
    }

    /// Writes one record and waits for Kafka's acknowledgement; it is visible here once read
    /// back (see [`StatusStore::refresh`]).
    pub async fn write(&self, record: StatusRecord) -> Result<()> {
        tracing::debug!(topic = %self.topic(), key = %record.key(), "writing status record");
        self.log.send(vec![record.encode()], WRITE_TIMEOUT).await
    }

    /// Stops tailing the topic.
    pub async fn close(self) {
        self.log.close().await;
    }

    fn writable(&self, current: impl FnOnce(&StatusSnapshot) -> Option<Status>, status: &Status) -> bool {
        let current = current(&self.state.lock().unwrap_or_else(PoisonError::into_inner));
        StatusSnapshot::can_write_safely(current.as_ref(), status)
    }
}
