//! `transport=embedded`: file source -> in-process topic -> file sink with `bootstrap.servers`
//! at a closed port. A kill -9 mid-run loses nothing and the stored source offset never gets
//! ahead of the sink's output; dead letters go to a file; a paused sink holds the source's
//! offsets, a deleted one releases them; the offsets endpoints answer for both connectors.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{free_port, read_lines, reqwest, unique, wait_for, Worker};

const LINES: usize = 200_000;

/// Worker keys of an embedded worker whose `bootstrap.servers` is a port nothing listens on.
fn embedded_worker(dir: &Path, extra: Value) -> Value {
    let mut keys = json!({
        "transport": "embedded",
        "bootstrap.servers": format!("127.0.0.1:{}", free_port()),
        "offset.storage.file.filename": dir.join("offsets.json"),
        "offset.flush.interval.ms": 200,
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        keys[k] = v.clone();
    }
    keys
}

/// The stored `position` of the file source in the offsets file, if any yet.
fn stored_position(offsets_file: &Path) -> Option<u64> {
    let doc: Value = serde_json::from_slice(&fs::read(offsets_file).ok()?).ok()?;
    doc.as_array()?.iter().find_map(|e| e["value"]["position"].as_u64())
}

/// No Kafka client ran: nothing from librdkafka, no connection attempt.
fn assert_no_kafka(log: &str) {
    for needle in ["rdkafka", "Connection refused", "brokers are down", "offset topic"] {
        assert!(!log.contains(needle), "the embedded worker logged {needle:?}:\n{log}");
    }
}

#[test]
fn embedded_copy_survives_kill_9_without_storing_offsets_ahead_of_the_sink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, output) = (dir.path().join("input.txt"), dir.path().join("output.txt"));
    let expected: Vec<String> = (0..LINES).map(|i| format!("line {i:06} {}", "y".repeat(i % 40))).collect();
    fs::write(&input, expected.join("\n") + "\n").expect("write input");
    // Byte position after each line: a stored position P covers every line ending at or before P.
    let ends: Vec<u64> = expected
        .iter()
        .scan(0u64, |pos, line| {
            *pos += line.len() as u64 + 1;
            Some(*pos)
        })
        .collect();
    let name = unique("emb-copy");
    let worker_keys = embedded_worker(dir.path(), json!({"embedded.buffer.max.records": 2000}));
    let connectors = [
        json!({"name": format!("{name}-source"), "config": {
            "connector.class": "FileStreamSource", "file": input, "topic": "lines", "batch.size": 500,
        }}),
        json!({"name": format!("{name}-sink"), "config": {
            "connector.class": "FileStreamSink", "file": output, "topics": "lines",
        }}),
    ];
    let offsets_file = dir.path().join("offsets.json");

    let worker = Worker::start(&dir.path().join("run1"), worker_keys.clone(), &connectors);
    worker.wait("a stored source offset and part of the copy", Duration::from_secs(120), || {
        (stored_position(&offsets_file).is_some() && read_lines(&output).len() >= 20_000).then_some(())
    });
    let log_path = worker.log_path();
    worker.kill9();
    let at_kill = read_lines(&output);
    assert!(at_kill.len() < LINES, "the copy finished before the kill; nothing was tested");
    let stored = stored_position(&offsets_file).expect("a stored offset");
    let covered = ends.iter().take_while(|end| **end <= stored).count();
    let written: HashSet<&String> = at_kill.iter().collect();
    let missing: Vec<&String> = expected[..covered].iter().filter(|l| !written.contains(l)).take(3).collect();
    println!("killed with {} lines written; stored offset covers {covered} lines", at_kill.len());
    assert!(covered > 0, "nothing acknowledged before the kill");
    assert!(missing.is_empty(), "the source offset got ahead of the sink: {missing:?} not written");
    assert_no_kafka(&fs::read_to_string(&log_path).unwrap_or_default());

    let worker = Worker::start(&dir.path().join("run2"), worker_keys, &connectors);
    worker.wait("every line copied", Duration::from_secs(180), || {
        let lines = read_lines(&output);
        (lines.iter().collect::<HashSet<_>>().len() >= LINES).then_some(())
    });
    let size = fs::metadata(&input).expect("input").len();
    worker.wait("the source offset at the end of the file", Duration::from_secs(30), || {
        (stored_position(&offsets_file) == Some(size)).then_some(())
    });
    let lines = read_lines(&output);
    let duplicates = lines.len() - LINES;
    println!("output: {} lines, {LINES} distinct, {duplicates} duplicates (at-least-once)", lines.len());
    let mut seen = HashSet::new();
    let firsts: Vec<&String> = lines.iter().filter(|l| seen.insert(l.as_str())).collect();
    assert_eq!(firsts.len(), LINES, "missing or extra lines");
    assert!(firsts.iter().zip(&expected).all(|(a, b)| *a == b), "lines out of order or altered");
    assert!(duplicates <= at_kill.len() - covered + 2000, "{duplicates} duplicates: more than the unacknowledged tail");
    assert_no_kafka(&worker.log());
}

