//! One partition of an embedded topic and its acknowledgement bookkeeping.
//!
//! Invariant: a record stays in the log while some sink group named in its `holds` has not
//! committed past it; its source is acknowledged (the oneshot fires) the moment the last hold
//! goes. The acknowledgement is a `futures` oneshot, outside tokio's cooperative budget, so a
//! source can drain thousands of them in one go. Holds are the groups subscribed to the topic when the record was sent; a record sent
//! with no holds is acknowledged at once and never stored.

use std::collections::VecDeque;
use std::sync::Arc;

use aqueduct_sdk::RecordMetadata;
use futures::channel::oneshot;

use super::record::EmbeddedRecord;

/// Fires when every sink group holding the record has committed it.
pub type AckSender = oneshot::Sender<RecordMetadata>;

struct Entry {
    record: Arc<EmbeddedRecord>,
    /// Groups that still have to commit this record.
    holds: Vec<Arc<str>>,
    ack: Option<AckSender>,
}

/// Records of one partition, in offset order, with what still holds each one.
#[derive(Default)]
pub struct PartitionLog {
    entries: VecDeque<Entry>,
    /// Offset the next record gets.
    next: i64,
}

impl PartitionLog {
    /// The offset the next record gets.
    pub fn end(&self) -> i64 {
        self.next
    }

    /// The first offset still held (the end when nothing is).
    pub fn start(&self) -> i64 {
        self.entries.front().map_or(self.next, |e| e.record.offset)
    }

    /// Records retained.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no record is retained.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends a record built for the next offset. With no `holds` it is acknowledged at once
    /// and not kept. Returns the record's offset.
    pub fn append(&mut self, build: impl FnOnce(i64) -> EmbeddedRecord, holds: Vec<Arc<str>>, ack: AckSender) -> i64 {
        let offset = self.next;
        self.next += 1;
        let record = Arc::new(build(offset));
        if holds.is_empty() {
            let _ = ack.send(metadata(&record));
        } else {
            self.entries.push_back(Entry { record, holds, ack: Some(ack) });
        }
        offset
    }

    /// Up to `max` records from offset `from` on.
    pub fn read(&self, from: i64, max: usize) -> Vec<Arc<EmbeddedRecord>> {
        let skip = self.entries.partition_point(|e| e.record.offset < from);
        self.entries.iter().skip(skip).take(max).map(|e| e.record.clone()).collect()
    }

    /// `group` made every record below `below` durable (or no longer needs them): its holds
    /// on them go, records no longer held are acknowledged, and the held-free head of the log
    /// is dropped. Returns how many records were dropped.
    pub fn release(&mut self, group: &str, below: i64) -> usize {
        for entry in self.entries.iter_mut().take_while(|e| e.record.offset < below) {
            if let Some(i) = entry.holds.iter().position(|g| &**g == group) {
                entry.holds.swap_remove(i);
                if entry.holds.is_empty() {
                    if let Some(ack) = entry.ack.take() {
                        let _ = ack.send(metadata(&entry.record));
                    }
                }
            }
        }
        let before = self.entries.len();
        while self.entries.front().is_some_and(|e| e.holds.is_empty()) {
            self.entries.pop_front();
        }
        before - self.entries.len()
    }
}

fn metadata(record: &EmbeddedRecord) -> RecordMetadata {
    RecordMetadata { topic: record.topic.clone(), partition: record.partition, offset: record.offset }
}
