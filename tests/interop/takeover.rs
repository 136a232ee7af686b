//! Taking over a Kafka Connect cluster: a real Kafka Connect distributed worker copies part of a
//! growing file (FileStreamSource -> topic -> FileStreamSink) and is stopped; two `aqueduct
//! distributed` workers with its group.id and internal topics serve the same connectors with the
//! same configs and finish the copy from the offsets Kafka Connect stored; then Kafka Connect runs
//! the group's connectors again, one of them created and paused by Aqueduct.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{read_lines, reqwest, unique, wait_for, Worker};
use crate::connect::KafkaConnect;
use crate::kafka::{committed, count, create_topic, end_offsets};
use crate::runtimes::Feeder;
use crate::source::offset_records;

/// Lines of the input file once it stops growing.
const LINES: usize = 20_000;
/// Lines in the file when Kafka Connect starts.
const INITIAL: usize = 2_000;
/// Kafka Connect is stopped once the output file has this many lines.
const STOP_AT: usize = 5_000;
/// Lines appended per step (every 10 ms) while the file grows.
const STEP: usize = 20;
/// Every line is `line NNNNNN\n`: 12 ASCII characters, so a FileStreamSource position (counted
/// in characters) is a line count times 12.
const LINE_LEN: u64 = 12;

fn line(i: usize) -> String {
    format!("line {i:06}")
}

fn append(path: &Path, from: usize, n: usize) {
    let text: String = (from..from + n).map(|i| line(i) + "\n").collect();
    let mut f = fs::OpenOptions::new().create(true).append(true).open(path).expect("open input");
    f.write_all(text.as_bytes()).expect("append input");
}

fn get(url: &str, log: &dyn Fn() -> String) -> Value {
    match reqwest::blocking_get(url) {
        Some((200, body)) => body,
        other => panic!("GET {url}: {other:?}\n{}", log()),
    }
}

/// The `position` Kafka Connect last stored for the source (the offset topic's last record of it).
fn stored_position(offsets_topic: &str, connector: &str) -> u64 {
    let records = offset_records(offsets_topic, connector);
    let last = records.last().and_then(|r| r.value.as_deref()).expect("a stored source offset");
    let value: Value = serde_json::from_slice(last).expect("JSON offset");
    value["position"].as_u64().unwrap_or_else(|| panic!("offset without a position: {value}"))
}

