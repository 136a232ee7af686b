//! Shared helpers: the server URL, unique databases, source and sink tasks started on
//! `aqueduct_sdk::testing`'s offsets and contexts.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aqueduct_connector_mongodb::extjson::{document_to_string, JsonFormat};
use aqueduct_connector_mongodb::{MongoSinkTask, MongoSourceConnector, MongoSourceTask};
pub use aqueduct_sdk::testing::{consumed, MemoryOffsets};
use aqueduct_sdk::testing::{QuietConnectorContext, RecordingProgress, RecordingReporter, RecordingSinkContext};
use aqueduct_sdk::{
    ConnectError, Connector, Props, RecordMetadata, SinkTask, SourceRecord, SourceTask, SourceTaskContext,
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

/// Starts the connector with `props` and returns its task configurations.
pub async fn task_configs(props: Props, max_tasks: usize) -> aqueduct_sdk::Result<Vec<Props>> {
    let mut connector = MongoSourceConnector::new();
    connector.start(Arc::new(QuietConnectorContext::default()), props).await?;
    connector.task_configs(max_tasks)
}

/// A started source task, the offsets it reads and the progress it reported.
pub struct TestSource {
    task: MongoSourceTask,
    offsets: Arc<MemoryOffsets>,
    progress: Arc<RecordingProgress>,
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
        markers.iter().for_each(|m| self.offsets.store(m));
        Ok(records)
    }

    /// Every progress line the task reported.
    pub fn progress(&self) -> Vec<String> {
        self.progress.lines()
    }
}

/// A started source task.
pub async fn source_task(props: Props, offsets: Arc<MemoryOffsets>) -> aqueduct_sdk::Result<TestSource> {
    let mut task = MongoSourceTask::new();
    let progress = Arc::new(RecordingProgress::default());
    task.start(SourceTaskContext::new("test-source", 0, offsets.clone()).with_progress(progress.clone()), props)
        .await?;
    Ok(TestSource { task, offsets, progress })
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
pub async fn acknowledge(task: &mut MongoSourceTask, offsets: &MemoryOffsets, records: &[SourceRecord]) {
    for (i, r) in records.iter().enumerate() {
        let metadata = RecordMetadata { topic: r.topic.clone(), partition: 0, offset: i as i64 };
        task.commit_record(r, &metadata).await.expect("commit_record");
    }
    records.iter().for_each(|r| offsets.store(r));
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

/// A started sink task and its context; `reporter`: None for no errant-record reporter,
/// Some(tolerate) for one that tolerates (`errors.tolerance=all`) or fails each report.
pub async fn sink_task(props: Props, reporter: Option<bool>) -> (MongoSinkTask, Arc<RecordingSinkContext>) {
    let context = Arc::new(match reporter {
        None => RecordingSinkContext::default(),
        Some(true) => RecordingSinkContext::tolerant(),
        Some(false) => RecordingSinkContext::with_reporter(RecordingReporter::failing()),
    });
    let mut task = MongoSinkTask::new();
    task.start(context.clone(), props).await.expect("sink start");
    (task, context)
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
