//! What the sink loop shares with the consumer's rebalance callbacks, and the commit step.
//!
//! The same steps serve the embedded transport, whose polls report assignment changes.
//!
//! An orderly revoke commits what `pre_commit` reports durable before the partitions go; lost
//! partitions (the consumer left the group, or its session expired) are closed without any
//! commit, since another member may already own them. Newly assigned partitions are paused
//! at once while the task is paused (by the user or for a redelivery) or asked for it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aqueduct_sdk::{ConnectError, Result, ResultExt, SinkTask, TopicPartition, TopicPartitionOffsets};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::runtime::Handle;
use tracing::{info, warn};

use super::context::TaskContext;
use crate::embedded::Member;

/// The task and the offsets it was given, shared with the rebalance callbacks.
pub(super) struct Shared {
    pub task: Box<dyn SinkTask>,
    /// Next offset after the last record given to `put`, per partition.
    pub consumed: TopicPartitionOffsets,
    /// Last committed offsets.
    pub committed: TopicPartitionOffsets,
    pub assignment: BTreeSet<TopicPartition>,
    /// Every partition stays paused: the connector is PAUSED, or a batch awaits redelivery.
    pub pause_all: bool,
    /// Partitions the task asked to pause.
    pub paused_by_task: BTreeSet<TopicPartition>,
    /// An error raised inside a rebalance callback, surfaced by the loop.
    pub failure: Option<ConnectError>,
}

impl Shared {
    pub fn new(task: Box<dyn SinkTask>) -> Self {
        Shared {
            task,
            consumed: TopicPartitionOffsets::new(),
            committed: TopicPartitionOffsets::new(),
            assignment: BTreeSet::new(),
            pause_all: false,
            paused_by_task: BTreeSet::new(),
            failure: None,
        }
    }

    /// Whether records of `tp` may be given to the task now.
    pub fn flowing(&self, tp: &TopicPartition) -> bool {
        !self.pause_all && !self.paused_by_task.contains(tp) && self.assignment.contains(tp)
    }
}

/// The consumer context: runs `pre_commit`/`close` and `open` around rebalances.
pub(super) struct RebalanceHandler {
    pub shared: Arc<Mutex<Shared>>,
    pub context: Arc<TaskContext>,
    pub handle: Handle,
}

impl ClientContext for RebalanceHandler {}

impl ConsumerContext for RebalanceHandler {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else { return };
        let mut shared = lock(&self.shared);
        revoked(consumer, &self.handle, &mut shared, &self.context, to_partitions(tpl), consumer.assignment_lost());
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(tpl) = rebalance else { return };
        let mut shared = lock(&self.shared);
        assigned(consumer, &self.handle, &mut shared, &self.context, to_partitions(tpl));
    }
}

/// What the rebalance steps and the commit need from the task's consumer, Kafka's or the
/// embedded transport's.
pub(super) trait Partitions {
    /// Stops fetching `partitions`.
    fn pause(&self, partitions: &[TopicPartition]) -> Result<()>;
    /// Commits `offsets` synchronously; an error is logged and retried at the next commit.
    fn commit_offsets(&self, offsets: &TopicPartitionOffsets) -> std::result::Result<(), String>;
}

impl Partitions for BaseConsumer<RebalanceHandler> {
    fn pause(&self, partitions: &[TopicPartition]) -> Result<()> {
        Consumer::pause(self, &to_list(partitions)).fatal(|| "pausing partitions".into())
    }
    fn commit_offsets(&self, offsets: &TopicPartitionOffsets) -> std::result::Result<(), String> {
        let mut tpl = TopicPartitionList::new();
        for (tp, offset) in offsets {
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
                .map_err(|e| format!("offset for {tp}: {e}"))?;
        }
        self.commit(&tpl, CommitMode::Sync).map_err(|e| e.to_string())
    }
}

impl Partitions for Member {
    fn pause(&self, partitions: &[TopicPartition]) -> Result<()> {
        Member::pause(self, partitions);
        Ok(())
    }
    fn commit_offsets(&self, offsets: &TopicPartitionOffsets) -> std::result::Result<(), String> {
        self.commit(offsets);
        Ok(())
    }
}

/// Partitions taken away: an orderly revoke commits what is durable first; lost partitions
/// are closed without any commit.
pub(super) fn revoked(
    consumer: &dyn Partitions,
    handle: &Handle,
    shared: &mut Shared,
    context: &TaskContext,
    partitions: Vec<TopicPartition>,
    lost: bool,
) {
    let revoked: Vec<TopicPartition> = partitions.into_iter().filter(|tp| shared.assignment.contains(tp)).collect();
    if revoked.is_empty() {
        return;
    }
    let result = if lost {
        // Another member may own them already: nothing more is committed for them.
        warn!(partitions = ?revoked, "partitions lost; closing them without committing");
        handle.block_on(shared.task.close(&revoked))
    } else {
        info!(partitions = ?revoked, "partitions revoked");
        commit(consumer, handle, shared, Some(&revoked)).and_then(|()| handle.block_on(shared.task.close(&revoked)))
    };
    for tp in &revoked {
        shared.assignment.remove(tp);
        shared.consumed.remove(tp);
        shared.committed.remove(tp);
    }
    context.requests().assignment = shared.assignment.iter().cloned().collect();
    if let Err(e) = result {
        shared.failure.get_or_insert(e);
    }
}

/// Partitions given to the task: held at once when it is paused, then opened.
pub(super) fn assigned(
    consumer: &dyn Partitions,
    handle: &Handle,
    shared: &mut Shared,
    context: &TaskContext,
    assigned: Vec<TopicPartition>,
) {
    info!(partitions = ?assigned, "partitions assigned");
    shared.assignment.extend(assigned.iter().cloned());
    context.requests().assignment = shared.assignment.iter().cloned().collect();
    let hold: Vec<TopicPartition> =
        assigned.iter().filter(|tp| shared.pause_all || shared.paused_by_task.contains(tp)).cloned().collect();
    if !hold.is_empty() {
        if let Err(e) = consumer.pause(&hold) {
            shared.failure.get_or_insert(ConnectError::fatal("pausing assigned partitions").with_source(e));
        }
    }
    if let Err(e) = handle.block_on(shared.task.open(&assigned)) {
        shared.failure.get_or_insert(e);
    }
}

pub(super) fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn to_partitions(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements().iter().map(|e| TopicPartition::new(e.topic(), e.partition())).collect()
}

pub(super) fn to_list<'a>(partitions: impl IntoIterator<Item = &'a TopicPartition>) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for tp in partitions {
        tpl.add_partition(&tp.topic, tp.partition);
    }
    tpl
}

/// Asks the task which offsets are durable (`pre_commit`) and commits those, synchronously.
pub(super) fn commit(
    consumer: &dyn Partitions,
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
    let changed: TopicPartitionOffsets = durable
        .into_iter()
        .filter(|(tp, offset)| {
            let known = shared.assignment.contains(tp) && offsets.get(tp).is_some_and(|given| offset <= given);
            known && shared.committed.get(tp) != Some(offset)
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    match consumer.commit_offsets(&changed) {
        Ok(()) => {
            shared.committed.extend(changed);
            Ok(())
        }
        Err(e) => {
            // The records stay uncommitted and may be redelivered: at-least-once holds.
            warn!(error = %e, "committing consumer offsets failed; will retry");
            Ok(())
        }
    }
}
