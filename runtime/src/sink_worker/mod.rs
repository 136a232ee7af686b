//! The loop that runs one sink task: consume -> convert -> put -> pre_commit -> commit offsets.
//!
//! Like Kafka Connect's `WorkerSinkTask`, each sink task owns a thread: the consumer's
//! rebalance callbacks run on it, so partitions taken away are flushed and committed
//! before they go. Consumer offsets are committed only for what `pre_commit` reports durable.
//!
//! A retriable `put` failure keeps the batch and pauses every assigned partition; the loop goes
//! on polling (so the consumer stays in its group and rebalances are served) and redelivers the
//! batch, minus records of partitions no longer assigned, after a backoff. `errors.retry.timeout`
//! (when positive) bounds how long that goes on before the task fails.
//!
//! With the embedded transport the task reads its connector's group on the in-process bus
//! instead ([`input`]); everything else here is the same, and a commit there is what lets
//! sources store their offsets.

mod context;
mod incoming;
mod input;
mod rebalance;
#[cfg(test)]
mod tests;
mod transform_step;

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aqueduct_sdk::{
    ConnectError, Result, ResultExt, SinkRecord, SinkTask, SinkTaskContext, TopicPartition, TopicPartitionOffsets,
};
use rdkafka::consumer::BaseConsumer;
use tokio::runtime::Handle;
use tracing::{info, warn};

use self::context::TaskContext;
pub(crate) use self::incoming::Incoming;
use self::input::Input;
use self::rebalance::{commit, lock, RebalanceHandler, Shared};
use crate::dead_letter::{DeadLetterReporter, Stage};
use crate::embedded::{Bus, Polled};
use crate::status::{State, Target};
use crate::task_context::TaskSetup;
use crate::transforms::TransformChain;

/// Records per `put`, like Kafka's `max.poll.records`.
const MAX_BATCH: usize = 500;

/// Runs a sink task on the current (blocking) thread until shut down or failed.
pub fn run(setup: TaskSetup, task: Box<dyn SinkTask>, handle: Handle) {
    let span = tracing::info_span!("task", connector = %setup.name(), task = setup.task_id);
    let _enter = span.enter();
    let status = setup.status.clone();
    if let Err(e) = SinkWorker::run(setup, task, handle) {
        tracing::error!(error = %e, "sink task failed");
        status.fail(e.trace());
    }
}

/// The consumer's static membership, removed from the group when the task stops (see
/// [`crate::static_member`]).
struct StaticMember {
    bootstrap: String,
    group: String,
    instance_id: String,
}

impl StaticMember {
    /// The member a consumer config joins as, if static and on a plaintext listener.
    fn of(config: &rdkafka::ClientConfig, group: &str) -> Option<Self> {
        let instance_id = config.get("group.instance.id").filter(|id| !id.is_empty())?.to_owned();
        let protocol = config.get("security.protocol").unwrap_or("plaintext");
        if !protocol.eq_ignore_ascii_case("plaintext") {
            info!(protocol, "static member is left to expire after session.timeout.ms (LeaveGroup is sent on plaintext listeners only)");
            return None;
        }
        let bootstrap = config.get("bootstrap.servers").unwrap_or_default().to_owned();
        Some(StaticMember { bootstrap, group: group.to_owned(), instance_id })
    }

    async fn leave(self) {
        match crate::static_member::leave(&self.bootstrap, &self.group, &self.instance_id).await {
            Ok(()) => info!(member = %self.instance_id, "left the consumer group"),
            Err(e) => warn!(member = %self.instance_id, error = format!("{e:#}"),
                "could not leave the consumer group; its partitions move after session.timeout.ms"),
        }
    }
}

/// A batch whose `put` failed retriably, waiting to be given to the task again.
struct Redelivery {
    batch: Vec<SinkRecord>,
    /// Next offset per partition the batch (and records skipped while converting) advance to.
    positions: TopicPartitionOffsets,
    attempt: u32,
    first_failure: Instant,
    next_attempt: Instant,
}

