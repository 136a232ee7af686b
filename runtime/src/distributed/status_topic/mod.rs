//! The status topic (`status.storage.topic`) in Kafka Connect's own record format: its
//! records, the statuses they add up to, and the store that reads, tails and writes the topic.

pub mod records;
pub mod snapshot;
pub mod store;
#[cfg(test)]
mod tests;

pub use records::{DecodeError, Status, StatusRecord, StatusState, TopicStatus};
pub use snapshot::StatusSnapshot;
pub use store::StatusStore;
