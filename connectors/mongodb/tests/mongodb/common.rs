//! Shared helpers: the server URL, unique databases, in-memory offsets and sink contexts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aqueduct_connector_mongodb::extjson::{document_to_string, JsonFormat};
use aqueduct_connector_mongodb::{MongoSinkTask, MongoSourceConnector, MongoSourceTask};
use aqueduct_sdk::{
    async_trait, ConnectError, Connector, ConnectorContext, ErrantRecordReporter, OffsetMap, OffsetReader, Props,
    RecordMetadata, SinkRecord, SinkTask, SinkTaskContext, SourceRecord, SourceTask, SourceTaskContext, TimestampType,
    TopicPartition, TopicPartitionOffsets,
};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::Client;

/// The server (`AQUEDUCT_TEST_MONGODB`, default the SecantusDB of `scripts/services.sh up mongodb`).
pub fn uri() -> String {
    std::env::var("AQUEDUCT_TEST_MONGODB")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27017/?replicaSet=secantus".to_owned())
}

/// A client for [`uri`].
pub async fn client() -> Client {
    Client::with_uri_str(uri()).await.expect("client")
}

/// A database name unique to this run.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{prefix}_{}_{}_{}", std::process::id(), nanos % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

/// Properties from pairs.
pub fn props(pairs: &[(&str, &str)]) -> Props {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Source offsets kept in memory, keyed by partition.
#[derive(Default)]
pub struct MemOffsets(Mutex<HashMap<String, OffsetMap>>, Mutex<Vec<String>>);

impl aqueduct_sdk::ProgressReporter for MemOffsets {
    fn report(&self, progress: Option<String>) {
        self.1.lock().expect("lock").extend(progress);
    }
}

impl MemOffsets {
    /// Every progress line the tasks reported.
    pub fn progress(&self) -> Vec<String> {
        self.1.lock().expect("lock").clone()
    }
}

impl MemOffsets {
    /// Stores the offset of every record (as the runtime would after Kafka acknowledged them).
    pub fn commit(&self, records: &[SourceRecord]) {
        let mut map = self.0.lock().expect("lock");
        for r in records {
            map.insert(serde_json::to_string(&r.source_partition).expect("json"), r.source_offset.clone());
        }
    }
    /// Sets the offset of one partition.
    pub fn set(&self, partition: &OffsetMap, offset: OffsetMap) {
        self.0.lock().expect("lock").insert(serde_json::to_string(partition).expect("json"), offset);
    }
}

impl OffsetReader for MemOffsets {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        self.0.lock().expect("lock").get(&serde_json::to_string(partition).expect("json")).cloned()
    }
}

struct NoopConnectorContext;
impl ConnectorContext for NoopConnectorContext {
    fn request_task_reconfiguration(&self) {}
    fn raise_error(&self, _error: ConnectError) {}
}

/// Starts the connector with `props` and returns its task configurations.
pub async fn task_configs(props: Props, max_tasks: usize) -> aqueduct_sdk::Result<Vec<Props>> {
    let mut connector = MongoSourceConnector::new();
    connector.start(Arc::new(NoopConnectorContext), props).await?;
    connector.task_configs(max_tasks)
}

/// A started source task and the offsets it reads.
pub struct TestSource {
    task: MongoSourceTask,
    offsets: Arc<MemOffsets>,
}

impl std::ops::Deref for TestSource {
    type Target = MongoSourceTask;
    fn deref(&self) -> &MongoSourceTask {
        &self.task
    }
}

impl std::ops::DerefMut for TestSource {
    fn deref_mut(&mut self) -> &mut MongoSourceTask {
        &mut self.task
    }
}

impl TestSource {
    /// One poll. The marker a fresh copy sends before copying (a heartbeat whose offset is the
    /// copy's resume point) is stored at once, as the runtime stores it once it is delivered,
    /// and not returned: the copy waits for it.
    pub async fn poll(&mut self) -> aqueduct_sdk::Result<Vec<SourceRecord>> {
        let records = self.task.poll().await?;
        let (markers, records): (Vec<_>, Vec<_>) = records
            .into_iter()
            .partition(|r| r.source_offset.contains_key("copy") && r.source_offset.contains_key("HEARTBEAT"));
        self.offsets.commit(&markers);
        Ok(records)
    }
}

/// A started source task.
pub async fn source_task(props: Props, offsets: Arc<MemOffsets>) -> aqueduct_sdk::Result<TestSource> {
    let mut task = MongoSourceTask::new();
    task.start(SourceTaskContext::new("test-source", 0, offsets.clone()).with_progress(offsets.clone()), props).await?;
    Ok(TestSource { task, offsets })
}

