//! The datagen connector and task.
//!
//! With `N` tasks, task `i` generates ids `i, i + N, i + 2N, ...` (below `iterations` when it is
//! limited), so the tasks together produce every id exactly once. Each task has its own source
//! partition `{"task": i}` with offset `{"id": <last id>}`, and resumes after the stored id.

use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::serde_json::json;
use aqueduct_sdk::{
    async_trait, offset_map, ConfigDef, ConnectError, Connector, ConnectorContext, ExactlyOnceSupport, OffsetMap,
    Props, Result, SourceConnector, SourceRecord, SourceTask, SourceTaskContext,
};
use tokio::time::Instant;
use tracing::{debug, info};

use crate::config::{config_def, TaskConfig, TASK_COUNT_CONFIG, TASK_ID_CONFIG, TOPIC_CONFIG};
use crate::generator::Generator;

/// The source partition key holding the task index.
pub const TASK_FIELD: &str = "task";
/// The source offset key holding the last id produced.
pub const ID_FIELD: &str = "id";

/// How long a poll waits when there is nothing to produce.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// The `DatagenSource` connector: splits the id space across `tasks.max` tasks.
#[derive(Debug, Default)]
pub struct DatagenConnector {
    props: Props,
}

impl DatagenConnector {
    /// A new, unstarted connector.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Connector for DatagenConnector {
    fn kafka_connect_task_class(&self, _kafka_connect_class: &str) -> Option<&'static str> {
        Some("io.confluent.kafka.connect.datagen.DatagenTask")
    }

    fn config_def(&self) -> ConfigDef {
        config_def()
    }

    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        let config = config_def().parse(&props)?;
        info!(
            connector = props.get("name").map(String::as_str).unwrap_or_default(),
            topic = config.string(TOPIC_CONFIG).unwrap_or_default(),
            "starting DatagenSource connector"
        );
        self.props = props;
        Ok(())
    }

    /// Exactly `max_tasks` configurations (at least one), each with `task.id` and `task.count`.
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>> {
        let count = max_tasks.max(1);
        Ok((0..count)
            .map(|i| {
                let mut props = self.props.clone();
                props.insert(TASK_ID_CONFIG.to_owned(), i.to_string());
                props.insert(TASK_COUNT_CONFIG.to_owned(), count.to_string());
                props
            })
            .collect())
    }
}

impl SourceConnector for DatagenConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(DatagenTask::new())
    }

    /// Ids are deterministic and resume exactly from the stored offset.
    fn exactly_once_support(&self, _props: &Props) -> Option<ExactlyOnceSupport> {
        Some(ExactlyOnceSupport::Supported)
    }
}

/// The `DatagenSource` task: produces its share of the ids, in order, from where it left off.
#[derive(Debug)]
pub struct DatagenTask {
    connector: String,
    context_task: u32,
    config: Option<TaskConfig>,
    generator: Generator,
    partition: OffsetMap,
    /// The next id to produce.
    next_id: i64,
    /// When the next record is due, with `max.interval`.
    next_due: Instant,
    /// Whether the end of the iterations was logged.
    done_reported: bool,
    idle_wait: Duration,
}

impl Default for DatagenTask {
    fn default() -> Self {
        Self::new()
    }
}

impl DatagenTask {
    /// A new, unstarted task.
    pub fn new() -> Self {
        DatagenTask {
            connector: String::new(),
            context_task: 0,
            config: None,
            generator: Generator::new(),
            partition: OffsetMap::new(),
            next_id: 0,
            next_due: Instant::now(),
            done_reported: false,
            idle_wait: IDLE_WAIT,
        }
    }

    fn exhausted(config: &TaskConfig, next_id: i64) -> bool {
        config.iterations.is_some_and(|n| next_id >= n)
    }

    fn record(&self, config: &TaskConfig, id: i64) -> Result<SourceRecord> {
        let offset = offset_map([(ID_FIELD, json!(id))]);
        Ok(SourceRecord::new(self.partition.clone(), offset, config.topic.clone(), self.generator.value(id)?)
            .with_key(Some(self.generator.key_schema().clone()), self.generator.key(id))
            .with_value_schema(self.generator.value_schema().clone()))
    }
}