#[test]
fn embedded_dead_letters_pauses_deletes_and_offsets_endpoints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, output, dlq) =
        (dir.path().join("input.txt"), dir.path().join("output.txt"), dir.path().join("dlq.jsonl"));
    let batch = |from: usize| -> String {
        (from..from + 10).map(|i| if i % 3 == 2 { format!("oops{{{i}\n") } else { format!("{i}\n") }).collect()
    };
    fs::write(&input, batch(0)).expect("write input");
    let (source, sink) = ("emb-source", "emb-sink");
    let connectors = [
        json!({"name": source, "config": {
            "connector.class": "FileStreamSource", "file": input, "topic": "numbers",
            "value.converter": "StringConverter",
        }}),
        json!({"name": sink, "config": {
            "connector.class": "FileStreamSink", "file": output, "topics.regex": "num.*",
            "value.converter": "JsonConverter", "value.converter.schemas.enable": false,
            "errors.tolerance": "all", "errors.deadletterqueue.file": dlq,
        }}),
    ];
    let worker = Worker::start(&dir.path().join("run"), embedded_worker(dir.path(), json!({})), &connectors);
    let url = |path: &str| format!("{}/connectors/{path}", worker.url);
    let position = || {
        reqwest::blocking_get(&url(&format!("{source}/offsets")))
            .and_then(|(_, b)| b["offsets"][0]["offset"]["position"].as_u64())
    };
    worker.wait("7 good lines written and 3 dead letters", Duration::from_secs(30), || {
        (read_lines(&output).len() == 7 && read_lines(&dlq).len() == 3).then_some(())
    });
    let letters: Vec<Value> = read_lines(&dlq).iter().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(letters[0]["topic"], "numbers");
    assert_eq!(letters[0]["offset"], 2);
    assert_eq!(letters[0]["value"], "oops{2");
    assert!(letters[0]["__connect.errors.exception.message"].as_str().is_some_and(|m| !m.is_empty()));
    let size = fs::metadata(&input).expect("input").len();
    worker.wait("the source offset acknowledged to the end", Duration::from_secs(30), || {
        (position() == Some(size)).then_some(())
    });
    let sink_offsets = wait_for("the sink's committed position", Duration::from_secs(30), || {
        let (_, body) = reqwest::blocking_get(&url(&format!("{sink}/offsets")))?;
        (body["offsets"][0]["offset"]["kafka_offset"] == 10).then_some(body)
    });
    assert_eq!(sink_offsets["offsets"][0]["partition"], json!({"kafka_topic": "numbers", "kafka_partition": 0}));

    // A paused sink holds the source's offsets back; resumed, both move on.
    assert_eq!(reqwest::send("PUT", &url(&format!("{sink}/pause")), None).map(|r| r.0), Some(202));
    worker.wait_state(sink, "PAUSED");
    fs::write(&input, batch(0) + &batch(10)).expect("append");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(read_lines(&output).len(), 7, "a paused sink wrote records");
    assert_eq!(position(), Some(size), "the source offset moved past records a paused sink holds");
    assert_eq!(reqwest::send("PUT", &url(&format!("{sink}/resume")), None).map(|r| r.0), Some(202));
    let size = fs::metadata(&input).expect("input").len();
    worker.wait("the source offset acknowledged after resume", Duration::from_secs(30), || {
        (read_lines(&output).len() == 14 && position() == Some(size)).then_some(())
    });

    // Sink offsets live in memory: they cannot be altered.
    assert_eq!(reqwest::send("PUT", &url(&format!("{sink}/stop")), None).map(|r| r.0), Some(204));
    let (code, body) = reqwest::send("DELETE", &url(&format!("{sink}/offsets")), None).expect("answer");
    assert_eq!(code, 400);
    assert!(body["message"].as_str().is_some_and(|m| m.contains("transport=embedded")), "{body}");

    // A stopped sink still holds; deleted, it releases.
    fs::write(&input, batch(0) + &batch(10) + &batch(20)).expect("append");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(position(), Some(size), "a stopped sink must hold the source's offsets");
    assert_eq!(reqwest::send("DELETE", &url(sink), None).map(|r| r.0), Some(204));
    let size = fs::metadata(&input).expect("input").len();
    worker.wait("the source offset after the sink was deleted", Duration::from_secs(30), || {
        (position() == Some(size)).then_some(())
    });
    assert_no_kafka(&worker.log());
}
