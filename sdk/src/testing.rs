//! Test doubles and harnesses for connector tests (feature `testing`): what the runtime gives a
//! task, kept in memory and recorded, so a connector's tests drive its tasks against the real
//! external system without a worker or Kafka.
//!
//! - [`MemoryOffsets`]: an [`OffsetReader`] that stores what a harness acknowledges;
//! - [`RecordingProgress`]: a [`ProgressReporter`] that keeps the progress a task reports;
//! - [`RecordingSinkContext`]: a [`SinkTaskContext`] that records pauses, resumes, rewinds and
//!   commit requests, with an optional [`RecordingReporter`] that tolerates reports (as with
//!   `errors.tolerance=all`) or fails them (as with `errors.tolerance=none`);
//! - [`QuietConnectorContext`]: a [`ConnectorContext`] that records reconfiguration requests
//!   and raised errors;
//! - [`SourceHarness`] and [`SinkHarness`]: a task through its lifecycle, as the runtime calls it;
//! - [`SinkRecord::new`] and [`SourceRecord::new`] build records (in [`crate::record`]);
//!   [`consumed`] is the sink record a consumer would read for a source record.
//!
//! ```
//! use aqueduct_sdk::testing::{MemoryOffsets, SourceHarness};
//! # use aqueduct_sdk::*;
//! # struct Counter(i64);
//! # #[async_trait]
//! # impl SourceTask for Counter {
//! #     async fn start(&mut self, ctx: SourceTaskContext, _: Props) -> Result<()> {
//! #         let p = offset_map([("c", serde_json::json!(1))]);
//! #         self.0 = ctx.offset(&p).and_then(|o| o["n"].as_i64()).map_or(0, |n| n + 1);
//! #         Ok(())
//! #     }
//! #     async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
//! #         self.0 += 1;
//! #         let (p, o) = (offset_map([("c", serde_json::json!(1))]), offset_map([("n", serde_json::json!(self.0 - 1))]));
//! #         Ok(vec![SourceRecord::new(p, o, "t", Value::Int64(self.0 - 1))])
//! #     }
//! # }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let offsets = std::sync::Arc::new(MemoryOffsets::default());
//! let mut first = SourceHarness::start(Box::new(Counter(0)), Props::new(), offsets.clone()).await.unwrap();
//! assert_eq!(first.poll_records(3, 10).await.unwrap().len(), 3);
//! first.stop().await.unwrap();
//! // A new task resumes after what was acknowledged.
//! let mut second = SourceHarness::start(Box::new(Counter(0)), Props::new(), offsets).await.unwrap();
//! assert_eq!(second.poll_records(1, 10).await.unwrap()[0].value, Value::Int64(3));
//! # });
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::connector::ConnectorContext;
use crate::record::{
    OffsetMap, RecordMetadata, SinkRecord, SourceRecord, TimestampType, TopicPartition, TopicPartitionOffsets,
};
use crate::task::{
    ErrantRecordReporter, OffsetReader, ProgressReporter, SinkTask, SinkTaskContext, SourceTask, SourceTaskContext,
};
use crate::{ConnectError, Props, Result};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The kind and text of an error: its message then its cause, as `Display` shows them (the
/// cause itself is not kept).
fn copy(error: &ConnectError) -> ConnectError {
    ConnectError::new(error.kind(), error.to_string())
}

fn partition_key(partition: &OffsetMap) -> String {
    serde_json::Value::Object(partition.clone()).to_string()
}

/// Source offsets in memory: what the runtime's offset store would hold.
#[derive(Default)]
pub struct MemoryOffsets {
    stored: Mutex<HashMap<String, OffsetMap>>,
}

impl MemoryOffsets {
    /// Stores `offset` as the position of `partition`.
    pub fn set(&self, partition: &OffsetMap, offset: OffsetMap) {
        lock(&self.stored).insert(partition_key(partition), offset);
    }

    /// Stores a record's offset, as after Kafka acknowledged it and the offsets were flushed.
    pub fn store(&self, record: &SourceRecord) {
        self.set(&record.source_partition, record.source_offset.clone());
    }
}

impl OffsetReader for MemoryOffsets {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        lock(&self.stored).get(&partition_key(partition)).cloned()
    }
}

