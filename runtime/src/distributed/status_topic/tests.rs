//! Records captured from Apache Kafka Connect 4.1.1 decode to the right statuses, re-encode
//! byte for byte, and the captured log adds up to what Kafka Connect's status API showed.

use super::*;
use crate::distributed::config_topic::TaskId;

/// The status topic (partition, offset, key, value) of the run described in the config
/// topic's tests: 5 partitions, keys spread by Kafka's murmur2 partitioner.
const KC_STATUS_LOG: &[(i32, i64, &str, Option<&str>)] = &[
    (
        0,
        0,
        "status-connector-src-a",
        Some(r#"{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:18999","generation":2,"version":"4.1.1"}"#),
    ),
    (
        0,
        1,
        "status-topic-capture-25691-data:connector-src-a",
        Some(
            r#"{"topic":{"name":"capture-25691-data","connector":"src-a","task":0,"discoverTimestamp":1796164288455}}"#,
        ),
    ),
    (
        0,
        2,
        "status-topic-capture-25691-data:connector-sink-b",
        Some(
            r#"{"topic":{"name":"capture-25691-data","connector":"sink-b","task":0,"discoverTimestamp":1796164288585}}"#,
        ),
    ),
    (
        0,
        3,
        "status-connector-src-a",
        Some(r#"{"state":"STOPPED","trace":null,"worker_id":"127.0.0.1:18999","generation":5,"version":"4.1.1"}"#),
    ),
    (
        0,
        4,
        "status-connector-src-a",
        Some(r#"{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:18999","generation":7,"version":"4.1.1"}"#),
    ),
    (
        0,
        5,
        "status-task-gone-c-0",
        Some(r#"{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:18999","generation":10,"version":"4.1.1"}"#),
    ),
    (
        0,
        6,
        "status-task-gone-c-0",
        Some(r#"{"state":"UNASSIGNED","trace":null,"worker_id":"127.0.0.1:18999","generation":10,"version":null}"#),
    ),
    (0, 7, "status-task-gone-c-0", None),
    (0, 8, "status-task-gone-c-0", None),
    (
        2,
        0,
        "status-connector-sink-b",
        Some(r#"{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:18999","generation":4,"version":"4.1.1"}"#),
    ),
    (
        2,
        1,
        "status-connector-sink-b",
        Some(r#"{"state":"PAUSED","trace":null,"worker_id":"127.0.0.1:18999","generation":5,"version":"4.1.1"}"#),
    ),
    (
        2,
        2,
        "status-connector-sink-b",
        Some(r#"{"state":"UNASSIGNED","trace":null,"worker_id":"127.0.0.1:18999","generation":7,"version":null}"#),
    ),
    (
        2,
        3,
        "status-connector-sink-b",
        Some(r#"{"state":"RESTARTING","trace":null,"worker_id":"127.0.0.1:18999","generation":7,"version":null}"#),
    ),
    (
        2,
        4,
        "status-connector-sink-b",
        Some(r#"{"state":"PAUSED","trace":null,"worker_id":"127.0.0.1:18999","generation":7,"version":"4.1.1"}"#),
    ),
    (
        1,
        0,
        "status-topic-capture-25691-data:connector-gone-c",
        Some(
            r#"{"topic":{"name":"capture-25691-data","connector":"gone-c","task":0,"discoverTimestamp":1796164300698}}"#,
        ),
    ),
    (1, 1, "status-topic-capture-25691-data:connector-gone-c", None),
    (1, 2, "status-topic-capture-25691-data:connector-gone-c", None),
    (
        4,
        0,
        "status-connector-gone-c",
        Some(r#"{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:18999","generation":9,"version":"4.1.1"}"#),
    ),
    (
        4,
        1,
        "status-connector-gone-c",
        Some(r#"{"state":"UNASSIGNED","trace":null,"worker_id":"127.0.0.1:18999","generation":10,"version":null}"#),
    ),
    (4, 2, "status-connector-gone-c", None),
    (
        3,
        0,
        "status-task-src-a-0",
        Some(r#"{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:18999","generation":3,"version":"4.1.1"}"#),
    ),
    (
        3,
        1,
        "status-task-sink-b-0",
        Some(r#"{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:18999","generation":5,"version":"4.1.1"}"#),
    ),
    (
        3,
        2,
        "status-task-sink-b-0",
        Some(r#"{"state":"PAUSED","trace":null,"worker_id":"127.0.0.1:18999","generation":5,"version":"4.1.1"}"#),
    ),
    (
        3,
        3,
        "status-task-src-a-0",
        Some(r#"{"state":"UNASSIGNED","trace":null,"worker_id":"127.0.0.1:18999","generation":5,"version":null}"#),
    ),
    (3, 4, "status-task-src-a-0", None),
    (
        3,
        5,
        "status-task-sink-b-0",
        Some(r#"{"state":"UNASSIGNED","trace":null,"worker_id":"127.0.0.1:18999","generation":7,"version":null}"#),
    ),
    (
        3,
        6,
        "status-task-sink-b-0",
        Some(r#"{"state":"RESTARTING","trace":null,"worker_id":"127.0.0.1:18999","generation":7,"version":null}"#),
    ),
    (
        3,
        7,
        "status-task-sink-b-0",
        Some(r#"{"state":"PAUSED","trace":null,"worker_id":"127.0.0.1:18999","generation":7,"version":"4.1.1"}"#),
    ),
    (
        3,
        8,
        "status-task-src-a-0",
        Some(r#"{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:18999","generation":8,"version":"4.1.1"}"#),
    ),
];

/// A FAILED task status from the same worker (FileStreamSink with a file in a missing
/// directory); the Java stack trace is cut after its first frame.
const KC_FAILED_TASK: (&str, &str) = (
    "status-task-bad-d-0",
    r#"{"state":"FAILED","trace":"org.apache.kafka.connect.errors.ConnectException: Couldn't find or create file '/nonexistent-dir/x/out.txt' for FileStreamSinkTask\n\tat org.apache.kafka.connect.file.FileStreamSinkTask.start(FileStreamSinkTask.java:74)\n","worker_id":"127.0.0.1:18999","generation":11,"version":"4.1.1"}"#,
);

fn decode(key: &str, value: Option<&str>) -> StatusRecord {
    StatusRecord::decode(Some(key.as_bytes()), value.map(str::as_bytes)).expect("a valid record")
}

fn status(state: StatusState, generation: i32, version: Option<&str>) -> Status {
    Status { state, trace: None, worker_id: "127.0.0.1:18999".into(), generation, version: version.map(Into::into) }
}

#[test]
fn every_captured_record_decodes_and_encodes_byte_for_byte() {
    let failed = [(2, 5, KC_FAILED_TASK.0, Some(KC_FAILED_TASK.1))];
    for (_, _, key, value) in KC_STATUS_LOG.iter().chain(failed.iter()) {
        let record = decode(key, *value);
        let (k, v) = record.encode();
        assert_eq!(String::from_utf8(k).expect("UTF-8"), *key);
        assert_eq!(v.as_deref().map(String::from_utf8_lossy), value.map(Into::into), "{key}");
    }
    assert_eq!(
        decode(KC_STATUS_LOG[0].2, KC_STATUS_LOG[0].3),
        StatusRecord::Connector { name: "src-a".into(), status: Some(status(StatusState::Running, 2, Some("4.1.1"))) }
    );
    assert_eq!(
        decode(KC_STATUS_LOG[1].2, KC_STATUS_LOG[1].3),
        StatusRecord::Topic {
            topic: "capture-25691-data".into(),
            connector: "src-a".into(),
            status: Some(TopicStatus {
                topic: "capture-25691-data".into(),
                connector: "src-a".into(),
                task: 0,
                discover_timestamp: 1796164288455,
            }),
        }
    );
    let StatusRecord::Task { id, status: Some(failed) } = decode(KC_FAILED_TASK.0, Some(KC_FAILED_TASK.1)) else {
        panic!("a task status")
    };
    assert_eq!((id, failed.state), (TaskId::new("bad-d", 0), StatusState::Failed));
    assert!(failed.trace.is_some_and(|t| t.contains("\n\tat org.apache.kafka.connect.file.FileStreamSinkTask.start")));
}

#[test]
fn the_captured_log_adds_up_to_the_status_api() {
    let mut snapshot = StatusSnapshot::default();
    for (_, _, key, value) in KC_STATUS_LOG {
        snapshot.apply(decode(key, *value));
    }
    let states = |name: &str| {
        let tasks: Vec<_> = snapshot.connector_tasks(name).into_iter().map(|(_, s)| s.state).collect();
        (snapshot.connector(name).map(|s| s.state), tasks)
    };
    assert_eq!(states("src-a"), (Some(StatusState::Running), vec![StatusState::Running]));
    assert_eq!(states("sink-b"), (Some(StatusState::Paused), vec![StatusState::Paused]));
    assert_eq!(states("gone-c"), (None, vec![]));
    assert_eq!(snapshot.task(&TaskId::new("src-a", 0)).map(|s| s.generation), Some(8));
    assert_eq!(snapshot.connector_topics("sink-b").len(), 1);
    assert!(snapshot.connector_topics("gone-c").is_empty());
}

#[test]
fn stale_unassigned_and_safe_writes_follow_kafka_connect() {
    let mut snapshot = StatusSnapshot::default();
    let task = TaskId::new("my-conn", 3);
    let put = |s: Status| StatusRecord::Task { id: task.clone(), status: Some(s) };
    snapshot.apply(put(status(StatusState::Running, 5, Some("1"))));
    snapshot.apply(put(status(StatusState::Unassigned, 5, None)));
    assert_eq!(snapshot.task(&task).map(|s| s.state), Some(StatusState::Running), "stale UNASSIGNED ignored");
    snapshot.apply(put(status(StatusState::Unassigned, 6, None)));
    assert_eq!(snapshot.task(&task).map(|s| s.state), Some(StatusState::Unassigned));
    // A connector tombstone removes its tasks too.
    snapshot.apply(StatusRecord::Connector { name: "my-conn".into(), status: None });
    assert!(snapshot.connector_tasks("my-conn").is_empty());

    let current = status(StatusState::Running, 5, None);
    let other =
        |generation| Status { worker_id: "other:8083".into(), ..status(StatusState::Running, generation, None) };
    assert!(StatusSnapshot::can_write_safely(None, &other(1)));
    assert!(StatusSnapshot::can_write_safely(Some(&current), &status(StatusState::Paused, 1, None)), "same worker");
    assert!(StatusSnapshot::can_write_safely(Some(&current), &other(5)));
    assert!(!StatusSnapshot::can_write_safely(Some(&current), &other(4)));
}

#[test]
fn keys_parse_as_kafka_connect_parses_them() {
    let destroyed =
        StatusRecord::Task { id: TaskId::new("a-b", 2), status: Some(status(StatusState::Destroyed, 1, None)) };
    assert_eq!(destroyed.encode(), (b"status-task-a-b-2".to_vec(), None), "DESTROYED is a tombstone");
    assert_eq!(decode("status-task-a-b-2", None), StatusRecord::Task { id: TaskId::new("a-b", 2), status: None });
    let topic = decode("status-topic-t.1:connector-my-conn", None);
    assert_eq!(topic, StatusRecord::Topic { topic: "t.1".into(), connector: "my-conn".into(), status: None });
    for bad in ["status-task-x", "status-connector-", "status-topic-:connector-c", "status-topic-t:connector-", "other"]
    {
        assert!(StatusRecord::decode(Some(bad.as_bytes()), None).is_err(), "{bad}");
    }
    let no_generation = r#"{"state":"RUNNING","trace":null,"worker_id":"w"}"#;
    assert!(StatusRecord::decode(Some(b"status-connector-c"), Some(no_generation.as_bytes())).is_err());
    assert_eq!(StatusState::from(crate::status::State::Stopped).api_state(), Some(crate::status::State::Stopped));
}
