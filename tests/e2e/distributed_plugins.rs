//! Plugins in distributed mode: every worker of a group loads plugin.path; connectors created
//! through any worker run the plugin version their `connector.plugin.version` asks for (the
//! newest without it) wherever the group puts their tasks, and every worker's status, read from
//! the status topic, names that version (KIP-891).

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{free_port, read_lines, reqwest, unique, Worker};
use crate::distributed::group_keys;
use crate::plugins::{example_plugins, http_server, put_connector};

#[test]
fn a_group_runs_the_plugin_versions_asked_for_and_every_worker_reports_them() {
    let [v1, v2, _] = example_plugins();
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = dir.path().join("plugins");
    for (sub, lib) in [("http-1", v1), ("http-2", v2)] {
        std::fs::create_dir_all(plugins.join(sub)).expect("plugin dir");
        std::fs::copy(lib, plugins.join(sub).join(lib.file_name().expect("a name"))).expect("copy plugin");
    }
    let group = unique("e2e-plugin-group");
    let workers: Vec<Worker> = (0..2)
        .map(|i| {
            let mut keys = group_keys(&group, free_port());
            keys["plugin.path"] = json!(plugins.display().to_string());
            Worker::spawn_distributed(&dir.path().join(format!("w{i}")), keys)
        })
        .collect();
    for w in &workers {
        w.wait("the worker to serve connectors", Duration::from_secs(60), || {
            reqwest::blocking_get(&format!("{}/connectors", w.url)).filter(|(c, _)| *c == 200)
        });
    }

    let topic = unique("e2e-plugin-group");
    let out_file = dir.path().join("out.jsonl");
    let url = http_server("{\"status\":\"green\"}");
    let (old, new, sink) = (format!("{topic}-v1"), format!("{topic}-v2"), format!("{topic}-sink"));
    let source = json!({"connector.class": "HttpPollSource", "url": url, "topic": topic, "poll.interval.ms": "100"});
    let mut pinned = source.clone();
    pinned["connector.plugin.version"] = json!("0.1.0");
    put_connector(&workers[0], &old, pinned);
    put_connector(&workers[1], &new, source);
    put_connector(
        &workers[1],
        &sink,
        json!({"connector.class": "com.example.aqueduct.FileAppendSinkConnector", "topics": topic, "file": out_file}),
    );

    // Every worker, whichever runs what, reports each connector and task with its version.
    let sink_version = "0.1.0";
    for w in &workers {
        for (name, version) in [(&old, "0.1.0"), (&new, "2.0.0"), (&sink, sink_version)] {
            let status_url = format!("{}/connectors/{name}/status", w.url);
            w.wait(&format!("{name} RUNNING at {version}"), Duration::from_secs(60), || {
                let (_, s) = reqwest::blocking_get(&status_url)?;
                let running = |v: &Value| v["state"] == "RUNNING" && v["version"] == version;
                (running(&s["connector"]) && s["tasks"].as_array().is_some_and(|t| t.len() == 1 && running(&t[0])))
                    .then_some(())
            });
        }
    }
    // The records say which version of the source made them.
    workers[0].wait("records of both versions in the sink's file", Duration::from_secs(60), || {
        let lines: Vec<Value> = read_lines(&out_file).iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let of = |v: &str| lines.iter().filter(|l| l["version"] == v).count();
        (of("0.1.0") >= 3 && of("2.0.0") >= 3).then_some(())
    });
    // The plugin's own log line is in the log of the worker that runs the task.
    let logged = workers
        .iter()
        .any(|w| w.log().lines().any(|l| l.contains("polling started") && l.contains(&format!("connector={old}"))));
    assert!(logged, "no worker logged the plugin task's start");
    for w in workers {
        assert!(w.terminate(Duration::from_secs(30)), "the worker stops cleanly");
    }
}