struct SinkWorker {
    setup: TaskSetup,
    handle: Handle,
    input: Input,
    bus: Option<Arc<Bus>>,
    shared: Arc<Mutex<Shared>>,
    context: Arc<TaskContext>,
    reporter: DeadLetterReporter,
    paused_by_user: bool,
    redelivery: Option<Redelivery>,
    /// The connector's transforms (converter -> transforms -> put).
    transforms: RefCell<TransformChain>,
}

impl SinkWorker {
    fn run(mut setup: TaskSetup, task: Box<dyn SinkTask>, handle: Handle) -> Result<()> {
        let group = format!("connect-{}", setup.name());
        let bus = setup.clients.embedded().cloned();
        let mut overrides = setup.connector.with_prefix("consumer.override.");
        overrides.entry("group.instance.id".to_owned()).or_insert_with(|| setup.group_instance_id());
        let reporter = DeadLetterReporter::open(&setup)?;
        if let Some(spec) = reporter.topic_spec() {
            // Created up front, retried while the broker cannot do it; a shutdown meanwhile
            // ends the task before it starts.
            if !handle.block_on(setup.ensure_topic(&spec))? {
                return Ok(());
            }
        }
        let context = Arc::new(TaskContext { requests: Mutex::default(), reporter: Some(Arc::new(reporter.clone())) });
        let shared = Arc::new(Mutex::new(Shared::new(task)));
        // A task started while its connector is PAUSED holds every partition it is given.
        let paused_by_user = *setup.control.borrow() == Target::Paused;
        lock(&shared).pause_all = paused_by_user;
        let (input, member) = match &bus {
            Some(bus) => (Input::Embedded(bus.join(&group, setup.task_id)?), None),
            None => {
                let rebalance =
                    RebalanceHandler { shared: shared.clone(), context: context.clone(), handle: handle.clone() };
                let consumer_config = setup.clients.consumer_config(&group, &overrides);
                let member = StaticMember::of(&consumer_config, &group);
                let consumer: BaseConsumer<RebalanceHandler> =
                    consumer_config.create_with_context(rebalance).fatal(|| "creating the Kafka consumer".into())?;
                (Input::Kafka(consumer), member)
            }
        };
        {
            let mut guard = lock(&shared);
            let ctx: Arc<dyn SinkTaskContext> = context.clone();
            handle.block_on(guard.task.start(ctx, setup.task_props.clone()))?;
        }
        let transforms = RefCell::new(std::mem::take(&mut setup.transforms));
        let mut worker = SinkWorker {
            setup,
            handle,
            input,
            bus,
            shared,
            context,
            reporter,
            paused_by_user,
            redelivery: None,
            transforms,
        };
        let subscribed = worker.input.subscribe(&worker.setup.connector, worker.bus.as_deref());
        let result = subscribed.and_then(|()| worker.consume_loop());
        let stopped = worker.shutdown(result.is_ok());
        let handle = worker.handle.clone();
        drop(worker); // closes the consumer
        if let Some(member) = member {
            handle.block_on(member.leave());
        }
        result.and(stopped)
    }

    fn consume_loop(&mut self) -> Result<()> {
        let mut next_commit = Instant::now() + self.setup.flush_interval;
        self.setup.status.set(if self.paused_by_user { State::Paused } else { State::Running });
        loop {
            let target = *self.setup.control.borrow();
            if target == Target::Shutdown {
                return Ok(());
            }
            self.apply_target(target)?;
            self.apply_requests()?;
            if let Some(e) = lock(&self.shared).failure.take() {
                return Err(e);
            }
            // Polling goes on during a redelivery: every partition is paused, so this only
            // keeps the consumer in its group and serves rebalances.
            let (batch, positions) = self.poll_batch()?;
            match self.redelivery.take() {
                Some(r) if Instant::now() >= r.next_attempt => self.deliver(r)?,
                Some(r) => self.redelivery = Some(r),
                None => {
                    let now = Instant::now();
                    let fresh = Redelivery { batch, positions, attempt: 0, first_failure: now, next_attempt: now };
                    self.deliver(fresh)?;
                }
            }
            let requested = std::mem::take(&mut self.context.requests().commit);
            if requested || Instant::now() >= next_commit || self.input.wants_commit() {
                let mut shared = lock(&self.shared);
                commit(self.input.partitions(), &self.handle, &mut shared, None)?;
                next_commit = Instant::now() + self.setup.flush_interval;
            }
        }
    }

