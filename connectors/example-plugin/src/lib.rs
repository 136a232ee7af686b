//! An Aqueduct connector plugin, built as a `cdylib` and loaded by a worker from a directory of
//! its `plugin.path`:
//!
//! - `HttpPollSource` polls a URL with `GET` every `poll.interval.ms` and writes one record per
//!   response (`{"url", "status", "body", "poll", "version"}`), resuming its poll count from the
//!   stored offset;
//! - `FileAppendSink` appends each record's value, as JSON, as a line of `file`, durable
//!   (fsync) before `pre_commit` reports its offsets.
//!
//! Both take `panic.on.poll` / `panic.on.put` (default `false`): the task panics, to show that
//! a panic inside a plugin fails only that task.

mod file_sink;
mod http_source;

pub use file_sink::PLUGIN as FILE_APPEND_SINK;
pub use http_source::plugin as http_poll_source;

/// This crate's version, which its connectors declare.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

aqueduct_sdk::declare_plugin! { connectors: [http_source::plugin(VERSION), file_sink::PLUGIN] }
