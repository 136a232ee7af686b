//! `aqueduct distributed`, three workers: DatagenSource (3 tasks) -> topic (3 partitions) ->
//! PostgresSink (3 tasks, plain inserts). A worker running tasks of both is killed with SIGKILL
//! mid-flow: its tasks run elsewhere within `scheduled.rebalance.max.delay.ms` + 10 s, every id
//! arrives (count, sum and content check), and the duplicates (at-least-once) are counted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{free_port, reqwest, unique, wait_for, Worker};
use crate::distributed::{group_keys, send_settled, task_workers};
use crate::postgres::{psql, try_psql, url as pg_url};

const RECORDS: u64 = 200_000;
const TASKS: usize = 3;
const MAX_DELAY_MS: u64 = 5_000;

/// Worker keys of a group with a `MAX_DELAY_MS` scheduled rebalance delay.
pub(crate) fn keys(group: &str, port: u16) -> Value {
    let mut keys = group_keys(group, port);
    keys["scheduled.rebalance.max.delay.ms"] = json!(MAX_DELAY_MS);
    // The broker notices the dead worker sooner (scripts/services.sh lowers Kafka's 6 s minimum
    // session timeout to 3 s), and survivors hear of the rebalance sooner.
    keys["session.timeout.ms"] = json!(4000);
    keys["heartbeat.interval.ms"] = json!(500);
    keys
}

/// Starts `n` distributed workers of `group` (in `dir/w<i>`) and waits until each lists connectors.
pub(crate) fn start_group(dir: &std::path::Path, group: &str, n: usize) -> (Vec<Option<Worker>>, Vec<u16>) {
    let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let workers: Vec<Option<Worker>> = ports
        .iter()
        .enumerate()
        .map(|(i, &p)| Some(Worker::spawn_distributed(&dir.join(format!("w{i}")), keys(group, p))))
        .collect();
    for w in workers.iter().flatten() {
        w.wait("the worker to serve connectors", Duration::from_secs(60), || {
            reqwest::blocking_get(&format!("{}/connectors", w.url)).filter(|(c, _)| *c == 200)
        });
    }
    (workers, ports)
}

/// Whether this worker's log shows it led a rebalance (the leader logs each member's assignment).
pub(crate) fn led(worker: &Worker) -> bool {
    worker.log().lines().any(|l| l.contains("member=") && l.contains("delay_ms="))
}

/// Schemaless JSON keys and values: the sink infers the columns, and records are a third the
/// size (a debug build converts and copies every byte).
fn schemaless(mut config: Value) -> Value {
    for side in ["key", "value"] {
        config[format!("{side}.converter")] = json!("org.apache.kafka.connect.json.JsonConverter");
        config[format!("{side}.converter.schemas.enable")] = json!("false");
    }
    config
}

fn create(url: &str, body: Value) {
    let (code, answer) = send_settled("POST", &format!("{url}/connectors"), Some(&body));
    assert_eq!(code, 201, "POST /connectors: {answer}");
}

/// (rows, distinct ids, sum of distinct ids, rows whose name is not `user-<id>`), or None
/// while the table does not exist.
fn table_stats(table: &str) -> Option<(u64, u64, u64, u64)> {
    let sql = format!(
        "SELECT count(*), count(DISTINCT id), coalesce(sum(DISTINCT id), 0), \
         count(*) FILTER (WHERE name IS DISTINCT FROM 'user-' || id) FROM {table}"
    );
    let out = try_psql(&pg_url(), &sql).ok()?;
    let v: Vec<u64> = out.trim().split('|').filter_map(|x| x.parse().ok()).collect();
    (v.len() == 4).then(|| (v[0], v[1], v[2], v[3]))
}

