//! Exactly-once delivery for a source task (KIP-618, `exactly.once.source.support=enabled`).
//!
//! The task's producer is transactional (`transactional.id` = `<group.id or worker id>-<connector>-<task>`,
//! so a restarted or duplicated copy of the task fences the older one). Records go into a
//! transaction; at its boundary (`transaction.boundary`: after each non-empty poll, every
//! `transaction.boundary.interval.ms`, or when the task asks) the latest source offset of every
//! partition in it is written to the offsets topic by the same producer, and the transaction is
//! committed: records and offsets become visible to `read_committed` consumers together, or not
//! at all. Only then are `commit_record` and `commit` called. A failed commit fails the task;
//! after a restart it resumes from the last committed offsets, and the aborted records are
//! invisible.

use std::collections::HashMap;
use std::time::Duration;

use aqueduct_sdk::{ConnectError, OffsetMap, Result, SourceRecord, TransactionContext};
use futures::StreamExt;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::SourceWorker;
use crate::offsets::{offset_record, partition_key, SubmittedRecords};

/// How long a transaction commit or abort may take.
const TXN_TIMEOUT: Duration = Duration::from_secs(60);

/// Where transactions end (`transaction.boundary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// After the records of each non-empty poll.
    Poll,
    /// Once a transaction has been open this long.
    Interval(Duration),
    /// When the task asks, through its [`TransactionContext`].
    Connector,
}

/// A source task's exactly-once settings, decided by the herder.
#[derive(Debug, Clone)]
pub struct ExactlyOnce {
    /// The producer's `transactional.id`.
    pub transactional_id: String,
    /// Where transactions end.
    pub boundary: Boundary,
}

/// A task's transactions: its settings, the context the task ends them through, and the one open.
pub(super) struct Transactions {
    pub config: ExactlyOnce,
    pub context: TransactionContext,
    pub offsets_topic: String,
    open: Option<OpenTransaction>,
}

struct OpenTransaction {
    started: Instant,
    records: usize,
    /// Latest offset per source partition (by partition key) among the records in it.
    offsets: HashMap<String, (OffsetMap, OffsetMap)>,
}

impl Transactions {
    pub fn new(config: ExactlyOnce, offsets_topic: String) -> Self {
        Transactions { config, context: TransactionContext::new(), offsets_topic, open: None }
    }
}

