//! Source offsets: which are safe to commit (the tracker) and where they are kept (the stores).

mod file;
mod layered;
mod store;
mod topic;
mod topic_reader;
mod tracker;

pub use file::FileOffsetStore;
pub use layered::LayeredOffsetStore;
pub use store::{partition_key, LogPosition, LoggedOffset, OffsetStore, StoreReader};
pub use topic::{offset_record, TopicOffsetStore};
pub use tracker::{Submission, SubmittedRecords};
