//! The [`SinkTaskContext`] a sink task talks to: requests it makes are queued here and applied
//! by the loop between polls (the consumer is not thread-safe for those calls).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aqueduct_sdk::{ErrantRecordReporter, SinkTaskContext, TopicPartition, TopicPartitionOffsets};

/// Requests from the task through its [`SinkTaskContext`].
#[derive(Default)]
pub(super) struct Requests {
    pub pause: Vec<TopicPartition>,
    pub resume: Vec<TopicPartition>,
    pub rewind: TopicPartitionOffsets,
    pub commit: bool,
    pub assignment: Vec<TopicPartition>,
}

pub(super) struct TaskContext {
    pub requests: Mutex<Requests>,
    pub reporter: Option<Arc<dyn ErrantRecordReporter>>,
}

impl TaskContext {
    pub fn requests(&self) -> MutexGuard<'_, Requests> {
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