    fn apply_target(&mut self, target: Target) -> Result<()> {
        let paused = target == Target::Paused;
        if paused == self.paused_by_user {
            return Ok(());
        }
        self.paused_by_user = paused;
        self.setup.status.set(if paused { State::Paused } else { State::Running });
        self.hold_or_release()
    }

    /// Pauses every assigned partition while the user paused the connector or a batch awaits
    /// redelivery; otherwise resumes all but those the task paused.
    fn hold_or_release(&mut self) -> Result<()> {
        let hold = self.paused_by_user || self.redelivery.is_some();
        let mut shared = lock(&self.shared);
        shared.pause_all = hold;
        if hold {
            let all: Vec<TopicPartition> = shared.assignment.iter().cloned().collect();
            self.input.pause(&all)
        } else {
            let resume: Vec<TopicPartition> =
                shared.assignment.iter().filter(|tp| !shared.paused_by_task.contains(tp)).cloned().collect();
            self.input.resume(&resume)
        }
    }

    fn apply_requests(&mut self) -> Result<()> {
        let (pause, resume, rewind) = {
            let mut r = self.context.requests();
            (std::mem::take(&mut r.pause), std::mem::take(&mut r.resume), std::mem::take(&mut r.rewind))
        };
        let mut shared = lock(&self.shared);
        if !pause.is_empty() {
            self.input.pause(&pause)?;
            shared.paused_by_task.extend(pause);
        }
        if !resume.is_empty() {
            for tp in &resume {
                shared.paused_by_task.remove(tp);
            }
            if !shared.pause_all {
                self.input.resume(&resume)?;
            }
        }
        if !rewind.is_empty() {
            self.input.seek(&rewind)?;
            for (tp, offset) in rewind {
                shared.consumed.insert(tp, offset);
            }
        }
        Ok(())
    }

    /// Up to [`MAX_BATCH`] converted records, and the next offset per partition they (and any
    /// skipped records) advance to. Waits at most ~100 ms for the first one.
    fn poll_batch(&mut self) -> Result<(Vec<SinkRecord>, TopicPartitionOffsets)> {
        let mut batch = Vec::new();
        let mut positions = TopicPartitionOffsets::new();
        let mut wait = Duration::from_millis(100);
        while batch.len() < MAX_BATCH {
            match &self.input {
                Input::Kafka(consumer) => {
                    let Some(message) = consumer.poll(wait) else { break };
                    wait = Duration::ZERO;
                    match message {
                        Ok(m) => self.take(&m, &mut batch, &mut positions)?,
                        Err(e) => {
                            warn!(error = %e, "consumer error");
                            break;
                        }
                    }
                }
                Input::Embedded(member) => match member.poll(wait, MAX_BATCH - batch.len()) {
                    Polled::Revoked(partitions) => {
                        let mut shared = lock(&self.shared);
                        rebalance::revoked(member, &self.handle, &mut shared, &self.context, partitions.clone(), false);
                        drop(shared);
                        member.release(&partitions);
                    }
                    Polled::Assigned(partitions) => {
                        let mut shared = lock(&self.shared);
                        rebalance::assigned(member, &self.handle, &mut shared, &self.context, partitions);
                    }
                    Polled::Records(records) if records.is_empty() => break,
                    Polled::Records(records) => {
                        wait = Duration::ZERO;
                        for record in records {
                            self.take(&*record, &mut batch, &mut positions)?;
                        }
                    }
                },
            }
        }
        Ok((batch, positions))
    }

