//! The real source and sink loops over the embedded transport: a source's offsets are stored
//! only once every subscribed sink committed, a FAILED sink holds them, deleting it releases
//! them, and skipped converters hand the record's own data to the sink.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aqueduct_sdk::{
    async_trait, offset_map, ConnectError, Props, Result, Schema, SinkRecord, SinkTask, SinkTaskContext, SourceRecord,
    SourceTask, SourceTaskContext, TopicPartitionOffsets, Value,
};
use serde_json::json;
use tokio::sync::watch;

use crate::connector_config::{sink_def, source_def, ConnectorConfig, TopicCreation};
use crate::converter::{SimpleHeaderConverter, StringConverter};
use crate::kafka::KafkaClients;
use crate::offsets::{FileOffsetStore, OffsetStore};
use crate::status::{State, StatusCell, Target};
use crate::task_context::{ActiveTopics, TaskSetup};
use crate::worker_config::WorkerConfig;
use crate::{sink_worker, source_worker};

const RECORDS: i64 = 50;

/// Emits `RECORDS` records of topic `t` in one poll, then nothing.
struct Numbers(bool);

#[async_trait]
impl SourceTask for Numbers {
    async fn start(&mut self, _: SourceTaskContext, _: Props) -> Result<()> {
        Ok(())
    }
    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if std::mem::replace(&mut self.0, true) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Ok(Vec::new());
        }
        Ok((0..RECORDS)
            .map(|i| {
                let mut r = SourceRecord::new(
                    offset_map([("p", json!(0))]),
                    offset_map([("i", json!(i))]),
                    "t",
                    Value::Int64(i),
                );
                r.value_schema = Some(Schema::int64());
                r
            })
            .collect())
    }
}

/// Keeps what it is given; fails its first `put` when `fail`.
struct Keep {
    seen: Arc<Mutex<Vec<Value>>>,
    fail: bool,
}

#[async_trait]
impl SinkTask for Keep {
    async fn start(&mut self, _: Arc<dyn SinkTaskContext>, _: Props) -> Result<()> {
        Ok(())
    }
    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        if self.fail && !records.is_empty() {
            return Err(ConnectError::fatal("the sink is broken"));
        }
        self.seen.lock().expect("lock").extend(records.iter().map(|r| r.value.clone()));
        Ok(())
    }
    async fn pre_commit(&mut self, offsets: &TopicPartitionOffsets) -> Result<TopicPartitionOffsets> {
        Ok(offsets.clone())
    }
}

fn clients(skip: bool) -> KafkaClients {
    let props: Props = [("transport", "embedded"), ("embedded.converters.skip", if skip { "true" } else { "false" })]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    KafkaClients::new(&WorkerConfig::from_props(props).expect("worker config"))
}

fn setup(clients: &KafkaClients, props: &[(&str, &str)], sink: bool) -> (TaskSetup, watch::Sender<Target>, StatusCell) {
    let props: Props = props.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let def = if sink { sink_def() } else { source_def() };
    let (control, control_rx) = watch::channel(Target::Running);
    let status = StatusCell::new(State::Unassigned);
    let setup = TaskSetup {
        connector: ConnectorConfig::parse(&def, &props).expect("valid"),
        task_id: 0,
        worker_id: "test:0".into(),
        task_props: props,
        key_converter: Arc::new(StringConverter),
        value_converter: Arc::new(StringConverter),
        header_converter: Arc::new(SimpleHeaderConverter),
        clients: clients.clone(),
        status: status.clone(),
        control: control_rx,
        topics: ActiveTopics::default(),
        flush_interval: Duration::from_millis(50),
        flush_timeout: Duration::from_secs(1),
        transforms: Default::default(),
    };
    (setup, control, status)
}

/// A running sink task: what it kept, its control, its status, its loop.
type Sink = (Arc<Mutex<Vec<Value>>>, watch::Sender<Target>, StatusCell, tokio::task::JoinHandle<()>);

fn start_sink(clients: &KafkaClients, name: &str, fail: bool) -> Sink {
    let bus = clients.embedded().expect("embedded");
    let props = [("name", name), ("connector.class", "Keep"), ("topics", "t")];
    let (setup, control, status) = setup(clients, &props, true);
    bus.register_group(&super::group_of(name), super::Subscription::of(&setup.connector).expect("subscription"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let task = Box::new(Keep { seen: seen.clone(), fail });
    let handle = tokio::runtime::Handle::current();
    let join = tokio::task::spawn_blocking(move || sink_worker::run(setup, task, handle));
    (seen, control, status, join)
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn run_pipeline(skip: bool) -> (Vec<Value>, Option<i64>, Option<i64>) {
    let clients = clients(skip);
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn OffsetStore> =
        Arc::new(FileOffsetStore::open(dir.path().join("offsets.json")).await.expect("store"));
    let (good, good_control, _, good_join) = start_sink(&clients, "good", false);
    let (_, _, bad_status, bad_join) = start_sink(&clients, "bad", true);
    let (source, source_control, _) = setup(&clients, &[("name", "numbers"), ("connector.class", "Numbers")], false);
    let creation = TopicCreation::from_config(&source.connector).expect("creation");
    let source_join = tokio::spawn(source_worker::run(source, Box::new(Numbers(false)), store.clone(), creation, None));
    let stored = || store.get("numbers", &offset_map([("p", json!(0))])).and_then(|o| o["i"].as_i64());
    eventually("the good sink got every record", || good.lock().expect("lock").len() == RECORDS as usize).await;
    eventually("the bad sink failed", || bad_status.get().state == State::Failed).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let while_failed = stored();
    clients.embedded().expect("embedded").remove_group(&super::group_of("bad"));
    eventually("offsets stored after the failed sink was deleted", || stored() == Some(RECORDS - 1)).await;
    let values = good.lock().expect("lock").clone();
    let _ = (good_control.send(Target::Shutdown), source_control.send(Target::Shutdown));
    for join in [good_join, bad_join, source_join] {
        tokio::time::timeout(Duration::from_secs(10), join).await.expect("task stopped").expect("task joined");
    }
    (values, while_failed, stored())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sink_holds_the_source_offsets_until_deleted() {
    let (values, while_failed, after) = run_pipeline(false).await;
    assert_eq!(while_failed, None, "an offset was stored before the failed sink committed it");
    assert_eq!(after, Some(RECORDS - 1));
    assert_eq!(values[7], Value::String("7".into()), "converted to bytes and back by StringConverter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_converters_hand_the_record_itself_to_the_sink() {
    let (values, _, _) = run_pipeline(true).await;
    assert_eq!(values[7], Value::Int64(7), "the source's own value, not converted");
}
