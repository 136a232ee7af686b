//! The bucket: configuration keys, the client, and multipart uploads of objects being written.

pub mod client;
pub mod config;
pub mod upload;

pub use client::{Listing, Store};
pub use config::StorageConfig;
pub use upload::Upload;