#[test]
fn a_kill_9_during_a_datagen_to_postgres_flow_moves_its_tasks_and_loses_no_id() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let group = unique("e2e-group");
    let (mut workers, ports) = start_group(dir.path(), &group, 3);
    let urls: Vec<String> = workers.iter().flatten().map(|w| w.url.clone()).collect();
    let base = unique("e2e_dist_pg").replace('-', "_");
    let (source, sink, topic) = (format!("{base}_source"), format!("{base}_sink"), base.clone());
    psql(&pg_url(), &format!("DROP TABLE IF EXISTS {topic}"));
    create(
        &urls[0],
        json!({"name": source, "config": schemaless(json!({
            "connector.class": "DatagenSource", "kafka.topic": topic, "iterations": RECORDS, "batch.size": 500,
            "tasks.max": TASKS, "topic.creation.default.partitions": TASKS,
            "topic.creation.default.replication.factor": 1,
        }))}),
    );
    create(
        &urls[1],
        json!({"name": sink, "config": schemaless(json!({
            "connector.class": "PostgresSink", "topics": topic, "tasks.max": TASKS, "connection.url": pg_url(),
            "insert.mode": "insert", "pk.mode": "none", "auto.create": "true",
        }))}),
    );

    // Every task RUNNING; pick a worker (not the leader, so the scheduled delay applies) running
    // a task of each connector.
    let (on_source, on_sink) =
        workers[0].as_ref().expect("w0").wait("3 + 3 tasks RUNNING", Duration::from_secs(60), || {
            Some((task_workers(&urls[2], &source, TASKS)?, task_workers(&urls[2], &sink, TASKS)?))
        });
    let port_of = |id: &str| ports.iter().position(|p| id.ends_with(&format!(":{p}")));
    let mut held: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for id in &on_source {
        held.entry(port_of(id).expect("a known worker")).or_default().0 += 1;
    }
    for id in &on_sink {
        held.entry(port_of(id).expect("a known worker")).or_default().1 += 1;
    }
    let leaders: Vec<usize> = (0..3).filter(|&i| workers[i].as_ref().is_some_and(led)).collect();
    let victim = (0..3)
        .filter(|i| !leaders.contains(i))
        .max_by_key(|i| held.get(i).map_or((false, 0), |(s, k)| (*s > 0 && *k > 0, s + k)))
        .expect("a worker other than the leader");
    let victim_id = format!("127.0.0.1:{}", ports[victim]);
    println!("source tasks {on_source:?}, sink tasks {on_sink:?}; leader {leaders:?}; killing {victim_id}");

    // Kill it once the flow is under way.
    let table = topic.clone();
    wait_for("rows arriving", Duration::from_secs(60), || {
        table_stats(&table).filter(|(rows, ..)| *rows >= RECORDS / 20).map(|_| ())
    });
    let rows_at_kill = table_stats(&table).map_or(0, |s| s.0);
    if let Some(w) = workers[victim].take() {
        w.kill9();
    }
    let killed = Instant::now();
    let survivor = (victim + 1) % 3;
    let survivor_url = urls[survivor].clone();
    let bound = Duration::from_millis(MAX_DELAY_MS) + Duration::from_secs(10);
    let survivor_worker = workers[survivor].as_ref().expect("survivor");
    survivor_worker.wait("the killed worker's tasks RUNNING elsewhere", bound + Duration::from_secs(30), || {
        let moved =
            |name: &str| task_workers(&survivor_url, name, TASKS).filter(|ids| ids.iter().all(|id| *id != victim_id));
        Some((moved(&source)?, moved(&sink)?))
    });
    let failover = killed.elapsed();
    println!("{rows_at_kill} rows at the kill; tasks RUNNING elsewhere {failover:?} after it");
    assert!(failover <= bound, "the tasks moved after {failover:?}, over {bound:?}");

    // Every id arrives once at least; the rest are duplicates.
    let stats = survivor_worker.wait("every id in the table", Duration::from_secs(120), || {
        table_stats(&table).filter(|(_, distinct, ..)| *distinct >= RECORDS)
    });
    let (rows, distinct, sum, wrong) = stats;
    assert_eq!(distinct, RECORDS, "foreign ids in the table");
    assert_eq!(sum, RECORDS * (RECORDS - 1) / 2, "the ids are not 0..{RECORDS}");
    assert_eq!(wrong, 0, "rows whose name does not match their id");
    let (min, max) = {
        let out = psql(&pg_url(), &format!("SELECT min(id), max(id) FROM {table}"));
        let v: Vec<u64> = out.trim().split('|').filter_map(|x| x.parse().ok()).collect();
        (v.first().copied(), v.get(1).copied())
    };
    assert_eq!((min, max), (Some(0), Some(RECORDS - 1)));
    println!(
        "all {distinct} ids {:?} after the kill, {} duplicates; test took {:?}",
        killed.elapsed(),
        rows - distinct,
        started.elapsed()
    );
    psql(&pg_url(), &format!("DROP TABLE IF EXISTS {table}"));
}
