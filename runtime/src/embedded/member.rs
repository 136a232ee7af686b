//! A sink task's membership in its group: the partitions it owns, its read positions, and
//! its commits (which release the records' holds and acknowledge their sources).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_sdk::{TopicPartition, TopicPartitionOffsets};
use tracing::debug;

use super::bus::{Bus, State};
use super::record::EmbeddedRecord;

/// What one member keeps in the bus.
#[derive(Default)]
pub(super) struct MemberState {
    pub owned: BTreeSet<TopicPartition>,
    pub paused: BTreeSet<TopicPartition>,
    /// Next offset to hand to the task, per owned partition.
    pub positions: HashMap<TopicPartition, i64>,
    /// A source is waiting for this group's commits.
    pub commit_wanted: bool,
}

/// What a poll found: partitions to give up (commit and close them, then
/// [`Member::release`]), partitions now owned, or records.
#[derive(Debug)]
pub enum Polled {
    /// The group wants these partitions elsewhere.
    Revoked(Vec<TopicPartition>),
    /// Newly owned partitions, positioned at the group's committed offsets.
    Assigned(Vec<TopicPartition>),
    /// Records, possibly none.
    Records(Vec<Arc<EmbeddedRecord>>),
}

/// A sink task's handle on its group; leaves the group when dropped (its partitions go to
/// the other tasks, its group's holds stay).
pub struct Member {
    bus: Arc<Bus>,
    group: String,
    key: (u32, u64),
}

impl Member {
    pub(super) fn new(bus: Arc<Bus>, group: String, key: (u32, u64)) -> Self {
        Member { bus, group, key }
    }

    /// The group's name.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Waits up to `wait` for a change of assignment or for records (at most `max`).
    pub fn poll(&self, wait: Duration, max: usize) -> Polled {
        let deadline = Instant::now() + wait;
        let mut state = self.bus.lock();
        loop {
            if let Some(polled) = self.step(&mut state, max) {
                return polled;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Polled::Records(Vec::new());
            }
            state = match self.bus.data.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn step(&self, state: &mut State, max: usize) -> Option<Polled> {
        let target = state.target(&self.group, self.key);
        let others: BTreeSet<TopicPartition> = state
            .groups
            .get(&self.group)?
            .members
            .iter()
            .filter(|(k, _)| **k != self.key)
            .flat_map(|(_, m)| m.owned.iter().cloned())
            .collect();
        let State { topics, groups, .. } = state;
        let group = groups.get_mut(&self.group)?;
        let committed = &group.committed;
        let me = group.members.get_mut(&self.key)?;
        let revoked: Vec<TopicPartition> = me.owned.difference(&target).cloned().collect();
        if !revoked.is_empty() {
            return Some(Polled::Revoked(revoked));
        }
        let assigned: Vec<TopicPartition> =
            target.difference(&me.owned).filter(|tp| !others.contains(tp)).cloned().collect();
        if !assigned.is_empty() {
            for tp in &assigned {
                let start = topics.get(&tp.topic).map_or(0, |t| t.partitions[tp.partition as usize].start());
                let position = committed.get(tp).copied().unwrap_or(start).max(start);
                me.positions.insert(tp.clone(), position);
                me.owned.insert(tp.clone());
            }
            return Some(Polled::Assigned(assigned));
        }
        let mut records = Vec::new();
        for tp in me.owned.iter().filter(|tp| !me.paused.contains(*tp)) {
            if records.len() >= max {
                break;
            }
            let Some(log) = topics.get(&tp.topic).and_then(|t| t.partitions.get(tp.partition as usize)) else {
                continue;
            };
            let position = me.positions.get(tp).copied().unwrap_or_else(|| log.start()).max(log.start());
            let found = log.read(position, max - records.len());
            if let Some(last) = found.last() {
                me.positions.insert(tp.clone(), last.offset + 1);
                records.extend(found);
            }
        }
        (!records.is_empty()).then_some(Polled::Records(records))
    }

    /// Gives up partitions after [`Polled::Revoked`] (their commit and close are done).
    pub fn release(&self, partitions: &[TopicPartition]) {
        self.with_me(|me| {
            for tp in partitions {
                me.owned.remove(tp);
                me.positions.remove(tp);
                me.paused.remove(tp);
            }
        });
        self.bus.data.notify_all();
    }

    /// Stops handing out records of `partitions`.
    pub fn pause(&self, partitions: &[TopicPartition]) {
        self.with_me(|me| me.paused.extend(partitions.iter().filter(|tp| me.owned.contains(*tp)).cloned()));
    }

    /// Hands out records of `partitions` again.
    pub fn resume(&self, partitions: &[TopicPartition]) {
        self.with_me(|me| {
            for tp in partitions {
                me.paused.remove(tp);
            }
        });
    }

    /// Reads `tp` from `offset` next (not before the oldest record kept).
    pub fn seek(&self, tp: &TopicPartition, offset: i64) {
        self.with_me(|me| {
            if me.owned.contains(tp) {
                me.positions.insert(tp.clone(), offset);
            }
        });
    }

    /// Commits `offsets` (next offset to read, per owned partition): the group's holds on
    /// every record below them go, which acknowledges records no other group holds.
    pub fn commit(&self, offsets: &TopicPartitionOffsets) {
        let mut state = self.bus.lock();
        let State { topics, groups, .. } = &mut *state;
        let Some(group) = groups.get_mut(&self.group) else { return };
        let Some(me) = group.members.get_mut(&self.key) else { return };
        me.commit_wanted = false;
        let mut dropped = 0;
        for (tp, offset) in offsets {
            if !me.owned.contains(tp) {
                continue;
            }
            let entry = group.committed.entry(tp.clone()).or_insert(*offset);
            *entry = (*entry).max(*offset);
            if let Some(log) = topics.get_mut(&tp.topic).and_then(|t| t.partitions.get_mut(tp.partition as usize)) {
                dropped += log.release(&group.name, *offset);
            }
        }
        drop(state);
        debug!(group = %self.group, dropped, "embedded offsets committed");
        self.bus.freed(dropped);
    }

    /// Whether the task should commit now rather than at its next interval: a source waits
    /// for this group, or a topic it reads is half full with records this task has read.
    pub fn wants_commit(&self) -> bool {
        let half = self.bus.settings().max_records.div_ceil(2);
        let state = self.bus.lock();
        let Some(group) = state.groups.get(&self.group) else { return false };
        let Some(me) = group.members.get(&self.key) else { return false };
        me.commit_wanted
            || me.positions.iter().any(|(tp, position)| {
                let Some(topic) = state.topics.get(&tp.topic) else { return false };
                let start = topic.partitions.get(tp.partition as usize).map_or(0, |p| p.start());
                let read_ahead = *position > group.committed.get(tp).copied().unwrap_or(start).max(start);
                read_ahead && topic.retained() >= half
            })
    }

    fn with_me(&self, f: impl FnOnce(&mut MemberState)) {
        let mut state = self.bus.lock();
        if let Some(me) = state.groups.get_mut(&self.group).and_then(|g| g.members.get_mut(&self.key)) {
            f(me);
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let mut state = self.bus.lock();
        if let Some(g) = state.groups.get_mut(&self.group) {
            g.members.remove(&self.key);
        }
        drop(state);
        self.bus.data.notify_all();
    }
}
