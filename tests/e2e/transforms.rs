//! Single message transforms on both sides of Kafka, with Kafka Connect's keys: a file copy
//! whose source routes, hoists and stamps each line and whose sink extracts it again; a source
//! whose transform fails every record sends them to its dead-letter topic (errors.tolerance=all)
//! or fails naming the transform (errors.tolerance=none); bad transform keys are refused by name.

use std::fs;
use std::time::Duration;

use rdkafka::message::{Headers, Message};
use serde_json::{json, Value};

use crate::common::{read_lines, reqwest, unique, wait_for, Worker};
use crate::topics::{high_watermark, read_partition, text};

const LINES: usize = 300;

/// Every record of partition 0 of `topic`: value and headers as text.
fn records(topic: &str) -> Vec<(String, Vec<(String, String)>)> {
    read_partition(topic, false)
        .iter()
        .map(|m| {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
                        .collect()
                })
                .unwrap_or_default();
            (text(m), headers)
        })
        .collect()
}

#[test]
fn transforms_run_on_both_sides_and_failures_follow_errors_tolerance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.txt");
    let output = dir.path().join("output.txt");
    let lines: Vec<String> = (0..LINES).map(|i| format!("line {i:04}")).collect();
    fs::write(&input, lines.join("\n") + "\n").expect("input");
    let topic = unique("e2e-smt");
    let routed = format!("{topic}-routed");
    let dlq = format!("{topic}-dlq");
    let worker = Worker::start(dir.path(), json!({"offset.storage.topic": unique("e2e-offsets")}), &[]);
    let put = |name: &str, config: Value| {
        reqwest::send("PUT", &format!("{}/connectors/{name}/config", worker.url), Some(config.to_string().as_str()))
    };

    // Bad keys are refused by name, at creation and by config/validate.
    let bad = json!({"connector.class": "FileStreamSource", "file": input, "topic": topic,
        "transforms": "r", "transforms.r.type": "RegexRouter"});
    let (code, body) = put("bad", bad.clone()).expect("answer");
    assert_eq!(code, 400, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("transforms.r.regex")), "{body}");
    let (code, body) = put(
        "bad",
        json!({"connector.class": "FileStreamSource", "file": input, "topic": topic,
        "transforms": "x", "transforms.x.type": "NoSuchTransform"}),
    )
    .expect("answer");
    assert!(code == 400 && body["message"].as_str().is_some_and(|m| m.contains("transforms.x.type")), "{body}");
    let (code, v) = reqwest::send(
        "PUT",
        &format!("{}/connector-plugins/FileStreamSource/config/validate", worker.url),
        Some(bad.to_string().as_str()),
    )
    .expect("answer");
    assert_eq!(code, 200, "{v}");
    let regex =
        v["configs"].as_array().and_then(|c| c.iter().find(|c| c["value"]["name"] == "transforms.r.regex")).cloned();
    assert!(
        regex.as_ref().is_some_and(|r| r["definition"]["group"] == "Transforms: r"
            && r["value"]["errors"].as_array().is_some_and(|e| !e.is_empty())),
        "{v}"
    );
    let (_, all) =
        reqwest::blocking_get(&format!("{}/connector-plugins?connectorsOnly=false", worker.url)).expect("plugins");
    assert!(
        all.as_array().is_some_and(|a| a
            .iter()
            .any(|p| p["type"] == "transformation" && p["class"] == "org.apache.kafka.connect.transforms.RegexRouter")),
        "{all}"
    );
    assert!(all.as_array().is_some_and(|a| a.iter().any(|p| p["type"] == "predicate")), "{all}");

    // A copy through transforms on both sides: the source routes the topic, hoists each line
    // into a struct and stamps it; the sink extracts the line again (only where the record
    // has no header "skip", through a negated predicate).
    let (code, body) = put("smt-source", json!({
        "connector.class": "FileStreamSource", "file": input, "topic": format!("{topic}-raw"),
        "transforms": "route,hoist,stamp",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.route.regex": "(.*)-raw", "transforms.route.replacement": "$1-routed",
        "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value", "transforms.hoist.field": "line",
        "transforms.stamp.type": "InsertField$Value", "transforms.stamp.static.field": "origin", "transforms.stamp.static.value": "file",
    }))
    .expect("answer");
    assert_eq!(code, 201, "{body}");
    let (code, body) = put("smt-sink", json!({
        "connector.class": "FileStreamSink", "file": output, "topics": routed,
        "transforms": "extract", "transforms.extract.type": "org.apache.kafka.connect.transforms.ExtractField$Value",
        "transforms.extract.field": "line", "transforms.extract.predicate": "skip", "transforms.extract.negate": "true",
        "predicates": "skip", "predicates.skip.type": "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
        "predicates.skip.name": "skip",
    }))
    .expect("answer");
    assert_eq!(code, 201, "{body}");
    worker.wait("every line copied through the transforms", Duration::from_secs(90), || {
        (read_lines(&output).len() >= LINES).then_some(())
    });
    assert_eq!(read_lines(&output), lines, "the sink wrote the lines back");
    let in_topic = records(&routed);
    let first: Value = serde_json::from_str(&in_topic[0].0).expect("JSON value");
    assert_eq!(first["payload"], json!({"line": "line 0000", "origin": "file"}), "{first}");

    // Every record fails a source transform: tolerated, they go to the dead-letter topic
    // with Kafka Connect's context headers and the task stays RUNNING ...
    let failing = |tolerance: &str| {
        json!({
            "connector.class": "FileStreamSource", "file": input, "topic": format!("{topic}-{tolerance}"),
            "transforms": "pick", "transforms.pick.type": "ExtractField$Value", "transforms.pick.field": "x",
            "errors.tolerance": tolerance, "errors.deadletterqueue.topic.name": dlq,
            "errors.deadletterqueue.context.headers.enable": "true",
        })
    };
    let (code, body) = put("smt-tolerated", failing("all")).expect("answer");
    assert_eq!(code, 201, "{body}");
    let dead = wait_for("every line in the dead-letter topic", Duration::from_secs(60), || {
        let dead = records(&dlq);
        (dead.len() >= LINES).then_some(dead)
    });
    assert_eq!(dead.len(), LINES);
    let header = |name: &str| dead[0].1.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(header("__connect.errors.topic"), format!("{topic}-all"));
    assert!(header("__connect.errors.exception.message").contains("pick"), "{:?}", dead[0]);
    assert_eq!(header("__connect.errors.stage"), "TRANSFORMATION");
    assert_eq!(header("__connect.errors.class.name"), "org.apache.kafka.connect.transforms.ExtractField$Value");
    assert_eq!(
        (header("__connect.errors.connector.name"), header("__connect.errors.task.id")),
        ("smt-tolerated".into(), "0".into())
    );
    assert!(dead[0].0.contains("line 0000"), "{:?}", dead[0]);
    assert_eq!(high_watermark(&format!("{topic}-all")), 0, "no record reached the topic");
    worker.wait_state("smt-tolerated", "RUNNING");

    // ... not tolerated, the task fails naming the transform and the record.
    let (code, body) = put("smt-strict", failing("none")).expect("answer");
    assert_eq!(code, 201, "{body}");
    let status = wait_for("the strict task FAILED", Duration::from_secs(60), || {
        let (_, s) = reqwest::blocking_get(&format!("{}/connectors/smt-strict/status", worker.url))?;
        (s["tasks"][0]["state"] == "FAILED").then_some(s)
    });
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(trace.contains("transform pick") && trace.contains("errors.tolerance=none"), "{trace}");
}
