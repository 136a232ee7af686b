//! The config topic (`config.storage.topic`) in Kafka Connect's own record format: its
//! records, the snapshot they build, and the store that reads, tails and writes the topic.

pub mod records;
pub mod snapshot;
pub mod store;
#[cfg(test)]
mod tests;
pub mod types;

pub use records::{ConfigRecord, DecodeError};
pub use snapshot::{ConfigSnapshot, ConfigState, ConfigUpdate};
pub use store::ConfigStore;
pub use types::{RestartRequest, SessionKey, TargetState, TaskId};
