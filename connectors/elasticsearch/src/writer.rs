//! The asynchronous bulk writer: a queue of encoded writes, a dispatcher that cuts them into
//! bulk requests (`batch.size`, `bulk.size.bytes`, `linger.ms`) with at most
//! `max.in.flight.requests` in flight, and per-item handling of each answer (retries with
//! backoff, malformed documents, settled offsets).
//!
//! Order: writes to one document (index + id) reach Elasticsearch in record order. A batch stops
//! before a write whose document has a write in flight, and a retried item takes every later
//! write to its document in the same bulk with it. So concurrent bulks never reorder a key's
//! upserts and deletes, and a replay after a crash applies them in order again.
//!
//! Offsets: a write's offset is settled only when its item is acknowledged (or its record was
//! dead-lettered or ignored as configured); see [`crate::offsets`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aqueduct_sdk::{
    ConnectError, ErrantRecordReporter, SinkRecord, SinkTaskContext, TopicPartition, TopicPartitionOffsets,
};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::{debug, error, warn, Instrument};

use crate::bulk::{outcomes, BulkOp, Outcome};
use crate::client::EsClient;
use crate::config::{MalformedDocs, SinkConfig};
use crate::offsets::Outstanding;
use crate::retry;

/// One record's write, waiting or in flight.
pub struct Write {
    /// The encoded operation.
    pub op: BulkOp,
    /// The record, for the dead-letter queue.
    pub record: Arc<SinkRecord>,
    /// Where it was read.
    pub tp: TopicPartition,
    queued_at: Instant,
}

impl Write {
    /// A write of `record`.
    pub fn new(op: BulkOp, record: SinkRecord) -> Write {
        let tp = record.topic_partition();
        Write { op, record: Arc::new(record), tp, queued_at: Instant::now() }
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<Write>,
    in_flight: usize,
    /// Writes in flight per document.
    busy: HashMap<(String, String), usize>,
    outstanding: Outstanding,
    /// Writes queued or in flight.
    buffered: usize,
    failure: Option<ConnectError>,
    paused: Vec<TopicPartition>,
    sends: Vec<JoinHandle<()>>,
}

struct Shared {
    config: Arc<SinkConfig>,
    client: EsClient,
    context: Arc<dyn SinkTaskContext>,
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
    state: Mutex<State>,
    /// Wakes the dispatcher (new writes, a finished bulk).
    dispatch: Notify,
    /// Wakes waiters for progress (flushes, closes).
    progress: Notify,
}

/// The writer of one task.
pub struct Writer {
    shared: Arc<Shared>,
    dispatcher: JoinHandle<()>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Writer {
    /// Starts the dispatcher on the current runtime.
    pub fn start(config: Arc<SinkConfig>, client: EsClient, context: Arc<dyn SinkTaskContext>) -> Writer {
        let reporter = context.errant_record_reporter();
        let shared = Arc::new(Shared {
            config,
            client,
            context,
            reporter,
            state: Mutex::default(),
            dispatch: Notify::new(),
            progress: Notify::new(),
        });
        let dispatcher = tokio::spawn(dispatch(shared.clone()).instrument(tracing::Span::current()));
        Writer { shared, dispatcher }
    }

    /// The first fatal error of a bulk, if any: the task must fail.
    pub fn failure(&self) -> Option<ConnectError> {
        lock(&self.shared.state).failure.as_ref().map(|e| ConnectError::new(e.kind(), e.to_string()))
    }

    /// Queues writes (in record order); pauses the task's partitions when the buffer is full.
    pub fn enqueue(&self, writes: Vec<Write>) {
        if writes.is_empty() {
            return;
        }
        let mut st = lock(&self.shared.state);
        for w in &writes {
            st.outstanding.add(&w.tp, w.record.kafka_offset);
        }
        st.buffered += writes.len();
        st.queue.extend(writes);
        if st.buffered >= self.shared.config.max_buffered && st.paused.is_empty() {
            let assignment = self.shared.context.assignment();
            debug!(connector = %self.shared.config.name, buffered = st.buffered, "buffer full: pausing partitions");
            self.shared.context.pause(&assignment);
            st.paused = assignment;
        }
        drop(st);
        self.shared.dispatch.notify_one();
    }

    /// Writes queued or in flight.
    pub fn buffered(&self) -> usize {
        lock(&self.shared.state).buffered
    }

    /// The offsets up to which every record is settled, for the partitions of `given`.
    pub fn committable(&self, given: &TopicPartitionOffsets) -> TopicPartitionOffsets {
        lock(&self.shared.state).outstanding.committable(given)
    }

    /// Waits until `done` holds, a bulk failed, or `timeout` passed; true when `done` held.
    async fn wait_for(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.progress.notified();
            {
                let st = lock(&self.shared.state);
                if done(&st) {
                    return true;
                }
                if st.failure.is_some() || Instant::now() >= deadline {
                    return false;
                }
            }
            let _ = tokio::time::timeout(Duration::from_millis(50).min(deadline - Instant::now()), notified).await;
        }
    }

