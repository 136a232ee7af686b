//! The loop that runs one sink task: consume -> convert -> put -> pre_commit -> commit offsets.
//!
//! Like Kafka Connect's `WorkerSinkTask`, each sink task owns a thread: the consumer's
//! rebalance callbacks run on it, so partitions taken away are flushed and committed
//! before they go. Consumer offsets are committed only for what `pre_commit` reports durable.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aqueduct_sdk::{
    ConnectError, ErrantRecordReporter, Header, Props, Result, ResultExt, SinkRecord, SinkTask, SinkTaskContext,
    TimestampType, TopicPartition, TopicPartitionOffsets,
};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::producer::FutureProducer;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use tokio::runtime::Handle;
use tracing::{info, warn};

use crate::dead_letter::DeadLetterReporter;
use crate::status::{State, Target};
use crate::task_context::TaskSetup;

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

/// The task and the offsets it was given, shared with the rebalance callbacks.
struct Shared {
    task: Box<dyn SinkTask>,
    /// Next offset after the last record given to `put`, per partition.
    consumed: TopicPartitionOffsets,
    /// Last committed offsets.
    committed: TopicPartitionOffsets,
    assignment: BTreeSet<TopicPartition>,
    /// An error raised inside a rebalance callback, surfaced by the loop.
    failure: Option<ConnectError>,
}

/// Requests from the task through its [`SinkTaskContext`].
#[derive(Default)]
struct Requests {
    pause: Vec<TopicPartition>,
    resume: Vec<TopicPartition>,
    rewind: TopicPartitionOffsets,
    commit: bool,
    assignment: Vec<TopicPartition>,
}

struct TaskContext {
    requests: Mutex<Requests>,
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
}

impl TaskContext {
    fn requests(&self) -> MutexGuard<'_, Requests> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SinkTaskContext for TaskContext {
    fn assignment(&self) -> Vec<TopicPartition> {
        self.requests().assignment.clone()
    }
    fn pause(&self, partitions: &[TopicPartition]) {
        self.requests().pause.extend_from_slice(partitions);
    }
    fn resume(&self, partitions: &[TopicPartition]) {
        self.requests().resume.extend_from_slice(partitions);
    }
    fn rewind(&self, offsets: TopicPartitionOffsets) {
        self.requests().rewind.extend(offsets);
    }
    fn request_commit(&self) {
        self.requests().commit = true;
    }
    fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>> {
        self.reporter.clone()
    }
}

/// The consumer context: runs `pre_commit`/`close` and `open` around rebalances.
struct RebalanceHandler {
    shared: Arc<Mutex<Shared>>,
    context: Arc<TaskContext>,
    handle: Handle,
}

impl ClientContext for RebalanceHandler {}

