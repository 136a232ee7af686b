//! Kafka Connect's internal topics shared with a real Apache Kafka Connect 4.1.1 distributed
//! worker (`scripts/services.sh install kafka-connect`) on the real broker
//! (`scripts/services.sh up kafka`): what Kafka Connect left in its config and status topics is
//! what Aqueduct's `ConfigStore` and `StatusStore` read, and what Aqueduct wrote is what Kafka
//! Connect starts from.

use std::fs;
use std::time::Duration;

use aqueduct_runtime::distributed::config_topic::{ConfigStore, TargetState, TaskId};
use aqueduct_runtime::distributed::settings::InternalTopics;
use aqueduct_runtime::distributed::status_topic::{StatusState, StatusStore, TopicStatus};
use aqueduct_runtime::kafka::KafkaClients;
use aqueduct_runtime::worker_config::WorkerConfig;
use aqueduct_sdk::Props;
use serde_json::{json, Value};

use crate::common::{kafka, unique, wait_for};
use crate::connect::KafkaConnect;

const FILE_SOURCE: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
const FILE_SINK: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";

/// The topics of one test's worker group.
fn internal_topics(id: &str) -> InternalTopics {
    let props = Props::from([
        ("config.storage.topic".to_owned(), format!("{id}-configs")),
        ("status.storage.topic".to_owned(), format!("{id}-status")),
    ]);
    InternalTopics::from_props(&props).expect("valid topic settings")
}

fn clients() -> KafkaClients {
    let props = Props::from([("bootstrap.servers".to_owned(), kafka())]);
    KafkaClients::new(&WorkerConfig::from_props(props).expect("worker config"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}

fn props(json: &Value) -> Props {
    let object = json.as_object().unwrap_or_else(|| panic!("expected a JSON object, got {json}"));
    object.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_else(|| panic!("{k}: {v}")).to_owned())).collect()
}

/// A Kafka Connect distributed worker in group `id` with topics `<id>-configs`, `<id>-status`
/// and `<id>-offsets` (one partition), as tests/interop starts one.
fn start_connect(dir: &std::path::Path, id: &str, extra: &str) -> KafkaConnect {
    KafkaConnect::start_in(dir, id, &format!("{id}-offsets"), &format!("offset.storage.partitions=1\n{extra}"))
}

/// Kafka Connect (exactly-once source support on, so it writes the config topic in
/// transactions) creates a source and a sink and pauses the sink; Aqueduct's status store reads
/// the statuses while it runs, and after it stopped the config store reads both connectors,
/// their committed task configs and the PAUSED target state.
#[test]
fn aqueduct_reads_the_state_kafka_connect_left() {
    let id = unique("kc-state");
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in.txt");
    fs::write(&input, "one\ntwo\n").expect("input file");
    let data = format!("{id}-data");
    let mut connect = start_connect(dir.path(), &id, "exactly.once.source.support=enabled\n");
    let source = json!({"connector.class": FILE_SOURCE, "tasks.max": "1", "file": input, "topic": data});
    let sink =
        json!({"connector.class": FILE_SINK, "tasks.max": "1", "file": dir.path().join("out.txt"), "topics": data});
    connect.create("src", source);
    connect.create("sink", sink);
    let (code, body) = connect.send("PUT", "/connectors/sink/pause", None);
    assert_eq!(code, 202, "pause: {body}");
    let sink_status = connect.wait_state("sink", "PAUSED");
    let config_of = |name: &str| props(&connect.get(&format!("/connectors/{name}/config")));
    let tasks_of = |name: &str| -> Vec<Props> {
        let tasks = connect.get(&format!("/connectors/{name}/tasks"));
        tasks.as_array().expect("task list").iter().map(|t| props(&t["config"])).collect()
    };
    let (src_config, sink_config) = (config_of("src"), config_of("sink"));
    let (src_tasks, sink_tasks) = (tasks_of("src"), tasks_of("sink"));
    assert_eq!((src_tasks.len(), sink_tasks.len()), (1, 1));

    let rt = runtime();
    let (clients, topics) = (clients(), internal_topics(&id));
    let statuses = rt.block_on(StatusStore::open(&clients, &topics)).expect("open the status store");
    let sink_now = statuses.connector("sink").expect("sink status");
    assert_eq!(sink_now.state, StatusState::Paused);
    assert_eq!(Some(sink_now.worker_id.as_str()), sink_status["connector"]["worker_id"].as_str());
    assert_eq!(sink_now.version.as_deref(), Some("4.1.1"));
    let task_states = |name: &str| statuses.connector_tasks(name).into_iter().map(|(_, s)| s.state).collect::<Vec<_>>();
    assert_eq!(task_states("sink"), [StatusState::Paused]);
    assert_eq!(statuses.connector("src").map(|s| s.state), Some(StatusState::Running));
    assert_eq!(task_states("src"), [StatusState::Running]);
    wait_for("the source's active topic in the status topic", Duration::from_secs(20), || {
        rt.block_on(statuses.refresh(Duration::from_secs(10))).expect("refresh statuses");
        statuses.connector_topics("src").iter().any(|t| t.topic == data).then_some(())
    });

    // Its shutdown writes the UNASSIGNED statuses read below; on a loaded machine (the other
    // interop tests run their own Kafka Connect beside it) it can take a while.
    assert!(connect.terminate(Duration::from_secs(150)), "Kafka Connect did not exit on SIGTERM");
    let configs = rt.block_on(ConfigStore::open(&clients, &topics)).expect("open the config store");
    let s = configs.snapshot();
    assert_eq!(s.connectors.keys().collect::<Vec<_>>(), ["sink", "src"]);
    assert_eq!(s.connector_config("src"), Some(&src_config));
    assert_eq!(s.connector_config("sink"), Some(&sink_config));
    assert_eq!(s.tasks("src"), [TaskId::new("src", 0)]);
    assert_eq!(s.tasks("sink"), [TaskId::new("sink", 0)]);
    assert_eq!(s.task_config(&TaskId::new("src", 0)), Some(&src_tasks[0]));
    assert_eq!(s.task_config(&TaskId::new("sink", 0)), Some(&sink_tasks[0]));
    assert_eq!(s.target_state("src"), Some(TargetState::Started));
    assert_eq!(s.target_state("sink"), Some(TargetState::Paused));
    assert!(s.inconsistent.is_empty(), "{:?}", s.inconsistent);
    assert!(s.session_key.is_some(), "the leader's session key");
    assert_eq!(s.task_count_records.get("src"), Some(&1), "the exactly-once fencing record");
    assert!(s.offset > 0);
    // A stopping Kafka Connect worker marks what it ran UNASSIGNED.
    rt.block_on(statuses.refresh(Duration::from_secs(10))).expect("refresh statuses");
    for name in ["src", "sink"] {
        assert_eq!(statuses.connector(name).map(|s| s.state), Some(StatusState::Unassigned), "{name}");
    }
    rt.block_on(async {
        configs.close().await;
        statuses.close().await;
    });
}

