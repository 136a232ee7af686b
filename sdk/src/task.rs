//! Tasks: the units of work that move data, and what the runtime lets them see.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::Props;
use crate::exactly_once::TransactionContext;
use crate::record::{OffsetMap, RecordMetadata, SinkRecord, SourceRecord, TopicPartition, TopicPartitionOffsets};
use crate::{ConnectError, Result};

/// Reads the offsets stored for a connector's source partitions.
pub trait OffsetReader: Send + Sync {
    /// The last committed offset of `partition`, if any.
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap>;
}

/// Shows a task's progress (e.g. of an initial snapshot) in the status API.
pub trait ProgressReporter: Send + Sync {
    /// Replaces the progress line; `None` clears it.
    fn report(&self, progress: Option<String>);
}

/// What a source task may see of the runtime.
#[derive(Clone)]
pub struct SourceTaskContext {
    connector: String,
    task_id: u32,
    offsets: Arc<dyn OffsetReader>,
    progress: Option<Arc<dyn ProgressReporter>>,
    transactions: Option<TransactionContext>,
}

impl SourceTaskContext {
    /// A context for task `task_id` of `connector`, reading offsets from `offsets`.
    pub fn new(connector: impl Into<String>, task_id: u32, offsets: Arc<dyn OffsetReader>) -> Self {
        SourceTaskContext { connector: connector.into(), task_id, offsets, progress: None, transactions: None }
    }
    /// Gives the task a [`TransactionContext`] (with `transaction.boundary=connector`).
    pub fn with_transactions(mut self, transactions: TransactionContext) -> Self {
        self.transactions = Some(transactions);
        self
    }
    /// Where the task ends transactions, when the connector defines transaction boundaries
    /// (`exactly.once.source.support=enabled` and `transaction.boundary=connector`); else `None`.
    pub fn transaction_context(&self) -> Option<&TransactionContext> {
        self.transactions.as_ref()
    }
    /// Sends [`SourceTaskContext::report_progress`] to `reporter`.
    pub fn with_progress(mut self, reporter: Arc<dyn ProgressReporter>) -> Self {
        self.progress = Some(reporter);
        self
    }
    /// Shows a progress line in the task's status (e.g. `"snapshot: 12000/50000 rows, 8000 rows/s"`);
    /// `None` clears it. A no-op when the runtime shows no progress.
    pub fn report_progress(&self, progress: Option<String>) {
        if let Some(reporter) = &self.progress {
            reporter.report(progress);
        }
    }
    /// The connector's name.
    pub fn connector(&self) -> &str {
        &self.connector
    }
    /// This task's number, from 0.
    pub fn task_id(&self) -> u32 {
        self.task_id
    }
    /// The last committed offset of `partition`: where to resume.
    pub fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        self.offsets.offset(partition)
    }
}

/// A task that reads records from an external system.
///
/// Lifecycle, all calls from one task loop, never concurrently:
/// 1. `start` with the task configuration; read stored offsets from the context and seek there.
/// 2. `poll` repeatedly. Return what is available, or an empty batch after about a second with
///    no data, so the runtime can pause, stop or commit in between. A poll in progress is
///    never cancelled, except when the task overruns the shutdown timeout.
/// 3. `commit_record` for each record once Kafka acknowledged it, in acknowledgement order,
///    between polls; `commit` after a write of offsets to the offset store completed. Acks can
///    arrive out of order, so a record acknowledged is not yet a position safe to acknowledge
///    upstream: in `commit`, read the stored offset with [`SourceTaskContext::offset`] and
///    acknowledge upstream (e.g. advance a replication slot) only up to that.
/// 4. `stop` once, unless `start` failed: a task whose `start` returned an error is dropped
///    without `stop`, so `start` releases what it acquired before failing.
///
/// Threads: a source task runs as a future on the worker's async runtime; keep `poll` from
/// blocking the thread (use async I/O or `tokio::task::spawn_blocking`).
///
/// Guarantee: at-least-once. After a crash, the task restarts from the last stored offset,
/// so records after it may be produced again.
#[async_trait]
pub trait SourceTask: Send {
    /// Starts the task.
    async fn start(&mut self, context: SourceTaskContext, props: Props) -> Result<()>;

