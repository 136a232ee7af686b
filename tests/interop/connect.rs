//! A real Apache Kafka Connect worker (`ConnectDistributed`, offsets in a Kafka topic) from the jars
//! `scripts/services.sh install kafka-connect` puts in `$AQUEDUCT_CACHE/kafka-connect-<version>/libs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{kafka, reqwest, unique};

/// The scripts/ directory of the repository (the runtime crate is `runtime/`).
fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

/// The jar directory: `AQUEDUCT_KAFKA_CONNECT_LIBS`, else the cache path services.sh installs to.
fn libs() -> PathBuf {
    if let Ok(dir) = std::env::var("AQUEDUCT_KAFKA_CONNECT_LIBS") {
        return PathBuf::from(dir);
    }
    let pom = fs::read_to_string(scripts_dir().join("kafka-connect/pom.xml")).expect("scripts/kafka-connect/pom.xml");
    let version = pom
        .split("<kafka.version>")
        .nth(1)
        .and_then(|rest| rest.split("</kafka.version>").next())
        .expect("<kafka.version> in scripts/kafka-connect/pom.xml");
    let cache = std::env::var("AQUEDUCT_CACHE").unwrap_or_else(|_| "/var/cache/aqueduct".to_owned());
    let dir = PathBuf::from(cache).join(format!("kafka-connect-{version}/libs"));
    assert!(
        dir.join(".complete").exists(),
        "Kafka Connect {version} is not installed in {}; run `scripts/services.sh install kafka-connect`",
        dir.display()
    );
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// One distributed Kafka Connect worker in its own group, with its own config and status topics.
/// Dropping it kills the JVM (so a failing test leaves nothing running).
pub struct KafkaConnect {
    child: Child,
    /// Base URL of its REST API.
    pub url: String,
    /// Its `group.id`, also the prefix of its config and status topics (`<id>-configs`, `<id>-status`).
    pub id: String,
    log: PathBuf,
}

impl KafkaConnect {
    /// Starts a worker keeping source offsets in `offsets_topic` (created with 25 partitions when
    /// missing, as Kafka Connect does), with StringConverter for keys and values, and waits until
    /// its REST API lists connectors.
    pub fn start(dir: &Path, offsets_topic: &str) -> KafkaConnect {
        KafkaConnect::start_in(dir, &unique("kc"), offsets_topic, "")
    }

    /// As [`KafkaConnect::start`], in group `id` with config and status topics `<id>-configs` and
    /// `<id>-status`; `extra` worker properties (lines) override the defaults.
    pub fn start_in(dir: &Path, id: &str, offsets_topic: &str, extra: &str) -> KafkaConnect {
        fs::create_dir_all(dir).expect("test dir");
        let port = free_port();
        let props = format!(
            "bootstrap.servers={kafka}
group.id={id}
config.storage.topic={id}-configs
status.storage.topic={id}-status
offset.storage.topic={offsets_topic}
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.flush.interval.ms=500
listeners=http://127.0.0.1:{port}
rest.advertised.host.name=127.0.0.1
plugin.discovery=service_load
{extra}",
            kafka = kafka(),
        );
        let props_file = dir.join(format!("{id}.properties"));
        fs::write(&props_file, props).expect("write worker.properties");
        let log = dir.join(format!("{id}.log"));
        let out = fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new("java")
            .arg("-Xmx512m")
            .arg("-cp")
            .arg(format!("{}/*", libs().display()))
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                scripts_dir().join("kafka-connect/log4j2.properties").display()
            ))
            .arg("org.apache.kafka.connect.cli.ConnectDistributed")
            .arg(&props_file)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start java (Kafka Connect)");
        let mut connect = KafkaConnect { child, url: format!("http://127.0.0.1:{port}"), id: id.to_owned(), log };
        let url = format!("{}/connectors", connect.url);
        connect.wait("the Kafka Connect worker to be ready", Duration::from_secs(90), |c| {
            if let Ok(Some(status)) = c.child.try_wait() {
                panic!("Kafka Connect exited with {status}:\n{}", c.log_tail());
            }
            reqwest::blocking_get(&url).filter(|(code, _)| *code == 200).map(|_| ())
        });
        connect
    }

    /// Sends a request to its REST API; panics (with the log) when nothing answers.
    pub fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string());
        reqwest::send(method, &format!("{}{path}", self.url), body.as_deref())
            .unwrap_or_else(|| panic!("{method} {path}: no answer from Kafka Connect\n{}", self.log_tail()))
    }

    /// `GET path`, which must answer 200.
    pub fn get(&self, path: &str) -> Value {
        let (code, body) = self.send("GET", path, None);
        assert_eq!(code, 200, "GET {path} on Kafka Connect: {body}\n{}", self.log_tail());
        body
    }

    /// Waits until the connector and all its tasks (at least one) are in `state`; returns the
    /// status. A timeout panics with the last status and the end of the log.
    pub fn wait_state(&self, name: &str, state: &str) -> Value {
        let url = format!("{}/connectors/{name}/status", self.url);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let body = reqwest::blocking_get(&url).map(|(_, body)| body).unwrap_or_default();
            let tasks = body["tasks"].as_array().map(Vec::as_slice).unwrap_or_default();
            if body["connector"]["state"] == state && !tasks.is_empty() && tasks.iter().all(|t| t["state"] == state) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {name} {state} in Kafka Connect; its status: {body}\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `POST /connectors`, then waits until the connector and its task are RUNNING.
    pub fn create(&mut self, name: &str, config: Value) {
        let (code, body) = self.send("POST", "/connectors", Some(serde_json::json!({"name": name, "config": config})));
        assert_eq!(code, 201, "creating {name} in Kafka Connect: {body}\n{}", self.log_tail());
        self.wait_state(name, "RUNNING");
    }

    /// SIGTERM (Kafka Connect stops its tasks, which commit their final offsets), then waits for the
    /// JVM to exit; returns whether it exited within `timeout`.
    pub fn terminate(mut self, timeout: Duration) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("Kafka Connect did not exit within {timeout:?} of SIGTERM; its log ends with:\n{}", self.log_tail());
        false
    }

    /// Polls `check` every 100 ms; a timeout panics with the end of the worker's log.
    pub fn wait<T>(&mut self, what: &str, timeout: Duration, mut check: impl FnMut(&mut Self) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check(self) {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; Kafka Connect log ends with:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last 60 lines of the worker's log.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for KafkaConnect {
    fn drop(&mut self) {
        // Only our own child, by its handle (its PID): SIGKILL if it is still running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
