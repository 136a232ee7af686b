//! A worker killed with SIGKILL and restarted gets its sink partitions back at once: its sink
//! consumers rejoin the group as the same static members (`group.instance.id`), so nothing
//! waits for the dead members' sessions (`session.timeout.ms`, 45 s by default) to expire.

use std::fs;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{free_port, read_lines, unique, Worker};

#[test]
fn a_restarted_sink_writes_again_within_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.txt");
    let output = dir.path().join("output.txt");
    let first: Vec<String> = (0..1000).map(|i| format!("first {i}")).collect();
    fs::write(&input, first.join("\n") + "\n").expect("write input");

    let topic = unique("e2e-rejoin");
    // Default consumer timeouts; the same REST port, hence the same worker id, after the restart.
    let worker_extra = json!({"offset.storage.topic": unique("e2e-offsets"), "rest.port": free_port()});
    let connectors = [
        json!({"name": format!("{topic}-source"), "config": {
            "connector.class": "FileStreamSource", "file": input, "topic": topic,
        }}),
        json!({"name": format!("{topic}-sink"), "config": {
            "connector.class": "FileStreamSink", "file": output, "topics": topic,
        }}),
    ];
    let worker = Worker::start(&dir.path().join("run1"), worker_extra.clone(), &connectors);
    worker
        .wait("the first lines copied", Duration::from_secs(60), || (read_lines(&output).len() >= 1000).then_some(()));
    worker.kill9();

    let mut file = fs::OpenOptions::new().append(true).open(&input).expect("input");
    for i in 0..100 {
        writeln!(file, "second {i}").expect("append");
    }
    drop(file);
    let worker = Worker::start(&dir.path().join("run2"), worker_extra, &connectors);
    let restarted = Instant::now();
    worker.wait("the sink to write again within 10 s", Duration::from_secs(10), || {
        read_lines(&output).iter().any(|l| l == "second 99").then_some(())
    });
    println!("sink wrote the new lines {:?} after the restart", restarted.elapsed());
    assert!(worker.terminate(Duration::from_secs(30)), "clean shutdown");
}