/// The sink record a consumer would read for `record` at `offset`: the same topic, key, value,
/// schemas and headers, partition 0 when the record names none, and the record's timestamp as
/// create time (no timestamp when it has none).
pub fn consumed(record: &SourceRecord, offset: i64) -> SinkRecord {
    SinkRecord {
        topic: record.topic.clone(),
        kafka_partition: record.kafka_partition.unwrap_or(0),
        kafka_offset: offset,
        key_schema: record.key_schema.clone(),
        key: record.key.clone(),
        value_schema: record.value_schema.clone(),
        value: record.value.clone(),
        timestamp: record.timestamp,
        timestamp_type: if record.timestamp.is_some() { TimestampType::CreateTime } else { TimestampType::NoTimestamp },
        headers: record.headers.clone(),
    }
}

/// A [`ProgressReporter`] that keeps what a source task reports (give it to
/// [`SourceTaskContext::with_progress`]).
#[derive(Default)]
pub struct RecordingProgress {
    lines: Mutex<Vec<String>>,
}

impl RecordingProgress {
    /// The progress reported so far, in order (a cleared progress, `None`, is not listed).
    pub fn lines(&self) -> Vec<String> {
        lock(&self.lines).clone()
    }
}

impl ProgressReporter for RecordingProgress {
    fn report(&self, progress: Option<String>) {
        lock(&self.lines).extend(progress);
    }
}

/// An [`ErrantRecordReporter`] that keeps what it is given. By default a report succeeds (the
/// record is skipped, as with `errors.tolerance=all`); a [`failing`](Self::failing) reporter
/// keeps the report and then fails it, as the runtime's does with `errors.tolerance=none`.
#[derive(Default)]
pub struct RecordingReporter {
    reported: Mutex<Vec<(SinkRecord, ConnectError)>>,
    fail: bool,
}

impl RecordingReporter {
    /// A reporter whose reports fail with the reported error's kind, naming the record and
    /// carrying the error's text (`errors.tolerance=none`).
    pub fn failing() -> Self {
        RecordingReporter { fail: true, ..Self::default() }
    }
    /// The records reported so far, with their errors.
    pub fn reported(&self) -> Vec<(SinkRecord, ConnectError)> {
        lock(&self.reported).iter().map(|(r, e)| (r.clone(), copy(e))).collect()
    }
}

#[async_trait]
impl ErrantRecordReporter for RecordingReporter {
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> Result<()> {
        lock(&self.reported).push((record.clone(), copy(error)));
        if self.fail {
            let (topic, partition, offset) = (&record.topic, record.kafka_partition, record.kafka_offset);
            let message = format!("record {topic}-{partition}@{offset} failed and errors.tolerance=none: {error}");
            return Err(ConnectError::new(error.kind(), message));
        }
        Ok(())
    }
}

/// A [`SinkTaskContext`] that records what the task asks for.
#[derive(Default)]
pub struct RecordingSinkContext {
    assignment: Mutex<Vec<TopicPartition>>,
    paused: Mutex<Vec<TopicPartition>>,
    pauses: Mutex<Vec<Vec<TopicPartition>>>,
    resumes: Mutex<Vec<Vec<TopicPartition>>>,
    rewinds: Mutex<Vec<TopicPartitionOffsets>>,
    commit_requests: AtomicUsize,
    reporter: Option<Arc<RecordingReporter>>,
}

impl RecordingSinkContext {
    /// A context with a dead-letter reporter (`errors.tolerance=all`).
    pub fn tolerant() -> Self {
        RecordingSinkContext { reporter: Some(Arc::default()), ..Self::default() }
    }
    /// A context with `reporter` (e.g. [`RecordingReporter::failing`]).
    pub fn with_reporter(reporter: RecordingReporter) -> Self {
        RecordingSinkContext { reporter: Some(Arc::new(reporter)), ..Self::default() }
    }
    /// Sets the partitions [`SinkTaskContext::assignment`] returns.
    pub fn set_assignment(&self, partitions: Vec<TopicPartition>) {
        *lock(&self.assignment) = partitions;
    }
    /// The partitions paused and not resumed.
    pub fn paused(&self) -> Vec<TopicPartition> {
        lock(&self.paused).clone()
    }
    /// The partitions of every `pause` call, in order.
    pub fn pauses(&self) -> Vec<Vec<TopicPartition>> {
        lock(&self.pauses).clone()
    }
    /// The partitions of every `resume` call, in order.
    pub fn resumes(&self) -> Vec<Vec<TopicPartition>> {
        lock(&self.resumes).clone()
    }
    /// Every rewind asked for, in order.
    pub fn rewinds(&self) -> Vec<TopicPartitionOffsets> {
        lock(&self.rewinds).clone()
    }
    /// How many times the task asked for a commit.
    pub fn commit_requests(&self) -> usize {
        self.commit_requests.load(Ordering::SeqCst)
    }
    /// The records reported to the dead-letter queue (empty without a reporter).
    pub fn reported(&self) -> Vec<(SinkRecord, ConnectError)> {
        self.reporter.as_ref().map(|r| r.reported()).unwrap_or_default()
    }
}

