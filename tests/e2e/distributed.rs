//! `aqueduct distributed`: three workers in one group share a file copy (FileStreamSource ->
//! topic -> two FileStreamSinks); a kill -9'd worker's tasks move; a restarted group picks its
//! connectors up from the config topic.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{read_lines, reqwest, unique, wait_for, Worker};

const LINES: usize = 20_000;

/// A group's worker keys: small timeouts so a crash is noticed quickly.
pub(crate) fn group_keys(group: &str, port: u16) -> Value {
    json!({
        "group.id": group,
        "config.storage.topic": format!("{group}-configs"),
        "offset.storage.topic": format!("{group}-offsets"),
        "status.storage.topic": format!("{group}-status"),
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "scheduled.rebalance.max.delay.ms": 3000,
        "consumer.session.timeout.ms": 6000,
        "rest.port": port,
    })
}

struct Copy {
    source: String,
    sinks: [String; 2],
    outputs: [PathBuf; 2],
}

fn write_input(dir: &Path) -> PathBuf {
    let input = dir.join("input.txt");
    let lines: Vec<String> = (0..LINES).map(|i| format!("line {i:06}")).collect();
    fs::write(&input, lines.join("\n") + "\n").expect("write input");
    input
}

/// Creates the source and the two sinks through `url` (any worker).
fn create(url: &str, dir: &Path, input: &Path) -> Copy {
    let topic = unique("e2e-dist");
    let copy = Copy {
        source: format!("{topic}-source"),
        sinks: [format!("{topic}-sink-a"), format!("{topic}-sink-b")],
        outputs: [dir.join("out-a.txt"), dir.join("out-b.txt")],
    };
    let mut bodies = vec![json!({"name": copy.source, "config": {
        "connector.class": "FileStreamSource", "file": input, "topic": topic, "batch.size": 200,
    }})];
    for (name, out) in copy.sinks.iter().zip(&copy.outputs) {
        bodies
            .push(json!({"name": name, "config": {"connector.class": "FileStreamSink", "file": out, "topics": topic}}));
    }
    for body in bodies {
        let created = wait_for("POST /connectors accepted", Duration::from_secs(30), || {
            let (code, answer) = reqwest::send("POST", &format!("{url}/connectors"), Some(&body.to_string()))?;
            match code {
                201 => Some(answer),
                409 => None, // a rebalance in progress: try again
                _ => panic!("POST /connectors answered {code}: {answer}"),
            }
        });
        assert_eq!(created["name"], body["name"]);
    }
    copy
}

fn names(copy: &Copy) -> BTreeSet<String> {
    [copy.source.clone(), copy.sinks[0].clone(), copy.sinks[1].clone()].into_iter().collect()
}

/// Every connector of `copy` RUNNING with one RUNNING task on `url`; returns the task worker ids.
fn running_on(url: &str, copy: &Copy) -> Option<Vec<String>> {
    let mut workers = Vec::new();
    for name in names(copy) {
        let (code, status) = reqwest::blocking_get(&format!("{url}/connectors/{name}/status"))?;
        let tasks = status["tasks"].as_array()?;
        if code != 200 || status["connector"]["state"] != "RUNNING" || tasks.len() != 1 {
            return None;
        }
        if tasks[0]["state"] != "RUNNING" {
            return None;
        }
        workers.push(tasks[0]["worker_id"].as_str()?.to_owned());
    }
    Some(workers)
}