/// The first id above `last` that belongs to task `task_id` of `task_count`.
fn next_id_after(last: i64, task_id: i64, task_count: i64) -> i64 {
    if last < task_id {
        return task_id;
    }
    let steps = (last - task_id) / task_count + 1;
    task_id.saturating_add(steps.saturating_mul(task_count))
}

#[async_trait]
impl SourceTask for DatagenTask {
    async fn start(&mut self, context: SourceTaskContext, props: Props) -> Result<()> {
        let config = TaskConfig::parse(&props)?;
        self.connector = context.connector().to_owned();
        self.context_task = context.task_id();
        self.partition = offset_map([(TASK_FIELD, json!(config.task_id))]);
        self.next_id = match context.offset(&self.partition) {
            None => config.task_id,
            Some(offset) => {
                let last = offset.get(ID_FIELD).and_then(|id| id.as_i64()).ok_or_else(|| {
                    ConnectError::fatal(format!(
                        "stored offset {} of partition {} has no integer \"{ID_FIELD}\"",
                        json!(offset),
                        json!(self.partition)
                    ))
                })?;
                next_id_after(last, config.task_id, config.task_count)
            }
        };
        self.next_due = Instant::now();
        self.done_reported = false;
        info!(connector = %self.connector, task = self.context_task, topic = %config.topic,
            share = config.task_id, shares = config.task_count, next_id = self.next_id,
            iterations = ?config.iterations, "started DatagenSource task");
        self.config = Some(config);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(config) = self.config.take() else {
            return Err(ConnectError::fatal("DatagenSource task polled before start"));
        };
        let result = self.poll_with(&config).await;
        self.config = Some(config);
        result
    }
}

