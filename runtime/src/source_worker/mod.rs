//! The loop that runs one source task: poll -> convert -> produce -> ack -> store offsets.
//!
//! Offsets follow one rule: a source offset is written to the offset store only after Kafka
//! acknowledged every record of that source partition up to it ([`SubmittedRecords`]). With
//! exactly-once support, records and offsets are written in one transaction instead
//! ([`transactions`]). With the embedded transport the ack comes once every sink subscribed to
//! the record's topic committed it ([`crate::embedded`]); the loop is otherwise the same.

mod output;
mod transactions;
mod transform_step;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::{
    ConnectError, OffsetMap, RecordMetadata, Result, ResultExt, SourceRecord, SourceTask, SourceTaskContext,
};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use self::output::Outgoing;
use self::transactions::Transactions;
pub use self::transactions::{Boundary, ExactlyOnce};
use self::transform_step::Step;
use crate::connector_config::TopicCreation;
use crate::dead_letter::DeadLetterReporter;
use crate::embedded::Bus;
use crate::offsets::{partition_key, OffsetStore, StoreReader, Submission, SubmittedRecords};
use crate::status::{State, Target};
use crate::task_context::TaskSetup;

/// At most this many records wait for Kafka's ack before the task stops polling.
const MAX_IN_FLIGHT: usize = 10_000;

/// An offset write in progress: the offsets it writes, by partition key, and its outcome.
struct Flush {
    written: Vec<(String, OffsetMap)>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

type Ack = (Submission, SourceRecord, std::result::Result<RecordMetadata, KafkaError>);

/// Runs a source task until shut down or failed, reporting its state in `setup.status`;
/// exactly once when `exactly_once` is given (the store must then be a topic store).
pub async fn run(
    setup: TaskSetup,
    task: Box<dyn SourceTask>,
    store: Arc<dyn OffsetStore>,
    creation: TopicCreation,
    exactly_once: Option<ExactlyOnce>,
) {
    let span = tracing::info_span!("task", connector = %setup.name(), task = setup.task_id);
    let status = setup.status.clone();
    let eos = match (exactly_once, store.topic()) {
        (Some(config), Some(topic)) => Some(Transactions::new(config, topic.to_owned())),
        (Some(_), None) => {
            status.fail(ConnectError::config("exactly-once delivery needs source offsets in a Kafka topic").trace());
            return;
        }
        (None, _) => None,
    };
    let mut worker = SourceWorker::new(setup, task, store, creation);
    worker.eos = eos;
    match tracing::Instrument::instrument(worker.and_then_run(), span).await {
        Ok(()) => {}
        Err(e) => {
            tracing::error!(error = %e, "source task failed");
            status.fail(e.trace());
        }
    }
}

struct SourceWorker {
    setup: TaskSetup,
    task: Box<dyn SourceTask>,
    store: Arc<dyn OffsetStore>,
    creation: TopicCreation,
    producer: Option<FutureProducer>,
    /// The embedded transport, used instead of a producer when the worker has one.
    bus: Option<Arc<Bus>>,
    tracker: SubmittedRecords,
    pending: FuturesUnordered<futures::future::BoxFuture<'static, Ack>>,
    acked: Vec<(SourceRecord, RecordMetadata)>,
    unflushed: HashMap<String, (OffsetMap, OffsetMap)>,
    flushing: Option<Flush>,
    known_topics: HashSet<String>,
    /// Exactly-once delivery, when enabled.
    eos: Option<Transactions>,
    /// Where tolerated failures go (log, dead-letter topic or file); set when the task starts.
    reporter: Option<DeadLetterReporter>,
}

impl SourceWorker {
    fn new(setup: TaskSetup, task: Box<dyn SourceTask>, store: Arc<dyn OffsetStore>, creation: TopicCreation) -> Self {
        SourceWorker {
            bus: setup.clients.embedded().cloned(),
            setup,
            task,
            store,
            creation,
            producer: None,
            tracker: SubmittedRecords::new(),
            pending: FuturesUnordered::new(),
            acked: Vec::new(),
            unflushed: HashMap::new(),
            flushing: None,
            known_topics: HashSet::new(),
            eos: None,
            reporter: None,
        }
    }