/// Every line in both outputs; returns the duplicates.
fn wait_complete(copy: &Copy, expected: usize, timeout: Duration, log: &dyn Fn() -> String) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let counts: Vec<(usize, usize)> = copy
            .outputs
            .iter()
            .map(|o| {
                let lines = read_lines(o);
                let distinct: HashSet<&String> = lines.iter().collect();
                (distinct.len(), lines.len())
            })
            .collect();
        if counts.iter().all(|(d, _)| *d >= expected) {
            for (d, _) in &counts {
                assert_eq!(*d, expected, "foreign lines in the output");
            }
            return counts.iter().map(|(_, n)| n - expected).sum();
        }
        assert!(Instant::now() < deadline, "copy incomplete after {timeout:?}: {counts:?}\n{}", log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub(crate) fn tail(worker: &Worker) -> String {
    let log = worker.log();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[test]
fn three_workers_share_the_copy_and_survive_a_kill_9() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let group = unique("e2e-group");
    let ports: Vec<u16> = (0..3).map(|_| crate::common::free_port()).collect();
    let mut workers: Vec<Option<Worker>> = ports
        .iter()
        .enumerate()
        .map(|(i, &p)| Some(Worker::spawn_distributed(&dir.path().join(format!("w{i}")), group_keys(&group, p))))
        .collect();
    let urls: Vec<String> = workers.iter().flatten().map(|w| w.url.clone()).collect();
    for url in &urls {
        wait_for("the worker to serve connectors", Duration::from_secs(30), || {
            reqwest::blocking_get(&format!("{url}/connectors")).filter(|(c, _)| *c == 200)
        });
    }
    let input = write_input(dir.path());
    let copy = create(&urls[1], dir.path(), &input);

    // (a) Every worker lists the same connectors and statuses; the tasks are spread.
    let spread = wait_for("three tasks RUNNING on three workers", Duration::from_secs(60), || {
        let ids = running_on(&urls[0], &copy)?;
        (ids.iter().collect::<BTreeSet<_>>().len() == 3).then_some(ids)
    });
    for url in &urls {
        let (_, listed) = reqwest::blocking_get(&format!("{url}/connectors")).expect("list");
        let listed: BTreeSet<String> =
            listed.as_array().expect("array").iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
        assert!(names(&copy).is_subset(&listed), "{url} lists {listed:?}");
        let seen = wait_for("the same statuses everywhere", Duration::from_secs(10), || {
            running_on(url, &copy).filter(|ids| *ids == spread)
        });
        assert_eq!(seen, spread);
    }
    println!("tasks on {spread:?} after {:?}", started.elapsed());

    // (b) kill -9 the worker running a sink task (not the one we talk to); its task moves.
    let victim_id = spread[1].clone();
    let victim = ports.iter().position(|p| victim_id.ends_with(&format!(":{p}"))).expect("victim port");
    let survivor = (victim + 1) % 3;
    while read_lines(&copy.outputs[0]).len() < LINES / 10 {
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(w) = workers[victim].take() {
        w.kill9();
    }
    let killed = Instant::now();
    let survivor_url = urls[survivor].clone();
    let moved = wait_for("the killed worker's task running elsewhere", Duration::from_secs(30), || {
        let ids = running_on(&survivor_url, &copy)?;
        ids.iter().all(|id| *id != victim_id).then_some(ids)
    });
    let took = killed.elapsed();
    println!("tasks on {moved:?} {took:?} after the kill -9");
    assert!(took < Duration::from_secs(3 + 10 + 6), "took {took:?}");
    let log = || workers[survivor].as_ref().map(tail).unwrap_or_default();
    let duplicates = wait_complete(&copy, LINES, Duration::from_secs(40), &log);
    println!("copy complete, {duplicates} duplicates; test took {:?}", started.elapsed());
}

#[test]
fn a_restarted_group_runs_its_connectors_from_the_config_topic() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let group = unique("e2e-group");
    let ports: Vec<u16> = (0..2).map(|_| crate::common::free_port()).collect();
    let spawn = |run: &str| -> Vec<Worker> {
        ports
            .iter()
            .enumerate()
            .map(|(i, &p)| Worker::spawn_distributed(&dir.path().join(format!("{run}-w{i}")), group_keys(&group, p)))
            .collect()
    };
    let workers = spawn("run1");
    let input = write_input(dir.path());
    let url = workers[0].url.clone();
    wait_for("the worker to serve connectors", Duration::from_secs(30), || {
        reqwest::blocking_get(&format!("{url}/connectors")).filter(|(c, _)| *c == 200)
    });
    let copy = create(&url, dir.path(), &input);
    wait_for("every connector RUNNING", Duration::from_secs(60), || running_on(&url, &copy));
    for w in workers {
        assert!(w.terminate(Duration::from_secs(30)), "a worker did not stop cleanly");
    }

    // Append lines while the group is down; the restarted group copies them from the stored offset.
    let more: Vec<String> = (LINES..LINES + 1000).map(|i| format!("line {i:06}")).collect();
    let mut text = fs::read_to_string(&input).expect("input");
    text.push_str(&(more.join("\n") + "\n"));
    fs::write(&input, text).expect("append");
    let workers = spawn("run2");
    let url = workers[1].url.clone();
    let (_, listed) = wait_for("connectors listed after the restart", Duration::from_secs(30), || {
        reqwest::blocking_get(&format!("{url}/connectors")).filter(|(c, _)| *c == 200)
    });
    let listed: BTreeSet<String> =
        listed.as_array().expect("array").iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
    assert_eq!(listed, names(&copy));
    let ids = workers[0].wait("every connector RUNNING again", Duration::from_secs(60), || running_on(&url, &copy));
    println!("running again on {ids:?}");
    let log = || tail(&workers[0]);
    let duplicates = wait_complete(&copy, LINES + 1000, Duration::from_secs(40), &log);
    println!("copy complete, {duplicates} duplicates; test took {:?}", started.elapsed());
    assert!(duplicates < LINES, "{duplicates} duplicates: the restarted group did not resume from its offsets");
}

/// `name`'s task worker ids when the connector and all `tasks` tasks are RUNNING.
pub(crate) fn task_workers(url: &str, name: &str, tasks: usize) -> Option<Vec<String>> {
    let (code, status) = reqwest::blocking_get(&format!("{url}/connectors/{name}/status"))?;
    let list = status["tasks"].as_array()?;
    if code != 200 || status["connector"]["state"] != "RUNNING" || list.len() != tasks {
        return None;
    }
    let mut ids = vec![String::new(); tasks];
    for t in list {
        if t["state"] != "RUNNING" {
            return None;
        }
        let n = usize::try_from(t["id"].as_u64()?).ok()?;
        *ids.get_mut(n)? = t["worker_id"].as_str()?.to_owned();
    }
    Some(ids)
}

/// How many tasks each worker id runs.
pub(crate) fn load(ids: &[String]) -> std::collections::BTreeMap<&str, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for id in ids {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    counts
}

/// Log lines `event` ("starting task" / "stopping task") for `task` in `log`.
fn task_events(log: &str, event: &str, task: &str) -> usize {
    let field = format!("task={task}");
    log.lines().filter(|l| l.contains(event) && l.split_whitespace().any(|w| w == field)).count()
}

#[test]
fn a_joining_worker_takes_tasks_and_only_moved_tasks_restart() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let group = unique("e2e-group");
    let ports: Vec<u16> = (0..4).map(|_| crate::common::free_port()).collect();
    let spawn = |i: usize| Worker::spawn_distributed(&dir.path().join(format!("w{i}")), group_keys(&group, ports[i]));
    let mut workers: Vec<Worker> = (0..3).map(spawn).collect();
    for w in &workers {
        w.wait("the worker to serve connectors", Duration::from_secs(30), || {
            reqwest::blocking_get(&format!("{}/connectors", w.url)).filter(|(c, _)| *c == 200)
        });
    }
    let name = unique("e2e-spread");
    let body = json!({"name": name, "config": {
        "connector.class": "DatagenSource", "kafka.topic": name, "tasks.max": 6, "max.interval": 50,
    }});
    let url = workers[0].url.clone();
    wait_for("POST /connectors accepted", Duration::from_secs(30), || {
        let (code, answer) = reqwest::send("POST", &format!("{url}/connectors"), Some(&body.to_string()))?;
        match code {
            201 => Some(()),
            409 => None,
            _ => panic!("POST /connectors answered {code}: {answer}"),
        }
    });

    // 2/2/2 over the three workers.
    let before = workers[0].wait("6 tasks spread 2/2/2", Duration::from_secs(60), || {
        let ids = task_workers(&url, &name, 6)?;
        let counts = load(&ids);
        (counts.len() == 3 && counts.values().all(|&n| n == 2)).then_some(ids)
    });
    println!("2/2/2 on {before:?} after {:?}", started.elapsed());

    // A 4th worker joins: at most 2 each, it runs some, the others' kept tasks do not restart.
    let marks: Vec<usize> = workers.iter().map(|w| w.log().len()).collect();
    workers.push(spawn(3));
    let newcomer = format!(":{}", ports[3]);
    let after = workers[3].wait("the 4th worker running tasks, at most 2 each", Duration::from_secs(60), || {
        let ids = task_workers(&url, &name, 6)?;
        let counts = load(&ids);
        let mine = counts.iter().filter(|(id, _)| id.ends_with(&newcomer)).map(|(_, n)| *n).sum::<usize>();
        (mine >= 1 && counts.values().all(|&n| n <= 2)).then_some(ids)
    });
    // Settled: every worker answers the same, and it stays so.
    std::thread::sleep(Duration::from_secs(2));
    for w in &workers {
        let seen = task_workers(&w.url, &name, 6);
        assert_eq!(seen.as_ref(), Some(&after), "{} sees other statuses", w.url);
    }
    let moved: Vec<usize> = (0..6).filter(|&t| before[t] != after[t]).collect();
    println!("after the join: {after:?}, moved {moved:?}, after {:?}", started.elapsed());
    assert!(moved.len() <= 2, "more tasks moved than needed: {moved:?}");
    for (i, w) in workers.iter().take(3).enumerate() {
        let log = w.log();
        let since = &log[marks[i].min(log.len())..];
        let port = format!(":{}", ports[i]);
        for t in 0..6 {
            let task = format!("{name}-{t}");
            let (stops, starts) =
                (task_events(since, "stopping task", &task), task_events(since, "starting task", &task));
            if before[t].ends_with(&port) && after[t] == before[t] {
                assert_eq!((stops, starts), (0, 0), "{task} stayed on {} but restarted:\n{since}", before[t]);
            } else if before[t].ends_with(&port) {
                assert_eq!(stops, 1, "{task} moved away from {} without one stop:\n{since}", before[t]);
            }
        }
        assert!(!since.contains("stopping connector"), "the connector restarted on {}:\n{since}", w.url);
    }
    println!("test took {:?}", started.elapsed());
}

