//! Drives every REST endpoint of a running worker, including the error answers.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{reqwest::send, unique, wait_for, Worker};

struct Api<'a>(&'a Worker);

impl Api<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string());
        send(method, &format!("{}{path}", self.0.url), body.as_deref())
            .unwrap_or_else(|| panic!("{method} {path}: no answer"))
    }
    fn raw(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        send(method, &format!("{}{path}", self.0.url), Some(body))
            .unwrap_or_else(|| panic!("{method} {path}: no answer"))
    }
    fn expect(&self, method: &str, path: &str, body: Option<Value>, code: u16) -> Value {
        let (got, resp) = self.call(method, path, body);
        assert_eq!(got, code, "{method} {path} answered {got}: {resp}\n{}", self.0.log());
        resp
    }
    fn expect_error(&self, method: &str, path: &str, body: Option<Value>, code: u16, needle: &str) {
        let resp = self.expect(method, path, body, code);
        assert_eq!(resp["error_code"], code, "{resp}");
        let msg = resp["message"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{method} {path}: message {msg:?} lacks {needle:?}");
    }
}

#[test]
fn every_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let worker = Worker::start(dir.path(), json!({"offset.storage.topic": unique("e2e-offsets")}), &[]);
    let api = Api(&worker);
    let topic = unique("e2e-rest");
    let gen = format!("{topic}-gen");
    let sink = format!("{topic}-sink");

    // Root and plugins.
    let root = api.expect("GET", "/", None, 200);
    assert!(root["version"].is_string() && root.get("kafka_cluster_id").is_some(), "{root}");
    let plugins = api.expect("GET", "/connector-plugins", None, 200);
    let classes: Vec<&str> = plugins.as_array().into_iter().flatten().filter_map(|p| p["class"].as_str()).collect();
    assert!(classes.contains(&"FileStreamSource") && classes.contains(&"DatagenSource"), "{plugins}");
    let all = api.expect("GET", "/connector-plugins?connectorsOnly=false", None, 200);
    assert!(all.as_array().is_some_and(|a| a.iter().any(|p| p["type"] == "converter")), "{all}");
    let defs = api.expect("GET", "/connector-plugins/FileStreamSink/config", None, 200);
    assert!(defs.as_array().is_some_and(|a| a.iter().any(|d| d["name"] == "file" && d["required"] == true)), "{defs}");
    assert_eq!(defs[0]["name"], "name", "the common connector keys first, as Kafka Connect 4.1 lists them: {defs}");
    api.expect_error("GET", "/connector-plugins/NoSuchThing/config", None, 404, "available connectors are");
    let v = api.expect("PUT", "/connector-plugins/FileStreamSink/config/validate", Some(json!({"topics": "t"})), 200);
    assert!(v["error_count"].as_u64() >= Some(2), "{v}");
    let errors_of = |name: &str| {
        v["configs"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["value"]["name"] == name))
            .map(|c| c["value"]["errors"].clone())
    };
    assert!(errors_of("file").is_some_and(|e| e.to_string().contains("Missing required configuration")), "{v}");
    assert_eq!(errors_of("topics"), Some(json!([])));
    api.expect_error(
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        Some(json!({"connector.class": "FileStreamSource"})),
        400,
        "does not match",
    );

    // Creation errors.
    assert_eq!(api.expect("GET", "/connectors", None, 200), json!([]));
    let (code, resp) = api.raw("POST", "/connectors", "{not json");
    assert_eq!((code, resp["error_code"].clone()), (400, json!(400)), "{resp}");
    api.expect_error(
        "POST",
        "/connectors",
        Some(json!({"name": "x", "config": {"connector.class": "Nope"}})),
        400,
        "FileStreamSource",
    );
    api.expect_error(
        "POST",
        "/connectors",
        Some(json!({"name": "x", "config": {"connector.class": "FileStreamSink", "topics": "t"}})),
        400,
        "file",
    );
    api.expect_error(
        "POST",
        "/connectors",
        Some(json!({"name": "x", "config": {"connector.class": "FileStreamSink", "file": "/tmp/x", "topics": "t", "tasks.max": "zero"}})),
        400,
        "tasks.max",
    );

    // Create a datagen source and a file sink.
    let gen_config =
        json!({"connector.class": "DatagenSource", "kafka.topic": topic, "iterations": 100, "max.interval": 10});
    let info = api.expect("POST", "/connectors", Some(json!({"name": gen, "config": gen_config})), 201);
    assert_eq!((info["name"].clone(), info["type"].clone()), (json!(gen), json!("source")), "{info}");
    api.expect_error("POST", "/connectors", Some(json!({"name": gen, "config": gen_config})), 409, "already exists");
    let out = dir.path().join("sink.txt");
    let sink_config = json!({"connector.class": "FileStreamSink", "file": out, "topics": topic});
    let created = api.expect("PUT", &format!("/connectors/{sink}/config"), Some(sink_config.clone()), 201);
    assert_eq!(created["type"], "sink");
    api.expect_error(
        "PUT",
        &format!("/connectors/{sink}/config"),
        Some(json!({"name": "other", "connector.class": "FileStreamSink"})),
        400,
        "doesn't match",
    );

    let mut names = api.expect("GET", "/connectors", None, 200);
    names.as_array_mut().expect("array").sort_by_key(|v| v.to_string());
    assert_eq!(names, json!([gen, sink]));
    let expanded = api.expect("GET", "/connectors?expand=status&expand=info", None, 200);
    assert_eq!(expanded[&gen]["info"]["config"]["kafka.topic"], json!(topic), "{expanded}");
    assert!(expanded[&gen]["status"]["connector"]["state"].is_string(), "{expanded}");
    assert_eq!(
        api.expect("GET", &format!("/connectors/{gen}"), None, 200)["tasks"],
        json!([{"connector": gen, "task": 0}])
    );
    api.expect_error("GET", "/connectors/nope", None, 404, "not found");
    assert_eq!(api.expect("GET", &format!("/connectors/{gen}/config"), None, 200)["kafka.topic"], json!(topic));

    // Status and tasks.
    let status = worker.wait_state(&gen, "RUNNING");
    assert_eq!(status["type"], "source");
    assert!(status["tasks"][0]["worker_id"].as_str().is_some_and(|w| w.contains(':')), "{status}");
    let tasks = api.expect("GET", &format!("/connectors/{gen}/tasks"), None, 200);
    assert_eq!(tasks[0]["id"], json!({"connector": gen, "task": 0}));
    assert!(tasks[0]["config"].is_object());
    assert_eq!(api.expect("GET", &format!("/connectors/{gen}/tasks/0/status"), None, 200)["state"], "RUNNING");
    api.expect_error("GET", &format!("/connectors/{gen}/tasks/7/status"), None, 404, "not found");

    // Data flows: topics, PATCH config.
    wait_for("the sink to write", Duration::from_secs(60), || {
        (crate::common::read_lines(&out).len() >= 10).then_some(())
    });
    let topics = api.expect("GET", &format!("/connectors/{gen}/topics"), None, 200);
    assert_eq!(topics, json!({ gen.clone(): {"topics": [topic]} }));
    api.expect("PUT", &format!("/connectors/{gen}/topics/reset"), None, 204);
    assert_eq!(api.expect("GET", &format!("/connectors/{gen}/topics"), None, 200)[&gen]["topics"], json!([]));
    let patched = api.expect("PATCH", &format!("/connectors/{gen}/config"), Some(json!({"max.interval": 5})), 200);
    assert_eq!(patched["config"]["max.interval"], "5");
    assert_eq!(patched["config"]["kafka.topic"], json!(topic));

    // Pause, resume, restarts.
    api.expect("PUT", &format!("/connectors/{gen}/pause"), None, 202);
    worker.wait_state(&gen, "PAUSED");
    api.expect("PUT", &format!("/connectors/{gen}/resume"), None, 202);
    worker.wait_state(&gen, "RUNNING");
    api.expect("POST", &format!("/connectors/{gen}/restart"), None, 204);
    let restarted =
        api.expect("POST", &format!("/connectors/{gen}/restart?includeTasks=true&onlyFailed=false"), None, 202);
    assert_eq!(restarted["name"], json!(gen));
    api.expect("POST", &format!("/connectors/{gen}/tasks/0/restart"), None, 204);
    api.expect_error("POST", &format!("/connectors/{gen}/tasks/5/restart"), None, 404, "not found");
    worker.wait_state(&gen, "RUNNING");

    // Offsets: source (stored in the offset topic) and sink (the consumer group's).
    let offsets_path = format!("/connectors/{gen}/offsets");
    let offsets = wait_for("source offsets", Duration::from_secs(30), || {
        let o = api.expect("GET", &offsets_path, None, 200);
        o["offsets"].as_array().is_some_and(|a| !a.is_empty()).then_some(o)
    });
    assert_eq!(offsets["offsets"][0]["partition"], json!({"task": 0}), "{offsets}");
    let new_offsets = json!({"offsets": [{"partition": {"task": 0}, "offset": {"id": 41}}]});
    api.expect_error("PATCH", &offsets_path, Some(new_offsets.clone()), 400, "STOPPED");
    api.expect_error("DELETE", &offsets_path, None, 400, "STOPPED");
    api.expect("PUT", &format!("/connectors/{gen}/stop"), None, 204);
    let stopped = api.expect("GET", &format!("/connectors/{gen}/status"), None, 200);
    assert_eq!(
        (stopped["connector"]["state"].clone(), stopped["tasks"].clone()),
        (json!("STOPPED"), json!([])),
        "{stopped}"
    );
    let altered = api.expect("PATCH", &offsets_path, Some(new_offsets), 200);
    assert!(altered["message"].as_str().is_some_and(|m| m.contains("altered")), "{altered}");
    assert_eq!(api.expect("GET", &offsets_path, None, 200)["offsets"][0]["offset"], json!({"id": 41}));
    api.expect_error("PATCH", &offsets_path, Some(json!({"nope": 1})), 400, "offsets");
    let reset = api.expect("DELETE", &offsets_path, None, 200);
    assert!(reset["message"].as_str().is_some_and(|m| m.contains("reset")), "{reset}");
    assert_eq!(api.expect("GET", &offsets_path, None, 200)["offsets"], json!([]));
    api.expect("PUT", &format!("/connectors/{gen}/resume"), None, 202);
    worker.wait_state(&gen, "RUNNING");

    let sink_offsets = wait_for("sink offsets", Duration::from_secs(30), || {
        let o = api.expect("GET", &format!("/connectors/{sink}/offsets"), None, 200);
        o["offsets"].as_array().is_some_and(|a| !a.is_empty()).then_some(o)
    });
    let entry = &sink_offsets["offsets"][0];
    assert_eq!(entry["partition"], json!({"kafka_topic": topic, "kafka_partition": 0}), "{sink_offsets}");
    assert!(entry["offset"]["kafka_offset"].as_i64() > Some(0), "{sink_offsets}");

    // A task that fails: FAILED with its trace, and restartable.
    let bad = format!("{topic}-bad");
    let bad_config = json!({"connector.class": "FileStreamSink", "file": "/nonexistent-dir/out.txt", "topics": topic});
    api.expect("POST", "/connectors", Some(json!({"name": bad, "config": bad_config})), 201);
    let failed = wait_for("the bad task to fail", Duration::from_secs(30), || {
        let (_, s) = send("GET", &format!("{}/connectors/{bad}/status", worker.url), None)?;
        (s["tasks"][0]["state"] == "FAILED").then_some(s)
    });
    assert!(failed["tasks"][0]["trace"].as_str().is_some_and(|t| t.contains("/nonexistent-dir/out.txt")), "{failed}");
    let only_failed =
        api.expect("POST", &format!("/connectors/{bad}/restart?includeTasks=true&onlyFailed=true"), None, 202);
    assert_eq!(only_failed["name"], json!(bad));

    // Deletion and unknown routes.
    for name in [&gen, &sink, &bad] {
        api.expect("DELETE", &format!("/connectors/{name}"), None, 204);
    }
    api.expect_error("DELETE", &format!("/connectors/{gen}"), None, 404, "not found");
    api.expect_error("GET", &format!("/connectors/{gen}/status"), None, 404, "not found");
    assert_eq!(api.expect("GET", "/connectors", None, 200), json!([]));
    api.expect_error("GET", "/no/such/path", None, 404, "Not Found");
    api.expect_error("DELETE", "/connector-plugins", None, 405, "Method Not Allowed");
}

#[test]
fn unreachable_broker_keeps_rest_answering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let worker = Worker::spawn(dir.path(), json!({"bootstrap.servers": "127.0.0.1:1"}), &[]);
    let api = Api(&worker);
    api.expect("GET", "/", None, 200);
    api.expect("GET", "/connector-plugins", None, 200);
    let (code, body) = wait_for("the startup problem to be reported", Duration::from_secs(60), || {
        let (code, body) = api.call("GET", "/connectors", None);
        body["message"].as_str().is_some_and(|m| m.contains("127.0.0.1:1")).then_some((code, body))
    });
    assert_eq!(code, 503, "{body}");
    assert!(worker.log().contains("cannot open the offset topic"), "{}", worker.log());
}
