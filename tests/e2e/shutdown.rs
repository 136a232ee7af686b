//! SIGTERM: tasks stop, offsets flush, the process exits 0, and a restart repeats nothing.

use std::time::Duration;

use serde_json::json;

use crate::common::{read_lines, unique, wait_for, Worker};

#[test]
fn sigterm_flushes_offsets_and_exits_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = dir.path().join("out.txt");
    let topic = unique("e2e-term");
    // Offsets are flushed only at shutdown within this test's time frame.
    let extra = json!({"offset.storage.topic": unique("e2e-offsets"), "offset.flush.interval.ms": 600000});
    let connectors = [
        json!({"name": format!("{topic}-gen"), "config": {
            "connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector",
            "kafka.topic": topic, "iterations": 1000, "tasks.max": 2,
        }}),
        json!({"name": format!("{topic}-sink"), "config": {
            "connector.class": "FileStreamSink", "file": output, "topics": topic,
        }}),
    ];
    let worker = Worker::start(&dir.path().join("run1"), extra.clone(), &connectors);
    wait_for("1000 records in the sink file", Duration::from_secs(60), || {
        (read_lines(&output).len() >= 1000).then_some(())
    });
    let log = worker.log();
    assert!(worker.terminate(Duration::from_secs(30)), "worker did not exit 0 on SIGTERM\n{log}");
    assert_eq!(read_lines(&output).len(), 1000);

    // Source and sink offsets were stored at shutdown: nothing is produced or written again.
    let worker = Worker::start(&dir.path().join("run2"), extra, &connectors);
    worker.wait_state(&format!("{topic}-sink"), "RUNNING");
    worker.wait_state(&format!("{topic}-gen"), "RUNNING");
    std::thread::sleep(Duration::from_secs(5));
    let lines = read_lines(&output);
    assert_eq!(lines.len(), 1000, "records repeated after a clean restart\n{}", worker.log());
    assert!(worker.terminate(Duration::from_secs(30)));
}
