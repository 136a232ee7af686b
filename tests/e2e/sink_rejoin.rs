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

#[test]
fn a_stopped_sink_hands_its_partitions_to_another_worker_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.txt");
    let output = dir.path().join("output.txt");
    fs::write(&input, (0..500).map(|i| format!("first {i}\n")).collect::<String>()).expect("write input");
    let topic = unique("e2e-handover");
    let offsets = unique("e2e-offsets");
    let source = json!({"name": format!("{topic}-source"), "config": {
        "connector.class": "FileStreamSource", "file": input, "topic": topic,
    }});
    let sink = json!({"name": format!("{topic}-sink"), "config": {
        "connector.class": "FileStreamSink", "file": output, "topics": topic,
    }});
    // Two workers (two worker ids, so two static members) take turns with the same sink.
    let first = Worker::start(&dir.path().join("a"), json!({"offset.storage.topic": offsets}), &[source, sink.clone()]);
    first.wait("the first lines copied", Duration::from_secs(60), || (read_lines(&output).len() >= 500).then_some(()));
    let first_log = first.log_path();
    assert!(first.terminate(Duration::from_secs(30)), "clean shutdown");
    let log = fs::read_to_string(first_log).unwrap_or_default();
    assert!(log.contains("left the consumer group"), "the stopped sink did not leave:\n{log}");

    let mut file = fs::OpenOptions::new().append(true).open(&input).expect("input");
    for i in 0..100 {
        writeln!(file, "second {i}").expect("append");
    }
    drop(file);
    let source = json!({"name": format!("{topic}-source2"), "config": {
        "connector.class": "FileStreamSource", "file": input, "topic": topic,
    }});
    let second =
        Worker::start(&dir.path().join("b"), json!({"offset.storage.topic": unique("e2e-offsets")}), &[source, sink]);
    let started = Instant::now();
    // Without the LeaveGroup the first worker's member keeps the partitions for session.timeout.ms (45 s).
    second.wait("the other worker's sink to write within 10 s", Duration::from_secs(10), || {
        read_lines(&output).iter().any(|l| l == "second 99").then_some(())
    });
    println!("the second worker's sink wrote {:?} after its start", started.elapsed());
    assert!(second.terminate(Duration::from_secs(30)), "clean shutdown");
}