    async fn and_then_run(mut self) -> Result<()> {
        if self.bus.is_none() {
            self.create_producer().await?;
        } else if self.eos.is_some() {
            return Err(ConnectError::config(
                "exactly-once delivery needs Kafka transactions: not available with transport=embedded",
            ));
        }
        let reporter = DeadLetterReporter::open(&self.setup)?;
        if let Some(spec) = reporter.topic_spec() {
            if !self.setup.ensure_topic(&spec).await? {
                return Ok(());
            }
        }
        self.reporter = Some(reporter);
        let reader = Arc::new(StoreReader::new(self.store.clone(), self.setup.name()));
        let mut context = SourceTaskContext::new(self.setup.name(), self.setup.task_id, reader)
            .with_progress(Arc::new(self.setup.status.clone()));
        if let Some(eos) = self.eos.as_ref().filter(|e| e.config.boundary == Boundary::Connector) {
            context = context.with_transactions(eos.context.clone());
        }
        self.task.start(context, self.setup.task_props.clone()).await?;
        info!("source task started");
        let result = self.poll_loop().await;
        let stopped = self.shutdown(result.is_ok()).await;
        result.and(stopped)
    }

    /// The task's Kafka producer (transactional with exactly-once support).
    async fn create_producer(&mut self) -> Result<()> {
        let mut overrides = self.setup.connector.with_prefix("producer.override.");
        if let Some(eos) = &self.eos {
            overrides.insert("transactional.id".into(), eos.config.transactional_id.clone());
            overrides.insert("enable.idempotence".into(), "true".into());
            overrides.insert("acks".into(), "all".into());
        }
        let producer: FutureProducer =
            self.setup.clients.producer_config(&overrides).create().fatal(|| "creating the Kafka producer".into())?;
        self.producer = Some(producer);
        self.init_transactions().await
    }