impl ConsumerContext for RebalanceHandler {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let revoked: Vec<TopicPartition> = to_partitions(tpl);
            let mut shared = lock(&self.shared);
            let revoked: Vec<TopicPartition> =
                revoked.into_iter().filter(|tp| shared.assignment.contains(tp)).collect();
            if revoked.is_empty() {
                return;
            }
            info!(partitions = ?revoked, "partitions revoked");
            let result = commit(consumer, &self.handle, &mut shared, Some(&revoked))
                .and_then(|()| self.handle.block_on(shared.task.close(&revoked)));
            for tp in &revoked {
                shared.assignment.remove(tp);
                shared.consumed.remove(tp);
                shared.committed.remove(tp);
            }
            self.context.requests().assignment = shared.assignment.iter().cloned().collect();
            if let Err(e) = result {
                shared.failure.get_or_insert(e);
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let assigned = to_partitions(tpl);
            info!(partitions = ?assigned, "partitions assigned");
            let mut shared = lock(&self.shared);
            shared.assignment.extend(assigned.iter().cloned());
            self.context.requests().assignment = shared.assignment.iter().cloned().collect();
            if let Err(e) = self.handle.block_on(shared.task.open(&assigned)) {
                shared.failure.get_or_insert(e);
            }
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

fn to_partitions(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements().iter().map(|e| TopicPartition::new(e.topic(), e.partition())).collect()
}

fn to_list(partitions: &[TopicPartition]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for tp in partitions {
        tpl.add_partition(&tp.topic, tp.partition);
    }
    tpl
}

/// Asks the task which offsets are durable (`pre_commit`) and commits those, synchronously.
fn commit(
    consumer: &BaseConsumer<RebalanceHandler>,
    handle: &Handle,
    shared: &mut Shared,
    only: Option<&[TopicPartition]>,
) -> Result<()> {
    let offsets: TopicPartitionOffsets = shared
        .consumed
        .iter()
        .filter(|(tp, _)| only.is_none_or(|only| only.contains(tp)))
        .map(|(tp, o)| (tp.clone(), *o))
        .collect();
    if offsets.is_empty() {
        return Ok(());
    }
    let durable = match handle.block_on(shared.task.pre_commit(&offsets)) {
        Ok(durable) => durable,
        Err(e) if e.is_retriable() => {
            warn!(error = %e, "pre_commit failed; offsets not committed this time");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let mut tpl = TopicPartitionList::new();
    for (tp, offset) in &durable {
        let known = shared.assignment.contains(tp) && offsets.get(tp).is_some_and(|given| offset <= given);
        if known && shared.committed.get(tp) != Some(offset) {
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
                .fatal(|| format!("offset for {tp}"))?;
        }
    }
    if tpl.count() == 0 {
        return Ok(());
    }
    match consumer.commit(&tpl, CommitMode::Sync) {
        Ok(()) => {
            for (tp, offset) in durable {
                if tpl.find_partition(&tp.topic, tp.partition).is_some() {
                    shared.committed.insert(tp, offset);
                }
            }
            Ok(())
        }
        Err(e) => {
            // The records stay uncommitted and may be redelivered: at-least-once holds.
            warn!(error = %e, "committing consumer offsets failed; will retry");
            Ok(())
        }
    }
}

struct SinkWorker {
    setup: TaskSetup,
    handle: Handle,
    consumer: BaseConsumer<RebalanceHandler>,
    shared: Arc<Mutex<Shared>>,
    context: Arc<TaskContext>,
    reporter: DeadLetterReporter,
    paused_by_user: bool,
    paused_by_task: BTreeSet<TopicPartition>,
}

impl SinkWorker {
    fn run(setup: TaskSetup, task: Box<dyn SinkTask>, handle: Handle) -> Result<()> {
        let group = format!("connect-{}", setup.name());
        let overrides = setup.connector.with_prefix("consumer.override.");
        let dlq_producer: Option<FutureProducer> = match setup.connector.string("errors.deadletterqueue.topic.name") {
            "" => None,
            _ => Some(
                setup
                    .clients
                    .producer_config(&Props::new())
                    .create()
                    .fatal(|| "creating dead-letter producer".into())?,
            ),
        };
        let reporter = DeadLetterReporter::new(&setup, dlq_producer);
        let context = Arc::new(TaskContext { requests: Mutex::default(), reporter: Some(Arc::new(reporter.clone())) });
        let shared = Arc::new(Mutex::new(Shared {
            task,
            consumed: TopicPartitionOffsets::new(),
            committed: TopicPartitionOffsets::new(),
            assignment: BTreeSet::new(),
            failure: None,
        }));
        let rebalance = RebalanceHandler { shared: shared.clone(), context: context.clone(), handle: handle.clone() };
        let consumer: BaseConsumer<RebalanceHandler> = setup
            .clients
            .consumer_config(&group, &overrides)
            .create_with_context(rebalance)
            .fatal(|| "creating the Kafka consumer".into())?;
        {
            let mut guard = lock(&shared);
            let ctx: Arc<dyn SinkTaskContext> = context.clone();
            handle.block_on(guard.task.start(ctx, setup.task_props.clone()))?;
        }
        let mut worker = SinkWorker {
            setup,
            handle,
            consumer,
            shared,
            context,
            reporter,
            paused_by_user: false,
            paused_by_task: BTreeSet::new(),
        };
        let result = worker.subscribe().and_then(|()| worker.consume_loop());
        let stopped = worker.shutdown(result.is_ok());
        result.and(stopped)
    }

    fn subscribe(&mut self) -> Result<()> {
        let regex = self.setup.connector.string("topics.regex");
        let topics = self.setup.connector.topics();
        let patterns: Vec<String> = if regex.is_empty() { topics } else { vec![format!("^{regex}")] };
        if patterns.is_empty() {
            return Err(ConnectError::config("Must configure one of topics or topics.regex"));
        }
        let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
        self.consumer.subscribe(&refs).fatal(|| format!("subscribing to {patterns:?}"))?;
        info!(topics = ?patterns, "sink task subscribed");
        Ok(())
    }

    fn consume_loop(&mut self) -> Result<()> {
        let mut next_commit = Instant::now() + self.setup.flush_interval;
        self.setup.status.set(State::Running);
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
            let (batch, positions) = self.poll_batch()?;
            self.put_and_advance(batch, positions)?;
            let requested = std::mem::take(&mut self.context.requests().commit);
            if requested || Instant::now() >= next_commit {
                let mut shared = lock(&self.shared);
                commit(&self.consumer, &self.handle, &mut shared, None)?;
                next_commit = Instant::now() + self.setup.flush_interval;
            }
        }
    }

    fn apply_target(&mut self, target: Target) -> Result<()> {
        let paused = target == Target::Paused;
        if paused == self.paused_by_user {
            return Ok(());
        }
        let assignment = self.consumer.assignment().fatal(|| "reading the assignment".into())?;
        if paused {
            self.consumer.pause(&assignment).fatal(|| "pausing partitions".into())?;
            self.setup.status.set(State::Paused);
        } else {
            let resume: Vec<TopicPartition> =
                to_partitions(&assignment).into_iter().filter(|tp| !self.paused_by_task.contains(tp)).collect();
            self.consumer.resume(&to_list(&resume)).fatal(|| "resuming partitions".into())?;
            self.setup.status.set(State::Running);
        }
        self.paused_by_user = paused;
        Ok(())
    }

    fn apply_requests(&mut self) -> Result<()> {
        let (pause, resume, rewind) = {
            let mut r = self.context.requests();
            (std::mem::take(&mut r.pause), std::mem::take(&mut r.resume), std::mem::take(&mut r.rewind))
        };
        if !pause.is_empty() {
            self.consumer.pause(&to_list(&pause)).fatal(|| "pausing partitions".into())?;
            self.paused_by_task.extend(pause);
        }
        if !resume.is_empty() {
            for tp in &resume {
                self.paused_by_task.remove(tp);
            }
            if !self.paused_by_user {
                self.consumer.resume(&to_list(&resume)).fatal(|| "resuming partitions".into())?;
            }
        }
        if !rewind.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for (tp, offset) in &rewind {
                tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
                    .fatal(|| format!("rewinding {tp}"))?;
            }
            self.consumer.seek_partitions(tpl, Duration::from_secs(10)).fatal(|| "rewinding partitions".into())?;
            let mut shared = lock(&self.shared);
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
            let Some(message) = self.consumer.poll(wait) else { break };
            wait = Duration::ZERO;
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    warn!(error = %e, "consumer error");
                    break;
                }
            };
            self.setup.topics.add(message.topic());
            let tp = TopicPartition::new(message.topic(), message.partition());
            let next = message.offset() + 1;
            match self.convert(&message) {
                Ok(record) => batch.push(record),
                Err(e) => {
                    // Tolerated conversion failures go to the dead-letter topic; otherwise fail.
                    self.handle.block_on(self.reporter.report_raw(&message, e))?;
                }
            }
            positions.insert(tp, next);
        }
        Ok((batch, positions))
    }

