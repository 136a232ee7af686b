//! The loader against the real example plugin (connectors/example-plugin), built here with
//! cargo into the same target directory.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use aqueduct_sdk::serde_json::json;
use aqueduct_sdk::testing::{MemoryOffsets, QuietConnectorContext, RecordingSinkContext};
use aqueduct_sdk::{
    offset_map, ConnectError, ErrorKind, OffsetMap, Props, SinkRecord, SourceTaskContext, TopicPartition,
    TopicPartitionOffsets, Value,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// `target/<profile>`: where cargo puts the example plugin's libraries.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps/<test>").to_owned()
}

/// Builds the example plugin and its two variants once; the paths of the three libraries.
pub(crate) fn example_plugins() -> &'static [PathBuf; 3] {
    static BUILT: OnceLock<[PathBuf; 3]> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "aqueduct-example-plugin", "--lib", "--examples"])
            // The profile of the binaries under test (target/debug or target/release).
            .args(target_dir().ends_with("release").then_some("--release"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the example plugin failed");
        let lib = |dir: PathBuf, name: &str| {
            dir.join(format!("{}{name}.{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_EXTENSION))
        };
        let target = target_dir();
        [
            lib(target.clone(), "aqueduct_example_plugin"),
            lib(target.join("examples"), "aqueduct_example_plugin_v2"),
            lib(target.join("examples"), "aqueduct_example_plugin_other_sdk"),
        ]
    })
}

/// A plugin.path directory with copies of `libraries`, each in a subdirectory of its own.
fn plugin_dir(libraries: &[&PathBuf]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    for (i, lib) in libraries.iter().enumerate() {
        let sub = dir.path().join(format!("plugin-{i}"));
        std::fs::create_dir(&sub).expect("a subdirectory");
        std::fs::copy(lib, sub.join(lib.file_name().expect("a file name"))).expect("copying the plugin");
    }
    dir
}

/// Answers every request with `HTTP/1.0 200 OK` and `body`.
async fn http_server(body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
                .await;
        }
    });
    format!("http://{addr}/health")
}

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_task_runs_in_the_plugin_and_reads_offsets_from_the_host() {
    let [plugin, ..] = example_plugins();
    let plugin = load(plugin).expect("the example plugin loads");
    let classes: Vec<(&str, &str)> = plugin.connectors.iter().map(|c| (c.class, c.factory.kind())).collect();
    assert_eq!(classes, [("HttpPollSource", "source"), ("FileAppendSink", "sink")]);
    let source = plugin.connectors[0].factory.new_source().expect("a source");
    assert!(source.config_def().key("url").is_some(), "the config definition crosses");
    let errors: Vec<String> = source.validate(&props(&[("topic", "t")])).into_iter().flat_map(|v| v.errors).collect();
    assert!(errors.iter().any(|e| e.contains("Missing required configuration \"url\"")), "{errors:?}");

    let url = http_server("{\"status\":\"green\"}").await;
    let config = props(&[("url", &url), ("topic", "health"), ("poll.interval.ms", "10")]);
    let mut source = source;
    source.start(Arc::new(QuietConnectorContext::default()), config.clone()).await.expect("the connector starts");
    let tasks = source.task_configs(4).expect("task configs");
    assert_eq!(tasks, vec![config]);
    let mut task = source.create_task();
    let stored = Arc::new(MemoryOffsets::default());
    stored.set(&offset_map([("url", json!(url))]), offset_map([("polls", json!(41))]));
    task.start(SourceTaskContext::new("health", 0, stored), tasks[0].clone()).await.expect("the task starts");
    let records = task.poll().await.expect("a poll");
    assert_eq!(records.len(), 1);
    let value = &records[0].value;
    assert_eq!(value.map_get("body"), Some(&Value::from("{\"status\":\"green\"}")));
    assert_eq!(value.map_get("status"), Some(&Value::Int32(200)));
    assert_eq!(value.map_get("poll"), Some(&Value::Int64(42)), "resumed from the offset the host stored");
    assert_eq!(records[0].topic, "health");
    task.stop().await.expect("the task stops");
    source.stop().await.expect("the connector stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_in_the_plugin_is_an_error_with_its_message() {
    let [plugin, ..] = example_plugins();
    let plugin = load(plugin).expect("the example plugin loads");
    let source = plugin.connectors[0].factory.new_source().expect("a source");
    let mut task = source.create_task();
    let config = props(&[("url", "http://127.0.0.1:9/"), ("topic", "t"), ("panic.on.poll", "true")]);
    let offsets = Arc::new(MemoryOffsets::default());
    task.start(SourceTaskContext::new("p", 0, offsets), config).await.expect("the task starts");
    let err = task.poll().await.expect_err("the poll panics");
    assert_eq!(err.kind(), ErrorKind::Fatal);
    assert!(err.message().contains("plugin panicked: HttpPollSource was told to panic"), "{err}");
    // The plugin is still usable after a panic.
    let err = task.poll().await.expect_err("panics again");
    assert!(err.message().contains("plugin panicked"), "{err}");
}

fn sink_record(offset: i64, value: Value) -> SinkRecord {
    SinkRecord::new("t", 0, offset, None, value)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sink_task_writes_and_reports_what_is_durable() {
    let [plugin, ..] = example_plugins();
    let plugin = load(plugin).expect("the example plugin loads");
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("out.jsonl");
    let sink = plugin.connectors[1].factory.new_sink().expect("a sink");
    let mut task = sink.create_task();
    let context = Arc::new(RecordingSinkContext::default());
    context.set_assignment(vec![TopicPartition::new("t", 0)]);
    task.start(context, props(&[("file", &file.to_string_lossy())])).await.expect("the task starts");
    task.open(&[TopicPartition::new("t", 0)]).await.expect("open");
    let record = sink_record;
    task.put(&[record(0, Value::from("a")), record(1, Value::Float64(1.5))]).await.expect("put");
    let offsets = TopicPartitionOffsets::from([(TopicPartition::new("t", 0), 2)]);
    assert_eq!(task.pre_commit(&offsets).await.expect("pre_commit"), offsets);
    assert_eq!(std::fs::read_to_string(&file).expect("written"), "\"a\"\n1.5\n");
    task.stop().await.expect("stop");
}

#[test]
fn a_plugin_of_another_sdk_version_is_refused_naming_both_versions_and_the_file() {
    let [_, _, other] = example_plugins();
    let dir = plugin_dir(&[other]);
    let scan = scan(&[dir.path().to_owned()]);
    assert!(scan.loaded.is_empty());
    let reason = &scan.skipped[0].reason;
    assert!(reason.contains("aqueduct-sdk 0.0.0-other"), "{reason}");
    assert!(reason.contains(&format!("this worker runs aqueduct-sdk {SDK_VERSION}")), "{reason}");
    assert!(reason.contains("libaqueduct_example_plugin_other_sdk"), "{reason}");
}

#[test]
fn a_plugin_speaking_another_wire_protocol_is_refused_naming_both() {
    let file = Path::new("/plugins/libold.so");
    assert_eq!(check_protocol(file, SDK_VERSION, PROTOCOL), Ok(()));
    for theirs in ["", "0123456789abcdef"] {
        let reason = check_protocol(file, SDK_VERSION, theirs).expect_err("refused");
        assert!(reason.starts_with("/plugins/libold.so: "), "{reason}");
        assert!(reason.contains(&format!("aqueduct-sdk {SDK_VERSION} speaking wire protocol {PROTOCOL}")), "{reason}");
        let named = if theirs.is_empty() { "wire protocol unknown" } else { "wire protocol 0123456789abcdef" };
        assert!(reason.contains(named), "{reason}");
    }
}

#[test]
fn broken_files_are_skipped_with_the_reason_and_others_load() {
    let [plugin, v2, _] = example_plugins();
    let dir = plugin_dir(&[plugin, v2]);
    let fake = dir.path().join(format!("fake.{}", std::env::consts::DLL_EXTENSION));
    std::fs::write(&fake, b"not a library").expect("written");
    std::fs::write(dir.path().join("README.txt"), b"ignored: not a library name").expect("written");
    let scan = scan(&[dir.path().to_owned(), dir.path().join("missing")]);
    assert_eq!(scan.skipped.len(), 1, "{:?}", scan.skipped);
    assert!(scan.skipped[0].reason.starts_with(&fake.display().to_string()), "{:?}", scan.skipped);
    // Two versions of one connector, side by side; the newest by default.
    let registry = Plugins::new(Vec::new()).with_connectors(scan.connectors());
    let newest = registry.find("HttpPollSource").expect("loaded");
    assert_eq!(newest.version, "2.0.0");
    let older = registry.find_version("HttpPollSource", Some(crate_version())).expect("loaded");
    assert_eq!(older.version, crate_version());
}

fn crate_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_in_a_plugin_sink_task_is_an_error_with_its_message() {
    let [plugin, ..] = example_plugins();
    let plugin = load(plugin).expect("the example plugin loads");
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("out.jsonl").display().to_string();
    let mut task = plugin.connectors[1].factory.new_sink().expect("a sink").create_task();
    let context = Arc::new(RecordingSinkContext::default());
    task.start(context, props(&[("file", &file), ("panic.on.put", "true")])).await.expect("the task starts");
    let record = sink_record(0, Value::from("a"));
    let err = task.put(&[record]).await.expect_err("put panics");
    assert!(err.message().contains("plugin panicked: FileAppendSink was told to panic"), "{err}");
}

#[test]
fn sink_callbacks_reach_the_hosts_context() {
    use aqueduct_sdk::plugin::protocol::{HostCall, HostReply, HostResult};
    use aqueduct_sdk::plugin::wire::{offsets_out, partitions_out};
    let recording = Arc::new(RecordingSinkContext::default());
    recording.set_assignment(vec![TopicPartition::new("t", 3)]);
    let host = callbacks::HostContext::new(callbacks::Target::Sink(recording.clone(), None));
    let ask = |call: HostCall| -> HostResult {
        serde_json::from_slice(&host.answer(&serde_json::to_vec(&call).expect("encodes"))).expect("decodes")
    };
    let tp = TopicPartition::new("t", 3);
    assert!(matches!(ask(HostCall::Assignment), Ok(HostReply::Partitions(p)) if p.len() == 1 && p[0].partition == 3));
    assert!(matches!(ask(HostCall::Pause(partitions_out(std::slice::from_ref(&tp)))), Ok(HostReply::Unit)));
    let offsets = TopicPartitionOffsets::from([(tp.clone(), 7)]);
    assert!(matches!(ask(HostCall::Rewind(offsets_out(&offsets))), Ok(HostReply::Unit)));
    assert!(matches!(ask(HostCall::HasErrantReporter), Ok(HostReply::Bool(false))));
    assert!(ask(HostCall::Offset(OffsetMap::new())).is_err(), "a sink context reads no source offsets");
    assert!(matches!(ask(HostCall::RequestCommit), Ok(HostReply::Unit)));
    assert_eq!(recording.pauses(), vec![vec![tp]]);
    assert_eq!(recording.rewinds(), vec![offsets]);
    assert_eq!(recording.commit_requests(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_sink_reports_errant_records_through_the_hosts_reporter() {
    let [plugin, ..] = example_plugins();
    let plugin = load(plugin).expect("the example plugin loads");
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("out.jsonl");
    let mut task = plugin.connectors[1].factory.new_sink().expect("a sink").create_task();
    let context = Arc::new(RecordingSinkContext::tolerant());
    task.start(context.clone(), props(&[("file", &file.display().to_string())])).await.expect("the task starts");
    let records = vec![sink_record(0, Value::from("a")), sink_record(1, Value::Null), sink_record(2, Value::from("b"))];
    task.put(&records).await.expect("put");
    // The report ran on the host's runtime and was done before put returned.
    let reported: Vec<(i64, String)> =
        context.reported().iter().map(|(r, e)| (r.kafka_offset, e.message().to_owned())).collect();
    assert_eq!(reported, vec![(1, "a tombstone has no value to append".to_owned())]);
    task.pre_commit(&TopicPartitionOffsets::new()).await.expect("pre_commit");
    assert_eq!(std::fs::read_to_string(&file).expect("written"), "\"a\"\n\"b\"\n");
}

#[test]
fn connector_callbacks_reach_the_hosts_context() {
    use aqueduct_sdk::plugin::protocol::{HostCall, HostReply};
    use aqueduct_sdk::plugin::wire::WireError;
    let recording = Arc::new(QuietConnectorContext::default());
    let host = callbacks::HostContext::new(callbacks::Target::Connector(recording.clone()));
    let ask = |call: HostCall| -> aqueduct_sdk::plugin::protocol::HostResult {
        serde_json::from_slice(&host.answer(&serde_json::to_vec(&call).expect("encodes"))).expect("decodes")
    };
    assert!(matches!(ask(HostCall::RequestReconfiguration), Ok(HostReply::Unit)));
    let error = ConnectError::config("tables: none match").with_source(std::io::Error::other("empty schema"));
    assert!(matches!(ask(HostCall::RaiseError(WireError::from(&error))), Ok(HostReply::Unit)));
    assert!(ask(HostCall::Assignment).is_err(), "a connector context has no assignment");
    assert_eq!(recording.reconfigurations(), 1);
    let raised: Vec<(ErrorKind, String)> = recording.errors().iter().map(|e| (e.kind(), e.to_string())).collect();
    assert_eq!(raised, [(ErrorKind::Config, "tables: none match: empty schema".to_owned())], "with its cause");
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_task_does_not_wait_for_a_call_the_host_gave_up_on() {
    let [plugin, ..] = example_plugins();
    let plugin = load(plugin).expect("the example plugin loads");
    // A server that accepts and never answers: the plugin's poll hangs in its GET.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}/", listener.local_addr().expect("bound"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut task = plugin.connectors[0].factory.new_source().expect("a source").create_task();
    let offsets = Arc::new(MemoryOffsets::default());
    task.start(SourceTaskContext::new("hang", 0, offsets), props(&[("url", &url), ("topic", "t")]))
        .await
        .expect("the task starts");
    let polling = tokio::spawn(async move {
        let _ = task.poll().await;
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The host gives up on the poll (a task overrunning its shutdown timeout): the task and its
    // instance in the plugin are dropped while the poll is still in the plugin.
    polling.abort();
    let dropped = tokio::time::timeout(std::time::Duration::from_secs(5), polling).await;
    assert!(dropped.is_ok(), "dropping the task waited for the poll in progress");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_source_ends_transactions_through_the_hosts_transaction_context() {
    use aqueduct_sdk::{ExactlyOnceSupport, TransactionContext, TransactionRequests};
    let [plugin, ..] = example_plugins();
    let plugin = load(plugin).expect("the example plugin loads");
    let url = http_server("{}").await;
    let plain = props(&[("url", &url), ("topic", "t"), ("poll.interval.ms", "1")]);
    let mut config = plain.clone();
    config.insert("transaction.boundary.polls".to_owned(), "2".to_owned());
    let connector = plugin.connectors[0].factory.new_source().expect("a source");
    assert!(connector.can_define_transaction_boundaries(&config), "asked of the plugin's connector");
    assert!(!connector.can_define_transaction_boundaries(&plain));
    assert_eq!(connector.exactly_once_support(&config), Some(ExactlyOnceSupport::Supported));

    let mut task = connector.create_task();
    let transactions = TransactionContext::new();
    let offsets = Arc::new(MemoryOffsets::default());
    let context = SourceTaskContext::new("tx", 0, offsets).with_transactions(transactions.clone());
    task.start(context, config).await.expect("the task starts");
    let first = task.poll().await.expect("a poll");
    assert_eq!(transactions.take_requests(), TransactionRequests::default(), "no boundary after one poll");
    let second = task.poll().await.expect("a poll");
    assert_eq!(transactions.ends_after(&first[0]), None);
    assert_eq!(transactions.ends_after(&second[0]), Some(true), "commit right after the second poll's record");
    task.stop().await.expect("the task stops");
}