    /// Waits until every queued write is settled (bounded by `flush.timeout.ms`).
    pub async fn flush(&self) -> aqueduct_sdk::Result<()> {
        if self.wait_for(self.shared.config.flush_timeout, |st| st.buffered == 0).await {
            return Ok(());
        }
        match self.failure() {
            Some(e) => Err(e),
            None => Err(ConnectError::retriable(format!(
                "flush.timeout.ms={} passed with {} records still buffered",
                self.shared.config.flush_timeout.as_millis(),
                self.buffered()
            ))),
        }
    }

    /// Drops the queued writes of `partitions` and waits (bounded) for their writes in flight.
    pub async fn close(&self, partitions: &[TopicPartition]) {
        let closing: HashSet<&TopicPartition> = partitions.iter().collect();
        {
            let mut st = lock(&self.shared.state);
            let (dropped, kept): (VecDeque<Write>, VecDeque<Write>) =
                std::mem::take(&mut st.queue).into_iter().partition(|w| closing.contains(&w.tp));
            st.queue = kept;
            st.buffered -= dropped.len();
            for w in &dropped {
                st.outstanding.settle(&w.tp, w.record.kafka_offset);
            }
            st.paused.retain(|tp| !closing.contains(tp));
        }
        // What stays outstanding for them is in flight.
        let settled = self
            .wait_for(self.shared.config.flush_timeout, |st| partitions.iter().all(|tp| st.outstanding.count(tp) == 0))
            .await;
        if !settled {
            warn!(connector = %self.shared.config.name, ?partitions, "closing partitions with writes still in flight");
        }
        let mut st = lock(&self.shared.state);
        for tp in partitions {
            st.outstanding.remove(tp);
        }
    }