    /// Puts the records of partitions still assigned (a rebalance inside `poll` may have taken
    /// some away), then marks their positions as consumed: only records given to `put` can be
    /// offered to `pre_commit`.
    fn put_and_advance(&mut self, mut batch: Vec<SinkRecord>, positions: TopicPartitionOffsets) -> Result<()> {
        let assigned = lock(&self.shared).assignment.clone();
        batch.retain(|r| assigned.contains(&r.topic_partition()));
        if !batch.is_empty() {
            self.put(batch)?;
        }
        let mut shared = lock(&self.shared);
        for (tp, next) in positions {
            if shared.assignment.contains(&tp) {
                shared.consumed.insert(tp, next);
            }
        }
        Ok(())
    }

    fn convert(&self, message: &BorrowedMessage<'_>) -> Result<SinkRecord> {
        let topic = message.topic();
        let (key_schema, key) = self.setup.key_converter.decode(topic, message.key())?;
        let (value_schema, value) = self.setup.value_converter.decode(topic, message.payload())?;
        let (timestamp, timestamp_type) = match message.timestamp() {
            rdkafka::Timestamp::NotAvailable => (None, TimestampType::NoTimestamp),
            rdkafka::Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
            rdkafka::Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
        };
        let headers = message
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| Header {
                        key: h.key.to_owned(),
                        schema: None,
                        value: h.value.map_or(aqueduct_sdk::Value::Null, |v| match std::str::from_utf8(v) {
                            Ok(s) => aqueduct_sdk::Value::String(s.to_owned()),
                            Err(_) => aqueduct_sdk::Value::Bytes(v.to_vec()),
                        }),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(SinkRecord {
            topic: topic.to_owned(),
            kafka_partition: message.partition(),
            kafka_offset: message.offset(),
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            timestamp_type,
            headers,
        })
    }

    /// Gives a batch to the task; a retriable error redelivers the same batch after a backoff,
    /// as Kafka Connect does for `RetriableException`.
    fn put(&mut self, batch: Vec<SinkRecord>) -> Result<()> {
        let mut attempt = 0;
        loop {
            let result = {
                let mut shared = lock(&self.shared);
                self.handle.block_on(shared.task.put(batch.clone()))
            };
            match result {
                Ok(()) => return Ok(()),
                Err(e) if e.is_retriable() => {
                    let delay = self.setup.backoff(attempt);
                    warn!(error = %e, attempt, ?delay, "put failed; retrying the same batch");
                    attempt += 1;
                    std::thread::sleep(delay);
                    if *self.setup.control.borrow() == Target::Shutdown {
                        return Err(ConnectError::retriable("shut down while retrying a failed put").with_source(e));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Commits what is durable, closes the partitions, stops the task, and leaves the group.
    fn shutdown(&mut self, clean: bool) -> Result<()> {
        let mut shared = lock(&self.shared);
        let mut result = Ok(());
        if clean {
            result = commit(&self.consumer, &self.handle, &mut shared, None);
        }
        let assigned: Vec<TopicPartition> = std::mem::take(&mut shared.assignment).into_iter().collect();
        if !assigned.is_empty() {
            if let Err(e) = self.handle.block_on(shared.task.close(&assigned)) {
                warn!(error = %e, "closing partitions failed");
            }
        }
        let stopped = self.handle.block_on(shared.task.stop());
        drop(shared);
        self.consumer.unsubscribe();
        info!("sink task stopped");
        result.and(stopped)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use aqueduct_sdk::async_trait;
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

    use super::*;
    use crate::connector_config::{sink_def, ConnectorConfig};
    use crate::converter::StringConverter;
    use crate::kafka::KafkaClients;
    use crate::status::StatusCell;
    use crate::task_context::ActiveTopics;
    use crate::worker_config::WorkerConfig;

    /// Keeps what it is given; reports durable only offsets below `durable_limit`.
    struct HalfDurable {
        put: Arc<AtomicI64>,
        durable_limit: i64,
    }

    #[async_trait]
    impl SinkTask for HalfDurable {
        async fn start(&mut self, _: Arc<dyn SinkTaskContext>, _: Props) -> Result<()> {
            Ok(())
        }
        async fn put(&mut self, records: Vec<SinkRecord>) -> Result<()> {
            self.put.fetch_add(records.len() as i64, Ordering::SeqCst);
            Ok(())
        }
        async fn pre_commit(&mut self, offsets: &TopicPartitionOffsets) -> Result<TopicPartitionOffsets> {
            Ok(offsets.iter().map(|(tp, o)| (tp.clone(), (*o).min(self.durable_limit))).collect())
        }
    }

    #[test]
    fn commits_only_what_pre_commit_reports_durable() {
        let cluster = MockCluster::new(1).expect("mock cluster");
        let bootstrap = cluster.bootstrap_servers();
        let producer: ThreadedProducer<DefaultProducerContext> =
            rdkafka::ClientConfig::new().set("bootstrap.servers", &bootstrap).create().expect("producer");
        for i in 0..100 {
            let payload = format!("r{i}");
            producer.send(BaseRecord::<(), _>::to("t").payload(&payload).partition(0)).expect("queued");
        }
        producer.flush(Duration::from_secs(10)).expect("flushed");

        let worker = WorkerConfig::from_props(Props::from([("bootstrap.servers".to_owned(), bootstrap.clone())]))
            .expect("worker config");
        let props: Props = [("name", "half"), ("connector.class", "X"), ("topics", "t")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        let (control, control_rx) = tokio::sync::watch::channel(Target::Running);
        let setup = TaskSetup {
            connector: ConnectorConfig::parse(&sink_def(), &props).expect("valid"),
            task_id: 0,
            task_props: props,
            key_converter: Arc::new(StringConverter),
            value_converter: Arc::new(StringConverter),
            clients: KafkaClients::new(&worker),
            status: StatusCell::new(State::Unassigned),
            control: control_rx,
            topics: ActiveTopics::default(),
            flush_interval: Duration::from_millis(200),
            flush_timeout: Duration::from_secs(1),
        };
        let put = Arc::new(AtomicI64::new(0));
        let task = Box::new(HalfDurable { put: put.clone(), durable_limit: 40 });
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let handle = rt.handle().clone();
        let thread = std::thread::spawn(move || run(setup, task, handle));

        let deadline = Instant::now() + Duration::from_secs(60);
        while put.load(Ordering::SeqCst) < 100 {
            assert!(Instant::now() < deadline, "records not delivered to put");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(600)); // a few commit intervals
        control.send(Target::Shutdown).expect("task listening");
        thread.join().expect("sink thread");

        let probe: BaseConsumer =
            KafkaClients::new(&worker).consumer_config("connect-half", &Props::new()).create().expect("probe");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition("t", 0);
        let committed = probe.committed_offsets(tpl, Duration::from_secs(10)).expect("committed offsets");
        let offset = committed.find_partition("t", 0).map(|e| e.offset());
        assert_eq!(offset, Some(Offset::Offset(40)), "100 records put, 40 durable: commit must stop at 40");
    }
}
