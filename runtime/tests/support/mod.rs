//! Helpers shared by the runtime's integration tests against the real broker.
#![allow(dead_code)] // each test binary uses its own subset

use std::time::{SystemTime, UNIX_EPOCH};

/// The broker the tests use (`AQUEDUCT_TEST_KAFKA`, default 127.0.0.1:9092).
pub fn kafka() -> String {
    std::env::var("AQUEDUCT_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// A name unique to this run, for topics, groups and connectors.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}
