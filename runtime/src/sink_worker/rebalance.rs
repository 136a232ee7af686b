//! What the sink loop shares with the consumer's rebalance callbacks, and the commit step.
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
        let revoked: Vec<TopicPartition> =
            to_partitions(tpl).into_iter().filter(|tp| shared.assignment.contains(tp)).collect();
        if revoked.is_empty() {
            return;
        }
        let result = if consumer.assignment_lost() {
            // Another member may own them already: nothing more is committed for them.
            warn!(partitions = ?revoked, "partitions lost; closing them without committing");
            self.handle.block_on(shared.task.close(&revoked))
        } else {
            info!(partitions = ?revoked, "partitions revoked");
            commit(consumer, &self.handle, &mut shared, Some(&revoked))
                .and_then(|()| self.handle.block_on(shared.task.close(&revoked)))
        };
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

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(tpl) = rebalance else { return };
        let assigned = to_partitions(tpl);
        info!(partitions = ?assigned, "partitions assigned");
        let mut shared = lock(&self.shared);
        shared.assignment.extend(assigned.iter().cloned());
        self.context.requests().assignment = shared.assignment.iter().cloned().collect();
        let hold: Vec<TopicPartition> =
            assigned.iter().filter(|tp| shared.pause_all || shared.paused_by_task.contains(tp)).cloned().collect();
        if !hold.is_empty() {
            if let Err(e) = consumer.pause(&to_list(&hold)) {
                shared.failure.get_or_insert(ConnectError::fatal("pausing assigned partitions").with_source(e));
            }
        }
        if let Err(e) = self.handle.block_on(shared.task.open(&assigned)) {
            shared.failure.get_or_insert(e);
        }
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
