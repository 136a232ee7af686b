//! The example plugin's HTTP source declaring SDK version 0.0.0-other instead of the one it
//! links, built as a separate library for the test that a worker refuses it, naming both
//! versions.

#[path = "../src/http_source.rs"]
mod http_source;

aqueduct_sdk::declare_plugin! { @sdk_version "0.0.0-other", connectors: [http_source::plugin("1.0.0")] }
