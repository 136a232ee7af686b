//! The sink task: `put` buffers records and writes them once `batch.size` are waiting;
//! `pre_commit` writes the rest. Each write is one transaction (rows, and with exactly once the
//! consumed offsets), so offsets handed back by `pre_commit` only cover committed rows.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aqueduct_sdk::{
    async_trait, ConnectError, ErrorKind, Props, Result, SinkRecord, SinkTask, SinkTaskContext, TopicPartition,
    TopicPartitionOffsets,
};
use tokio_postgres::error::SqlState;
use tracing::{debug, info, warn};

use super::apply::{self, BadRow, Batch, RunError};
use super::config::{InsertMode, SinkConfig};
use super::conn::{Db, DbError, Failure};
use super::ddl::Tables;
use super::keys;
use super::offsets::OffsetStore;
use super::ops::{Converted, Converter, Op};
use super::plan;
use super::writer::{self, Grouping, RenderedRow};

/// How many times a batch is rewritten after a table changed under the sink.
const SCHEMA_ATTEMPTS: usize = 3;

/// A `put` smaller than this (Kafka's default `max.poll.records`) means the consumer has caught
/// up: the task asks for an early commit so buffered rows do not wait for the commit interval.
const CAUGHT_UP_BELOW: usize = 500;

/// The PostgreSQL sink task.
#[derive(Default)]
pub struct PostgresSinkTask {
    running: Option<Running>,
}

impl PostgresSinkTask {
    /// A new, unstarted task.
    pub fn new() -> Self {
        Self::default()
    }

    fn running(&mut self) -> Result<&mut Running> {
        self.running.as_mut().ok_or_else(|| ConnectError::fatal("PostgresSink task used before start or after stop"))
    }
}

struct Running {
    config: Arc<SinkConfig>,
    context: Arc<dyn SinkTaskContext>,
    db: Db,
    tables: Tables,
    offsets: Option<OffsetStore>,
    /// With exactly once: the next offset the database holds per partition; older records are skipped.
    floor: HashMap<TopicPartition, i64>,
    /// Records given to `put` and not written yet.
    pending: Vec<SinkRecord>,
    /// With exactly once: the last COMMIT got no answer; `floor` is re-read before writing.
    commit_in_doubt: bool,
}

/// Why writing a batch stopped.
enum Stop {
    /// A table changed under the sink: reload and try again.
    SchemaChanged,
    /// Give up with this error.
    Error(ConnectError),
}

impl From<ConnectError> for Stop {
    fn from(e: ConnectError) -> Self {
        Stop::Error(e)
    }
}

fn origin(record: &SinkRecord) -> String {
    format!("record {}-{}@{}", record.topic, record.kafka_partition, record.kafka_offset)
}

#[async_trait]
impl SinkTask for PostgresSinkTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>, props: Props) -> Result<()> {
        let config = SinkConfig::parse(&props)?;
        let mut db = Db::new(config.connection.clone(), config.url_for_logs.clone());
        let offsets = config.offsets_table.as_ref().map(|t| OffsetStore::new(t, config.quoting, &config.connector));
        if let Some(store) = &offsets {
            if config.connector.is_empty() {
                return Err(ConnectError::config("offsets.storage.table needs the connector 'name' to key its rows"));
            }
            store.create(&mut db).await?;
        }
        info!(connector = %config.connector, url = %config.url_for_logs, mode = ?config.insert_mode, pk = ?config.pk_mode,
            "started PostgresSink task");
        self.running = Some(Running {
            config: Arc::new(config),
            context,
            db,
            tables: Tables::default(),
            offsets,
            floor: HashMap::new(),
            pending: Vec::new(),
            commit_in_doubt: false,
        });
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let running = self.running()?;
        let given = records.len();
        let before = running.pending.len();
        // Buffered until batch.size records are pending: the one copy this sink keeps.
        running.pending.extend_from_slice(records);
        if running.pending.len() >= running.config.batch_size {
            if let Err(e) = running.flush_pending().await {
                // The runtime gives this batch again after a retriable error: forget it.
                running.pending.truncate(before);
                return Err(e);
            }
        } else if given < CAUGHT_UP_BELOW {
            running.context.request_commit();
        }
        Ok(())
    }

    async fn pre_commit(&mut self, offsets: &TopicPartitionOffsets) -> Result<TopicPartitionOffsets> {
        // Everything given to `put` is committed once the buffer is written.
        self.running()?.flush_pending().await?;
        Ok(offsets.clone())
    }

    async fn open(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let running = self.running()?;
        let Some(store) = &running.offsets else { return Ok(()) };
        let stored = store.read(&mut running.db, partitions).await?;
        for (tp, offset) in &stored {
            running.floor.insert(tp.clone(), *offset);
        }
        if !stored.is_empty() {
            info!(connector = %running.config.connector, table = store.name(), offsets = ?stored,
                "resuming partitions from the offsets stored with the rows");
            running.context.rewind(stored);
        }
        Ok(())
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let running = self.running()?;
        for tp in partitions {
            running.floor.remove(tp);
        }
        // The runtime ran `pre_commit` first; anything still buffered for these partitions is
        // another task's to write now.
        running
            .pending
            .retain(|r| !partitions.iter().any(|tp| tp.topic == r.topic && tp.partition == r.kafka_partition));
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(running) = self.running.take() {
            info!(connector = %running.config.connector, "stopped PostgresSink task");
        }
        Ok(())
    }
}

