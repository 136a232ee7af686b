//! Benchmark, not a test (ignored; run by hand, prints figures, asserts no times):
//!
//! ```text
//! AQUEDUCT_BENCH_DELAY_MS=5000 cargo test -p aqueduct --test e2e distributed_bench -- --ignored --nocapture
//! ```
//!
//! Three `aqueduct distributed` workers run a DatagenSource with 8 tasks. Prints
//! - kill -9 of a worker -> its tasks RUNNING on the others (`scheduled.rebalance.max.delay.ms`
//!   from `AQUEDUCT_BENCH_DELAY_MS`, default 5000; `session.timeout.ms` 6000);
//! - kill -9 of a worker restarted at once on the same address -> its tasks RUNNING again;
//! - a 4th worker joining -> the group settled (every task RUNNING, 2 per worker).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{free_port, reqwest, unique, wait_for, Worker};
use crate::distributed::{group_keys, send_settled, task_workers};
use crate::distributed_sink::led;

const TASKS: usize = 8;

struct Group {
    dir: std::path::PathBuf,
    name: String,
    keys: Box<dyn Fn(u16) -> serde_json::Value>,
    workers: Vec<(u16, Option<Worker>)>,
    starts: usize,
}

impl Group {
    fn spawn(&mut self, port: u16) -> Worker {
        self.starts += 1;
        Worker::spawn_distributed(&self.dir.join(format!("w{}", self.starts)), (self.keys)(port))
    }

    fn url(&self) -> String {
        self.workers.iter().find_map(|(_, w)| w.as_ref().map(|w| w.url.clone())).expect("a live worker")
    }

    /// Task -> worker id, once every task is RUNNING.
    fn tasks(&self) -> Option<Vec<String>> {
        task_workers(&self.url(), &self.name, TASKS)
    }

    /// Waits until every task is RUNNING, spread evenly over all live workers, seen alike by each.
    fn settled(&self) -> Vec<String> {
        let live: Vec<String> =
            self.workers.iter().filter(|(_, w)| w.is_some()).map(|(p, _)| format!("127.0.0.1:{p}")).collect();
        wait_for("the group settled", Duration::from_secs(120), || {
            let ids = self.tasks()?;
            let mut load: BTreeMap<&str, usize> = live.iter().map(|w| (w.as_str(), 0)).collect();
            for id in &ids {
                *load.get_mut(id.as_str())? += 1;
            }
            let (min, max) = (load.values().min()?, load.values().max()?);
            let same = self
                .workers
                .iter()
                .flat_map(|(_, w)| w)
                .all(|w| task_workers(&w.url, &self.name, TASKS) == Some(ids.clone()));
            (max - min <= 1 && same).then_some(ids)
        })
    }

    /// A live worker other than the leader that runs tasks: (index, worker id, its tasks).
    fn victim(&self, ids: &[String]) -> (usize, String, Vec<usize>) {
        let i = self.workers.iter().position(|(_, w)| w.as_ref().is_some_and(|w| !led(w))).expect("a follower");
        let id = format!("127.0.0.1:{}", self.workers[i].0);
        let tasks = (0..TASKS).filter(|&t| ids[t] == id).collect();
        (i, id, tasks)
    }
}

fn start(dir: &Path, delay_ms: u64) -> Group {
    let group = unique("bench-group");
    let keys = move |port: u16| {
        let mut keys = group_keys(&group, port);
        keys["scheduled.rebalance.max.delay.ms"] = json!(delay_ms);
        keys
    };
    let mut g = Group {
        dir: dir.to_owned(),
        name: unique("bench-datagen"),
        keys: Box::new(keys),
        workers: Vec::new(),
        starts: 0,
    };
    for _ in 0..3 {
        let port = free_port();
        let w = g.spawn(port);
        g.workers.push((port, Some(w)));
    }
    let body = json!({"name": g.name, "config": {
        "connector.class": "DatagenSource", "kafka.topic": g.name, "tasks.max": TASKS, "max.interval": 100,
    }});
    let (code, answer) = send_settled("POST", &format!("{}/connectors", g.url()), Some(&body));
    assert_eq!(code, 201, "{answer}");
    g
}

#[test]
#[ignore = "a benchmark: run by hand with --ignored --nocapture"]
fn distributed_bench() {
    let delay_ms: u64 = std::env::var("AQUEDUCT_BENCH_DELAY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut g = start(dir.path(), delay_ms);
    let ids = g.settled();
    println!("scheduled.rebalance.max.delay.ms={delay_ms}, session.timeout.ms=6000, {TASKS} tasks on 3 workers");

    // kill -9, no restart: the others take its tasks.
    let (v, victim, held) = g.victim(&ids);
    if let Some(w) = g.workers[v].1.take() {
        w.kill9();
    }
    let killed = Instant::now();
    wait_for("its tasks RUNNING elsewhere", Duration::from_secs(120), || {
        let now = g.tasks()?;
        held.iter().all(|&t| now[t] != victim).then_some(())
    });
    println!("kill -9 -> its {} tasks RUNNING on the others: {:?}", held.len(), killed.elapsed());
    let port = g.workers[v].0;
    let back = g.spawn(port);
    g.workers[v].1 = Some(back);
    let rejoined = Instant::now();
    let ids = g.settled();
    println!("the worker back on its address -> 3 workers settled: {:?}", rejoined.elapsed());

    // kill -9 and restart at once on the same address (same worker id).
    let (v, _, held) = g.victim(&ids);
    let port = g.workers[v].0;
    if let Some(w) = g.workers[v].1.take() {
        w.kill9();
    }
    let killed = Instant::now();
    let back = g.spawn(port);
    let restarted = killed.elapsed();
    let wait_log = back.log_path();
    g.workers[v].1 = Some(back);
    wait_for("its tasks RUNNING again", Duration::from_secs(120), || {
        let now = g.tasks()?;
        let log = std::fs::read_to_string(&wait_log).unwrap_or_default();
        let fresh = |t: usize| now[t] != ids[t] || log.contains(&format!("starting task task={}-{t}", g.name));
        held.iter().all(|&t| fresh(t)).then_some(())
    });
    println!(
        "kill -9 + restart on the same address ({restarted:?} to answer REST) -> its {} tasks RUNNING again: {:?}",
        held.len(),
        killed.elapsed()
    );
    g.settled();

    // A 4th worker joins.
    let joined = Instant::now();
    let port = free_port();
    let w = g.spawn(port);
    g.workers.push((port, Some(w)));
    let ids = g.settled();
    let moved = ids.iter().filter(|id| id.ends_with(&format!(":{port}"))).count();
    println!("a 4th worker joins -> settled 2/2/2/2 ({moved} tasks moved to it): {:?}", joined.elapsed());
    let _ = reqwest::send("DELETE", &format!("{}/connectors/{}", g.url(), g.name), None);
}
