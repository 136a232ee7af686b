//! Connectors loaded at run time: the example plugin (connectors/example-plugin) built as a
//! cdylib, copied into a plugin.path directory, created over REST and moving data through
//! Kafka, through the plugin's own transform, predicate and key converter too; a plugin built
//! against another SDK version refused with both versions named; a panicking plugin task
//! FAILED with the panic message while the other connectors keep RUNNING.
//!
//! The libraries are built here with `cargo build -p aqueduct-example-plugin --lib --examples`
//! into the same target directory as the `aqueduct` binary under test (a nested cargo waits
//! for the outer one's lock and reuses its artifacts, so this is quick after the first time).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{read_lines, reqwest, unique, Worker};
use crate::topics::{high_watermark, read_partition, text};

/// `target/<profile>`, where the binary under test and the plugin libraries are.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_aqueduct")).parent().expect("target/<profile>/aqueduct").to_owned()
}

pub(crate) fn library(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{}{name}.{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_EXTENSION))
}

/// Builds the example plugin (version 0.1.0), its 2.0.0 variant and its other-SDK variant.
pub fn example_plugins() -> &'static [PathBuf; 3] {
    static BUILT: OnceLock<[PathBuf; 3]> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "aqueduct-example-plugin", "--lib", "--examples"])
            // The profile of the binaries under test (target/debug or target/release).
            .args(target_dir().ends_with("release").then_some("--release"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the example plugin failed");
        let target = target_dir();
        [
            library(&target, "aqueduct_example_plugin"),
            library(&target.join("examples"), "aqueduct_example_plugin_v2"),
            library(&target.join("examples"), "aqueduct_example_plugin_other_sdk"),
        ]
    })
}

/// Serves `HTTP/1.0 200` with `body` to every request, on a thread; returns its URL.
pub(crate) fn http_server(body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}/_cluster/health", listener.local_addr().expect("bound"));
    std::thread::spawn(move || {
        for mut socket in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 2048];
            let _ = socket.read(&mut buf);
            let _ = write!(socket, "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        }
    });
    url
}

pub(crate) fn put_connector(worker: &Worker, name: &str, config: Value) {
    let url = format!("{}/connectors/{name}/config", worker.url);
    let (code, body) = reqwest::send("PUT", &url, Some(&config.to_string())).expect("the worker answers");
    assert!(code == 201 || code == 200, "creating {name}: {code} {body}\n{}", worker.log());
}