/// A blocking producer call (commit, abort, init) off the async threads.
async fn blocking<F>(producer: &FutureProducer, what: &'static str, call: F) -> std::result::Result<(), KafkaError>
where
    F: FnOnce(&FutureProducer) -> std::result::Result<(), KafkaError> + Send + 'static,
{
    let producer = producer.clone();
    match tokio::task::spawn_blocking(move || call(&producer)).await {
        Ok(result) => result,
        Err(e) => {
            warn!(error = %e, what, "producer call did not complete");
            Err(KafkaError::Canceled)
        }
    }
}

fn txn_error(what: &str, e: KafkaError) -> ConnectError {
    let fenced = matches!(&e, KafkaError::Transaction(t) if t.is_fatal());
    let message = if fenced {
        format!("{what}: the producer was fenced or failed fatally (another copy of this task may be running)")
    } else {
        what.to_owned()
    };
    ConnectError::fatal(message).with_source(e)
}

impl SourceWorker {
    fn producer(&self) -> Result<&FutureProducer> {
        self.producer.as_ref().ok_or_else(|| ConnectError::fatal("producer is closed"))
    }

    /// Makes the producer transactional: fences older producers with the same id and aborts
    /// their open transaction.
    pub(super) async fn init_transactions(&mut self) -> Result<()> {
        let Some(eos) = &self.eos else { return Ok(()) };
        let id = eos.config.transactional_id.clone();
        blocking(self.producer()?, "init_transactions", |p| p.init_transactions(TXN_TIMEOUT))
            .await
            .map_err(|e| txn_error(&format!("initializing transactions (transactional.id {id})"), e))?;
        // The fenced predecessor's open transaction, now aborted, may have hidden later offsets.
        self.store.refresh().await.map_err(|e| ConnectError::retriable(format!("reading source offsets: {e:#}")))?;
        info!(transactional_id = %id, boundary = ?eos.config.boundary, "exactly-once delivery: transactions ready");
        Ok(())
    }

    /// Opens a transaction when none is, before a record is sent.
    pub(super) fn begin_if_needed(&mut self) -> Result<()> {
        let Some(eos) = &self.eos else { return Ok(()) };
        if eos.open.is_some() {
            return Ok(());
        }
        self.producer()?.begin_transaction().map_err(|e| txn_error("beginning a transaction", e))?;
        if let Some(eos) = self.eos.as_mut() {
            eos.open = Some(OpenTransaction { started: Instant::now(), records: 0, offsets: HashMap::new() });
        }
        Ok(())
    }

    /// Notes a record sent (or skipped) inside the open transaction; its offset is written at commit.
    pub(super) fn note_sent(&mut self, record: &SourceRecord) {
        if let Some(open) = self.eos.as_mut().and_then(|e| e.open.as_mut()) {
            open.records += 1;
            let key = partition_key(&record.source_partition);
            open.offsets.insert(key, (record.source_partition.clone(), record.source_offset.clone()));
        }
    }

    /// After a record was sent: ends the transaction if the task asked to end it after this one.
    pub(super) async fn after_record(&mut self, ends: Option<bool>) -> Result<()> {
        match ends {
            Some(true) => self.commit_transaction().await,
            Some(false) => self.abort_transaction().await,
            None => Ok(()),
        }
    }

    /// Whether the record ends the transaction (`transaction.boundary=connector` requests).
    pub(super) fn ends_after(&self, record: &SourceRecord) -> Option<bool> {
        let eos = self.eos.as_ref()?;
        (eos.config.boundary == Boundary::Connector).then(|| eos.context.ends_after(record)).flatten()
    }

    /// At the end of a poll's records: commits (poll boundary, an interval that ran out) or
    /// does what the task asked (connector boundary).
    pub(super) async fn end_of_poll(&mut self) -> Result<()> {
        let Some(eos) = &self.eos else { return Ok(()) };
        match eos.config.boundary {
            Boundary::Poll => self.commit_transaction().await,
            Boundary::Interval(_) => self.commit_if_due().await,
            Boundary::Connector => {
                let requests = eos.context.take_requests();
                if requests.abort {
                    self.abort_transaction().await
                } else if requests.commit {
                    self.commit_transaction().await
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Commits an interval-bounded transaction that has been open long enough.
    pub(super) async fn commit_if_due(&mut self) -> Result<()> {
        let due = match &self.eos {
            Some(Transactions {
                config: ExactlyOnce { boundary: Boundary::Interval(every), .. },
                open: Some(open),
                ..
            }) => open.started.elapsed() >= *every,
            _ => false,
        };
        if due {
            self.commit_transaction().await?;
        }
        Ok(())
    }

    /// Writes the transaction's offsets with its records and commits both; then tells the task.
    pub(super) async fn commit_transaction(&mut self) -> Result<()> {
        let Some(eos) = self.eos.as_mut() else { return Ok(()) };
        let Some(open) = eos.open.take() else { return Ok(()) };
        let topic = eos.offsets_topic.clone();
        let name = self.setup.name().to_owned();
        let offsets: Vec<(OffsetMap, Option<OffsetMap>)> =
            open.offsets.into_values().map(|(partition, offset)| (partition, Some(offset))).collect();
        let producer = self.producer()?.clone();
        let mut deliveries = Vec::with_capacity(offsets.len());
        for (partition, offset) in &offsets {
            let (key, value) = offset_record(&name, partition, offset.as_ref())
                .map_err(|e| ConnectError::fatal(format!("encoding an offset: {e:#}")))?;
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&topic).key(&key);
            if let Some(value) = &value {
                record = record.payload(value);
            }
            // Delivered by the commit below, which fails if this record is not.
            let delivery = producer
                .send_result(record)
                .map_err(|(e, _)| ConnectError::fatal(format!("queueing offsets to {topic}")).with_source(e))?;
            deliveries.push(delivery);
        }
        if let Err(e) = blocking(&producer, "commit_transaction", |p| p.commit_transaction(TXN_TIMEOUT)).await {
            let abortable = matches!(&e, KafkaError::Transaction(t) if t.txn_requires_abort());
            if abortable {
                let _ = blocking(&producer, "abort_transaction", |p| p.abort_transaction(TXN_TIMEOUT)).await;
            }
            return Err(txn_error(&format!("committing a transaction of {} records", open.records), e));
        }
        // Every record of the transaction is delivered now: collect the acks.
        while let Some(ack) = self.pending.next().await {
            self.on_ack(ack)?;
        }
        self.tracker.take_committable();
        let mut logged = Vec::with_capacity(offsets.len());
        for ((partition, offset), delivery) in offsets.into_iter().zip(deliveries) {
            match delivery.await {
                Ok(Ok(d)) => logged.push((partition, offset, (d.partition, d.offset))),
                _ => return Err(ConnectError::fatal("a committed offset record has no delivery report")),
            }
        }
        self.store.committed(&name, logged);
        debug!(records = open.records, "transaction committed");
        self.deliver_commit_callbacks().await?;
        self.task.commit().await
    }

    /// Aborts the open transaction: its records and offsets are discarded.
    pub(super) async fn abort_transaction(&mut self) -> Result<()> {
        let Some(open) = self.eos.as_mut().and_then(|e| e.open.take()) else { return Ok(()) };
        let producer = self.producer()?.clone();
        blocking(&producer, "abort_transaction", |p| p.abort_transaction(TXN_TIMEOUT))
            .await
            .map_err(|e| txn_error("aborting a transaction", e))?;
        warn!(records = open.records, "transaction aborted; its records and offsets are discarded");
        self.pending.clear();
        self.acked.clear();
        self.tracker = SubmittedRecords::new();
        Ok(())
    }

    /// At shutdown: a clean stop commits the open transaction (aborts it with connector-defined
    /// boundaries, where only the task knows where one ends); a failure aborts it.
    pub(super) async fn finish_transactions(&mut self, clean: bool) -> Result<()> {
        let Some(eos) = &self.eos else { return Ok(()) };
        if clean && eos.config.boundary != Boundary::Connector {
            self.commit_transaction().await
        } else {
            self.abort_transaction().await
        }
    }
}