impl DatagenTask {
    async fn poll_with(&mut self, config: &TaskConfig) -> Result<Vec<SourceRecord>> {
        if Self::exhausted(config, self.next_id) {
            if !self.done_reported {
                info!(connector = %self.connector, task = self.context_task, next_id = self.next_id,
                    "generated this task's share of the iterations; idling");
                self.done_reported = true;
            }
            tokio::time::sleep(self.idle_wait).await;
            return Ok(Vec::new());
        }
        let mut records = Vec::new();
        match config.interval {
            Some(interval) => {
                let now = Instant::now();
                if now < self.next_due {
                    tokio::time::sleep((self.next_due - now).min(self.idle_wait)).await;
                    if Instant::now() < self.next_due {
                        return Ok(Vec::new());
                    }
                }
                records.push(self.record(config, self.next_id)?);
                self.next_id = self.next_id.saturating_add(config.task_count);
                self.next_due = Instant::now() + interval;
            }
            None => {
                while records.len() < config.batch_size && !Self::exhausted(config, self.next_id) {
                    records.push(self.record(config, self.next_id)?);
                    self.next_id = self.next_id.saturating_add(config.task_count);
                }
            }
        }
        debug!(connector = %self.connector, task = self.context_task, records = records.len(),
            next_id = self.next_id, "generated records");
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use aqueduct_sdk::testing::{MemoryOffsets, QuietConnectorContext};
    use aqueduct_sdk::Value;

    use super::*;

    /// Offsets holding, for each (task index, id), that id as the task's stored offset.
    fn stored(ids: &[(i64, serde_json::Value)]) -> MemoryOffsets {
        let offsets = MemoryOffsets::default();
        for (task, id) in ids {
            offsets.set(&offset_map([(TASK_FIELD, json!(task))]), offset_map([(ID_FIELD, id.clone())]));
        }
        offsets
    }

    fn props(pairs: &[(&str, &str)]) -> Props {
        let mut props: Props = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        props.insert(TOPIC_CONFIG.to_owned(), "users".to_owned());
        props
    }

    async fn started(props: Props, offsets: MemoryOffsets) -> DatagenTask {
        let mut task = DatagenTask::new();
        task.idle_wait = Duration::from_millis(20);
        task.start(SourceTaskContext::new("datagen", 0, Arc::new(offsets)), props).await.expect("start");
        task
    }

    fn ids(records: &[SourceRecord]) -> Vec<i64> {
        records.iter().map(|r| r.key.as_i64().expect("int64 key")).collect()
    }

    #[tokio::test]
    async fn records_are_deterministic() {
        let p = props(&[("batch.size", "50")]);
        let mut a = started(p.clone(), MemoryOffsets::default()).await;
        let mut b = started(p, MemoryOffsets::default()).await;
        let (first_a, first_b) = (a.poll().await.expect("poll"), b.poll().await.expect("poll"));
        assert_eq!(first_a.len(), 50);
        assert_eq!(first_a, first_b);
        assert_eq!(a.poll().await.expect("poll"), b.poll().await.expect("poll"));
        let r = &first_a[7];
        assert_eq!(r.topic, "users");
        assert_eq!(r.key, Value::Int64(7));
        assert_eq!(r.source_partition, offset_map([(TASK_FIELD, json!(0))]));
        assert_eq!(r.source_offset, offset_map([(ID_FIELD, json!(7))]));
        assert_eq!(r.value_schema.as_ref().and_then(|s| s.name.as_deref()), Some("aqueduct.datagen.User"));
        assert_eq!(r.value.as_struct().and_then(|s| s.get("name")), Some(&Value::from("user-7")));
        assert!(r.timestamp.is_none(), "the producer stamps records with the current time");
    }

    #[tokio::test]
    async fn resumes_after_the_stored_id() {
        let mut task = started(props(&[("batch.size", "3")]), stored(&[(0, json!(4))])).await;
        assert_eq!(ids(&task.poll().await.expect("poll")), [5, 6, 7]);

        let split = props(&[("task.id", "1"), ("task.count", "3"), ("iterations", "12")]);
        let mut task = started(split, stored(&[(1, json!(4))])).await;
        assert_eq!(ids(&task.poll().await.expect("poll")), [7, 10]);
        assert!(task.poll().await.expect("poll").is_empty(), "exhausted");

        // An id from another split (the task count changed) resumes at this task's next id above it.
        assert_eq!(next_id_after(5, 1, 3), 7);
        assert_eq!(next_id_after(0, 2, 3), 2);
    }

    #[tokio::test]
    async fn tasks_split_the_ids_exactly_once() {
        let mut connector = DatagenConnector::new();
        connector
            .start(Arc::new(QuietConnectorContext::default()), props(&[("iterations", "10"), ("batch.size", "2")]))
            .await
            .expect("start");
        let configs = connector.task_configs(3).expect("task configs");
        assert_eq!(configs.len(), 3);
        let mut all = Vec::new();
        for (i, config) in configs.into_iter().enumerate() {
            assert_eq!(config.get(TASK_ID_CONFIG), Some(&i.to_string()));
            assert_eq!(config.get(TASK_COUNT_CONFIG).map(String::as_str), Some("3"));
            let mut task = started(config, MemoryOffsets::default()).await;
            loop {
                let batch = task.poll().await.expect("poll");
                if batch.is_empty() {
                    break;
                }
                assert!(batch.iter().all(|r| r.source_partition == offset_map([(TASK_FIELD, json!(i))])));
                all.extend(ids(&batch));
            }
        }
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(connector.task_configs(0).expect("task configs").len(), 1);
    }

    #[tokio::test]
    async fn max_interval_emits_one_record_per_poll() {
        let mut task = started(props(&[("max.interval", "30"), ("iterations", "2")]), MemoryOffsets::default()).await;
        let started_at = Instant::now();
        assert_eq!(ids(&task.poll().await.expect("poll")), [0]);
        let mut second = task.poll().await.expect("poll");
        while second.is_empty() {
            second = task.poll().await.expect("poll");
        }
        assert_eq!(ids(&second), [1]);
        assert!(started_at.elapsed() >= Duration::from_millis(30));
        assert!(task.poll().await.expect("poll").is_empty(), "exhausted");
    }

    #[tokio::test]
    async fn rejects_a_bad_stored_offset_and_polls_before_start() {
        let mut task = DatagenTask::new();
        assert!(task.poll().await.is_err());
        let ctx = SourceTaskContext::new("datagen", 0, Arc::new(stored(&[(0, json!("x"))])));
        assert!(task.start(ctx, props(&[])).await.is_err());
    }
}
