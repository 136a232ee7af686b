//! File source -> Kafka -> file sink: an exact copy of 100k lines, across a kill -9.

use std::collections::HashSet;
use std::fs;
use std::time::Duration;

use serde_json::json;

use crate::common::{read_lines, reqwest, unique, wait_for, Worker};

const LINES: usize = 100_000;

#[test]
fn file_copy_survives_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.txt");
    let output = dir.path().join("output.txt");
    let expected: Vec<String> = (0..LINES).map(|i| format!("line {i:06} {}", "x".repeat(i % 50))).collect();
    fs::write(&input, expected.join("\n") + "\n").expect("write input");

    let topic = unique("e2e-copy");
    let worker_extra = json!({"offset.storage.topic": unique("e2e-offsets")});
    let connectors = [
        json!({"name": format!("{topic}-source"), "config": {
            "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
            "file": input, "topic": topic, "batch.size": 500,
        }}),
        json!({"name": format!("{topic}-sink"), "config": {
            "connector.class": "FileStreamSink", "file": output, "topics": topic,
        }}),
    ];

    // First run: kill -9 once part of the file made it through.
    let worker = Worker::start(&dir.path().join("run1"), worker_extra.clone(), &connectors);
    let seen = worker.wait("some lines copied", Duration::from_secs(120), || {
        let n = read_lines(&output).len();
        (n >= 5_000).then_some(n)
    });
    worker.kill9();
    let at_kill = read_lines(&output).len();
    println!("killed the worker with {seen}..{at_kill} of {LINES} lines copied");
    assert!(at_kill < LINES, "the copy finished before the kill; nothing was tested");

    // Second run: same configs, same offset topic and consumer group.
    let worker = Worker::start(&dir.path().join("run2"), worker_extra, &connectors);
    let source = format!("{topic}-source");
    worker.wait("every line copied", Duration::from_secs(180), || {
        let lines = read_lines(&output);
        let distinct: HashSet<&String> = lines.iter().collect();
        (distinct.len() >= LINES).then_some(())
    });
    // Let the last flush happen, then check the stored source offset reached the end of the file.
    let size = fs::metadata(&input).expect("input").len();
    let offsets_url = format!("{}/connectors/{source}/offsets", worker.url);
    wait_for("the source offset at the end of the file", Duration::from_secs(30), || {
        let (_, body) = reqwest::blocking_get(&offsets_url)?;
        (body["offsets"][0]["offset"]["position"].as_u64() == Some(size)).then_some(())
    });

    let lines = read_lines(&output);
    let duplicates = lines.len() - LINES;
    println!("output: {} lines, {LINES} distinct, {duplicates} duplicates (at-least-once)", lines.len());
    // Every line is there, nothing foreign, and first occurrences keep the input order.
    let mut seen = HashSet::new();
    let firsts: Vec<&String> = lines.iter().filter(|l| seen.insert(l.as_str())).collect();
    assert_eq!(firsts.len(), LINES, "missing or extra lines\n{}", worker.log());
    assert!(firsts.iter().zip(&expected).all(|(a, b)| *a == b), "lines out of order or altered");
    // Resumed from stored offsets: a restart from scratch would have doubled everything.
    assert!(duplicates < LINES / 2, "{duplicates} duplicates: offsets were not resumed\n{}", worker.log());
}
