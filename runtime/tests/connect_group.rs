//! The Connect group member against the real broker: three workers form one generation with one
//! leader whose assignor sees them all; a worker that leaves, or stops heartbeating, makes the
//! others rebalance into a generation without it; and a real Kafka Connect 4.1.1 worker joins
//! our group and takes our leader's assignment. Each worker runs the herder's loop: join, wait
//! for an event, rejoin (passing its last assignment back as Kafka Connect does).

mod support;
use support::{kafka, unique};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aqueduct_runtime::distributed::group::protocol::decode_metadata;
use aqueduct_runtime::distributed::group::{
    Assignment, AssignmentRequest, Assignor, AssignorError, ConnectProtocol, ConnectorTaskId, GroupConfig, GroupMember,
    JoinResult, MembershipStatus, WorkerState,
};
use async_trait::async_trait;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use tokio::sync::{mpsc, oneshot};

fn config(group: &str) -> GroupConfig {
    let mut c = GroupConfig::new(kafka(), group);
    c.session_timeout = Duration::from_secs(6); // the broker's group.min.session.timeout.ms
    c.heartbeat_interval = Duration::from_secs(1);
    c.rebalance_timeout = Duration::from_secs(20);
    c
}

/// Gives member i (in member id order) connector `c<i>` and its tasks 0 and 1, and records
/// every request and answer by generation.
#[derive(Default)]
struct RecordingAssignor {
    requests: Mutex<BTreeMap<i32, AssignmentRequest>>,
    given: Mutex<BTreeMap<i32, BTreeMap<String, Assignment>>>,
}

#[async_trait]
impl Assignor for RecordingAssignor {
    async fn assign(&self, request: &AssignmentRequest) -> Result<BTreeMap<String, Assignment>, AssignorError> {
        let leader_url = request.leader().map(|m| m.state.url.clone()).ok_or("the leader is not a member")?;
        let offset = request.max_config_offset().unwrap_or(-1);
        let ids: BTreeSet<&String> = request.members.iter().map(|m| &m.member_id).collect();
        let mut out = BTreeMap::new();
        for (i, id) in ids.into_iter().enumerate() {
            let mut a = Assignment::new(request.leader_id.clone(), leader_url.clone(), offset);
            a.connectors = vec![format!("c{i}")];
            a.tasks = vec![ConnectorTaskId::new(format!("c{i}"), 0), ConnectorTaskId::new(format!("c{i}"), 1)];
            out.insert(id.clone(), a);
        }
        self.requests.lock().map_err(|e| e.to_string())?.insert(request.generation, request.clone());
        self.given.lock().map_err(|e| e.to_string())?.insert(request.generation, out.clone());
        Ok(out)
    }
}

impl RecordingAssignor {
    fn request(&self, generation: i32) -> Option<AssignmentRequest> {
        self.requests.lock().ok()?.get(&generation).cloned()
    }
    fn given(&self, generation: i32) -> Option<BTreeMap<String, Assignment>> {
        self.given.lock().ok()?.get(&generation).cloned()
    }
}

/// What a worker's loop reports: (worker url, event).
#[derive(Debug)]
enum Event {
    Joined(Box<JoinResult>),
    Status(MembershipStatus),
}

enum Stop {
    Leave,
    /// Drop the member without LeaveGroup: its heartbeats stop, as if the worker hung or died.
    Silence,
}

struct Worker {
    url: String,
    stop: Option<oneshot::Sender<Stop>>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Runs the herder's loop for a worker with REST url `url` and config offset `offset`.
    fn start(
        config: GroupConfig,
        url: &str,
        offset: i64,
        assignor: Arc<RecordingAssignor>,
        events: mpsc::UnboundedSender<(String, Event)>,
    ) -> Worker {
        let (stop_tx, mut stop) = oneshot::channel();
        let name = url.to_owned();
        let mut state = WorkerState { url: url.to_owned(), config_offset: offset, assignment: None };
        let task = tokio::spawn(async move {
            let mut member = GroupMember::new(config).expect("valid config");
            loop {
                tokio::select! {
                    joined = member.join(&state, assignor.as_ref()) => {
                        let joined = joined.expect("join");
                        state.assignment = Some(joined.assignment.clone());
                        let _ = events.send((name.clone(), Event::Joined(Box::new(joined))));
                    }
                    s = &mut stop => return finish(member, s.ok()).await,
                }
                tokio::select! {
                    status = member.next_event() => { let _ = events.send((name.clone(), Event::Status(status))); }
                    s = &mut stop => return finish(member, s.ok()).await,
                }
            }
        });
        Worker { url: url.to_owned(), stop: Some(stop_tx), task }
    }