/// Polls until `n` records arrived (or fails after `timeout`).
pub async fn poll_n(task: &mut TestSource, n: usize, timeout: Duration) -> Vec<SourceRecord> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < n {
        assert!(Instant::now() < deadline, "timed out with {} of {n} records", out.len());
        out.extend(task.poll().await.expect("poll"));
    }
    out
}

/// Polls until `done(records so far)` holds, keeping the records and counting failed polls
/// (retriable ones, as the runtime retries them); panics after `timeout`, saying what came.
pub async fn poll_until(
    task: &mut TestSource,
    timeout: Duration,
    done: impl Fn(&[SourceRecord]) -> bool,
) -> (Vec<SourceRecord>, usize) {
    let deadline = Instant::now() + timeout;
    let (mut out, mut errors) = (Vec::new(), 0);
    while !done(&out) {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} with {} records ({errors} failed polls): {:?}",
            out.len(),
            out.iter().map(|r| (r.topic.as_str(), r.value.as_str().unwrap_or("?"))).collect::<Vec<_>>()
        );
        match task.poll().await {
            Ok(records) => out.extend(records),
            Err(e) if e.is_retriable() => errors += 1,
            Err(e) => panic!("poll failed: {e}"),
        }
    }
    (out, errors)
}

/// What the runtime does once Kafka acknowledged `records`: `commit_record` for each, then
/// their offsets stored.
pub async fn acknowledge(task: &mut MongoSourceTask, offsets: &MemOffsets, records: &[SourceRecord]) {
    for (i, r) in records.iter().enumerate() {
        let metadata = RecordMetadata { topic: r.topic.clone(), partition: 0, offset: i as i64 };
        task.commit_record(r, &metadata).await.expect("commit_record");
    }
    offsets.commit(records);
    task.commit().await.expect("commit");
}

/// Polls until a poll fails; returns the error.
pub async fn poll_error(task: &mut MongoSourceTask, timeout: Duration) -> ConnectError {
    let deadline = Instant::now() + timeout;
    loop {
        assert!(Instant::now() < deadline, "no error within {timeout:?}");
        if let Err(e) = task.poll().await {
            return e;
        }
    }
}

/// What Kafka would hand a sink for a source record (same key, value and schemas).
pub fn to_sink(record: &SourceRecord, offset: i64) -> SinkRecord {
    SinkRecord {
        topic: record.topic.clone(),
        kafka_partition: 0,
        kafka_offset: offset,
        key_schema: record.key_schema.clone(),
        key: record.key.clone(),
        value_schema: record.value_schema.clone(),
        value: record.value.clone(),
        timestamp: None,
        timestamp_type: TimestampType::NoTimestamp,
        headers: Vec::new(),
    }
}

/// Records the reporter saw.
#[derive(Default)]
pub struct Reported(pub Mutex<Vec<(i64, String)>>);

struct Reporter {
    tolerate: bool,
    seen: Arc<Reported>,
}

#[async_trait]
impl ErrantRecordReporter for Reporter {
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> aqueduct_sdk::Result<()> {
        self.seen.0.lock().expect("lock").push((record.kafka_offset, error.to_string()));
        if self.tolerate {
            Ok(())
        } else {
            Err(ConnectError::data(error.to_string()))
        }
    }
}

/// A sink context; `reporter`: None for no reporter, Some(tolerate) for one.
pub struct TestSinkContext {
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
}

impl SinkTaskContext for TestSinkContext {
    fn assignment(&self) -> Vec<TopicPartition> {
        Vec::new()
    }
    fn pause(&self, _partitions: &[TopicPartition]) {}
    fn resume(&self, _partitions: &[TopicPartition]) {}
    fn rewind(&self, _offsets: TopicPartitionOffsets) {}
    fn request_commit(&self) {}
    fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>> {
        self.reporter.clone()
    }
}

/// A started sink task, with the records its reporter saw.
pub async fn sink_task(props: Props, reporter: Option<bool>) -> (MongoSinkTask, Arc<Reported>) {
    let seen = Arc::new(Reported::default());
    let reporter: Option<Arc<dyn ErrantRecordReporter>> =
        reporter.map(|tolerate| Arc::new(Reporter { tolerate, seen: seen.clone() }) as Arc<dyn ErrantRecordReporter>);
    let mut task = MongoSinkTask::new();
    task.start(Arc::new(TestSinkContext { reporter }), props).await.expect("sink start");
    (task, seen)
}

/// Every document of a collection as canonical Extended JSON, sorted by `_id`.
pub async fn dump(client: &Client, db: &str, coll: &str) -> Vec<String> {
    let docs: Vec<Document> = client
        .database(db)
        .collection::<Document>(coll)
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("documents");
    docs.iter().map(|d| document_to_string(d, JsonFormat::Canonical)).collect()
}
