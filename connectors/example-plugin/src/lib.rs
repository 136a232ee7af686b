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
//!
//! Beside the connectors, it declares a transform, a predicate and a converter:
//!
//! - `UppercaseField` (`com.example.aqueduct.UppercaseField`) upper-cases the string `field`
//!   of each record's value (a struct or a schemaless map); `panic.on.apply` makes it panic;
//! - `FieldEquals` (`com.example.aqueduct.FieldEquals`) matches records whose value's `field`
//!   equals `value` (a string as is, a number in decimal);
//! - `HexConverter` (`com.example.aqueduct.HexConverter`) writes bytes or a string as
//!   hexadecimal text and reads it back as bytes (`uppercase`, default `false`).

mod field_equals;
mod file_sink;
mod hex_converter;
mod http_source;
mod uppercase_field;

pub use field_equals::PREDICATE as FIELD_EQUALS;
pub use file_sink::PLUGIN as FILE_APPEND_SINK;
pub use hex_converter::CONVERTER as HEX_CONVERTER;
pub use http_source::plugin as http_poll_source;
pub use uppercase_field::TRANSFORM as UPPERCASE_FIELD;

/// This crate's version, which its connectors declare.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

aqueduct_sdk::declare_plugin! {
    connectors: [http_source::plugin(VERSION), file_sink::PLUGIN],
    transforms: [UPPERCASE_FIELD],
    predicates: [FIELD_EQUALS],
    converters: [HEX_CONVERTER],
}