#[test]
fn plugins_from_plugin_path_run_refuse_other_sdks_and_fail_alone_on_panic() {
    let [v1, v2, other_sdk] = example_plugins();
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = dir.path().join("plugins");
    for (sub, lib) in [("http-1", v1), ("http-2", v2), ("old-sdk", other_sdk)] {
        std::fs::create_dir_all(plugins.join(sub)).expect("plugin dir");
        std::fs::copy(lib, plugins.join(sub).join(lib.file_name().expect("a name"))).expect("copy plugin");
    }
    std::fs::write(library(&plugins, "broken"), b"not a library").expect("a broken plugin file");

    // The CLI lists what plugin.path holds, and says why the other files are not loaded.
    let out = Command::new(env!("CARGO_BIN_EXE_aqueduct"))
        .args(["plugins", "--plugin-path"])
        .arg(&plugins)
        .env("RUST_LOG", "off")
        .output()
        .expect("aqueduct plugins runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    for line in [
        "HttpPollSource\tsource\t0.1.0\t",
        "HttpPollSource\tsource\t2.0.0\t",
        "FileAppendSink\tsink\t0.1.0\t",
        "com.example.aqueduct.UppercaseField\ttransformation\t0.1.0\tUppercaseField\t",
        "com.example.aqueduct.FieldEquals\tpredicate\t0.1.0\tFieldEquals\t",
        "com.example.aqueduct.HexConverter\tconverter\t0.1.0\tHexConverter\t",
        "org.apache.kafka.connect.transforms.RegexRouter\ttransformation\t",
    ] {
        assert!(stdout.contains(line), "{line:?} not in:\n{stdout}");
    }
    let refused = stderr.lines().find(|l| l.contains("other_sdk")).unwrap_or_default();
    assert!(refused.contains("aqueduct-sdk 0.0.0-other") && refused.contains("aqueduct-sdk 0.1.0"), "{stderr}");
    assert!(stderr.lines().any(|l| l.contains("libbroken")), "the broken file is reported: {stderr}");

    let worker = Worker::start(
        &dir.path().join("worker"),
        json!({"plugin.path": plugins.display().to_string(), "offset.storage.topic": unique("e2e-plugin-offsets")}),
        &[],
    );
    // Refused with both versions and the file; the worker started all the same.
    let log = worker.log();
    let refusal = log.lines().find(|l| l.contains("plugin skipped") && l.contains("other_sdk")).unwrap_or_default();
    assert!(refusal.contains("0.0.0-other") && refusal.contains("aqueduct-sdk 0.1.0"), "{log}");
    assert!(refusal.contains("libaqueduct_example_plugin_other_sdk"), "{refusal}");

    // Both versions of the source, and the sink, are listed.
    let (_, listed) = reqwest::blocking_get(&format!("{}/connector-plugins", worker.url)).expect("plugins");
    let versions: Vec<&str> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["class"] == "HttpPollSource")
        .filter_map(|p| p["version"].as_str())
        .collect();
    assert_eq!(versions, ["0.1.0", "2.0.0"], "{listed}");
    assert!(listed.as_array().into_iter().flatten().any(|p| p["class"] == "FileAppendSink" && p["type"] == "sink"));
    // With connectorsOnly=false, the plugin's transform, predicate and converter too, typed and
    // versioned as Kafka Connect lists them.
    let all_url = format!("{}/connector-plugins?connectorsOnly=false", worker.url);
    let (_, all) = reqwest::blocking_get(&all_url).expect("plugins");
    for (class, kind) in [
        ("com.example.aqueduct.UppercaseField", "transformation"),
        ("com.example.aqueduct.FieldEquals", "predicate"),
        ("com.example.aqueduct.HexConverter", "converter"),
        ("JsonConverter", "converter"),
    ] {
        let entry = all.as_array().into_iter().flatten().find(|p| p["class"] == class);
        assert!(entry.is_some_and(|p| p["type"] == kind && p["version"].is_string()), "{class}: {all}");
    }
    let plugin_version =
        all.as_array().into_iter().flatten().find(|p| p["class"] == "com.example.aqueduct.HexConverter");
    assert_eq!(plugin_version.map(|p| p["version"].clone()), Some(json!("0.1.0")), "{all}");

    // The example connector configs of configs/example-plugin are valid for the loaded plugin.
    for file in ["cluster-health.json", "cluster-health-file.json"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/example-plugin").join(file);
        let example: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("example config")).expect("JSON");
        let class = example["config"]["connector.class"].as_str().expect("a class");
        let url = format!("{}/connector-plugins/{class}/config/validate", worker.url);
        let mut config = example["config"].clone();
        config["name"] = example["name"].clone();
        let (code, body) = reqwest::send("PUT", &url, Some(&config.to_string())).expect("validate");
        assert_eq!((code, &body["error_count"]), (200, &json!(0)), "{file}: {body}");
    }

    // The config definition of a version asked for (KIP-891's ?version=, a version or a range),
    // and a version that is not installed refused naming the ones that are; validate reports
    // one a config names on its connector.class and connector.plugin.version, as Kafka Connect.
    let plugin_config = |plugin: &str, version: &str| {
        let url = format!("{}/connector-plugins/{plugin}/config?version={version}", worker.url);
        reqwest::send("GET", &url, None).expect("the worker answers")
    };
    for version in ["0.1.0", "[1.0,3.0)", "latest"] {
        let (code, defs) = plugin_config("HttpPollSource", version);
        let names: Vec<&str> = defs.as_array().into_iter().flatten().filter_map(|d| d["name"].as_str()).collect();
        assert!(code == 200 && names.contains(&"url"), "{version}: {defs}");
    }
    for (plugin, missing) in [("HttpPollSource", "9.9"), ("com.example.aqueduct.UppercaseField", "[5.0,)")] {
        let (code, body) = plugin_config(plugin, missing);
        assert_eq!(code, 400, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains(&format!("no version {missing} of"))), "{body}");
    }
    let validate = format!("{}/connector-plugins/HttpPollSource/config/validate", worker.url);
    let pinned = json!({"connector.class": "HttpPollSource", "connector.plugin.version": "7.0"}).to_string();
    let (code, body) = reqwest::send("PUT", &validate, Some(&pinned)).expect("validate");
    let errors_of = |key: &str| -> Vec<String> {
        let configs = body["configs"].as_array().into_iter().flatten();
        let errors = configs.filter(|c| c["value"]["name"] == key).flat_map(|c| c["value"]["errors"].as_array());
        errors.flatten().filter_map(|e| e.as_str().map(str::to_owned)).collect()
    };
    assert_eq!(code, 200, "{body}");
    assert!(errors_of("connector.plugin.version").iter().any(|e| e.contains("no version 7.0")), "{body}");
    assert_eq!(errors_of("connector.class").len(), 1, "{body}");

    // Two sources (the old version asked for by connector.plugin.version, the newest by
    // default) -> Kafka -> the plugin's sink, all created over REST.
    let topic = unique("e2e-plugin");
    let out_file = dir.path().join("out.jsonl");
    let url = http_server("{\"status\":\"green\"}");
    let source = |version: Option<&str>| {
        let mut config = json!({
            "connector.class": "HttpPollSource", "url": url, "topic": topic, "poll.interval.ms": "100",
        });
        if let Some(v) = version {
            config["connector.plugin.version"] = json!(v);
        }
        config
    };
    // A version that is not installed is refused, naming the ones that are.
    let url_missing = format!("{}/connectors/{topic}-v9/config", worker.url);
    let missing = source(Some("9.9.9")).to_string();
    let (code, body) = reqwest::send("PUT", &url_missing, Some(&missing)).expect("the worker answers");
    assert_eq!(code, 400, "{body}");
    assert!(
        body.to_string().contains("no version 9.9.9 of HttpPollSource; available versions: 0.1.0, 2.0.0"),
        "{body}"
    );

    let (old, new, sink) = (format!("{topic}-v1"), format!("{topic}-v2"), format!("{topic}-sink"));
    put_connector(&worker, &old, source(Some("0.1.0")));
    put_connector(&worker, &new, source(None));
    put_connector(
        &worker,
        &sink,
        json!({"connector.class": "com.example.aqueduct.FileAppendSinkConnector", "topics": topic, "file": out_file}),
    );
    for name in [&old, &new, &sink] {
        worker.wait_state(name, "RUNNING");
    }
    // The plugin's own tracing events are in the worker's log, under the task's connector.
    worker.wait("the plugin task's log line", Duration::from_secs(30), || {
        let log = worker.log();
        let line = log.lines().find(|l| l.contains("polling started") && l.contains(&format!("connector={old}")))?;
        assert!(line.contains("aqueduct::plugin") && line.contains("aqueduct_example_plugin"), "{line}");
        assert!(line.contains(" INFO ") && line.contains(&format!("url={url}")), "{line}");
        Some(())
    });
    // The status names the version each connector and task runs (KIP-891).
    for (name, version) in [(&old, "0.1.0"), (&new, "2.0.0")] {
        let (_, status) = reqwest::blocking_get(&format!("{}/connectors/{name}/status", worker.url)).expect("status");
        assert_eq!(status["connector"]["version"], version, "{status}");
        assert_eq!(status["tasks"][0]["version"], version, "{status}");
    }
    let records = |min_v1: usize, min_v2: usize| {
        worker.wait("records of both versions in the sink's file", Duration::from_secs(60), || {
            let lines: Vec<Value> = read_lines(&out_file).iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
            let of = |v: &str| lines.iter().filter(|l| l["version"] == v).count();
            (of("0.1.0") >= min_v1 && of("2.0.0") >= min_v2).then_some(lines)
        })
    };
    let lines = records(3, 3);
    assert!(lines.iter().all(|l| l["body"] == "{\"status\":\"green\"}" && l["status"] == 200), "{lines:?}");

    // A source through the plugin's transform where the plugin's predicate matches, its keys
    // written by the plugin's converter: the topic holds the upper-cased body and hex keys.
    let shouting = format!("{topic}-upper");
    let mut config = source(None);
    for (key, value) in [
        ("topic", shouting.as_str()),
        ("key.converter", "com.example.aqueduct.HexConverter"),
        ("transforms", "up"),
        ("transforms.up.type", "UppercaseField"),
        ("transforms.up.field", "body"),
        ("transforms.up.predicate", "ok"),
        ("predicates", "ok"),
        ("predicates.ok.type", "com.example.aqueduct.FieldEquals"),
        ("predicates.ok.field", "status"),
        ("predicates.ok.value", "200"),
    ] {
        config[key] = json!(value);
    }
    // A transform version that is not installed is refused, naming the key (KIP-891).
    let mut pinned = config.clone();
    pinned["transforms.up.plugin.version"] = json!("9.9");
    let pinned_url = format!("{}/connectors/{shouting}-pinned/config", worker.url);
    let (code, body) = reqwest::send("PUT", &pinned_url, Some(&pinned.to_string())).expect("the worker answers");
    assert_eq!(code, 400, "{body}");
    assert!(body.to_string().contains("transforms.up.plugin.version: no version 9.9 of UppercaseField"), "{body}");
    config["transforms.up.plugin.version"] = json!("[0.1,1.0)");
    put_connector(&worker, &shouting, config);
    worker.wait_state(&shouting, "RUNNING");
    worker.wait("three records through the plugin's transform", Duration::from_secs(60), || {
        (high_watermark(&shouting) >= 3).then_some(())
    });
    // Deleted, so that the topic stops growing and can be read to its end.
    let (code, body) = reqwest::send("DELETE", &format!("{}/connectors/{shouting}", worker.url), None).expect("delete");
    assert!(code == 204 || code == 200, "{code} {body}");
    let url_hex: String = url.bytes().map(|b| format!("{b:02x}")).collect();
    let messages = read_partition(&shouting, false);
    assert!(messages.len() >= 3, "{} records", messages.len());
    for message in messages {
        let value: Value = serde_json::from_str(&text(&message)).expect("a JSON value");
        let payload = if value.get("payload").is_some() { &value["payload"] } else { &value };
        assert_eq!(payload["body"], "{\"STATUS\":\"GREEN\"}", "the plugin's transform applied: {value}");
        let key = String::from_utf8_lossy(rdkafka::Message::key(&message).unwrap_or_default()).into_owned();
        assert_eq!(key, url_hex, "the key written by the plugin's converter");
    }

    // A panicking task: FAILED with the panic message; the others keep RUNNING and data flows.
    let panicky = format!("{topic}-panic");
    let mut config = source(None);
    config["panic.on.poll"] = json!("true");
    put_connector(&worker, &panicky, config);
    let status_url = format!("{}/connectors/{panicky}/status", worker.url);
    let failed = worker.wait("the panicking task to be FAILED", Duration::from_secs(30), || {
        let (_, body) = reqwest::blocking_get(&status_url)?;
        (body["tasks"][0]["state"] == "FAILED").then_some(body)
    });
    let trace = failed["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(trace.contains("plugin panicked: HttpPollSource was told to panic"), "{failed}");
    for name in [&old, &new, &sink] {
        worker.wait_state(name, "RUNNING");
    }
    let before = read_lines(&out_file).len();
    worker.wait("more records after the panic", Duration::from_secs(30), || {
        (read_lines(&out_file).len() >= before + 4).then_some(())
    });
    assert!(worker.terminate(Duration::from_secs(30)), "the worker stops cleanly");
}