    async fn stop(mut self, how: Stop) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(how);
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

async fn finish(mut member: GroupMember, how: Option<Stop>) {
    match how {
        Some(Stop::Silence) => drop(member),
        _ => member.leave().await.expect("LeaveGroup"),
    }
}

/// Reads events until the workers named in `urls` (and no others) share a generation whose
/// assignment the assignor made for exactly them; returns each one's result by url.
async fn wait_generation(
    rx: &mut mpsc::UnboundedReceiver<(String, Event)>,
    assignor: &RecordingAssignor,
    urls: &[&str],
    seen: &mut Vec<(Instant, String, Event)>,
) -> BTreeMap<String, JoinResult> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let mut latest: BTreeMap<String, JoinResult> = BTreeMap::new();
    loop {
        let generations: BTreeSet<i32> = urls.iter().filter_map(|u| latest.get(*u)).map(|r| r.generation).collect();
        if let (true, Some(&g)) = (urls.iter().all(|u| latest.contains_key(*u)), generations.iter().next()) {
            if generations.len() == 1 && assignor.given(g).is_some_and(|m| m.len() == urls.len()) {
                return urls.iter().filter_map(|u| latest.remove_entry(*u)).collect();
            }
        }
        let (url, event) = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no common generation of {urls:?}; events: {seen:#?}"))
            .expect("events");
        if let Event::Joined(r) = &event {
            latest.insert(url.clone(), (**r).clone());
        }
        seen.push((Instant::now(), url, event));
    }
}

/// Checks one generation: one leader, everyone's assignment is what the assignor gave it.
fn check_generation(results: &BTreeMap<String, JoinResult>, assignor: &RecordingAssignor) -> i32 {
    let generation = results.values().next().map(|r| r.generation).expect("results");
    let leaders: Vec<&JoinResult> = results.values().filter(|r| r.is_leader()).collect();
    assert_eq!(leaders.len(), 1, "exactly one leader: {results:#?}");
    let leader = leaders[0];
    let given = assignor.given(generation).expect("the leader's assignment");
    let request = assignor.request(generation).expect("the leader's request");
    assert_eq!(request.leader_id, leader.member_id);
    for (url, r) in results {
        assert_eq!(r.generation, generation);
        assert_eq!(r.leader_id, leader.member_id);
        assert_eq!(r.protocol, ConnectProtocol::Sessioned);
        assert_eq!(Some(&r.assignment), given.get(&r.member_id), "{url} got what the assignor gave it");
        assert_eq!(
            r.assignment.leader_url,
            results.iter().find(|(_, r)| r.is_leader()).map(|(u, _)| u.clone()).expect("leader")
        );
        let metadata = request.members.iter().find(|m| m.member_id == r.member_id).expect("member in the request");
        assert_eq!(&metadata.state.url, url);
    }
    generation
}

/// The group as the broker describes it (through librdkafka): state, protocol, member urls.
async fn describe(group: &str) -> (String, String, String, BTreeSet<String>) {
    let group = group.to_owned();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", kafka()).create().expect("client");
        let list = consumer.fetch_group_list(Some(&group), Duration::from_secs(10)).expect("DescribeGroups");
        let info = list.groups().first().expect("the group");
        let urls = info
            .members()
            .iter()
            .map(|m| decode_metadata(m.metadata().unwrap_or_default()).map(|s| s.url).expect("Connect metadata"))
            .collect();
        (info.state().to_owned(), info.protocol_type().to_owned(), info.protocol().to_owned(), urls)
    })
    .await
    .expect("describe")
}

fn start_three(group: &str) -> (Vec<Worker>, Arc<RecordingAssignor>, mpsc::UnboundedReceiver<(String, Event)>) {
    let assignor = Arc::new(RecordingAssignor::default());
    let (tx, rx) = mpsc::unbounded_channel();
    let workers = (0..3)
        .map(|i| Worker::start(config(group), &format!("http://w{i}:8083/"), 10 + i, assignor.clone(), tx.clone()))
        .collect();
    (workers, assignor, rx)
}

