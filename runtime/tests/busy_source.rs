//! A source task whose `poll` always has records at once (a generator) shares the runtime's
//! threads: other tasks on the same runtime (a distributed worker's group heartbeat, offset
//! flushes, the REST API) keep running while it produces, against the real broker.

mod support;
use support::{kafka, unique};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aqueduct_runtime::herder::{Herder, Worker};
use aqueduct_runtime::kafka::{KafkaClients, TopicSpec};
use aqueduct_runtime::offsets::{OffsetStore, TopicOffsetStore};
use aqueduct_runtime::plugins::Plugins;
use aqueduct_runtime::worker_config::WorkerConfig;
use aqueduct_sdk::{
    async_trait, offset_map, ConfigDef, Connector, ConnectorContext, ConnectorFactory, PluginDescriptor, Props, Result,
    SourceConnector, SourceRecord, SourceTask, SourceTaskContext, Value,
};
use serde_json::json;

/// Hands out 100 records per poll, immediately, forever.
struct Busy {
    props: Props,
}

#[async_trait]
impl Connector for Busy {
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

impl SourceConnector for Busy {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(BusyTask { topic: String::new(), next: 0 })
    }
}

struct BusyTask {
    topic: String,
    next: i64,
}

#[async_trait]
impl SourceTask for BusyTask {
    async fn start(&mut self, _: SourceTaskContext, props: Props) -> Result<()> {
        self.topic = props["topic"].clone();
        Ok(())
    }
    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let records = (self.next..self.next + 100)
            .map(|n| {
                let (partition, offset) = (offset_map([("p", json!(0))]), offset_map([("n", json!(n))]));
                SourceRecord::new(partition, offset, &self.topic, Value::String(format!("{n}")))
            })
            .collect();
        self.next += 100;
        Ok(records)
    }
}

fn busy() -> Box<dyn SourceConnector> {
    Box::new(Busy { props: Props::new() })
}

/// One runtime thread: a task that never yields it would stop every other task.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_source_that_always_has_records_lets_other_tasks_run() {
    let offsets_topic = unique("busy-offsets");
    let props = Props::from([
        ("bootstrap.servers".to_owned(), kafka()),
        ("offset.storage.topic".to_owned(), offsets_topic.clone()),
        ("offset.flush.interval.ms".to_owned(), "500".to_owned()),
        ("key.converter".to_owned(), "StringConverter".to_owned()),
        ("value.converter".to_owned(), "StringConverter".to_owned()),
    ]);
    let config = WorkerConfig::from_props(props).expect("worker config");
    let clients = KafkaClients::new(&config);
    let store: Arc<dyn OffsetStore> = Arc::new(
        TopicOffsetStore::open(&clients, TopicSpec::compacted(&offsets_topic, 1, -1)).await.expect("offset store"),
    );
    let plugin =
        PluginDescriptor { class: "Busy", aliases: &[], version: "1", factory: ConnectorFactory::Source(busy) };
    let worker = Worker {
        clients,
        config,
        store: store.clone(),
        plugins: Plugins::new(vec![plugin]),
        worker_id: "test:1".into(),
    };
    let herder = Herder::new(worker);
    let (name, topic) = (unique("busy"), unique("busy-topic"));
    let connector: Props = [("name", name.as_str()), ("connector.class", "Busy"), ("topic", topic.as_str())]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    herder.put_connector(connector, false).await.expect("connector created");

    // Wait (off the runtime's thread) until the task produces, then count a 20 ms ticker's
    // ticks over 3 s while it does.
    let produced = || store.get(&name, &offset_map([("p", json!(0))])).and_then(|o| o["n"].as_i64());
    let waited = std::time::Instant::now();
    while produced().is_none() {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "no source offset stored in 30 s (a starved runtime flushes none)"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let ticks = Arc::new(AtomicU64::new(0));
    let counter = ticks.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let before = produced().unwrap_or_default();
    std::thread::sleep(Duration::from_secs(3));
    let (ticked, after) = (ticks.load(Ordering::Relaxed), produced().unwrap_or_default());
    println!("{ticked} ticks in 3 s while the source stored offsets {before} -> {after}");
    assert!(ticked >= 30, "a busy source task starved the runtime: {ticked} ticks of 20 ms in 3 s");
    assert!(after > before, "the source stopped producing");
    ticker.abort();
    herder.delete(&name).await.expect("delete");
}