impl SinkTaskContext for RecordingSinkContext {
    fn assignment(&self) -> Vec<TopicPartition> {
        lock(&self.assignment).clone()
    }
    fn pause(&self, partitions: &[TopicPartition]) {
        lock(&self.pauses).push(partitions.to_vec());
        let mut paused = lock(&self.paused);
        for tp in partitions {
            if !paused.contains(tp) {
                paused.push(tp.clone());
            }
        }
    }
    fn resume(&self, partitions: &[TopicPartition]) {
        lock(&self.resumes).push(partitions.to_vec());
        lock(&self.paused).retain(|tp| !partitions.contains(tp));
    }
    fn rewind(&self, offsets: TopicPartitionOffsets) {
        lock(&self.rewinds).push(offsets);
    }
    fn request_commit(&self) {
        self.commit_requests.fetch_add(1, Ordering::SeqCst);
    }
    fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>> {
        self.reporter.clone().map(|r| r as Arc<dyn ErrantRecordReporter>)
    }
}

/// A [`ConnectorContext`] that records reconfiguration requests and raised errors.
#[derive(Default)]
pub struct QuietConnectorContext {
    reconfigurations: AtomicUsize,
    errors: Mutex<Vec<ConnectError>>,
}

impl QuietConnectorContext {
    /// How many times the connector asked for new task configurations.
    pub fn reconfigurations(&self) -> usize {
        self.reconfigurations.load(Ordering::SeqCst)
    }
    /// The errors the connector raised.
    pub fn errors(&self) -> Vec<ConnectError> {
        lock(&self.errors).iter().map(copy).collect()
    }
}

impl ConnectorContext for QuietConnectorContext {
    fn request_task_reconfiguration(&self) {
        self.reconfigurations.fetch_add(1, Ordering::SeqCst);
    }
    fn raise_error(&self, error: ConnectError) {
        lock(&self.errors).push(error);
    }
}

/// A source task driven as the runtime drives it: records polled are "acknowledged" in order
/// (`commit_record`), their offsets stored in [`MemoryOffsets`], then `commit`.
pub struct SourceHarness {
    task: Box<dyn SourceTask>,
    offsets: Arc<MemoryOffsets>,
}

impl SourceHarness {
    /// Starts `task` (connector `test`, task 0) reading offsets from `offsets`.
    pub async fn start(
        mut task: Box<dyn SourceTask>,
        props: Props,
        offsets: Arc<MemoryOffsets>,
    ) -> Result<SourceHarness> {
        let context = SourceTaskContext::new("test", 0, offsets.clone());
        task.start(context, props).await?;
        Ok(SourceHarness { task, offsets })
    }

    /// One poll, acknowledged and committed.
    pub async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let records = self.task.poll().await?;
        for (i, record) in records.iter().enumerate() {
            let metadata = RecordMetadata {
                topic: record.topic.clone(),
                partition: record.kafka_partition.unwrap_or(0),
                offset: i as i64,
            };
            self.task.commit_record(record, &metadata).await?;
            self.offsets.store(record);
        }
        if !records.is_empty() {
            self.task.commit().await?;
        }
        Ok(records)
    }

    /// Polls until `n` records came or `max_polls` polls were made.
    pub async fn poll_records(&mut self, n: usize, max_polls: usize) -> Result<Vec<SourceRecord>> {
        let mut out = Vec::new();
        for _ in 0..max_polls {
            if out.len() >= n {
                break;
            }
            out.extend(self.poll().await?);
        }
        Ok(out)
    }

    /// Stops the task.
    pub async fn stop(mut self) -> Result<()> {
        self.task.stop().await
    }
}

/// A sink task driven as the runtime drives it, with a [`RecordingSinkContext`].
pub struct SinkHarness {
    task: Box<dyn SinkTask>,
    context: Arc<RecordingSinkContext>,
    /// The next offset after every record put, per partition.
    put: TopicPartitionOffsets,
}

impl SinkHarness {
    /// Starts `task` with `context`.
    pub async fn start(
        mut task: Box<dyn SinkTask>,
        props: Props,
        context: Arc<RecordingSinkContext>,
    ) -> Result<SinkHarness> {
        task.start(context.clone(), props).await?;
        Ok(SinkHarness { task, context, put: TopicPartitionOffsets::new() })
    }