const THREE: [&str; 3] = ["http://w0:8083/", "http://w1:8083/", "http://w2:8083/"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_form_one_generation_with_one_leader() {
    let group = unique("connect-group");
    let (workers, assignor, mut rx) = start_three(&group);
    let mut seen = Vec::new();
    let results = wait_generation(&mut rx, &assignor, &THREE, &mut seen).await;
    let generation = check_generation(&results, &assignor);

    let request = assignor.request(generation).expect("request");
    assert_eq!(request.members.len(), 3);
    assert_eq!(request.protocol, ConnectProtocol::Sessioned);
    for (i, url) in THREE.iter().enumerate() {
        let m = request.members.iter().find(|m| m.state.url == *url).expect("each worker's url");
        assert_eq!(m.state.config_offset, 10 + i as i64, "{url}'s config offset");
    }
    let (state, protocol_type, protocol, urls) = describe(&group).await;
    assert_eq!((state.as_str(), protocol_type.as_str(), protocol.as_str()), ("Stable", "connect", "sessioned"));
    assert_eq!(urls, THREE.iter().map(|u| u.to_string()).collect::<BTreeSet<_>>());
    for w in workers {
        w.stop(Stop::Leave).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaving_worker_makes_the_others_rebalance_without_it() {
    let group = unique("connect-group-leave");
    let (mut workers, assignor, mut rx) = start_three(&group);
    let mut seen = Vec::new();
    let before = check_generation(&wait_generation(&mut rx, &assignor, &THREE, &mut seen).await, &assignor);

    let leaving = workers.pop().expect("w2");
    assert_eq!(leaving.url, THREE[2]);
    let left_at = Instant::now();
    leaving.stop(Stop::Leave).await;
    seen.clear();
    let results = wait_generation(&mut rx, &assignor, &THREE[..2], &mut seen).await;
    let after = check_generation(&results, &assignor);
    assert!(after > before, "a new generation: {before} -> {after}");
    assert!(left_at.elapsed() < Duration::from_secs(5), "LeaveGroup rebalances at once, not after the session timeout");
    for url in &THREE[..2] {
        assert!(
            seen.iter().any(|(_, u, e)| u == url && matches!(e, Event::Status(MembershipStatus::RebalanceNeeded))),
            "{url} observed the rebalance: {seen:#?}"
        );
    }
    // Each remaining worker told the leader what it ran in the generation before.
    let request = assignor.request(after).expect("request");
    let old = assignor.given(before).expect("old assignment");
    for m in &request.members {
        assert_eq!(m.state.assignment.as_ref(), old.get(&m.member_id), "{}'s previous assignment", m.state.url);
    }
    for w in workers {
        w.stop(Stop::Leave).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_worker_is_removed_after_the_session_timeout() {
    let group = unique("connect-group-silent");
    let (mut workers, assignor, mut rx) = start_three(&group);
    let mut seen = Vec::new();
    let before = check_generation(&wait_generation(&mut rx, &assignor, &THREE, &mut seen).await, &assignor);

    let silent = workers.pop().expect("w2");
    let silenced_at = Instant::now();
    silent.stop(Stop::Silence).await;
    seen.clear();
    let results = wait_generation(&mut rx, &assignor, &THREE[..2], &mut seen).await;
    assert!(check_generation(&results, &assignor) > before);
    let noticed = seen
        .iter()
        .find(|(_, _, e)| matches!(e, Event::Status(MembershipStatus::RebalanceNeeded)))
        .map(|(at, _, _)| at.duration_since(silenced_at))
        .expect("a worker saw the rebalance");
    // The coordinator waits for a heartbeat for session.timeout.ms (6 s) after the last one
    // (at most heartbeat.interval.ms, 1 s, before the silence).
    assert!(noticed >= Duration::from_secs(4) && noticed < Duration::from_secs(15), "rebalance after {noticed:?}");
    for w in workers {
        w.stop(Stop::Leave).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_connect_joins_our_group_and_takes_our_assignment() {
    let Some(libs) = kafka_connect::libs() else {
        eprintln!("Kafka Connect is not installed (scripts/services.sh install kafka-connect): skipped");
        return;
    };
    let group = unique("connect-group-kc");
    let assignor = Arc::new(RecordingAssignor::default());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ours = Worker::start(config(&group), "http://aqueduct:8083/", -1, assignor.clone(), tx);
    let mut seen = Vec::new();
    wait_generation(&mut rx, &assignor, &["http://aqueduct:8083/"], &mut seen).await;

    let dir = tempfile::tempdir().expect("dir");
    let kc = kafka_connect::KafkaConnect::start(&libs, dir.path(), &kafka(), &group);
    // Our leader rebalances with Kafka Connect in the group, decoding its metadata.
    let deadline = Instant::now() + Duration::from_secs(45);
    let (generation, kc_id) = loop {
        let found = assignor.requests.lock().expect("lock").values().find(|r| r.members.len() == 2).cloned();
        if let Some(request) = found {
            let kc_member = request.members.iter().find(|m| m.state.url == kc.url).expect("Kafka Connect's url");
            assert!(kc_member.state.assignment.is_none(), "a new Kafka Connect worker runs nothing");
            break (request.generation, kc_member.member_id.clone());
        }
        assert!(Instant::now() < deadline, "Kafka Connect never joined\n{}", kc.log_tail());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Kafka Connect decoded our sessioned (v2) assignment: our worker as leader, and the
    // connector and tasks our assignor gave it (it then fails to start them: they do not exist).
    let leader = assignor.request(generation).expect("request").leader_id;
    let given = assignor.given(generation).and_then(|g| g.get(&kc_id).cloned()).expect("Kafka Connect's assignment");
    let tasks: Vec<String> = given.tasks.iter().map(ToString::to_string).collect();
    let expected = format!(
        "with protocol version 2 and got assignment: Assignment{{error=0, leader='{leader}', \
         leaderUrl='http://aqueduct:8083/', offset=-1, connectorIds=[{}], taskIds=[{}], revokedConnectorIds=[], \
         revokedTaskIds=[], delay=0}}",
        given.connectors.join(", "),
        tasks.join(", ")
    );
    while !kc.log().contains(&expected) {
        assert!(Instant::now() < deadline, "Kafka Connect did not log {expected}\n{}", kc.log_tail());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (state, protocol_type, protocol, urls) = describe(&group).await;
    assert_eq!((state.as_str(), protocol_type.as_str(), protocol.as_str()), ("Stable", "connect", "sessioned"));
    assert_eq!(urls, BTreeSet::from(["http://aqueduct:8083/".to_owned(), kc.url.clone()]));
    drop(kc);
    ours.stop(Stop::Leave).await;
}

/// A real Kafka Connect distributed worker (the interop tests' jars), in a given group.
mod kafka_connect {
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};

    /// The jar directory: `AQUEDUCT_KAFKA_CONNECT_LIBS`, else `$AQUEDUCT_CACHE/kafka-connect-4.1.1/libs`.
    pub fn libs() -> Option<PathBuf> {
        if let Ok(dir) = std::env::var("AQUEDUCT_KAFKA_CONNECT_LIBS") {
            return Some(PathBuf::from(dir));
        }
        let cache = std::env::var("AQUEDUCT_CACHE").unwrap_or_else(|_| "/var/cache/aqueduct".to_owned());
        let dir = PathBuf::from(cache).join("kafka-connect-4.1.1/libs");
        dir.join(".complete").exists().then_some(dir)
    }

    /// The JVM; dropping it kills it.
    pub struct KafkaConnect {
        child: Child,
        /// The URL it advertises in its group metadata.
        pub url: String,
        log: PathBuf,
    }

    impl KafkaConnect {
        /// Starts a worker in `group` with its own config, offsets and status topics.
        pub fn start(libs: &Path, dir: &Path, bootstrap: &str, group: &str) -> KafkaConnect {
            let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
            let props = format!(
                "bootstrap.servers={bootstrap}\ngroup.id={group}\nconfig.storage.topic={group}-configs\n\
                 offset.storage.topic={group}-offsets\nstatus.storage.topic={group}-status\n\
                 config.storage.replication.factor=1\noffset.storage.replication.factor=1\n\
                 status.storage.replication.factor=1\noffset.storage.partitions=1\nstatus.storage.partitions=1\n\
                 key.converter=org.apache.kafka.connect.storage.StringConverter\n\
                 value.converter=org.apache.kafka.connect.storage.StringConverter\n\
                 listeners=http://127.0.0.1:{port}\nrest.advertised.host.name=127.0.0.1\nplugin.discovery=service_load\n"
            );
            let file = dir.join("worker.properties");
            fs::write(&file, props).expect("worker.properties");
            let log = dir.join("connect.log");
            let out = fs::File::create(&log).expect("log");
            let err = out.try_clone().expect("log");
            let log4j = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/kafka-connect/log4j2.properties");
            let child = Command::new("java")
                .arg("-Xmx512m")
                .arg("-cp")
                .arg(format!("{}/*", libs.display()))
                .arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
                .arg("org.apache.kafka.connect.cli.ConnectDistributed")
                .arg(&file)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect("java");
            KafkaConnect { child, url: format!("http://127.0.0.1:{port}/"), log }
        }

        /// Its log so far.
        pub fn log(&self) -> String {
            fs::read_to_string(&self.log).unwrap_or_default()
        }

        /// The last 40 lines of its log.
        pub fn log_tail(&self) -> String {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        }
    }

    impl Drop for KafkaConnect {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
