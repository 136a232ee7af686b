//! Records captured from Apache Kafka Connect 4.1.1 (distributed worker, internal
//! JsonConverter) decode to the right records, fixed-schema ones re-encode byte for byte, and
//! the captured log builds the snapshot Kafka Connect's own store builds.

use aqueduct_sdk::Props;
use serde_json::Value as Json;

use super::*;

/// The config topic a Kafka Connect 4.1.1 worker wrote (offset, key, value) while it created
/// FileStreamSource `src-a` and FileStreamSink `sink-b`, paused `sink-b`, stopped `src-a`,
/// restarted `sink-b` with its tasks, resumed `src-a`, and created then deleted `gone-c`.
const KC_CONFIG_LOG: &[(i64, &str, Option<&str>)] = &[
    (
        0,
        "session-key",
        Some(
            r#"{"key":"C5PvSpWnhdZRhYGY4EBqLqsfj8ZPn/97jVgqUz9/qZM=","algorithm":"HmacSHA256","creation-timestamp":1796164286252}"#,
        ),
    ),
    (
        1,
        "connector-src-a",
        Some(
            r#"{"properties":{"connector.class":"org.apache.kafka.connect.file.FileStreamSourceConnector","tasks.max":"1","file":"/tmp/capture/in.txt","topic":"capture-25691-data","name":"src-a"}}"#,
        ),
    ),
    (
        2,
        "task-src-a-0",
        Some(
            r#"{"properties":{"connector.class":"org.apache.kafka.connect.file.FileStreamSourceConnector","file":"/tmp/capture/in.txt","task.class":"org.apache.kafka.connect.file.FileStreamSourceTask","tasks.max":"1","name":"src-a","topic":"capture-25691-data"}}"#,
        ),
    ),
    (3, "commit-src-a", Some(r#"{"tasks":1}"#)),
    (
        4,
        "connector-sink-b",
        Some(
            r#"{"properties":{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","tasks.max":"1","file":"/tmp/capture/out.txt","topics":"capture-25691-data","name":"sink-b"}}"#,
        ),
    ),
    (
        5,
        "task-sink-b-0",
        Some(
            r#"{"properties":{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","file":"/tmp/capture/out.txt","task.class":"org.apache.kafka.connect.file.FileStreamSinkTask","tasks.max":"1","topics":"capture-25691-data","name":"sink-b"}}"#,
        ),
    ),
    (6, "commit-sink-b", Some(r#"{"tasks":1}"#)),
    (7, "target-state-sink-b", Some(r#"{"state":"PAUSED","state.v2":"PAUSED"}"#)),
    (8, "commit-src-a", Some(r#"{"tasks":0}"#)),
    (9, "target-state-src-a", Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#)),
    (10, "restart-connector-sink-b", Some(r#"{"include-tasks":true,"only-failed":false}"#)),
    (11, "target-state-src-a", Some(r#"{"state":"STARTED","state.v2":"STARTED"}"#)),
    (
        12,
        "task-src-a-0",
        Some(
            r#"{"properties":{"connector.class":"org.apache.kafka.connect.file.FileStreamSourceConnector","file":"/tmp/capture/in.txt","task.class":"org.apache.kafka.connect.file.FileStreamSourceTask","tasks.max":"1","name":"src-a","topic":"capture-25691-data"}}"#,
        ),
    ),
    (13, "commit-src-a", Some(r#"{"tasks":1}"#)),
    (
        14,
        "connector-gone-c",
        Some(
            r#"{"properties":{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","tasks.max":"1","file":"/tmp/capture/out2.txt","topics":"capture-25691-data","name":"gone-c"}}"#,
        ),
    ),
    (
        15,
        "task-gone-c-0",
        Some(
            r#"{"properties":{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","file":"/tmp/capture/out2.txt","task.class":"org.apache.kafka.connect.file.FileStreamSinkTask","tasks.max":"1","topics":"capture-25691-data","name":"gone-c"}}"#,
        ),
    ),
    (16, "commit-gone-c", Some(r#"{"tasks":1}"#)),
    (17, "connector-gone-c", None),
    (18, "target-state-gone-c", None),
];

/// From a worker with `exactly.once.source.support=enabled` (written in transactions: the
/// record offsets were 0, 2, 4, 6, 8 with commit markers between).
const KC_EOS_TASK_COUNT: (&str, &str) = ("tasks-fencing-src-e", r#"{"task-count":1}"#);

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn decode(key: &str, value: Option<&str>) -> ConfigRecord {
    ConfigRecord::decode(Some(key.as_bytes()), value.map(str::as_bytes)).expect("a valid record")
}

fn json(bytes: &[u8]) -> Json {
    serde_json::from_slice(bytes).expect("JSON")
}

#[test]
fn decodes_every_record_kafka_connect_wrote() {
    let records: Vec<ConfigRecord> = KC_CONFIG_LOG.iter().map(|(_, k, v)| decode(k, *v)).collect();
    let ConfigRecord::SessionKey(key) = &records[0] else { panic!("{:?}", records[0]) };
    assert_eq!((key.algorithm.as_str(), key.creation_timestamp, key.key.len()), ("HmacSHA256", 1796164286252, 32));
    assert_eq!(
        records[1],
        ConfigRecord::Connector {
            name: "src-a".into(),
            props: props(&[
                ("connector.class", "org.apache.kafka.connect.file.FileStreamSourceConnector"),
                ("tasks.max", "1"),
                ("file", "/tmp/capture/in.txt"),
                ("topic", "capture-25691-data"),
                ("name", "src-a"),
            ]),
        }
    );
    let ConfigRecord::TaskConfig { task, props } = &records[2] else { panic!("{:?}", records[2]) };
    assert_eq!(
        (task, props["task.class"].as_str()),
        (&TaskId::new("src-a", 0), "org.apache.kafka.connect.file.FileStreamSourceTask")
    );
    assert_eq!(records[3], ConfigRecord::Commit { name: "src-a".into(), tasks: 1 });
    assert_eq!(records[7], ConfigRecord::TargetState { name: "sink-b".into(), state: TargetState::Paused });
    assert_eq!(records[8], ConfigRecord::Commit { name: "src-a".into(), tasks: 0 });
    assert_eq!(records[9], ConfigRecord::TargetState { name: "src-a".into(), state: TargetState::Stopped });
    assert_eq!(
        records[10],
        ConfigRecord::Restart(RestartRequest { connector: "sink-b".into(), only_failed: false, include_tasks: true })
    );
    assert_eq!(records[11], ConfigRecord::TargetState { name: "src-a".into(), state: TargetState::Started });
    assert_eq!(records[17], ConfigRecord::ConnectorDeleted { name: "gone-c".into() });
    assert_eq!(records[18], ConfigRecord::TargetStateDeleted { name: "gone-c".into() });
    let (key, value) = KC_EOS_TASK_COUNT;
    assert_eq!(decode(key, Some(value)), ConfigRecord::TaskCount { name: "src-e".into(), tasks: 1 });
}

#[test]
fn fixed_schema_records_encode_byte_for_byte() {
    let mut checked = 0;
    let eos = [(0, KC_EOS_TASK_COUNT.0, Some(KC_EOS_TASK_COUNT.1))];
    for (_, key, value) in KC_CONFIG_LOG.iter().chain(eos.iter()) {
        let record = decode(key, *value);
        let (k, v) = record.encode();
        assert_eq!(String::from_utf8(k).expect("UTF-8"), *key);
        match &record {
            // Property maps: Kafka Connect writes Java map order, Aqueduct sorted keys.
            ConfigRecord::Connector { .. } | ConfigRecord::TaskConfig { .. } => {
                assert_eq!(json(&v.expect("a value")), json(value.expect("a value").as_bytes()), "{key}");
            }
            _ => {
                assert_eq!(v.as_deref().map(String::from_utf8_lossy), value.map(Into::into), "{key}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 13, "session key, 5 commits, 3 target states, restart, 2 tombstones, task count");
}

#[test]
fn property_maps_round_trip_with_null_values_dropped() {
    let record =
        ConfigRecord::TaskConfig { task: TaskId::new("my-conn-x", 12), props: props(&[("a", "1"), ("b", "")]) };
    let (key, value) = record.encode();
    assert_eq!(key, b"task-my-conn-x-12");
    assert_eq!(value.as_deref(), Some(&br#"{"properties":{"a":"1","b":""}}"#[..]));
    assert_eq!(ConfigRecord::decode(Some(&key), value.as_deref()), Ok(record));
    let nulls = decode("connector-c", Some(r#"{"properties":{"a":null,"n":5,"s":"x"}}"#));
    assert_eq!(nulls, ConfigRecord::Connector { name: "c".into(), props: props(&[("n", "5"), ("s", "x")]) });
}

#[test]
fn keys_and_values_are_read_as_kafka_connect_reads_them() {
    // A target state from a worker older than KIP-875 has no state.v2.
    let v0 = decode("target-state-x", Some(r#"{"state":"PAUSED"}"#));
    assert_eq!(v0, ConfigRecord::TargetState { name: "x".into(), state: TargetState::Paused });
    let bad_v2 = decode("target-state-x", Some(r#"{"state":"PAUSED","state.v2":7}"#));
    assert_eq!(bad_v2, ConfigRecord::TargetState { name: "x".into(), state: TargetState::Paused });
    assert_eq!(parse_task_key_of("task-a-b-3"), Some(TaskId::new("a-b", 3)));
    assert_eq!(parse_task_key_of("task-a-"), None, "Java's split drops the trailing empty part");
    assert_eq!(parse_task_key_of("task-a-x"), None);
    // Missing or non-boolean restart flags default to false.
    let restart = decode("restart-connector-r", Some(r#"{"only-failed":"yes"}"#));
    assert_eq!(
        restart,
        ConfigRecord::Restart(RestartRequest { connector: "r".into(), only_failed: false, include_tasks: false })
    );
    let level = decode("logger-cluster-org.apache", Some(r#"{"level":"DEBUG"}"#));
    assert_eq!(level, ConfigRecord::LoggerLevel { namespace: "org.apache".into(), level: "DEBUG".into() });
    let err = |k: &str, v: Option<&str>| ConfigRecord::decode(Some(k.as_bytes()), v.map(str::as_bytes)).expect_err(k);
    assert!(matches!(err("nonsense", Some("{}")), DecodeError::UnknownKey(_)));
    assert!(matches!(err("commit-x", Some("{oops")), DecodeError::NotJson { .. }));
    assert!(matches!(err("commit-x", Some(r#"{"tasks":-1}"#)), DecodeError::Invalid { .. }));
    assert!(matches!(err("task-x-0", None), DecodeError::Invalid { .. }));
    assert!(matches!(err("target-state-x", Some(r#"{"state":"RUNNING"}"#)), DecodeError::Invalid { .. }));
}

fn parse_task_key_of(key: &str) -> Option<TaskId> {
    records::parse_task_key(key)
}

fn apply_all(state: &mut ConfigState, log: &[(i64, &str, Option<&str>)]) -> Vec<ConfigUpdate> {
    log.iter().flat_map(|(o, k, v)| state.apply_raw(*o, Some(k.as_bytes()), v.map(str::as_bytes))).collect()
}

#[test]
fn the_captured_log_builds_kafka_connects_snapshot() {
    let mut state = ConfigState::new();
    let updates = apply_all(&mut state, KC_CONFIG_LOG);
    let s = state.snapshot();
    assert_eq!(s.offset, 19, "the offset after the last record");
    assert_eq!(s.connectors.keys().collect::<Vec<_>>(), ["sink-b", "src-a"]);
    assert_eq!(s.connector_config("src-a").map(|p| p["file"].as_str()), Some("/tmp/capture/in.txt"));
    assert_eq!(s.target_state("src-a"), Some(TargetState::Started));
    assert_eq!(s.target_state("sink-b"), Some(TargetState::Paused));
    assert_eq!(s.target_state("gone-c"), None);
    assert_eq!(s.tasks("src-a"), [TaskId::new("src-a", 0)]);
    assert_eq!(s.tasks("sink-b"), [TaskId::new("sink-b", 0)]);
    assert!(s.tasks("gone-c").is_empty() && s.task_config(&TaskId::new("gone-c", 0)).is_none());
    let sink_task = s.task_config(&TaskId::new("sink-b", 0)).expect("committed");
    assert_eq!(sink_task["task.class"], "org.apache.kafka.connect.file.FileStreamSinkTask");
    // src-a: first commit (0), the stop's empty commit (1), the resume's commit (2).
    assert_eq!(s.task_config_generations.get("src-a"), Some(&2));
    assert_eq!(s.applied_connector_configs.get("sink-b"), s.connector_config("sink-b"));
    assert!(s.pending_fencing.contains("src-a") && s.inconsistent.is_empty());
    assert!(s.session_key.is_some());
    assert!(updates.contains(&ConfigUpdate::TargetState("src-a".into())));
    assert!(updates.contains(&ConfigUpdate::ConnectorRemoved("gone-c".into())));
    assert!(updates.contains(&ConfigUpdate::TaskConfigs(Vec::new())), "the stop's commit applies no task");
}

#[test]
fn task_configs_wait_for_a_commit_that_covers_them() {
    let connector = r#"{"properties":{"name":"c"}}"#;
    let task = r#"{"properties":{"t":"1"}}"#;
    let mut state = ConfigState::new();
    apply_all(&mut state, &[(0, "connector-c", Some(connector)), (1, "task-c-1", Some(task))]);
    assert!(state.snapshot().tasks("c").is_empty() && state.snapshot().task_configs.is_empty());
    // Task 0 compacted away: the commit of 2 tasks is incomplete.
    apply_all(&mut state, &[(2, "commit-c", Some(r#"{"tasks":2}"#))]);
    assert!(state.snapshot().inconsistent.contains("c"));
    assert!(state.snapshot().tasks("c").is_empty() && state.deferred()["c"].is_empty());
    // A complete set later repairs it; an extra task left by compaction is tolerated.
    let log = [
        (3, "task-c-0", Some(task)),
        (4, "task-c-1", Some(task)),
        (5, "task-c-2", Some(task)),
        (6, "commit-c", Some(r#"{"tasks":2}"#)),
        (7, "tasks-fencing-c", Some(r#"{"task-count":2}"#)),
    ];
    apply_all(&mut state, &log);
    let s = state.snapshot();
    assert!(s.inconsistent.is_empty() && !s.pending_fencing.contains("c"));
    assert_eq!(s.tasks("c"), [TaskId::new("c", 0), TaskId::new("c", 1)]);
    assert_eq!(s.task_count_records.get("c"), Some(&2));
    // A value that is not JSON is skipped without counting in the offset.
    apply_all(&mut state, &[(8, "commit-c", Some("{not json"))]);
    assert_eq!(state.snapshot().offset, 8);
    // A target-state tombstone while the config remains means STARTED.
    apply_all(&mut state, &[(9, "target-state-c", Some(r#"{"state":"PAUSED"}"#)), (10, "target-state-c", None)]);
    assert_eq!(state.snapshot().target_state("c"), Some(TargetState::Started));
    // A commit for a connector without a config drops its leftovers.
    apply_all(&mut state, &[(11, "task-d-0", Some(task)), (12, "commit-d", Some(r#"{"tasks":1}"#))]);
    assert!(!state.deferred().contains_key("d") && state.snapshot().task_count("d") == 0);
}
