//! The in-process topics of an embedded worker and the sink groups reading them.
//!
//! A topic is a set of partition logs bounded together by `embedded.buffer.max.records`: a
//! record is kept until every sink group subscribed to its topic when it was sent has
//! committed it (`pre_commit` covered it), and its source is acknowledged then. A source
//! sending to a full topic waits (back-pressure). Groups are sink connectors: they stay
//! registered while their tasks are paused, stopped or failed (holding their records, so the
//! source's stored offsets stop advancing and nothing is lost), and release everything when
//! the connector is deleted or no longer subscribes to the topic.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use aqueduct_sdk::{ConnectError, RecordMetadata, Result, TopicPartition};
use futures::channel::oneshot;
use tokio::sync::Notify;
use tracing::info;

use super::log::PartitionLog;
use super::member::{Member, MemberState};
use super::record::{partition_for, EmbeddedRecord, Payload};
use super::subscription::{share, Subscription};
use super::EmbeddedSettings;

pub(super) struct Topic {
    pub partitions: Vec<PartitionLog>,
    round_robin: u32,
}

impl Topic {
    /// Records retained over all partitions.
    pub fn retained(&self) -> usize {
        self.partitions.iter().map(PartitionLog::len).sum()
    }
}

pub(super) struct Group {
    pub name: Arc<str>,
    pub subscription: Subscription,
    /// Next offset to read per partition, as last committed.
    pub committed: HashMap<TopicPartition, i64>,
    /// Tasks reading for the group, by (task id, join sequence).
    pub members: BTreeMap<(u32, u64), MemberState>,
}

#[derive(Default)]
pub(super) struct State {
    pub topics: BTreeMap<String, Topic>,
    pub groups: BTreeMap<String, Group>,
    next_member: u64,
}

impl State {
    /// The groups subscribed to `topic` now.
    fn holds(&self, topic: &str) -> Vec<Arc<str>> {
        self.groups.values().filter(|g| g.subscription.matches(topic)).map(|g| g.name.clone()).collect()
    }

    /// Every partition `group` reads, sorted.
    fn partitions_of(&self, group: &Group) -> Vec<TopicPartition> {
        self.topics
            .iter()
            .filter(|(name, _)| group.subscription.matches(name))
            .flat_map(|(name, t)| (0..t.partitions.len() as i32).map(move |p| TopicPartition::new(name, p)))
            .collect()
    }

    /// The partitions member `key` of `group` should own.
    pub fn target(&self, group: &str, key: (u32, u64)) -> BTreeSet<TopicPartition> {
        let Some(g) = self.groups.get(group) else { return BTreeSet::new() };
        let Some(index) = g.members.keys().position(|k| *k == key) else { return BTreeSet::new() };
        share(&self.partitions_of(g), g.members.len(), index)
    }

    /// Drops `group`'s holds on every partition of `topic`; returns how many records went.
    fn release_topic(&mut self, group: &str, topic: &str) -> usize {
        let Some(t) = self.topics.get_mut(topic) else { return 0 };
        t.partitions.iter_mut().map(|p| p.release(group, i64::MAX)).sum()
    }
}

/// The embedded transport of one worker: topics, groups, and the signals between them.
pub struct Bus {
    state: Mutex<State>,
    /// Wakes sink tasks: new records, new topics, membership changes.
    pub(super) data: Condvar,
    /// Wakes sources waiting for room.
    room: Notify,
    settings: EmbeddedSettings,
}

impl Bus {
    /// An empty bus.
    pub fn new(settings: EmbeddedSettings) -> Arc<Self> {
        Arc::new(Bus { state: Mutex::default(), data: Condvar::new(), room: Notify::new(), settings })
    }

    /// Its settings.
    pub fn settings(&self) -> &EmbeddedSettings {
        &self.settings
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes sources waiting for room after records were dropped.
    pub(super) fn freed(&self, dropped: usize) {
        if dropped > 0 {
            self.room.notify_waiters();
        }
    }

    /// Creates `topic` with `partitions` partitions unless it exists.
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        let mut state = self.lock();
        if state.topics.contains_key(topic) {
            return;
        }
        let partitions = (0..partitions.max(1)).map(|_| PartitionLog::default()).collect();
        state.topics.insert(topic.to_owned(), Topic { partitions, round_robin: 0 });
        drop(state);
        info!(topic, "created embedded topic");
        self.data.notify_all();
    }