    /// Returns the next records; an empty batch when there are none yet.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>>;

    /// Kafka acknowledged `record` at `metadata`.
    async fn commit_record(&mut self, record: &SourceRecord, metadata: &RecordMetadata) -> Result<()> {
        let _ = (record, metadata);
        Ok(())
    }

    /// An offset write completed: [`SourceTaskContext::offset`] now returns the stored
    /// positions, which are safe to acknowledge upstream. The call does not say which
    /// partitions were written; read the ones the task acknowledges upstream.
    async fn commit(&mut self) -> Result<()> {
        Ok(())
    }

    /// Stops the task.
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Reports a record a sink task could not write, to the dead-letter topic and log as configured.
#[async_trait]
pub trait ErrantRecordReporter: Send + Sync {
    /// Reports `record`; the call returns once the report is durable. With
    /// `errors.tolerance=none` this returns the error, and the task should fail.
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> Result<()>;
}

/// What a sink task may ask of the runtime.
pub trait SinkTaskContext: Send + Sync {
    /// The partitions currently assigned to the task.
    fn assignment(&self) -> Vec<TopicPartition>;
    /// Stops fetching from these partitions until resumed (back-pressure).
    fn pause(&self, partitions: &[TopicPartition]);
    /// Fetches from these partitions again.
    fn resume(&self, partitions: &[TopicPartition]);
    /// Consume these partitions from these offsets (e.g. offsets kept in the sink itself).
    fn rewind(&self, offsets: TopicPartitionOffsets);
    /// Asks for a flush and offset commit as soon as possible.
    fn request_commit(&self);
    /// The reporter for records the task cannot write, when the connector configured one.
    fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>>;
}

/// A task that writes records from Kafka into an external system.
///
/// Lifecycle, all calls from one task loop, never concurrently:
/// 1. `start` with the task configuration.
/// 2. `open` with the partitions assigned (again after each rebalance).
/// 3. `put` with batches of records, in offset order per partition. The task may buffer them.
/// 4. `pre_commit` with the offsets of everything `put` so far; it returns the offsets whose
///    records are durable in the sink (the default flushes everything and returns them all).
///    The runtime commits only those consumer offsets.
/// 5. `close` with partitions taken away (after a final `pre_commit`).
/// 6. `stop` once, unless `start` failed (then the task is dropped without `stop`).
///
/// `flush` and `pre_commit`: the runtime calls only `pre_commit`. Override `flush` when
/// everything given to `put` becomes durable at once (the default `pre_commit` flushes and
/// returns every offset); override `pre_commit` instead when only part of it is durable (a
/// sink that buffers whole objects or batches), returning per partition the next offset whose
/// records are all durable, or leaving the partition out to commit nothing for it.
///
/// Threads: each sink task runs on a thread of its own (a blocking thread of the worker's
/// runtime, inside which the task's futures are driven); the calls above may block briefly,
/// and any spawned futures run on the worker's runtime.
///
/// Guarantee: at-least-once. After a crash, records after the last committed offset are
/// given to `put` again, so writes should be idempotent (upserts) or deduplicated.
/// Return [`ConnectError::retriable`] from `put` to have the same batch retried after a backoff.
#[async_trait]
pub trait SinkTask: Send {
    /// Starts the task.
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>, props: Props) -> Result<()>;

    /// Writes (or buffers) records. The batch is lent: the runtime keeps it to give it again
    /// after a retriable error, so a task that buffers records clones those it keeps.
    async fn put(&mut self, records: &[SinkRecord]) -> Result<()>;

    /// Makes everything given to `put` durable.
    async fn flush(&mut self, offsets: &TopicPartitionOffsets) -> Result<()> {
        let _ = offsets;
        Ok(())
    }

    /// Returns the offsets safe to commit; `offsets` are the next offsets after every record put.
    async fn pre_commit(&mut self, offsets: &TopicPartitionOffsets) -> Result<TopicPartitionOffsets> {
        self.flush(offsets).await?;
        Ok(offsets.clone())
    }

    /// These partitions were assigned to the task.
    async fn open(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let _ = partitions;
        Ok(())
    }

    /// These partitions were taken away; drop their buffers.
    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let _ = partitions;
        Ok(())
    }

    /// Stops the task.
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}