/// Aqueduct writes a paused source connector, its task config (with a marker Kafka Connect
/// would not generate), the commit and an active topic into fresh topics; Kafka Connect starts
/// on them and serves that connector, config, task config, PAUSED status and topic. Resumed, it
/// regenerates the task config, which Aqueduct's still-tailing store sees.
#[test]
fn kafka_connect_starts_from_the_state_aqueduct_wrote() {
    let id = unique("aq-state");
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in.txt");
    fs::write(&input, "one\n").expect("input file");
    let data = format!("{id}-data");
    let config = props(&json!({
        "connector.class": FILE_SOURCE, "tasks.max": "1", "file": input, "topic": data, "name": "x",
    }));
    let mut task = config.clone();
    task.insert("task.class".into(), "org.apache.kafka.connect.file.FileStreamSourceTask".into());
    task.insert("aqueduct.marker".into(), "written by aqueduct".into());

    let rt = runtime();
    let (clients, topics) = (clients(), internal_topics(&id));
    let (configs, statuses) = rt.block_on(async {
        let configs = ConfigStore::open(&clients, &topics).await.expect("open the config store");
        configs.put_connector_config("x", config.clone(), Some(TargetState::Paused)).await.expect("connector");
        configs.put_task_configs("x", vec![task.clone()]).await.expect("task configs and commit");
        let statuses = StatusStore::open(&clients, &topics).await.expect("open the status store");
        let used = TopicStatus { topic: data.clone(), connector: "x".into(), task: 0, discover_timestamp: 1 };
        statuses.put_topic(used).await.expect("topic status");
        (configs, statuses)
    });
    let s = configs.snapshot();
    assert_eq!((s.tasks("x").len(), s.target_state("x")), (1, Some(TargetState::Paused)));

    let mut connect = start_connect(dir.path(), &id, "");
    connect.wait("x listed", Duration::from_secs(30), |c| (c.get("/connectors") == json!(["x"])).then_some(()));
    assert_eq!(props(&connect.get("/connectors/x/config")), config);
    let status = connect.wait_state("x", "PAUSED");
    assert_eq!(status["type"], "source");
    let tasks = connect.get("/connectors/x/tasks");
    assert_eq!(tasks, json!([{"id": {"connector": "x", "task": 0}, "config": task}]), "our committed task config");
    assert_eq!(connect.get("/connectors/x/topics"), json!({"x": {"topics": [data]}}));

    let mut updates = configs.subscribe();
    let (code, body) = connect.send("PUT", "/connectors/x/resume", None);
    assert_eq!(code, 202, "resume: {body}");
    connect.wait_state("x", "RUNNING");
    wait_for("Kafka Connect's new task config in the tailed store", Duration::from_secs(20), || {
        let s = configs.snapshot();
        let regenerated = s.task_config(&TaskId::new("x", 0)).is_some_and(|t| !t.contains_key("aqueduct.marker"));
        (regenerated && s.target_state("x") == Some(TargetState::Started)).then_some(())
    });
    assert!(updates.try_recv().is_ok(), "updates were published");
    wait_for("Kafka Connect's RUNNING status in the tailed store", Duration::from_secs(20), || {
        (statuses.connector("x").map(|s| s.state) == Some(StatusState::Running)).then_some(())
    });
    // Nothing after this point reads what Kafka Connect writes when it stops: no need to wait for it.
    drop(connect);
    rt.block_on(async {
        configs.close().await;
        statuses.close().await;
    });
}
