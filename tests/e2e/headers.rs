//! Record headers through Kafka with Kafka Connect's `header.converter`: the worker's default
//! (SimpleHeaderConverter) writes header values as text and reads them back typed, a connector
//! can name its own (here the JSON converter, with its envelope), a header that its sink's
//! header converter cannot read follows errors.tolerance to the dead-letter topic under the
//! HEADER_CONVERTER stage (with its timestamp and own headers, then the error context), and an unknown header
//! converter is refused by its key.

use std::fs;
use std::time::Duration;

use rdkafka::message::{Headers, Message};
use serde_json::{json, Value};

use crate::common::{read_lines, reqwest, unique, wait_for, Worker};
use crate::topics::read_partition;

const LINES: usize = 50;

/// The headers of every record of partition 0 of `topic`, as text.
fn headers(topic: &str) -> Vec<Vec<(String, String)>> {
    read_partition(topic, false)
        .iter()
        .map(|m| {
            m.headers()
                .map(|h| {
                    h.iter()
                        .map(|h| (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn header_converters_write_and_read_headers_as_kafka_connect_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.txt");
    let lines: Vec<String> = (0..LINES).map(|i| format!("line {i}")).collect();
    fs::write(&input, lines.join("\n") + "\n").expect("input");
    let (plain, enveloped, dlq) = (unique("e2e-headers"), unique("e2e-headers-json"), unique("e2e-headers-dlq"));
    let worker = Worker::start(dir.path(), json!({"offset.storage.topic": unique("e2e-offsets")}), &[]);
    let put = |name: &str, config: Value| {
        let url = format!("{}/connectors/{name}/config", worker.url);
        reqwest::send("PUT", &url, Some(config.to_string().as_str())).expect("the worker answers")
    };
    let source = |topic: &str| {
        json!({
            "connector.class": "FileStreamSource", "file": input, "topic": topic,
            "transforms": "n,flag",
            "transforms.n.type": "InsertHeader", "transforms.n.header": "n", "transforms.n.value.literal": "5",
            "transforms.flag.type": "InsertHeader", "transforms.flag.header": "flag", "transforms.flag.value.literal": "true",
        })
    };

    let with = |mut config: Value, extra: Value| {
        for (k, v) in extra.as_object().into_iter().flatten() {
            config[k] = v.clone();
        }
        config
    };

    // An unknown header converter is refused by its key.
    let (code, body) = put("bad-headers", with(source(&plain), json!({"header.converter": "com.example.Nope"})));
    assert_eq!(code, 400, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("header.converter")), "{body}");
    let validate = format!("{}/connector-plugins/FileStreamSource/config/validate", worker.url);
    let nope = with(source(&plain), json!({"header.converter": "com.example.Nope"})).to_string();
    let (code, body) = reqwest::send("PUT", &validate, Some(&nope)).expect("the worker answers");
    let configs = body["configs"].as_array().cloned().unwrap_or_default();
    let entry = configs.iter().find(|c| c["definition"]["name"] == "header.converter");
    let errors = entry.map(|c| c["value"]["errors"].to_string()).unwrap_or_default();
    assert!(code == 200 && errors.contains("Class com.example.Nope could not be found"), "{body}");

    // The worker's SimpleHeaderConverter writes the values as text; the JSON converter a
    // connector names writes them in its envelope, with the schema Kafka Connect infers.
    assert_eq!(put("headers-plain", source(&plain)).0, 201);
    let json_converter = json!({"header.converter": "org.apache.kafka.connect.json.JsonConverter"});
    assert_eq!(put("headers-json", with(source(&enveloped), json_converter.clone())).0, 201);
    let expected = |n: &str, flag: &str| vec![("n".to_owned(), n.to_owned()), ("flag".to_owned(), flag.to_owned())];
    for (topic, want) in [
        (&plain, expected("5", "true")),
        (
            &enveloped,
            expected(
                r#"{"schema":{"type":"int8","optional":false},"payload":5}"#,
                r#"{"schema":{"type":"boolean","optional":false},"payload":true}"#,
            ),
        ),
    ] {
        let seen = wait_for(&format!("{LINES} records in {topic}"), Duration::from_secs(60), || {
            let seen = headers(topic);
            (seen.len() >= LINES).then_some(seen)
        });
        assert!(seen.iter().all(|h| *h == want), "{topic}: {:?}", seen[0]);
    }

    // A sink reading the text headers with the JSON converter fails every record at the
    // HEADER_CONVERTER stage: tolerated, they go to the dead-letter topic; a sink with the
    // default converter writes every line.
    let (good, bad) = (dir.path().join("good.txt"), dir.path().join("bad.txt"));
    let sink = |file: &std::path::Path| json!({"connector.class": "FileStreamSink", "file": file, "topics": plain});
    assert_eq!(put("headers-sink", sink(&good)).0, 201);
    let tolerant = json!({
        "header.converter": "org.apache.kafka.connect.json.JsonConverter",
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.context.headers.enable": "true", "errors.deadletterqueue.topic.replication.factor": "1",
    });
    assert_eq!(put("headers-bad-sink", with(sink(&bad), tolerant)).0, 201);
    worker.wait("every line through the default header converter", Duration::from_secs(60), || {
        (read_lines(&good).len() >= LINES).then_some(())
    });
    assert_eq!(read_lines(&good), lines);
    let dead = wait_for("every record in the dead-letter topic", Duration::from_secs(60), || {
        let dead = headers(&dlq);
        (dead.len() >= LINES).then_some(dead)
    });
    let header = |name: &str| dead[0].iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(header("__connect.errors.stage"), "HEADER_CONVERTER", "{:?}", dead[0]);
    assert_eq!(header("__connect.errors.class.name"), "org.apache.kafka.connect.json.JsonConverter");
    assert!(header("__connect.errors.exception.message").contains("header n"), "{:?}", dead[0]);
    // The record's own headers come first, and its timestamp is kept, as Kafka Connect copies them.
    assert_eq!(dead[0][..2], expected("5", "true")[..], "{:?}", dead[0]);
    let timestamps = |topic: &str| -> Vec<Option<i64>> {
        read_partition(topic, false).iter().map(|m| m.timestamp().to_millis()).collect()
    };
    assert_eq!(timestamps(&dlq), timestamps(&plain));
    assert!(read_lines(&bad).is_empty(), "no record reached the failing sink");
    worker.wait_state("headers-bad-sink", "RUNNING");
}
