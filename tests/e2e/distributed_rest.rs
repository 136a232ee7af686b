//! `aqueduct distributed`, three workers: every REST verb on a connector goes through another
//! worker (round robin), and after each one every worker answers the same `GET /connectors`,
//! `/status`, `/config` and `/tasks` (Kafka Connect's status codes and bodies).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{reqwest, unique, Worker};
use crate::distributed::send_settled;
use crate::distributed_sink::start_group;

/// What one worker answers about `name`: listed?, and the status, config and tasks (code, body).
fn view(url: &str, name: &str) -> Option<Value> {
    let (_, listed) = reqwest::blocking_get(&format!("{url}/connectors"))?;
    let listed = listed.as_array()?.iter().any(|n| n == name);
    let get = |path: &str| reqwest::blocking_get(&format!("{url}/connectors/{name}{path}")).map(|(c, b)| json!([c, b]));
    Some(json!({"listed": listed, "status": get("/status")?, "config": get("/config")?, "tasks": get("/tasks")?}))
}

/// Waits until every worker answers the same view and `check` accepts it; returns it.
fn converged(workers: &[Worker], name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let views: Vec<Option<Value>> = workers.iter().map(|w| view(&w.url, name)).collect();
        if let Some(Some(first)) = views.first() {
            if views.iter().all(|v| v.as_ref() == Some(first)) && check(first) {
                return first.clone();
            }
        }
        if Instant::now() > deadline {
            let logs: Vec<String> =
                workers.iter().map(|w| w.log().lines().rev().take(15).collect::<Vec<_>>().join("\n")).collect();
            panic!(
                "the workers never agreed on {name} {what}; last views:\n{views:#?}\nlogs (newest first):\n{}",
                logs.join("\n---\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Connector and its `n` tasks in `state`; `/tasks` lists `n` configs; `tasks.max` is `max`.
fn all_in(state: &'static str, n: usize, max: usize) -> impl Fn(&Value) -> bool {
    move |v| {
        let status = &v["status"][1];
        let tasks = status["tasks"].as_array().cloned().unwrap_or_default();
        v["listed"] == true
            && v["status"][0] == 200
            && status["connector"]["state"] == state
            && tasks.len() == n
            && tasks.iter().enumerate().all(|(i, t)| t["id"] == i && t["state"] == state && t["worker_id"].is_string())
            // The plugin's version (KIP-891), on the connector and each task, from the status topic.
            && status["connector"]["version"] == env!("CARGO_PKG_VERSION")
            && tasks.iter().all(|t| t["version"] == env!("CARGO_PKG_VERSION"))
            && v["tasks"][1].as_array().map(Vec::len) == Some(n)
            && v["config"][1]["tasks.max"].as_str().and_then(|m| m.parse().ok()) == Some(max)
    }
}

/// How many of the workers' log lines contain `needle`.
fn log_count(workers: &[Worker], needle: &str) -> usize {
    workers.iter().map(|w| w.log().lines().filter(|l| l.contains(needle)).count()).sum()
}

#[test]
fn every_verb_through_another_worker_and_every_worker_answers_the_same() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let (workers, _) = start_group(dir.path(), &unique("e2e-group"), 3);
    let workers: Vec<Worker> = workers.into_iter().flatten().collect();
    let turn = std::cell::Cell::new(0);
    let call = |method: &str, path: &str, body: Option<Value>| -> (u16, Value) {
        let url = &workers[turn.get() % workers.len()].url;
        turn.set(turn.get() + 1);
        send_settled(method, &format!("{url}{path}"), body.as_ref())
    };
    let name = unique("e2e-rest");
    let config = |max: usize| json!({"connector.class": "DatagenSource", "kafka.topic": name, "max.interval": 200, "tasks.max": max.to_string()});
    let at = format!("/connectors/{name}");

    let (code, body) = call("POST", "/connectors", Some(json!({"name": name, "config": config(2)})));
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["name"], name.as_str());
    converged(&workers, &name, "2 tasks RUNNING", all_in("RUNNING", 2, 2));

    // tasks.max 2 -> 4 -> 1: exactly that many tasks; the statuses of removed tasks are gone.
    for max in [4, 1] {
        let (code, body) = call("PUT", &format!("{at}/config"), Some(config(max)));
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["config"]["tasks.max"], max.to_string());
        converged(&workers, &name, &format!("{max} tasks RUNNING"), all_in("RUNNING", max, max));
    }
    for w in &workers {
        for task in 1..4 {
            let (code, _) = reqwest::blocking_get(&format!("{}{at}/tasks/{task}/status", w.url)).expect("task status");
            assert_eq!(code, 404, "{} still has a status for task {task}", w.url);
        }
    }

    let (code, body) = call("PUT", &format!("{at}/pause"), None);
    assert_eq!((code, body), (202, Value::Null));
    converged(&workers, &name, "PAUSED", all_in("PAUSED", 1, 1));
    let (code, body) = call("PUT", &format!("{at}/resume"), None);
    assert_eq!((code, body), (202, Value::Null));
    converged(&workers, &name, "RUNNING after resume", all_in("RUNNING", 1, 1));

    // A restart of the connector and its tasks: 202 with the plan (Kafka Connect shows what it
    // restarts as RESTARTING), then both start again.
    let task_starts = log_count(&workers, &format!("started DatagenSource task connector={name} task=0"));
    let connector_starts = log_count(&workers, &format!("starting DatagenSource connector connector=\"{name}\""));
    let (code, body) = call("POST", &format!("{at}/restart?includeTasks=true&onlyFailed=false"), None);
    assert_eq!(code, 202, "{body}");
    assert_eq!(body["name"], name.as_str());
    assert_eq!(body["type"], "source");
    assert_eq!(body["connector"]["state"], "RESTARTING", "{body}");
    assert_eq!(body["tasks"][0]["state"], "RESTARTING", "{body}");
    assert!(body["tasks"][0]["worker_id"].is_string(), "{body}");
    converged(&workers, &name, "RUNNING after the restart", |v| {
        all_in("RUNNING", 1, 1)(v)
            && log_count(&workers, &format!("started DatagenSource task connector={name} task=0")) > task_starts
            && log_count(&workers, &format!("starting DatagenSource connector connector=\"{name}\"")) > connector_starts
    });

    let (code, body) = call("PUT", &format!("{at}/stop"), None);
    assert_eq!((code, body), (204, Value::Null));
    converged(&workers, &name, "STOPPED without tasks", |v| {
        v["status"][1]["connector"]["state"] == "STOPPED"
            && v["status"][1]["tasks"] == json!([])
            && v["tasks"][1] == json!([])
    });

    // Offsets: GET, PATCH, DELETE, PATCH, each through the next worker; all agree after each.
    let offsets_everywhere = |expect: &dyn Fn(&Value) -> bool| {
        converged(&workers, &name, "the same offsets", |_| true);
        let all: Vec<Value> = workers
            .iter()
            .map(|w| reqwest::blocking_get(&format!("{}{at}/offsets", w.url)).expect("offsets").1)
            .collect();
        assert!(all.iter().all(|o| *o == all[0]), "the workers answer different offsets: {all:?}");
        assert!(expect(&all[0]), "unexpected offsets {}", all[0]);
        all[0].clone()
    };
    let (code, before) = call("GET", &format!("{at}/offsets"), None);
    assert_eq!(code, 200, "{before}");
    assert!(before["offsets"].as_array().is_some_and(|o| o.iter().any(|p| p["partition"] == json!({"task": 0}))));
    offsets_everywhere(&|o| *o == before);
    let patch = json!({"offsets": [{"partition": {"task": 0}, "offset": {"id": 5000}}]});
    let alter = || {
        let (code, body) = call("PATCH", &format!("{at}/offsets"), Some(patch.clone()));
        assert_eq!(code, 200, "{body}");
        // Kafka Connect says "The offsets ..." when the connector's alterOffsets handled them,
        // "The Connect framework-managed offsets ..." (and more) when it did not.
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("offsets for this connector have been altered successfully")),
            "{body}"
        );
        offsets_everywhere(&|o| o["offsets"].as_array().is_some_and(|l| l.contains(&patch["offsets"][0])));
    };
    alter();
    let (code, body) = call("DELETE", &format!("{at}/offsets"), None);
    assert_eq!(code, 200, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("offsets for this connector have been reset successfully")),
        "{body}"
    );
    offsets_everywhere(&|o| *o == json!({"offsets": []}));
    alter();

    // Resumed from STOPPED: its task comes back and starts after the altered offset.
    let (code, body) = call("PUT", &format!("{at}/resume"), None);
    assert_eq!((code, body), (202, Value::Null));
    converged(&workers, &name, "RUNNING after the stop", |v| {
        all_in("RUNNING", 1, 1)(v)
            && log_count(&workers, &format!("task=0 topic={name} share=0 shares=1 next_id=5001")) > 0
    });

    let (code, body) = call("DELETE", &at, None);
    assert_eq!((code, body), (204, Value::Null));
    let gone = converged(&workers, &name, "deleted", |v| {
        v["listed"] == false && v["status"][0] == 404 && v["config"][0] == 404 && v["tasks"][0] == 404
    });
    assert_eq!(gone["status"][1]["error_code"], 404, "{gone}");
    println!("{} verbs over {} workers; test took {:?}", turn.get(), workers.len(), started.elapsed());
}