    /// Registers sink group `group` with its subscription, or changes it: topics it no longer
    /// reads stop waiting for it. Records sent from now on to a topic it reads wait for it.
    pub fn register_group(&self, group: &str, subscription: Subscription) {
        let mut state = self.lock();
        let mut dropped = 0;
        match state.groups.get_mut(group) {
            Some(g) => {
                let old = std::mem::replace(&mut g.subscription, subscription);
                let left: Vec<String> = state
                    .topics
                    .keys()
                    .filter(|t| old.matches(t) && !state.groups[group].subscription.matches(t))
                    .cloned()
                    .collect();
                for topic in left {
                    dropped += state.release_topic(group, &topic);
                }
            }
            None => {
                let g =
                    Group { name: Arc::from(group), subscription, committed: HashMap::new(), members: BTreeMap::new() };
                state.groups.insert(group.to_owned(), g);
            }
        }
        drop(state);
        self.freed(dropped);
        self.data.notify_all();
    }

    /// Forgets sink group `group` (its connector was deleted): nothing waits for it any more.
    pub fn remove_group(&self, group: &str) {
        let mut state = self.lock();
        if state.groups.remove(group).is_none() {
            return;
        }
        let topics: Vec<String> = state.topics.keys().cloned().collect();
        let dropped = topics.iter().map(|t| state.release_topic(group, t)).sum();
        drop(state);
        info!(group, "embedded sink group removed; its records no longer wait for it");
        self.freed(dropped);
    }

    /// Joins `group` (registered before) as the member of sink task `task`.
    pub fn join(self: &Arc<Self>, group: &str, task: u32) -> Result<Member> {
        let mut state = self.lock();
        state.next_member += 1;
        let key = (task, state.next_member);
        let g = state
            .groups
            .get_mut(group)
            .ok_or_else(|| ConnectError::fatal(format!("embedded sink group {group} is not registered")))?;
        g.members.insert(key, MemberState::default());
        drop(state);
        self.data.notify_all();
        Ok(Member::new(self.clone(), group.to_owned(), key))
    }

    /// Appends a record to `topic` (created with one partition when missing), waiting while
    /// the topic is full. The receiver fires once every group subscribed now has committed
    /// the record (at once when none is); it fails only if the bus goes away first.
    /// Cancel-safe: `payload` is taken only when the record is appended.
    pub async fn send(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        timestamp: Option<i64>,
        payload: &mut Option<Payload>,
    ) -> Result<oneshot::Receiver<RecordMetadata>> {
        let timestamp = timestamp.unwrap_or_else(now_ms);
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if !state.topics.contains_key(topic) {
                    drop(state);
                    self.create_topic(topic, 1);
                    continue;
                }
                let holds = state.holds(topic);
                let t = state.topics.get_mut(topic).ok_or_else(|| ConnectError::fatal("topic vanished"))?;
                if t.retained() < self.settings.max_records {
                    let count = t.partitions.len() as i32;
                    let p = match partition {
                        Some(p) if (0..count).contains(&p) => p,
                        Some(p) => {
                            return Err(ConnectError::fatal(format!(
                                "partition {p} of embedded topic {topic} does not exist (it has {count})"
                            )))
                        }
                        None => partition_for(key, count, &mut t.round_robin),
                    };
                    let (tx, rx) = oneshot::channel();
                    let payload = payload.take().ok_or_else(|| ConnectError::fatal("record sent twice"))?;
                    t.partitions[p as usize].append(
                        |offset| EmbeddedRecord { topic: topic.to_owned(), partition: p, offset, timestamp, payload },
                        holds,
                        tx,
                    );
                    drop(state);
                    self.data.notify_all();
                    return Ok(rx);
                }
            }
            notified.await;
        }
    }

    /// Asks every task of the groups reading `topics` to commit soon (a source is waiting).
    pub fn request_commit<'a>(&self, topics: impl IntoIterator<Item = &'a String>) {
        let topics: Vec<&String> = topics.into_iter().collect();
        let mut state = self.lock();
        for g in state.groups.values_mut() {
            if topics.iter().any(|t| g.subscription.matches(t)) {
                for m in g.members.values_mut() {
                    m.commit_wanted = true;
                }
            }
        }
        drop(state);
        self.data.notify_all();
    }

    /// The committed positions (next offset to read) of `group`, sorted; `None` for an
    /// unknown group.
    pub fn committed(&self, group: &str) -> Option<Vec<(TopicPartition, i64)>> {
        let state = self.lock();
        let g = state.groups.get(group)?;
        let mut out: Vec<_> = g.committed.iter().map(|(tp, o)| (tp.clone(), *o)).collect();
        out.sort();
        Some(out)
    }

    /// Records retained in `topic` (0 when it does not exist).
    pub fn retained(&self, topic: &str) -> usize {
        self.lock().topics.get(topic).map_or(0, Topic::retained)
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