impl Running {
    /// Writes the buffered records; they stay buffered when that fails.
    async fn flush_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(&mut self.pending);
        let result = self.write_batch(&records).await;
        if result.is_err() {
            self.pending = records;
        }
        result
    }

    /// Writes records in one transaction, reporting (or failing on) records that cannot be written.
    async fn write_batch(&mut self, records: &[SinkRecord]) -> Result<()> {
        if self.commit_in_doubt {
            self.resolve_in_doubt_commit(records).await?;
        }
        let mut next_offsets = TopicPartitionOffsets::new();
        let mut ops = Vec::with_capacity(records.len());
        let mut rejected = HashSet::new();
        let config = Arc::clone(&self.config);
        let mut converter = Converter::new(&config);
        for (i, record) in records.iter().enumerate() {
            let tp = record.topic_partition();
            if self.floor.get(&tp).is_some_and(|&floor| record.kafka_offset < floor) {
                continue; // already in the database (exactly once)
            }
            let next = next_offsets.entry(tp).or_insert(0);
            *next = (*next).max(record.kafka_offset + 1);
            match converter.convert(i, record) {
                Ok(Converted::Op(op)) => ops.push(op),
                Ok(Converted::Skip(why)) => debug!(connector = %config.connector, record = %origin(record), "{why}"),
                Err(e) => {
                    let table = config.table_for(&record.topic);
                    let e =
                        ConnectError::new(e.kind(), format!("{} for table {table}: {}", origin(record), e.message()));
                    if e.kind() != ErrorKind::Data {
                        return Err(e);
                    }
                    self.reject(record, e).await?;
                    rejected.insert(i);
                }
            }
        }
        if ops.is_empty() && (self.offsets.is_none() || next_offsets.is_empty()) {
            return Ok(());
        }
        for attempt in 1..=SCHEMA_ATTEMPTS {
            match self.write(records, &ops, &mut rejected, &next_offsets).await {
                Ok(()) => {
                    if self.offsets.is_some() {
                        self.floor.extend(next_offsets);
                    }
                    return Ok(());
                }
                Err(Stop::SchemaChanged) if attempt < SCHEMA_ATTEMPTS => {
                    warn!(connector = %config.connector, attempt, "a destination table changed; reloading it and rewriting the batch");
                    self.tables.clear();
                    self.db.forget_statements();
                }
                Err(Stop::SchemaChanged) => {
                    return Err(ConnectError::fatal("destination tables keep changing while writing the batch"))
                }
                Err(Stop::Error(e)) => return Err(e),
            }
        }
        Ok(())
    }

    /// Hands a bad record to the errant-record reporter; an error when there is none or when it
    /// says to fail (`errors.tolerance=none`).
    async fn reject(&self, record: &SinkRecord, error: ConnectError) -> Result<()> {
        warn!(connector = %self.config.connector, record = %origin(record), error = %error, "record cannot be written");
        match self.context.errant_record_reporter() {
            Some(reporter) => reporter.report(record, &error).await,
            None => Err(error),
        }
    }

    /// Groups, renders and writes the operations in one transaction.
    async fn write(
        &mut self,
        records: &[SinkRecord],
        ops: &[Op<'_>],
        rejected: &mut HashSet<usize>,
        next_offsets: &TopicPartitionOffsets,
    ) -> std::result::Result<(), Stop> {
        let config = Arc::clone(&self.config);
        let Grouping { groups, of_op } = writer::group(&mut self.db, &mut self.tables, &config, ops).await?;
        let mut rows: Vec<Option<RenderedRow>> = Vec::with_capacity(ops.len());
        for (op, group) in ops.iter().zip(&of_op) {
            let Some(g) = *group else {
                rows.push(None);
                continue;
            };
            match writer::render_op(op, &groups[g]) {
                Ok(cells) => rows.push(Some(RenderedRow { record: op.record, group: g, cells })),
                Err(reason) => {
                    rows.push(None);
                    let record = &records[op.record];
                    if rejected.insert(op.record) {
                        self.reject(record, ConnectError::data(format!("{}: {reason}", origin(record)))).await?;
                    }
                }
            }
        }
        let keys = if config.insert_mode == InsertMode::Insert {
            Vec::new()
        } else {
            keys::same_row_keys(&mut self.db, &groups, ops, &rows)
                .await
                .map_err(|e| stop(e.failure, e, "comparing the keys of the batch".to_owned()))?
        };
        let mut steps = plan::plan(config.insert_mode, &groups, ops, &rows, &keys);
        let mut result = self.run(&Batch { steps: &steps, groups: &groups, rows: &rows, next_offsets }, None).await;
        if let Err(RunError::Statement(error, _)) = &result {
            if error.error.code() == Some(&SqlState::CARDINALITY_VIOLATION) {
                // Keys the plan thought distinct are equal to the database (e.g. under a
                // nondeterministic collation): apply the rows one statement each, in order.
                self.db.rollback().await;
                warn!(connector = %config.connector, error = %error.error,
                    "a statement met a row twice; writing the batch one row per statement");
                steps = plan::one_row_per_statement(&steps);
                result = self.run(&Batch { steps: &steps, groups: &groups, rows: &rows, next_offsets }, None).await;
            }
        }
        match result {
            Ok(()) => Ok(()),
            Err(RunError::Statement(error, _)) if error.failure == Failure::Data => {
                self.db.rollback().await;
                debug!(connector = %config.connector, error = %super::conn::PgMessage(error.error),
                    "a batch statement failed on a value; writing the rows one by one");
                let batch = Batch { steps: &steps, groups: &groups, rows: &rows, next_offsets };
                self.run_one_by_one(records, &batch, rejected).await
            }
            Err(e) => {
                self.db.rollback().await;
                Err(e.into())
            }
        }
    }

    /// Rewrites the batch row by row, each in a savepoint, reporting the rows the database rejects.
    async fn run_one_by_one(
        &mut self,
        records: &[SinkRecord],
        batch: &Batch<'_>,
        rejected: &mut HashSet<usize>,
    ) -> std::result::Result<(), Stop> {
        let mut bad: Vec<BadRow> = Vec::new();
        let result = self.run(batch, Some(&mut bad)).await;
        self.db.rollback().await;
        result?;
        for BadRow { record, message, error } in bad {
            if rejected.insert(record) {
                let error = error.into_connect(format!("{}: {message}", origin(&records[record])));
                self.reject(&records[record], error).await?;
            }
        }
        // The bad rows are now reported; write the rest without them.
        let mut rows_left: Vec<Option<RenderedRow>> = Vec::with_capacity(batch.rows.len());
        for row in batch.rows {
            rows_left.push(row.as_ref().filter(|r| !rejected.contains(&r.record)).map(|r| RenderedRow {
                record: r.record,
                group: r.group,
                cells: r.cells.clone(),
            }));
        }
        let result = self.run(&Batch { rows: &rows_left, ..*batch }, None).await;
        if result.is_err() {
            self.db.rollback().await;
        }
        Ok(result?)
    }

    /// Runs one transaction; remembers a COMMIT of unknown outcome (exactly once: the next
    /// write first reads the offsets table to learn what it holds).
    async fn run(&mut self, batch: &Batch<'_>, bad: Option<&mut Vec<BadRow>>) -> std::result::Result<(), RunError> {
        let result = apply::run(&mut self.db, &self.config, self.offsets.as_ref(), batch, bad).await;
        if matches!(result, Err(RunError::InDoubt(_))) && self.offsets.is_some() {
            self.commit_in_doubt = true;
        }
        result
    }

    /// After a COMMIT of unknown outcome: the stored offsets of the batch's partitions say
    /// whether it happened; records below them are in the database and are skipped.
    async fn resolve_in_doubt_commit(&mut self, records: &[SinkRecord]) -> Result<()> {
        let Some(store) = &self.offsets else { return Ok(()) };
        let mut partitions: Vec<TopicPartition> = records.iter().map(SinkRecord::topic_partition).collect();
        partitions.extend(self.floor.keys().cloned());
        partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        partitions.dedup();
        let stored = store.read(&mut self.db, &partitions).await?;
        info!(connector = %self.config.connector, table = store.name(), offsets = ?stored,
            "the last COMMIT got no answer; re-read the stored offsets, writing only what they do not cover");
        self.floor.extend(stored);
        self.commit_in_doubt = false;
        Ok(())
    }
}

impl From<RunError> for Stop {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Statement(error, context) => stop(error.failure, error, context),
            RunError::Stale(error) => Stop::Error(error),
            RunError::InDoubt(error) => Stop::Error(
                error.into_connect("committing the transaction: the connection was lost, the outcome is unknown"),
            ),
        }
    }
}

/// The outcome of a failed statement.
fn stop(failure: Failure, error: DbError, context: String) -> Stop {
    match failure {
        Failure::SchemaChanged => Stop::SchemaChanged,
        _ => Stop::Error(error.into_connect(context)),
    }
}
