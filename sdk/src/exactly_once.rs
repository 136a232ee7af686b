//! Exactly-once delivery for sources (Kafka Connect's KIP-618): what a connector declares about
//! itself, and how a task that defines its own transaction boundaries asks for a commit or an
//! abort.
//!
//! With `exactly.once.source.support=enabled` on the worker, a source task's records and their
//! source offsets are written to Kafka in one transaction. A connector helps in two ways:
//! [`SourceConnector::exactly_once_support`](crate::SourceConnector::exactly_once_support) says
//! whether its configuration can deliver exactly once (checked when `exactly.once.support=required`),
//! and with `transaction.boundary=connector` its tasks decide where transactions end through the
//! [`TransactionContext`] of their [`SourceTaskContext`](crate::SourceTaskContext).

use std::sync::{Arc, Mutex, PoisonError};

use crate::record::{OffsetMap, SourceRecord};

/// Whether a connector, with a given configuration, can deliver each record exactly once:
/// it resumes precisely from a stored offset and emits the same records from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactlyOnceSupport {
    /// Exactly-once delivery works with this configuration.
    Supported,
    /// It does not (e.g. the source cannot be re-read from an offset).
    Unsupported,
}

/// What a task asked of the transaction in progress.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TransactionRequests {
    /// Commit once the records of the current `poll` are sent.
    pub commit: bool,
    /// Abort once the records of the current `poll` are sent: they are discarded, with their offsets.
    pub abort: bool,
    /// Commit right after the record with this (topic, source partition, source offset) is sent.
    pub commit_after: Vec<(String, OffsetMap, OffsetMap)>,
    /// Abort right after the record with this (topic, source partition, source offset) is sent.
    pub abort_after: Vec<(String, OffsetMap, OffsetMap)>,
}

/// Lets a task with `transaction.boundary=connector` end transactions; given by the runtime
/// through [`SourceTaskContext::transaction_context`](crate::SourceTaskContext::transaction_context).
#[derive(Debug, Clone, Default)]
pub struct TransactionContext {
    requests: Arc<Mutex<TransactionRequests>>,
}

fn identity(record: &SourceRecord) -> (String, OffsetMap, OffsetMap) {
    (record.topic.clone(), record.source_partition.clone(), record.source_offset.clone())
}

impl TransactionContext {
    /// A context with no requests.
    pub fn new() -> Self {
        Self::default()
    }
    /// Commits the transaction once the records of the current `poll` are sent.
    pub fn commit_transaction(&self) {
        self.lock().commit = true;
    }
    /// Commits the transaction right after `record` (returned by this or a later `poll`) is sent.
    pub fn commit_transaction_after(&self, record: &SourceRecord) {
        self.lock().commit_after.push(identity(record));
    }
    /// Aborts the transaction once the records of the current `poll` are sent: they and their
    /// offsets are discarded, and polling goes on.
    pub fn abort_transaction(&self) {
        self.lock().abort = true;
    }
    /// Aborts the transaction right after `record` is sent (it is discarded with the others).
    pub fn abort_transaction_after(&self, record: &SourceRecord) {
        self.lock().abort_after.push(identity(record));
    }
    /// For the runtime: adds requests made through another context (a plugin task's, carried
    /// across the plugin boundary), as if they had been made on this one.
    pub fn add_requests(&self, requests: TransactionRequests) {
        let mut mine = self.lock();
        mine.commit |= requests.commit;
        mine.abort |= requests.abort;
        mine.commit_after.extend(requests.commit_after);
        mine.abort_after.extend(requests.abort_after);
    }
    /// For the runtime: takes the requests made so far.
    pub fn take_requests(&self) -> TransactionRequests {
        std::mem::take(&mut *self.lock())
    }
    /// For the runtime: whether `record` was named in a `*_after` request; removes that request.
    /// Returns `Some(true)` to commit after it, `Some(false)` to abort after it.
    pub fn ends_after(&self, record: &SourceRecord) -> Option<bool> {
        let mut requests = self.lock();
        if requests.commit_after.is_empty() && requests.abort_after.is_empty() {
            return None;
        }
        let id = identity(record);
        if let Some(i) = requests.abort_after.iter().position(|r| *r == id) {
            requests.abort_after.remove(i);
            return Some(false);
        }
        let i = requests.commit_after.iter().position(|r| *r == id)?;
        requests.commit_after.remove(i);
        Some(true)
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, TransactionRequests> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{offset_map, Value};

    #[test]
    fn requests_are_taken_once_and_after_records_match_by_identity() {
        let ctx = TransactionContext::new();
        let record =
            |n: i64| SourceRecord::new(offset_map([("p", 0.into())]), offset_map([("n", n.into())]), "t", Value::Null);
        ctx.commit_transaction();
        assert!(ctx.take_requests().commit);
        assert_eq!(ctx.take_requests(), TransactionRequests::default());
        ctx.commit_transaction_after(&record(2));
        ctx.abort_transaction_after(&record(3));
        assert_eq!(ctx.ends_after(&record(1)), None);
        assert_eq!(ctx.ends_after(&record(2)), Some(true));
        assert_eq!(ctx.ends_after(&record(2)), None, "a request is used once");
        assert_eq!(ctx.ends_after(&record(3)), Some(false));
    }
}
