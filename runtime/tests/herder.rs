//! The herder stopping and restarting source tasks against the real broker
//! (`scripts/services.sh up kafka`): the old copy of a task finishes (final offset flush and
//! `stop()`) before a new one starts, and a task waiting in a backoff or on a full producer
//! queue still stops cleanly within `task.shutdown.graceful.timeout.ms`.

mod support;
use support::unique;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aqueduct_runtime::herder::{Herder, Worker};
use aqueduct_runtime::kafka::KafkaClients;
use aqueduct_runtime::offsets::{FileOffsetStore, OffsetStore};
use aqueduct_runtime::plugins::Plugins;
use aqueduct_runtime::worker_config::WorkerConfig;
use aqueduct_sdk::{
    async_trait, offset_map, ConfigDef, ConnectError, Connector, ConnectorContext, ConnectorFactory, OffsetMap,
    PluginDescriptor, Props, Result, SourceConnector, SourceRecord, SourceTask, SourceTaskContext, Value,
};
use serde_json::json;

/// What every probe task did, as (connector, event).
static LOG: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn log(connector: &str, event: String) {
    LOG.lock().expect("log").push((connector.to_owned(), event));
}

fn events(connector: &str) -> Vec<String> {
    LOG.lock().expect("log").iter().filter(|(c, _)| c == connector).map(|(_, e)| e.clone()).collect()
}

fn partition() -> OffsetMap {
    offset_map([("probe", json!("p"))])
}

/// A source connector whose one task behaves as its `mode` key says:
/// `steady` (20 records, then nothing), `failing` (5 records, then retriable poll failures),
/// `flood` (100 records every poll).
struct Probe {
    props: Props,
}

#[async_trait]
impl Connector for Probe {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    async fn start(&mut self, _: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        self.props = props;
        Ok(())
    }
    fn task_configs(&self, _: usize) -> Result<Vec<Props>> {
        Ok(vec![self.props.clone()])
    }
}

impl SourceConnector for Probe {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(ProbeTask::default())
    }
}

#[derive(Default)]
struct ProbeTask {
    name: String,
    mode: String,
    topic: String,
    next: i64,
}

#[async_trait]
impl SourceTask for ProbeTask {
    async fn start(&mut self, context: SourceTaskContext, props: Props) -> Result<()> {
        self.name = props["name"].clone();
        self.mode = props["mode"].clone();
        self.topic = props["topic"].clone();
        let stored = context.offset(&partition()).and_then(|o| o.get("n").and_then(serde_json::Value::as_i64));
        log(&self.name, format!("start from {stored:?}"));
        self.next = stored.map_or(0, |n| n + 1);
        Ok(())
    }
    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let count = match self.mode.as_str() {
            "steady" => (20 - self.next).max(0),
            "failing" if self.next >= 5 => {
                log(&self.name, "poll failed".into());
                return Err(ConnectError::retriable("the source is down"));
            }
            "failing" => 5,
            _ => 100,
        };
        if count == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let records = (self.next..self.next + count)
            .map(|n| {
                let offset = offset_map([("n", json!(n))]);
                SourceRecord::new(partition(), offset, &self.topic, Value::String(format!("r{n}")))
            })
            .collect();
        self.next += count;
        Ok(records)
    }
    async fn stop(&mut self) -> Result<()> {
        log(&self.name, "stop".into());
        Ok(())
    }
}

fn probe() -> Box<dyn SourceConnector> {
    Box::new(Probe { props: Props::new() })
}

struct Fixture {
    herder: Arc<Herder>,
    store: Arc<dyn OffsetStore>,
    _dir: tempfile::TempDir,
}

async fn fixture(worker_keys: &[(&str, &str)]) -> Fixture {
    let kafka = std::env::var("AQUEDUCT_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".to_owned());
    let mut props = Props::from([("bootstrap.servers".to_owned(), kafka)]);
    props.extend(worker_keys.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let config = WorkerConfig::from_props(props).expect("worker config");
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn OffsetStore> =
        Arc::new(FileOffsetStore::open(dir.path().join("offsets.json")).await.expect("offset store"));
    let plugin =
        PluginDescriptor { class: "Probe", aliases: &[], version: "1", factory: ConnectorFactory::Source(probe) };
    let worker = Worker {
        clients: KafkaClients::new(&config),
        config,
        store: store.clone(),
        plugins: Plugins::new(vec![plugin]),
        worker_id: "test:0".into(),
    };
    Fixture { herder: Herder::new(worker), store, _dir: dir }
}

async fn create(f: &Fixture, name: &str, mode: &str, extra: &[(&str, &str)]) {
    let mut props: Props = [("name", name), ("connector.class", "Probe"), ("mode", mode)]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    props.insert("topic".into(), unique("herder-test"));
    props.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    f.herder.put_connector(props, false).await.expect("connector created");
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stored(f: &Fixture, name: &str) -> Option<i64> {
    f.store.get(name, &partition()).and_then(|o| o.get("n").and_then(serde_json::Value::as_i64))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_task_starts_after_the_old_one_stopped_and_flushed() {
    // No periodic flush: only a stopping task stores its offsets.
    let f = fixture(&[("offset.flush.interval.ms", "600000")]).await;
    let name = unique("restart");
    create(&f, &name, "steady", &[]).await;
    wait_until("the first start", Duration::from_secs(30), || !events(&name).is_empty()).await;
    tokio::time::sleep(Duration::from_secs(3)).await; // 20 records produced and acknowledged

    f.herder.restart_task(&name, 0).await.expect("restart");
    wait_until("the second start", Duration::from_secs(30), || events(&name).len() >= 3).await;
    assert_eq!(events(&name), ["start from None", "stop", "start from Some(19)"], "old copy first, then the new one");
    f.herder.delete(&name).await.expect("delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_in_a_long_backoff_still_stops_and_stores_its_offsets() {
    let f = fixture(&[("task.shutdown.graceful.timeout.ms", "2000")]).await;
    let name = unique("backoff");
    create(&f, &name, "failing", &[]).await;
    // Backoffs double from 100 ms: after 7 failures the next wait is 6.4 s, beyond the graceful timeout.
    wait_until("seven poll failures", Duration::from_secs(60), || {
        events(&name).iter().filter(|e| *e == "poll failed").count() >= 7
    })
    .await;

    f.herder.delete(&name).await.expect("delete");
    assert_eq!(events(&name).last().map(String::as_str), Some("stop"), "stop() skipped: {:?}", events(&name));
    assert_eq!(stored(&f, &name), Some(4), "the five acknowledged records' offset is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_blocked_on_a_full_producer_queue_still_stops() {
    let f = fixture(&[("task.shutdown.graceful.timeout.ms", "2000")]).await;
    let name = unique("queue-full");
    // The producer cannot reach a broker: nothing is acknowledged, its queue fills up.
    let extra = [
        ("producer.override.bootstrap.servers", "127.0.0.1:1"),
        ("producer.override.queue.buffering.max.messages", "10"),
    ];
    create(&f, &name, "flood", &extra).await;
    wait_until("the first start", Duration::from_secs(30), || !events(&name).is_empty()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    f.herder.delete(&name).await.expect("delete");
    assert_eq!(events(&name), ["start from None", "stop"], "stop() skipped");
    assert_eq!(stored(&f, &name), None, "no record was acknowledged, so no offset may be stored");
}
