//! Which offsets are safe to commit: per partition, the records handed to the writer and not yet
//! acknowledged by Elasticsearch (or settled: dead-lettered, ignored).
//!
//! Invariant: the committable offset of a partition is its lowest unacknowledged offset, or,
//! with none outstanding, the next offset the runtime gave (everything put was settled).
//! Acknowledgements may arrive in any order (concurrent bulks, retried items).

use std::collections::{BTreeMap, BTreeSet};

use aqueduct_sdk::{TopicPartition, TopicPartitionOffsets};

/// Outstanding offsets per partition.
#[derive(Debug, Default)]
pub struct Outstanding {
    partitions: BTreeMap<TopicPartition, BTreeSet<i64>>,
}

impl Outstanding {
    /// A record of `tp` at `offset` was handed to the writer.
    pub fn add(&mut self, tp: &TopicPartition, offset: i64) {
        match self.partitions.get_mut(tp) {
            Some(set) => {
                set.insert(offset);
            }
            None => {
                self.partitions.insert(tp.clone(), BTreeSet::from([offset]));
            }
        }
    }

    /// The record of `tp` at `offset` is settled (a partition closed meanwhile is ignored).
    pub fn settle(&mut self, tp: &TopicPartition, offset: i64) {
        if let Some(set) = self.partitions.get_mut(tp) {
            set.remove(&offset);
        }
    }

    /// Records of `tp` still outstanding.
    pub fn count(&self, tp: &TopicPartition) -> usize {
        self.partitions.get(tp).map_or(0, BTreeSet::len)
    }

    /// Forgets `tp` (closed).
    pub fn remove(&mut self, tp: &TopicPartition) {
        self.partitions.remove(tp);
    }

    /// For each partition of `given` (next offsets after every record put), the offset up to
    /// which every record is settled.
    pub fn committable(&self, given: &TopicPartitionOffsets) -> TopicPartitionOffsets {
        given
            .iter()
            .map(|(tp, next)| {
                let first = self.partitions.get(tp).and_then(|s| s.first().copied());
                (tp.clone(), first.map_or(*next, |f| f.min(*next)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_up_to_the_first_unacknowledged_offset() {
        let (a, b) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
        let mut o = Outstanding::default();
        for off in [10, 11, 12, 14] {
            o.add(&a, off);
        }
        let given = TopicPartitionOffsets::from([(a.clone(), 15), (b.clone(), 7)]);
        assert_eq!(o.committable(&given)[&a], 10);
        assert_eq!(o.committable(&given)[&b], 7, "nothing outstanding: all given");
        o.settle(&a, 12);
        o.settle(&a, 11);
        assert_eq!(o.committable(&given)[&a], 10, "out of order acks do not move past 10");
        o.settle(&a, 10);
        assert_eq!(o.committable(&given)[&a], 14, "13 was skipped by the runtime, 14 outstanding");
        o.settle(&a, 14);
        assert_eq!(o.committable(&given)[&a], 15);
        o.add(&b, 3);
        o.remove(&b);
        o.settle(&b, 3);
        assert_eq!(o.count(&b), 0);
    }
}
