//! What every worker task needs from the herder: identity, config, converters, Kafka, controls.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aqueduct_sdk::{Props, Result};
use tokio::sync::watch;
use tracing::warn;

use crate::connector_config::ConnectorConfig;
use crate::converter::Converter;
use crate::dead_letter::Stage;
use crate::kafka::{KafkaClients, TopicSpec};
use crate::status::{StatusCell, Target};
use crate::transforms::TransformChain;

/// Topics a connector has used since it started or since the last reset (KIP-558).
#[derive(Debug, Clone, Default)]
pub struct ActiveTopics(Arc<Mutex<BTreeSet<String>>>);

impl ActiveTopics {
    /// Records a topic; cheap when already known.
    pub fn add(&self, topic: &str) {
        let mut topics = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !topics.contains(topic) {
            topics.insert(topic.to_owned());
        }
    }
    /// The topics, sorted.
    pub fn list(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }
    /// Forgets them all.
    pub fn reset(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// Everything a task loop is started with.
pub struct TaskSetup {
    /// The connector's config.
    pub connector: ConnectorConfig,
    /// This task's number.
    pub task_id: u32,
    /// The worker running it (`host:port`), stable across restarts of that worker.
    pub worker_id: String,
    /// This task's own config, from the connector's `task_configs`.
    pub task_props: Props,
    /// Key converter.
    pub key_converter: Arc<dyn Converter>,
    /// Value converter.
    pub value_converter: Arc<dyn Converter>,
    /// Header converter, of each header's value.
    pub header_converter: Arc<dyn Converter>,
    /// Kafka client configs.
    pub clients: KafkaClients,
    /// Where the task reports its state.
    pub status: StatusCell,
    /// What the herder wants the task to do.
    pub control: watch::Receiver<Target>,
    /// Topics used, for the topics API.
    pub topics: ActiveTopics,
    /// `offset.flush.interval.ms`.
    pub flush_interval: Duration,
    /// `offset.flush.timeout.ms`: how long shutdown waits for outstanding records.
    pub flush_timeout: Duration,
    /// The connector's transforms, this task's instances.
    pub transforms: TransformChain,
}

impl TaskSetup {
    /// The connector's name.
    pub fn name(&self) -> &str {
        self.connector.name()
    }
    /// The converter a converter stage runs (the value converter for any other stage).
    pub fn converter(&self, stage: Stage) -> &Arc<dyn Converter> {
        match stage {
            Stage::KeyConverter => &self.key_converter,
            Stage::HeaderConverter => &self.header_converter,
            _ => &self.value_converter,
        }
    }
    /// The sink consumer's static group membership (`group.instance.id`): connector, task and
    /// worker, in the characters Kafka allows. A worker restarted after a crash rejoins as the
    /// same member and gets its partitions back at once instead of after `session.timeout.ms`.
    pub fn group_instance_id(&self) -> String {
        let raw = format!("connect-{}-{}-{}", self.name(), self.task_id, self.worker_id);
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect()
    }
    /// The backoff before retry `attempt` (from 0): doubling from 100 ms up to `errors.retry.delay.max.ms`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let max = u64::try_from(self.connector.long("errors.retry.delay.max.ms")).unwrap_or(60_000).max(1);
        Duration::from_millis((100u64 << attempt.min(16)).min(max))
    }
    /// Creates a topic when missing, retrying retriable failures with backoff (logged) until
    /// it exists; false when shutdown came first. Fatal failures (e.g. a replication factor
    /// the cluster cannot meet) are returned.
    pub async fn ensure_topic(&mut self, spec: &TopicSpec) -> Result<bool> {
        let mut attempt = 0;
        loop {
            let created = tokio::select! {
                created = self.clients.ensure_topic(spec) => created,
                _ = self.control.wait_for(|t| *t == Target::Shutdown) => return Ok(false),
            };
            match created {
                Ok(_) => return Ok(true),
                Err(e) if e.is_retriable() => {
                    let delay = self.backoff(attempt);
                    warn!(topic = %spec.name, error = %e, attempt, ?delay, "could not create topic; retrying");
                    attempt += 1;
                    if !self.sleep_unless_shutdown(delay).await {
                        return Ok(false);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
    /// Sleeps for `delay` unless shutdown is asked for first (or the herder is gone); returns
    /// whether the whole delay passed.
    pub async fn sleep_unless_shutdown(&mut self, delay: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = self.control.wait_for(|t| *t == Target::Shutdown) => false,
        }
    }
}