    /// Stops the dispatcher and abandons what is in flight (its offsets are not committed).
    pub fn stop(&self) {
        self.dispatcher.abort();
        let mut st = lock(&self.shared.state);
        for send in st.sends.drain(..) {
            send.abort();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the dispatcher does next.
enum Next {
    Send(Vec<Write>),
    Wait(Option<Duration>),
}

async fn dispatch(shared: Arc<Shared>) {
    loop {
        let next = next_batch(&shared);
        match next {
            Next::Send(batch) => {
                let s = shared.clone();
                let send = tokio::spawn(send(s, batch).instrument(tracing::Span::current()));
                let mut st = lock(&shared.state);
                st.sends.retain(|h| !h.is_finished());
                st.sends.push(send);
            }
            Next::Wait(None) => shared.dispatch.notified().await,
            Next::Wait(Some(d)) => {
                let _ = tokio::time::timeout(d, shared.dispatch.notified()).await;
            }
        }
    }
}

fn next_batch(shared: &Shared) -> Next {
    let config = &shared.config;
    let mut st = lock(&shared.state);
    if st.failure.is_some() || st.in_flight >= config.max_in_flight {
        return Next::Wait(None);
    }
    let Some(oldest) = st.queue.front().map(|w| w.queued_at) else { return Next::Wait(None) };
    if st.queue.len() < config.batch_size {
        let lingered = oldest.elapsed();
        if lingered < config.linger {
            return Next::Wait(Some(config.linger - lingered));
        }
    }
    let mut batch = Vec::new();
    let mut bytes = 0;
    while let Some(front) = st.queue.front() {
        let too_big = config.bulk_size_bytes.is_some_and(|max| bytes + front.op.lines.len() > max);
        let busy = front.op.doc.as_ref().is_some_and(|doc| st.busy.contains_key(doc));
        if batch.len() >= config.batch_size || (too_big && !batch.is_empty()) || busy {
            break;
        }
        bytes += front.op.lines.len();
        batch.extend(st.queue.pop_front());
    }
    if batch.is_empty() {
        // The next write's document has a write in flight: wait for it to finish.
        return Next::Wait(None);
    }
    for w in &batch {
        if let Some(doc) = &w.op.doc {
            *st.busy.entry(doc.clone()).or_default() += 1;
        }
    }
    st.in_flight += 1;
    Next::Send(batch)
}

/// Sends one batch until every item is settled, retrying what failed transiently.
async fn send(shared: Arc<Shared>, mut batch: Vec<Write>) {
    let config = shared.config.clone();
    let mut attempt = 0u32;
    while !batch.is_empty() {
        let body: Vec<u8> = batch.iter().flat_map(|w| w.op.lines.iter().copied()).collect();
        let answer = shared.client.bulk(body).await;
        let retry_reason = match answer {
            Err(e) if !e.retriable => {
                return fail(&shared, ConnectError::fatal(format!("bulk request failed: {}", e.message)))
            }
            Err(e) => Some(e.message),
            Ok(body) => {
                let ops: Vec<&BulkOp> = batch.iter().map(|w| &w.op).collect();
                let results = match outcomes(&body, &ops) {
                    Ok(r) => r,
                    Err(e) => return fail(&shared, ConnectError::fatal(e)),
                };
                let mut retry = Vec::new();
                let mut settled = Vec::new();
                let mut retried_docs: HashSet<(String, String)> = HashSet::new();
                let mut reason = None;
                for (w, outcome) in batch.drain(..).zip(results) {
                    let follows_retry = w.op.doc.as_ref().is_some_and(|d| retried_docs.contains(d));
                    match outcome {
                        Outcome::Retry(why) => {
                            retried_docs.extend(w.op.doc.clone());
                            reason.get_or_insert(why);
                            retry.push(w);
                        }
                        _ if follows_retry => retry.push(w),
                        Outcome::Done => settled.push(w),
                        Outcome::Malformed(why) => match malformed(&shared, &w, &why).await {
                            Ok(()) => settled.push(w),
                            Err(e) => return fail(&shared, e),
                        },
                        Outcome::Failed(why) => {
                            let r = &w.record;
                            return fail(
                                &shared,
                                ConnectError::fatal(format!(
                                    "Indexing record {}-{}@{} failed: {why}",
                                    r.topic, r.kafka_partition, r.kafka_offset
                                )),
                            );
                        }
                    }
                }
                settle(&shared, settled);
                batch = retry;
                reason
            }
        };
        let Some(reason) = retry_reason else { break };
        if attempt >= config.max_retries {
            return fail(
                &shared,
                ConnectError::fatal(format!(
                    "bulk of {} writes still failing after max.retries={}: {reason}",
                    batch.len(),
                    config.max_retries
                )),
            );
        }
        let wait = retry::wait(attempt, config.retry_backoff);
        warn!(connector = %config.name, attempt = attempt + 1, writes = batch.len(), ?wait, error = %reason,
            "bulk failed; retrying");
        attempt += 1;
        tokio::time::sleep(wait).await;
    }
    let mut st = lock(&shared.state);
    st.in_flight -= 1;
    drop(st);
    shared.dispatch.notify_one();
    shared.progress.notify_waiters();
}

/// Handles a document Elasticsearch refused as malformed; `Err` fails the task.
async fn malformed(shared: &Shared, w: &Write, why: &str) -> aqueduct_sdk::Result<()> {
    let r = &w.record;
    let error = ConnectError::data(format!(
        "Elasticsearch refused record {}-{}@{} as malformed: {why}",
        r.topic, r.kafka_partition, r.kafka_offset
    ));
    let reported = match &shared.reporter {
        Some(reporter) => reporter.report(r, &error).await,
        None => Err(ConnectError::data("no errant record reporter")),
    };
    match shared.config.malformed {
        MalformedDocs::Ignore => debug!(connector = %shared.config.name, error = %error, "ignoring malformed document"),
        MalformedDocs::Warn => warn!(connector = %shared.config.name, error = %error,
            dead_lettered = reported.is_ok(), "ignoring malformed document (behavior.on.malformed.documents=warn)"),
        MalformedDocs::Fail => {
            error!(connector = %shared.config.name, error = %error,
                "malformed document; to skip such records set behavior.on.malformed.documents to warn or ignore");
            return Err(error);
        }
    }
    Ok(())
}

/// Settles acknowledged writes: offsets, documents no longer busy, buffer space.
fn settle(shared: &Shared, writes: Vec<Write>) {
    if writes.is_empty() {
        return;
    }
    let mut st = lock(&shared.state);
    for w in &writes {
        st.outstanding.settle(&w.tp, w.record.kafka_offset);
        if let Some(doc) = &w.op.doc {
            if let Some(n) = st.busy.get_mut(doc) {
                *n -= 1;
                if *n == 0 {
                    st.busy.remove(doc);
                }
            }
        }
    }
    st.buffered -= writes.len();
    if !st.paused.is_empty() && st.buffered < shared.config.max_buffered {
        let paused = std::mem::take(&mut st.paused);
        debug!(connector = %shared.config.name, buffered = st.buffered, "buffer has room: resuming partitions");
        shared.context.resume(&paused);
    }
    drop(st);
    shared.dispatch.notify_one();
    shared.progress.notify_waiters();
}

fn fail(shared: &Shared, error: ConnectError) {
    error!(connector = %shared.config.name, error = %error, "bulk write failed; the task will fail");
    let mut st = lock(&shared.state);
    st.failure.get_or_insert(error);
    st.in_flight -= 1;
    drop(st);
    shared.progress.notify_waiters();
}
