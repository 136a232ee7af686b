//! One connector run by either runtime, behind one handle: start, stop with SIGTERM, show the log.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::Worker;
use crate::connect::KafkaConnect;

/// The connector runtimes under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    KafkaConnect,
    Aqueduct,
}

/// A worker of either runtime running one connector.
pub enum Running {
    KafkaConnect(KafkaConnect),
    Aqueduct(Worker),
}

impl Running {
    /// Starts a worker of `runtime` in `dir` with source offsets in `offsets_topic` and runs
    /// connector `name` with `config`; returns once the connector and its task are RUNNING.
    pub fn start(runtime: Runtime, dir: &Path, offsets_topic: &str, name: &str, config: Value) -> Running {
        match runtime {
            Runtime::KafkaConnect => {
                let mut connect = KafkaConnect::start(dir, offsets_topic);
                connect.create(name, config);
                Running::KafkaConnect(connect)
            }
            Runtime::Aqueduct => {
                let string = "org.apache.kafka.connect.storage.StringConverter";
                let extra =
                    json!({"offset.storage.topic": offsets_topic, "key.converter": string, "value.converter": string});
                let worker = Worker::start(dir, extra, &[json!({"name": name, "config": config})]);
                worker.wait_state(name, "RUNNING");
                Running::Aqueduct(worker)
            }
        }
    }

    /// The base URL of the worker's REST API (the same paths on both runtimes).
    pub fn url(&self) -> &str {
        match self {
            Running::KafkaConnect(c) => &c.url,
            Running::Aqueduct(w) => &w.url,
        }
    }

    /// The end of the worker's log, for assertion messages.
    pub fn log_tail(&self) -> String {
        match self {
            Running::KafkaConnect(c) => c.log_tail(),
            Running::Aqueduct(w) => {
                let log = w.log();
                let lines: Vec<&str> = log.lines().collect();
                lines[lines.len().saturating_sub(60)..].join("\n")
            }
        }
    }

    /// SIGTERM: each runtime stops its tasks and stores their final offsets; panics unless the
    /// process exits (Aqueduct: with status 0) within 60 s.
    pub fn stop(self) {
        let timeout = Duration::from_secs(60);
        match self {
            Running::KafkaConnect(c) => {
                let tail = c.log_tail();
                assert!(c.terminate(timeout), "Kafka Connect did not exit on SIGTERM\n{tail}");
            }
            Running::Aqueduct(w) => {
                let log = w.log();
                assert!(w.terminate(timeout), "aqueduct did not exit 0 on SIGTERM\n{log}");
            }
        }
    }
}

/// A background thread that keeps producing numbered items (appending lines to a file, producing
/// records) in small paced steps until [`Feeder::finish`]; dropping it stops the thread too.
pub struct Feeder {
    stop: Arc<AtomicBool>,
    next: Arc<AtomicUsize>,
    handle: Option<JoinHandle<usize>>,
}

impl Feeder {
    /// Calls `step(next)` every 10 ms, where `step` produces some items starting at index `next`
    /// and returns how many; starts at `first`.
    pub fn spawn(first: usize, mut step: impl FnMut(usize) -> usize + Send + 'static) -> Feeder {
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicUsize::new(first));
        let (flag, progress) = (stop.clone(), next.clone());
        let handle = std::thread::spawn(move || {
            let mut next = first;
            while !flag.load(Ordering::Relaxed) {
                next += step(next);
                progress.store(next, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
            next
        });
        Feeder { stop, next, handle: Some(handle) }
    }

    /// The index after the last item produced so far.
    pub fn produced(&self) -> usize {
        self.next.load(Ordering::Relaxed)
    }

    /// Stops the thread; returns the index after the last item produced.
    pub fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().map(|h| h.join().expect("feeder thread")).unwrap_or_default()
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
