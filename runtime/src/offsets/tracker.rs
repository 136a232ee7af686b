//! Tracks records sent to Kafka per source partition, so that an offset becomes committable
//! only once every record up to it, in that source partition, was acknowledged.
//!
//! Acks may arrive out of order (records of one source partition can go to several Kafka
//! partitions); the committable offset of a source partition is the offset of the last
//! record of its longest fully-acknowledged prefix.

use std::collections::{HashMap, VecDeque};

use aqueduct_sdk::OffsetMap;

use super::store::partition_key;

/// A handle to one submitted record, used to acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Submission {
    key: String,
    seq: u64,
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    offset: OffsetMap,
    acked: bool,
}

#[derive(Debug)]
struct PartitionQueue {
    partition: OffsetMap,
    pending: VecDeque<Pending>,
    committable: Option<OffsetMap>,
}

/// Records in flight, per source partition, in submission order.
#[derive(Debug, Default)]
pub struct SubmittedRecords {
    partitions: HashMap<String, PartitionQueue>,
    next_seq: u64,
    in_flight: usize,
}

impl SubmittedRecords {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a record about to be sent.
    pub fn submit(&mut self, partition: &OffsetMap, offset: OffsetMap) -> Submission {
        let key = partition_key(partition);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.in_flight += 1;
        let queue = self.partitions.entry(key.clone()).or_insert_with(|| PartitionQueue {
            partition: partition.clone(),
            pending: VecDeque::new(),
            committable: None,
        });
        queue.pending.push_back(Pending { seq, offset, acked: false });
        Submission { key, seq }
    }

    /// Marks a record acknowledged by Kafka; returns false if it was unknown or already acked.
    pub fn ack(&mut self, submission: &Submission) -> bool {
        let Some(queue) = self.partitions.get_mut(&submission.key) else { return false };
        let Ok(index) = queue.pending.binary_search_by_key(&submission.seq, |p| p.seq) else { return false };
        if queue.pending[index].acked {
            return false;
        }
        queue.pending[index].acked = true;
        self.in_flight -= 1;
        while queue.pending.front().is_some_and(|p| p.acked) {
            if let Some(done) = queue.pending.pop_front() {
                queue.committable = Some(done.offset);
            }
        }
        true
    }

    /// Takes the offsets that became committable since the last call: one per source partition.
    pub fn take_committable(&mut self) -> Vec<(OffsetMap, OffsetMap)> {
        let mut out = Vec::new();
        self.partitions.retain(|_, queue| {
            if let Some(offset) = queue.committable.take() {
                out.push((queue.partition.clone(), offset));
            }
            !queue.pending.is_empty()
        });
        out
    }

    /// Records sent but not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::offset_map;
    use serde_json::json;

    fn p(name: &str) -> OffsetMap {
        offset_map([("file", json!(name))])
    }
    fn o(pos: i64) -> OffsetMap {
        offset_map([("position", json!(pos))])
    }

    #[test]
    fn out_of_order_acks_commit_only_the_acked_prefix() {
        let mut t = SubmittedRecords::new();
        let s: Vec<_> = (1..=4).map(|i| t.submit(&p("a"), o(i))).collect();
        assert!(t.ack(&s[2]));
        assert!(t.ack(&s[1]));
        assert!(t.take_committable().is_empty(), "record 1 is not acked yet");
        assert!(t.ack(&s[0]));
        assert_eq!(t.take_committable(), vec![(p("a"), o(3))]);
        assert!(t.take_committable().is_empty(), "taken once");
        assert_eq!(t.in_flight(), 1);
        assert!(t.ack(&s[3]));
        assert!(!t.ack(&s[3]), "double ack is ignored");
        assert_eq!(t.take_committable(), vec![(p("a"), o(4))]);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn partitions_are_independent() {
        let mut t = SubmittedRecords::new();
        let a1 = t.submit(&p("a"), o(1));
        let b1 = t.submit(&p("b"), o(10));
        let b2 = t.submit(&p("b"), o(20));
        t.ack(&b2);
        t.ack(&b1);
        assert_eq!(t.take_committable(), vec![(p("b"), o(20))]);
        t.ack(&a1);
        assert_eq!(t.take_committable(), vec![(p("a"), o(1))]);
    }
}
