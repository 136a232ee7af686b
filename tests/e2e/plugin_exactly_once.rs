//! A plugin source that defines its own transaction boundaries (KIP-618's
//! `transaction.boundary=connector`), run exactly once against the real broker: the example
//! plugin's HttpPollSource commits a transaction after every third poll through the
//! `TransactionContext` that crosses the plugin boundary. Killed with SIGKILL mid-stream, a
//! `read_committed` consumer sees whole transactions only (a multiple of three polls); restarted,
//! the task resumes from the offset committed with the last transaction, without a duplicate.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{free_port, unique, Worker};
use crate::plugins::{example_plugins, http_server};
use crate::topics::{high_watermark, read_partition, text};

/// The poll numbers a `read_committed` consumer sees, in order.
fn committed_polls(topic: &str) -> Vec<i64> {
    read_partition(topic, true)
        .iter()
        .map(|m| {
            let value: Value = serde_json::from_str(&text(m)).expect("a JSON value");
            value["poll"].as_i64().unwrap_or_else(|| panic!("a poll number in {value}"))
        })
        .collect()
}

#[test]
fn a_plugin_source_commits_its_own_transactions_and_resumes_exactly_once_after_kill_9() {
    let [plugin, ..] = example_plugins();
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugin dir");
    std::fs::copy(plugin, plugins.join(plugin.file_name().expect("a name"))).expect("copy plugin");
    let topic = unique("e2e-plugin-eos");
    // One REST port for every run: a standalone worker's transactional ids carry its worker id
    // (host:port), so a restart on the same port fences the transactions its killed
    // predecessor left open.
    let worker_extra = json!({
        "rest.port": free_port(),
        "plugin.path": plugins.display().to_string(),
        "offset.storage.topic": unique("e2e-offsets"),
        "exactly.once.source.support": "enabled",
        "value.converter.schemas.enable": false,
    });
    let connector = json!({"name": format!("{topic}-poll"), "config": {
        "connector.class": "HttpPollSource", "url": http_server("{}"), "topic": topic, "poll.interval.ms": "20",
        "exactly.once.support": "required", "transaction.boundary": "connector", "transaction.boundary.polls": "3",
    }});
    let connectors = [connector];
    let mut seen = 0;
    for run in 1..=2 {
        let worker = Worker::start(&dir.path().join(format!("run{run}")), worker_extra.clone(), &connectors);
        // The log's end (records of open transactions and commit markers too): a read_committed
        // reader only finds the end of a log nobody writes to, so the committed polls are read
        // after the kill.
        let goal = high_watermark(&topic) + 16;
        worker.wait("more transactions written", Duration::from_secs(60), || {
            (high_watermark(&topic) >= goal).then_some(())
        });
        worker.kill9();
        let polls = committed_polls(&topic);
        assert_eq!(polls.len() % 3, 0, "run {run}: only whole transactions of three polls: {polls:?}");
        let expected: Vec<i64> = (1..=polls.len() as i64).collect();
        assert_eq!(polls, expected, "run {run}: every poll once, in order (resumed from the committed offset)");
        assert!(polls.len() > seen, "run {run}: more polls committed than before it ({seen})");
        seen = polls.len();
    }
}