    async fn poll_loop(&mut self) -> Result<()> {
        let mut next_flush = Instant::now() + self.setup.flush_interval;
        let mut failures = 0u32;
        loop {
            let target = *self.setup.control.borrow();
            self.drain_acks()?;
            if self.eos.is_some() {
                // Offsets and commit callbacks follow transaction commits instead.
                self.commit_if_due().await?;
            } else {
                self.deliver_commit_callbacks().await?;
                self.finish_flush(false).await?;
                if Instant::now() >= next_flush {
                    self.start_flush();
                    next_flush = Instant::now() + self.setup.flush_interval;
                }
            }
            match target {
                Target::Shutdown => return Ok(()),
                Target::Paused => {
                    self.setup.status.set(State::Paused);
                    self.wait_a_little(next_flush).await?;
                    continue;
                }
                Target::Running => {
                    if self.setup.status.get().state != State::Running {
                        self.setup.status.set(State::Running);
                    }
                }
            }
            if self.tracker.in_flight() >= MAX_IN_FLIGHT {
                self.hurry_sinks();
                self.wait_a_little(next_flush).await?;
                continue;
            }
            let records = match self.task.poll().await {
                Ok(records) => {
                    failures = 0;
                    records
                }
                Err(e) if e.is_retriable() => {
                    let delay = self.setup.backoff(failures);
                    warn!(error = %e, ?delay, "poll failed; retrying");
                    failures += 1;
                    self.setup.sleep_unless_shutdown(delay).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            for record in records {
                if !self.send(record).await? {
                    break; // shutting down: the rest of the batch is never acknowledged
                }
            }
            self.end_of_poll().await?;
            // A task whose poll always has records (and acks that are always ready) would
            // otherwise never give its runtime thread back: the group heartbeat, offset
            // flushes and the REST API starve (a worker lost its group membership).
            tokio::task::yield_now().await;
        }
    }

    /// Waits for an ack, a control change, or the flush deadline, whichever comes first.
    async fn wait_a_little(&mut self, next_flush: Instant) -> Result<()> {
        let wait = tokio::time::sleep_until(next_flush.min(Instant::now() + Duration::from_millis(500)));
        tokio::select! {
            ack = self.pending.next(), if !self.pending.is_empty() => {
                if let Some(ack) = ack { self.on_ack(ack)?; }
            }
            _ = self.setup.control.changed() => {}
            _ = wait => {}
        }
        Ok(())
    }

    /// Converts and produces a record; false when shutdown came first (the record stays
    /// unacknowledged, so neither its offset nor any later one of its partition is stored).
    async fn send(&mut self, record: SourceRecord) -> Result<bool> {
        // A transaction boundary the task asked for refers to the record as polled.
        let ends = self.ends_after(&record);
        let record = match self.transformed(record).await? {
            Step::Send(record) => record,
            Step::Skip(original) => {
                self.skip(&original, ends).await?;
                return Ok(true);
            }
        };
        if !self.ensure_topic(&record.topic).await? {
            return Ok(false);
        }
        let encoded = self.encode(&record);
        self.begin_if_needed()?;
        let outgoing = match encoded {
            Ok(parts) => parts,
            Err((stage, e)) if e.kind() == aqueduct_sdk::ErrorKind::Data && self.setup.connector.tolerate_all() => {
                let class = self.setup.converter(stage).class();
                self.report(&record, stage, class, e).await?;
                self.skip(&record, ends).await?;
                return Ok(true);
            }
            Err((_, e)) => return Err(e),
        };
        let submission = self.tracker.submit(&record.source_partition, record.source_offset.clone());
        match outgoing {
            Outgoing::Kafka((key, value, headers)) => {
                let Some(delivery) = self.produce(&record, key.as_deref(), value.as_deref(), headers).await? else {
                    return Ok(false);
                };
                self.note_sent(&record);
                self.pending.push(
                    async move {
                        let result = match delivery.await {
                            Ok(Ok(delivery)) => Ok(RecordMetadata {
                                topic: record.topic.clone(),
                                partition: delivery.partition,
                                offset: delivery.offset,
                            }),
                            Ok(Err((e, _))) => Err(e),
                            Err(_) => Err(KafkaError::Canceled),
                        };
                        (submission, record, result)
                    }
                    .boxed(),
                );
            }
            Outgoing::Embedded { key, payload } => {
                let Some(ack) = self.send_embedded(&record, key, payload).await? else { return Ok(false) };
                self.note_sent(&record);
                // The ack fires once every subscribed sink committed the record; it is dropped
                // only if the worker's transport goes away first.
                self.pending
                    .push(async move { (submission, record, ack.await.map_err(|_| KafkaError::Canceled)) }.boxed());
            }
        }
        self.after_record(ends).await?;
        Ok(true)
    }

    /// Queues a record with the producer, waiting for room when its queue is full; `None` when
    /// shutdown is asked for while waiting.
    async fn produce(
        &mut self,
        record: &SourceRecord,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: Option<OwnedHeaders>,
    ) -> Result<Option<DeliveryFuture>> {
        loop {
            let Some(producer) = self.producer.as_ref() else { return Err(ConnectError::fatal("producer is closed")) };
            let mut fr: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&record.topic);
            if let Some(key) = key {
                fr = fr.key(key);
            }
            if let Some(value) = value {
                fr = fr.payload(value);
            }
            if let Some(p) = record.kafka_partition {
                fr = fr.partition(p);
            }
            if let Some(ts) = record.timestamp {
                fr = fr.timestamp(ts);
            }
            if let Some(h) = &headers {
                fr = fr.headers(h.clone());
            }
            match producer.send_result(fr) {
                Ok(delivery) => return Ok(Some(delivery)),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    let ack = tokio::select! {
                        ack = self.pending.next() => ack,
                        _ = self.setup.control.wait_for(|t| *t == Target::Shutdown) => return Ok(None),
                    };
                    match ack {
                        Some(ack) => self.on_ack(ack)?,
                        None => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
                Err((e, _)) => {
                    return Err(ConnectError::fatal(format!("producing to topic {}", record.topic)).with_source(e))
                }
            }
        }
    }

    /// Creates `topic` when missing (retried with backoff); false when shutdown came first.
    async fn ensure_topic(&mut self, topic: &str) -> Result<bool> {
        if self.known_topics.contains(topic) {
            return Ok(true);
        }
        let spec = self.creation.spec(topic);
        if let Some(bus) = &self.bus {
            bus.create_topic(topic, spec.partitions);
        } else if !self.setup.ensure_topic(&spec).await? {
            return Ok(false);
        }
        self.setup.topics.add(topic);
        self.known_topics.insert(topic.to_owned());
        Ok(true)
    }

    fn drain_acks(&mut self) -> Result<()> {
        while let Some(Some(ack)) = self.pending.next().now_or_never() {
            self.on_ack(ack)?;
        }
        Ok(())
    }

    fn on_ack(&mut self, (submission, record, result): Ack) -> Result<()> {
        match result {
            Ok(metadata) => {
                self.tracker.ack(&submission);
                self.acked.push((record, metadata));
                Ok(())
            }
            Err(e) => Err(ConnectError::fatal(format!(
                "Kafka did not acknowledge a record for topic {}; its offset and all after it stay uncommitted",
                record.topic
            ))
            .with_source(e)),
        }
    }

    async fn deliver_commit_callbacks(&mut self) -> Result<()> {
        for (record, metadata) in std::mem::take(&mut self.acked) {
            self.task.commit_record(&record, &metadata).await?;
        }
        Ok(())
    }

    /// Starts writing the offsets that became committable, unless a write is in flight. The
    /// write runs beside the poll loop, as Kafka Connect's offset committer does.
    fn start_flush(&mut self) {
        for (partition, offset) in self.tracker.take_committable() {
            self.unflushed.insert(partition_key(&partition), (partition, offset));
        }
        if self.flushing.is_some() || self.unflushed.is_empty() {
            return;
        }
        let written = self.unflushed.iter().map(|(k, (_, o))| (k.clone(), o.clone())).collect();
        let offsets: Vec<_> = self.unflushed.values().map(|(p, o)| (p.clone(), Some(o.clone()))).collect();
        let (store, name) = (self.store.clone(), self.setup.name().to_owned());
        let handle = tokio::spawn(async move { store.write(&name, offsets).await });
        self.flushing = Some(Flush { written, handle });
    }

    /// Completes a finished offset write (or waits for it when `wait`): forgets what it stored
    /// and calls the task's `commit`. A failed write keeps its offsets for the next flush.
    async fn finish_flush(&mut self, wait: bool) -> Result<()> {
        if !wait && self.flushing.as_ref().is_none_or(|f| !f.handle.is_finished()) {
            return Ok(());
        }
        let Some(flush) = self.flushing.take() else { return Ok(()) };
        match flush.handle.await {
            Ok(Ok(())) => {
                for (key, offset) in flush.written {
                    if self.unflushed.get(&key).is_some_and(|(_, o)| *o == offset) {
                        self.unflushed.remove(&key);
                    }
                }
                debug!("flushed source offsets");
                self.task.commit().await
            }
            Ok(Err(e)) => {
                warn!(error = format!("{e:#}"), "could not write source offsets; will retry");
                Ok(())
            }
            Err(e) => {
                warn!(error = %e, "offset writer stopped; will retry");
                Ok(())
            }
        }
    }

    fn log_skipped(&self, record: &SourceRecord, error: &ConnectError) {
        if self.setup.connector.boolean("errors.log.enable") {
            if self.setup.connector.boolean("errors.log.include.messages") {
                warn!(topic = %record.topic, partition = ?record.source_partition, offset = ?record.source_offset, error = %error, "skipping record (errors.tolerance=all)");
            } else {
                warn!(topic = %record.topic, error = %error, "skipping record (errors.tolerance=all)");
            }
        }
    }

    /// Waits for outstanding acks (up to `offset.flush.timeout.ms`), writes the final offsets,
    /// and stops the task.
    async fn shutdown(&mut self, clean: bool) -> Result<()> {
        if self.eos.is_some() {
            // The open transaction is committed (or aborted) within offset.flush.timeout.ms.
            let finished = tokio::time::timeout(self.setup.flush_timeout, self.finish_transactions(clean)).await;
            let result = finished
                .unwrap_or_else(|_| Err(ConnectError::retriable("shutdown timed out finishing the open transaction")));
            if let Err(e) = &result {
                warn!(error = %e, "the last transaction did not commit; its records stay invisible");
            }
            self.pending.clear();
            self.producer = None;
            let stopped = self.task.stop().await;
            info!("source task stopped");
            return if clean { result.and(stopped) } else { stopped };
        }
        let deadline = Instant::now() + self.setup.flush_timeout;
        self.hurry_sinks();
        while clean && !self.pending.is_empty() {
            match tokio::time::timeout_at(deadline, self.pending.next()).await {
                Ok(Some(ack)) => {
                    if let Err(e) = self.on_ack(ack) {
                        warn!(error = %e, "record not acknowledged during shutdown");
                        break;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    warn!(
                        in_flight = self.tracker.in_flight(),
                        "shutdown timed out waiting for acks; their offsets stay uncommitted"
                    );
                    break;
                }
            }
        }
        let mut result = Ok(());
        if clean {
            result = self.deliver_commit_callbacks().await;
        }
        // Even after a failure, offsets acknowledged before it are safe to store.
        let flushed = async {
            self.finish_flush(true).await?;
            self.start_flush();
            self.finish_flush(true).await
        };
        if let Err(e) = flushed.await {
            warn!(error = %e, "final offset flush failed");
        }
        self.pending.clear();
        self.producer = None;
        let stopped = self.task.stop().await;
        info!("source task stopped");
        result.and(stopped)
    }
}
