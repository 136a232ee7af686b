//! The example plugin's HTTP source declared as version 2.0.0 (its records say so), built as a
//! second library for the test that loads two versions of one connector side by side.

#[path = "../src/http_source.rs"]
mod http_source;

aqueduct_sdk::declare_plugin! { connectors: [http_source::plugin("2.0.0")] }