    /// Converts one consumed record into `batch` (a tolerated failure goes to the dead-letter
    /// queue instead) and advances its partition's position.
    fn take(
        &self,
        message: &dyn Incoming,
        batch: &mut Vec<SinkRecord>,
        positions: &mut TopicPartitionOffsets,
    ) -> Result<()> {
        let tp = TopicPartition::new(message.topic(), message.partition());
        if !lock(&self.shared).flowing(&tp) {
            // Fetched before the partition was paused or revoked: read it again later.
            return self.seek_back(&tp, message.offset());
        }
        self.setup.topics.add(message.topic());
        let next = message.offset() + 1;
        let failed = match incoming::convert(&self.setup, message) {
            Err((stage, e)) => Some((stage, self.setup.converter(stage).class(), e)),
            Ok(record) => match self.transformed(record) {
                Ok(Some(record)) => {
                    batch.push(record);
                    None
                }
                Ok(None) => None, // dropped by a transform
                Err(failure) => {
                    let error = ConnectError::new(failure.error.kind(), failure.to_string());
                    Some((Stage::Transformation, failure.class, error))
                }
            },
        };
        if let Some((stage, class, e)) = failed {
            // Tolerated conversion and transform failures go to the dead-letter queue (the
            // record as consumed); otherwise the task fails.
            self.handle.block_on(self.reporter.report_raw(message, stage, class, e))?;
        }
        positions.insert(tp, next);
        Ok(())
    }

    fn seek_back(&self, tp: &TopicPartition, offset: i64) -> Result<()> {
        if !lock(&self.shared).assignment.contains(tp) {
            return Ok(());
        }
        self.input.seek(&TopicPartitionOffsets::from([(tp.clone(), offset)]))
    }

    /// Puts the records of partitions still assigned (a rebalance may have taken some away),
    /// then marks their positions as consumed: only records given to `put` can be offered to
    /// `pre_commit`. A retriable failure keeps the batch for redelivery and pauses consumption.
    fn deliver(&mut self, mut r: Redelivery) -> Result<()> {
        {
            let shared = lock(&self.shared);
            r.batch.retain(|record| shared.assignment.contains(&record.topic_partition()));
            r.positions.retain(|tp, _| shared.assignment.contains(tp));
        }
        let retrying = r.attempt > 0;
        if !r.batch.is_empty() {
            let result = {
                let mut shared = lock(&self.shared);
                self.handle.block_on(shared.task.put(&r.batch))
            };
            match result {
                Ok(()) => {}
                Err(e) if e.is_retriable() => return self.schedule_redelivery(r, e),
                Err(e) => return Err(e),
            }
        }
        if retrying {
            info!(attempts = r.attempt + 1, "redelivered batch accepted; resuming consumption");
            self.hold_or_release()?;
        }
        let mut shared = lock(&self.shared);
        for (tp, next) in r.positions {
            if shared.assignment.contains(&tp) {
                shared.consumed.insert(tp, next);
            }
        }
        Ok(())
    }

    fn schedule_redelivery(&mut self, mut r: Redelivery, error: ConnectError) -> Result<()> {
        let limit = self.setup.connector.long("errors.retry.timeout");
        if limit > 0 && r.first_failure.elapsed() >= Duration::from_millis(limit as u64) {
            return Err(ConnectError::retriable(format!(
                "put kept failing for errors.retry.timeout={limit} ms ({} attempts); giving up",
                r.attempt + 1
            ))
            .with_source(error));
        }
        let delay = self.setup.backoff(r.attempt);
        warn!(error = %error, attempt = r.attempt, ?delay, "put failed; pausing consumption and retrying the batch");
        if r.attempt == 0 {
            r.first_failure = Instant::now();
        }
        r.attempt += 1;
        r.next_attempt = Instant::now() + delay;
        let first = r.attempt == 1;
        self.redelivery = Some(r);
        if first {
            self.hold_or_release()?;
        }
        Ok(())
    }

    /// Commits what is durable, closes the partitions, stops the task, and leaves the group.
    fn shutdown(&mut self, clean: bool) -> Result<()> {
        let mut shared = lock(&self.shared);
        let mut result = Ok(());
        if clean {
            result = commit(self.input.partitions(), &self.handle, &mut shared, None);
        }
        let assigned: Vec<TopicPartition> = std::mem::take(&mut shared.assignment).into_iter().collect();
        if !assigned.is_empty() {
            if let Err(e) = self.handle.block_on(shared.task.close(&assigned)) {
                warn!(error = %e, "closing partitions failed");
            }
        }
        let stopped = self.handle.block_on(shared.task.stop());
        drop(shared);
        self.input.unsubscribe();
        info!("sink task stopped");
        result.and(stopped)
    }
}