fn logs_of(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// Every connector in `names` RUNNING with all its tasks on `url`; returns the task worker ids.
fn running(url: &str, names: &[&str]) -> Option<Vec<String>> {
    let mut workers = Vec::new();
    for name in names {
        let (_, status) = reqwest::blocking_get(&format!("{url}/connectors/{name}/status"))?;
        let tasks = status["tasks"].as_array()?;
        if status["connector"]["state"] != "RUNNING" || tasks.is_empty() {
            return None;
        }
        for task in tasks {
            (task["state"] == "RUNNING").then_some(())?;
            workers.push(task["worker_id"].as_str()?.to_owned());
        }
    }
    Some(workers)
}

/// Creates a FileStreamSink of `topic` through an Aqueduct worker and pauses it; returns its name.
fn pause_a_new_sink(worker: &Worker, id: &str, topic: &str, file: &Path) -> String {
    let name = format!("{id}-echo");
    let body = json!({"name": name, "config": {
        "connector.class": "FileStreamSink", "tasks.max": "1", "file": file, "topics": topic,
    }});
    worker.wait("POST /connectors accepted", Duration::from_secs(30), || {
        let (code, answer) = reqwest::send("POST", &format!("{}/connectors", worker.url), Some(&body.to_string()))?;
        match code {
            201 => Some(()),
            409 => None, // a rebalance in progress: try again
            _ => panic!("POST /connectors answered {code}: {answer}"),
        }
    });
    worker.wait_state(&name, "RUNNING");
    let paused = reqwest::send("PUT", &format!("{}/connectors/{name}/pause", worker.url), None);
    assert!(matches!(paused, Some((202, _))), "pausing {name}: {paused:?}");
    worker.wait_state(&name, "PAUSED");
    name
}

#[test]
fn aqueduct_takes_over_a_kafka_connect_cluster() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.txt");
    let output = dir.path().join("output.txt");
    let id = unique("takeover");
    let (source, sink) = (format!("{id}-source"), format!("{id}-sink"));
    let (topic, offsets_topic) = (format!("{id}-lines"), format!("{id}-offsets"));
    create_topic(&topic, 1);
    append(&input, 0, INITIAL);

    // Kafka Connect: both connectors through its REST API; the file grows while they run.
    let mut connect = KafkaConnect::start(&dir.path().join("kc"), &offsets_topic);
    connect.create(
        &source,
        json!({
            "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
            "tasks.max": "1", "file": input.display().to_string(), "topic": topic,
        }),
    );
    connect.create(
        &sink,
        json!({
            "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "tasks.max": "1", "file": output.display().to_string(), "topics": topic,
        }),
    );
    let path = input.clone();
    let feeder = Feeder::spawn(INITIAL, move |next| {
        let n = STEP.min(LINES - next);
        append(&path, next, n);
        n
    });
    connect.wait(&format!("{STOP_AT} lines copied by Kafka Connect"), Duration::from_secs(60), |_| {
        (read_lines(&output).len() >= STOP_AT).then_some(())
    });
    let names = vec![sink.clone(), source.clone()];
    let mut listed: Vec<String> = serde_json::from_value(connect.get("/connectors")).expect("a list of names");
    listed.sort();
    assert_eq!(listed, names);
    let configs: BTreeMap<&str, Value> =
        [&source, &sink].map(|n| (n.as_str(), connect.get(&format!("/connectors/{n}/config")))).into();
    let tasks: BTreeMap<&str, Value> =
        [&source, &sink].map(|n| (n.as_str(), connect.get(&format!("/connectors/{n}/tasks")))).into();
    let kc_log = connect.log_tail();
    let kc_group = connect.id.clone();
    assert!(connect.terminate(Duration::from_secs(60)), "Kafka Connect did not exit on SIGTERM\n{kc_log}");
    let stopped = Instant::now();

    // What Kafka Connect left: lines in the topic and the output, and its committed offsets.
    let copied_kc = read_lines(&output).len();
    let produced_kc = count(&topic);
    let position_kc = stored_position(&offsets_topic, &source);
    let committed_kc = committed(&format!("connect-{sink}"), &topic, 1).get(&0).copied().unwrap_or_default();
    let appended_at_stop = feeder.produced();
    println!(
        "Kafka Connect stopped with {appended_at_stop} lines in the input, {produced_kc} in the topic, {copied_kc} \
         in the output; stored source position {position_kc} ({} lines), sink offset {committed_kc}",
        position_kc / LINE_LEN
    );
    assert!(appended_at_stop < LINES, "the input was complete before Kafka Connect stopped");
    assert_eq!(position_kc % LINE_LEN, 0, "a stored position inside a line");

    // Two Aqueduct workers in Kafka Connect's group, on its topics; the file keeps growing.
    let string = "org.apache.kafka.connect.storage.StringConverter";
    let keys = json!({
        "group.id": kc_group,
        "config.storage.topic": format!("{kc_group}-configs"),
        "status.storage.topic": format!("{kc_group}-status"),
        "offset.storage.topic": offsets_topic,
        "key.converter": string,
        "value.converter": string,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "scheduled.rebalance.max.delay.ms": 3000,
        "consumer.session.timeout.ms": 6000,
    });
    let workers: Vec<Worker> =
        (0..2).map(|i| Worker::spawn_distributed(&dir.path().join(format!("aq{i}")), keys.clone())).collect();
    let logs = || {
        workers
            .iter()
            .map(|w| w.log().lines().rev().take(30).collect::<Vec<_>>().join("\n"))
            .collect::<Vec<_>>()
            .join("\n--\n")
    };
    for w in &workers {
        w.wait("both connectors listed", Duration::from_secs(60), || {
            let (code, body) = reqwest::blocking_get(&format!("{}/connectors", w.url))?;
            let mut listed: Vec<String> = serde_json::from_value(body).ok()?;
            listed.sort();
            (code == 200 && listed == names).then_some(())
        });
        for (name, config) in &configs {
            let ours = get(&format!("{}/connectors/{name}/config", w.url), &logs);
            assert_eq!(&ours, config, "{name}'s config on {}", w.url);
        }
    }
    let [first, second] = &workers[..] else { unreachable!("two workers") };
    let task_workers = first.wait("every connector and task RUNNING", Duration::from_secs(60), || {
        let a = running(&first.url, &[&source, &sink])?;
        let b = running(&second.url, &[&source, &sink])?;
        (a == b).then_some(a)
    });
    println!("tasks running on {task_workers:?} {:.1} s after Kafka Connect stopped", stopped.elapsed().as_secs_f64());
    // The group balances: one task on each Aqueduct worker (none on the stopped Kafka Connect one).
    let ours: HashSet<String> = workers.iter().map(|w| w.url.trim_start_matches("http://").to_owned()).collect();
    first.wait("one task on each worker", Duration::from_secs(30), || {
        let on: HashSet<String> = running(&first.url, &[&source, &sink])?.into_iter().collect();
        (on == ours).then_some(())
    });
    for (name, kc_tasks) in &tasks {
        let ours = get(&format!("{}/connectors/{name}/tasks", first.url), &logs);
        assert_eq!(&ours, kc_tasks, "{name}'s task configs");
    }

    // The copy completes: every input line in the output, the sink's group at the topic's end.
    wait_for("the input to be complete", Duration::from_secs(60), || (feeder.produced() >= LINES).then_some(()));
    assert_eq!(feeder.finish(), LINES);
    let expected: Vec<String> = (0..LINES).map(line).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let lines = loop {
        let lines = read_lines(&output);
        let distinct: HashSet<&String> = lines.iter().collect();
        if distinct.len() >= LINES {
            break lines;
        }
        assert!(Instant::now() < deadline, "{} of {LINES} lines in the output\n{}", distinct.len(), logs());
        std::thread::sleep(Duration::from_millis(200));
    };
    let end = end_offsets(&topic);
    wait_for("the sink to commit the end of the topic", Duration::from_secs(30), || {
        (committed(&format!("connect-{sink}"), &topic, 1) == end).then_some(())
    });
    let size = fs::metadata(&input).expect("input").len();
    wait_for("the source to store the end of the file", Duration::from_secs(30), || {
        (stored_position(&offsets_topic, &source) == size).then_some(())
    });
    let elapsed = started.elapsed();
    let echo = pause_a_new_sink(first, &id, &topic, &dir.path().join("echo.txt"));
    for w in workers {
        let path = w.log_path();
        assert!(w.terminate(Duration::from_secs(60)), "aqueduct did not exit 0 on SIGTERM\n{}", logs_of(&path));
        let log = logs_of(&path);
        let problems: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")).collect();
        println!("{} warnings and errors in an Aqueduct worker's log:\n{}", problems.len(), problems.join("\n"));
        // Kafka Connect's task configs were taken as they were, not regenerated and rewritten.
        let rewrites = |name: &str| {
            log.lines().any(|l| l.contains("writing new task configs") && l.contains(&format!("connector={name} ")))
        };
        assert!(!rewrites(&source) && !rewrites(&sink), "an Aqueduct worker rewrote the task configs\n{log}");
    }

    // Handing back: Kafka Connect starts on the group's topics again and runs everything,
    // including the connector Aqueduct created and paused (its task configs written by Aqueduct).
    let connect = KafkaConnect::start_in(&dir.path().join("kc-again"), &kc_group, &offsets_topic, "");
    connect.wait_state(&source, "RUNNING");
    connect.wait_state(&sink, "RUNNING");
    connect.wait_state(&echo, "PAUSED");
    let echo_tasks = connect.get(&format!("/connectors/{echo}/tasks"));
    assert_eq!(echo_tasks[0]["config"]["task.class"], "org.apache.kafka.connect.file.FileStreamSinkTask");
    let kc_log = connect.log_tail();
    assert!(connect.terminate(Duration::from_secs(60)), "Kafka Connect did not exit on SIGTERM\n{kc_log}");

    // Duplicates: the source repeats what Kafka Connect produced past its stored position; the
    // sink repeats what Kafka Connect wrote past its committed offset. Nothing else.
    let distinct: HashSet<&String> = lines.iter().collect();
    let foreign = distinct.iter().filter(|l| !expected.contains(l)).count();
    assert_eq!(foreign, 0, "lines in the output that are not in the input");
    let source_duplicates = produced_kc as u64 - position_kc / LINE_LEN;
    let sink_duplicates = copied_kc as u64 - committed_kc as u64;
    let duplicates = lines.len() - LINES;
    println!(
        "output: {} lines, {LINES} distinct, {duplicates} duplicates (source re-sent {source_duplicates}, sink \
         re-wrote {sink_duplicates}); {copied_kc} copied by Kafka Connect; took {:.1} s",
        lines.len(),
        elapsed.as_secs_f64()
    );
    assert_eq!(count(&topic) as usize, LINES + source_duplicates as usize, "topic records beyond the explained");
    assert_eq!(duplicates as u64, source_duplicates + sink_duplicates, "duplicates beyond the explained");
    assert!(duplicates < copied_kc / 10, "{duplicates} duplicates: a re-copy rather than a continuation");
    // Without duplicates, the output is the input in order.
    let mut seen = HashSet::new();
    let firsts: Vec<&String> = lines.iter().filter(|l| seen.insert(*l)).collect();
    assert!(firsts.iter().zip(&expected).all(|(a, b)| *a == b), "lines out of order");
}