/// A request that a rebalance (409) or a starting worker (503) may refuse: retried until it answers something else.
pub(crate) fn send_settled(method: &str, url: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(Value::to_string);
    wait_for(&format!("{method} {url} outside a rebalance"), Duration::from_secs(30), || {
        reqwest::send(method, url, body.as_deref()).filter(|(code, _)| *code != 409 && *code != 503)
    })
}

#[test]
fn offsets_and_topics_answer_the_same_everywhere_and_a_patch_moves_a_stopped_source() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let group = unique("e2e-group");
    let workers: Vec<Worker> = (0..2)
        .map(|i| {
            Worker::spawn_distributed(&dir.path().join(format!("w{i}")), group_keys(&group, crate::common::free_port()))
        })
        .collect();
    let urls: Vec<String> = workers.iter().map(|w| w.url.clone()).collect();
    let input = dir.path().join("input.txt");
    let line = |i: usize| format!("line {i:06}\n");
    fs::write(&input, (0..100).map(line).collect::<String>()).expect("input");
    let out = dir.path().join("out.txt");
    let topic = unique("e2e-dist-offsets");
    let (source, sink) = (format!("{topic}-source"), format!("{topic}-sink"));
    for body in [
        json!({"name": source, "config": {"connector.class": "FileStreamSource", "file": input, "topic": topic}}),
        json!({"name": sink, "config": {"connector.class": "FileStreamSink", "file": out, "topics": topic}}),
    ] {
        let (code, answer) = send_settled("POST", &format!("{}/connectors", urls[1]), Some(&body));
        assert_eq!(code, 201, "{answer}");
    }
    workers[0].wait("100 lines copied", Duration::from_secs(40), || (read_lines(&out).len() >= 100).then_some(()));

    // Every worker answers the same offsets and topics.
    let size = fs::metadata(&input).expect("input").len();
    let offsets = workers[0].wait("the source offset at the end of the file", Duration::from_secs(20), || {
        let (code, body) = reqwest::blocking_get(&format!("{}/connectors/{source}/offsets", urls[0]))?;
        (code == 200 && body["offsets"][0]["offset"]["position"].as_u64() == Some(size)).then_some(body)
    });
    let on_1 = reqwest::blocking_get(&format!("{}/connectors/{source}/offsets", urls[1])).expect("offsets");
    assert_eq!(on_1, (200, offsets.clone()), "the workers answer different offsets");
    for name in [&source, &sink] {
        let topics = workers[0].wait("the topics recorded", Duration::from_secs(20), || {
            let (_, body) = reqwest::blocking_get(&format!("{}/connectors/{name}/topics", urls[0]))?;
            (body[name.as_str()]["topics"] == json!([topic])).then_some(body)
        });
        assert_eq!(reqwest::blocking_get(&format!("{}/connectors/{name}/topics", urls[1])), Some((200, topics)));
    }
    let (code, answer) = send_settled("PATCH", &format!("{}/connectors/{source}/offsets", urls[1]), Some(&offsets));
    assert_eq!(code, 400, "offsets of a running connector changed: {answer}");

    // Stop the source, append 100 lines, skip the first 50 of them with a PATCH through each
    // worker (one is a follower: forwarded to the leader), resume: it starts from there.
    let (code, answer) = send_settled("PUT", &format!("{}/connectors/{source}/stop", urls[0]), None);
    assert_eq!(code, 204, "{answer}");
    workers[0].wait("the source STOPPED", Duration::from_secs(20), || {
        let (_, body) = reqwest::blocking_get(&format!("{}/connectors/{source}/status", urls[1]))?;
        (body["connector"]["state"] == "STOPPED").then_some(())
    });
    let mut text = fs::read_to_string(&input).expect("input");
    text.extend((100..200).map(line));
    fs::write(&input, &text).expect("append");
    let skip_to = size + (100..150).map(|i| line(i).len() as u64).sum::<u64>();
    let mut patch = offsets.clone();
    patch["offsets"][0]["offset"] = json!({"position": skip_to});
    for url in &urls {
        let (code, answer) = send_settled("PATCH", &format!("{url}/connectors/{source}/offsets"), Some(&patch));
        assert_eq!(code, 200, "PATCH through {url}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| m.contains("altered")), "{answer}");
    }
    for url in &urls {
        let (code, body) = reqwest::blocking_get(&format!("{url}/connectors/{source}/offsets")).expect("offsets");
        assert_eq!((code, body), (200, patch.clone()), "{url} does not show the altered offset");
    }
    let (code, answer) = send_settled("PUT", &format!("{}/connectors/{source}/resume", urls[0]), None);
    assert!(code == 202 || code == 204, "{answer}");
    let expected: Vec<String> = (0..100).chain(150..200).map(|i| line(i).trim_end().to_owned()).collect();
    workers[0].wait("lines 150..200 copied", Duration::from_secs(40), || (read_lines(&out).len() >= 150).then_some(()));
    std::thread::sleep(Duration::from_secs(1));
    let copied: Vec<String> = read_lines(&out).into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    assert_eq!(copied, expected, "the resumed source did not start from the altered offset");

    // Reset the topics through a worker: every worker forgets them.
    let (code, answer) = send_settled("PUT", &format!("{}/connectors/{sink}/topics/reset", urls[0]), None);
    assert!((200..300).contains(&code), "{answer}");
    for url in &urls {
        wait_for("the sink's topics reset", Duration::from_secs(10), || {
            let (_, body) = reqwest::blocking_get(&format!("{url}/connectors/{sink}/topics"))?;
            (body[sink.as_str()]["topics"] == json!([])).then_some(())
        });
    }
    println!("test took {:?}", started.elapsed());
}