    /// The context the task was given.
    pub fn context(&self) -> &RecordingSinkContext {
        &self.context
    }

    /// Assigns partitions (`open`).
    pub async fn open(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let mut assignment = self.context.assignment();
        assignment.extend(partitions.iter().cloned());
        self.context.set_assignment(assignment);
        self.task.open(partitions).await
    }

    /// Gives records to `put`; on success their positions count as put.
    pub async fn put(&mut self, records: impl AsRef<[SinkRecord]>) -> Result<()> {
        let records = records.as_ref();
        let positions: Vec<(TopicPartition, i64)> =
            records.iter().map(|r| (r.topic_partition(), r.kafka_offset + 1)).collect();
        self.task.put(records).await?;
        self.put.extend(positions);
        Ok(())
    }

    /// `pre_commit` with the offsets of everything put: what the runtime would commit.
    pub async fn pre_commit(&mut self) -> Result<TopicPartitionOffsets> {
        let offsets = self.put.clone();
        self.task.pre_commit(&offsets).await
    }

    /// Takes partitions away (`close`).
    pub async fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let assignment = self.context.assignment().into_iter().filter(|tp| !partitions.contains(tp)).collect();
        self.context.set_assignment(assignment);
        self.put.retain(|tp, _| !partitions.contains(tp));
        self.task.close(partitions).await
    }

    /// Stops the task.
    pub async fn stop(mut self) -> Result<()> {
        self.task.stop().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{offset_map, ErrorKind, Value};

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(future)
    }

    #[test]
    fn a_failing_reporter_keeps_the_report_and_fails_it_with_its_kind() {
        let context = RecordingSinkContext::with_reporter(RecordingReporter::failing());
        let record = SinkRecord::new("t", 1, 7, None, Value::from("bad"));
        let cause = std::io::Error::new(std::io::ErrorKind::InvalidData, "not a row");
        let error = ConnectError::data("decoding").with_source(cause);
        let reporter = context.errant_record_reporter().expect("a reporter");
        let failed = block_on(reporter.report(&record, &error)).expect_err("errors.tolerance=none");
        assert_eq!(failed.kind(), ErrorKind::Data);
        assert_eq!(failed.message(), "record t-1@7 failed and errors.tolerance=none: decoding: not a row");
        let reported = context.reported();
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].0, record);
        assert_eq!((reported[0].1.kind(), reported[0].1.message()), (ErrorKind::Data, "decoding: not a row"));
        let tolerant = RecordingSinkContext::tolerant();
        let reporter = tolerant.errant_record_reporter().expect("a reporter");
        block_on(reporter.report(&record, &error)).expect("errors.tolerance=all");
        assert_eq!(tolerant.reported().len(), 1);
        assert!(RecordingSinkContext::default().errant_record_reporter().is_none());
    }

    #[test]
    fn pauses_and_resumes_are_recorded_per_call() {
        let context = RecordingSinkContext::default();
        let (a, b) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
        context.pause(&[a.clone(), b.clone()]);
        context.pause(std::slice::from_ref(&a));
        context.resume(std::slice::from_ref(&a));
        assert_eq!(context.paused(), vec![b.clone()]);
        assert_eq!(context.pauses(), vec![vec![a.clone(), b], vec![a.clone()]]);
        assert_eq!(context.resumes(), vec![vec![a]]);
    }

    #[test]
    fn progress_lines_are_kept_in_order() {
        let progress = Arc::new(RecordingProgress::default());
        let context =
            SourceTaskContext::new("c", 0, Arc::new(MemoryOffsets::default())).with_progress(progress.clone());
        context.report_progress(Some("copying".into()));
        context.report_progress(None);
        context.report_progress(Some("streaming".into()));
        assert_eq!(progress.lines(), vec!["copying".to_owned(), "streaming".to_owned()]);
    }

    #[test]
    fn a_consumed_record_keeps_what_the_source_gave() {
        let source =
            SourceRecord::new(offset_map([("p", 1.into())]), offset_map([("o", 2.into())]), "t", Value::Int64(5))
                .with_key(None, Value::from("k"));
        let mut want = SinkRecord::new("t", 0, 9, None, Value::Int64(5)).with_key(None, Value::from("k"));
        (want.timestamp, want.timestamp_type) = (None, TimestampType::NoTimestamp);
        assert_eq!(consumed(&source, 9), want);
        let stamped = consumed(&source.with_timestamp(1_000), 9);
        assert_eq!((stamped.timestamp, stamped.timestamp_type), (Some(1_000), TimestampType::CreateTime));
    }
}
