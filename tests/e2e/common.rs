//! Shared harness: a real `aqueduct` process against the Kafka broker from `scripts/services.sh`.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// The broker the tests use (`AQUEDUCT_TEST_KAFKA`, default 127.0.0.1:9092).
pub fn kafka() -> String {
    let addr = std::env::var("AQUEDUCT_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".to_owned());
    let sock = addr.parse().unwrap_or_else(|e| panic!("AQUEDUCT_TEST_KAFKA={addr}: {e}"));
    TcpStream::connect_timeout(&sock, Duration::from_secs(3))
        .unwrap_or_else(|e| panic!("no Kafka broker at {addr} ({e}); start one with `scripts/services.sh up kafka`"));
    addr
}

/// A name unique to this test run, for topics and connectors (the broker keeps old topics).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{prefix}-{}-{}-{}", std::process::id(), nanos % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

/// Polls `check` every 50 ms until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lines of a file (empty when it does not exist yet).
pub fn read_lines(path: &Path) -> Vec<String> {
    match fs::File::open(path) {
        Ok(f) => BufReader::new(f).lines().map_while(Result::ok).collect(),
        Err(_) => Vec::new(),
    }
}

/// A running `aqueduct standalone` process with its own directory, REST port and logs.
pub struct Worker {
    child: Child,
    /// Base URL of its REST API.
    pub url: String,
    log: PathBuf,
}

impl Worker {
    /// Writes the worker config (defaults + `extra`) and the connector configs into `dir`,
    /// starts the binary, and waits until it serves connectors (it reached Kafka).
    pub fn start(dir: &Path, extra: Value, connectors: &[Value]) -> Worker {
        let worker = Self::spawn(dir, extra, connectors);
        let url = format!("{}/connectors", worker.url);
        wait_for("the worker to be ready", Duration::from_secs(60), || {
            reqwest::blocking_get(&url).filter(|(code, _)| *code == 200).map(|_| ())
        });
        worker
    }

    /// Like [`Worker::start`], but waits only for the REST API to answer. The REST port is
    /// `extra["rest.port"]` when given (a restarted worker keeps its id), else a free one.
    pub fn spawn(dir: &Path, extra: Value, connectors: &[Value]) -> Worker {
        Self::spawn_mode("standalone", dir, extra, connectors)
    }

    /// Starts `aqueduct distributed` (worker keys: defaults + `extra`, which should name
    /// group.id and the three storage topics) and waits for its REST API to answer.
    pub fn spawn_distributed(dir: &Path, extra: Value) -> Worker {
        Self::spawn_mode("distributed", dir, extra, &[])
    }

    fn spawn_mode(mode: &str, dir: &Path, extra: Value, connectors: &[Value]) -> Worker {
        let port = extra["rest.port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or_else(free_port);
        let mut config = json!({
            "bootstrap.servers": kafka(),
            "rest.host.name": "127.0.0.1",
            "rest.port": port,
            "offset.flush.interval.ms": 500,
            "offset.storage.partitions": 1,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            config[k] = v.clone();
        }
        fs::create_dir_all(dir).expect("test dir");
        let worker_file = dir.join("worker.json");
        fs::write(&worker_file, config.to_string()).expect("write worker config");
        let mut args = vec![mode.to_owned(), worker_file.display().to_string()];
        for (i, c) in connectors.iter().enumerate() {
            let f = dir.join(format!("connector-{i}.json"));
            fs::write(&f, c.to_string()).expect("write connector config");
            args.push(f.display().to_string());
        }
        Self::run(&args, dir, port)
    }

    /// Starts the binary with `args` as they are (config files written by the caller), logs
    /// into `dir`, and waits until its REST API on `port` answers.
    pub fn run(args: &[String], dir: &Path, port: u16) -> Worker {
        Self::run_in(args, Path::new("."), dir, port)
    }

    /// Like [`Worker::run`], with the process started in `cwd`, where the relative paths of
    /// its arguments and configs resolve.
    pub fn run_in(args: &[String], cwd: &Path, dir: &Path, port: u16) -> Worker {
        fs::create_dir_all(dir).expect("test dir");
        let log = dir.join(format!("worker-{port}.log"));
        let log_file = fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_aqueduct"))
            .args(args)
            .current_dir(cwd)
            .env("RUST_LOG", "info,librdkafka=warn")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start aqueduct");
        let worker = Worker { child, url: format!("http://127.0.0.1:{port}"), log };
        let root = format!("{}/", worker.url);
        wait_for("the REST API", Duration::from_secs(30), || {
            reqwest::blocking_get(&root).filter(|(code, _)| *code == 200).map(|_| ())
        });
        worker
    }

    /// SIGKILL: no shutdown hooks, nothing flushed.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit; returns whether it exited with status 0.
    pub fn terminate(mut self, timeout: Duration) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Like [`wait_for`], but a timeout shows the end of this worker's log.
    pub fn wait<T>(&self, what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check() {
                return v;
            }
            if Instant::now() > deadline {
                let log = self.log();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                panic!("timed out after {timeout:?} waiting for {what}; worker log ends with:\n{}", tail.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Where the worker logs (readable after it exited).
    pub fn log_path(&self) -> PathBuf {
        self.log.clone()
    }

    /// The worker's log so far (for assertion messages).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `GET /connectors/{name}/status` shows the connector and every task in `state`.
    pub fn wait_state(&self, name: &str, state: &str) -> Value {
        let url = format!("{}/connectors/{name}/status", self.url);
        wait_for(&format!("{name} to be {state}"), Duration::from_secs(30), || {
            let (_, body) = reqwest::blocking_get(&url)?;
            let tasks = body["tasks"].as_array()?;
            let all =
                body["connector"]["state"] == state && !tasks.is_empty() && tasks.iter().all(|t| t["state"] == state);
            all.then_some(body)
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// Tiny blocking HTTP helpers over a current-thread runtime.
pub mod reqwest {
    use serde_json::Value;

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
    }

    /// Sends a request; returns status and JSON body (Null when empty or not JSON).
    pub fn send(method: &str, url: &str, body: Option<&str>) -> Option<(u16, Value)> {
        run(async {
            let client = ::reqwest::Client::new();
            let method = ::reqwest::Method::from_bytes(method.as_bytes()).ok()?;
            let mut req = client.request(method, url).timeout(std::time::Duration::from_secs(60));
            if let Some(b) = body {
                req = req.header("content-type", "application/json").body(b.to_owned());
            }
            let resp = req.send().await.ok()?;
            let code = resp.status().as_u16();
            let text = resp.text().await.ok()?;
            Some((code, serde_json::from_str(&text).unwrap_or(Value::Null)))
        })
    }

    /// `GET url`.
    pub fn blocking_get(url: &str) -> Option<(u16, Value)> {
        send("GET", url, None)
    }
}
