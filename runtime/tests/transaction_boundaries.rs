//! Connector-defined transaction boundaries (`transaction.boundary=connector`) against the real
//! broker: a task commits after one record and aborts after another; a `read_committed`
//! consumer sees exactly the committed records, and the stored offset is the last committed one.

mod support;
use support::{kafka, unique};

use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_runtime::herder::{Herder, Worker};
use aqueduct_runtime::kafka::{KafkaClients, TopicSpec};
use aqueduct_runtime::offsets::{OffsetStore, TopicOffsetStore};
use aqueduct_runtime::plugins::Plugins;
use aqueduct_runtime::worker_config::WorkerConfig;
use aqueduct_sdk::{
    async_trait, offset_map, ConfigDef, Connector, ConnectorContext, ConnectorFactory, ExactlyOnceSupport, OffsetMap,
    PluginDescriptor, Props, Result, SourceConnector, SourceRecord, SourceTask, SourceTaskContext, TransactionContext,
    Value,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::json;

/// Records 0..60, ten per poll; commits after record 25, aborts after record 40, and asks for
/// a commit at the end of the poll holding record 59.
struct Bounded {
    props: Props,
}

#[async_trait]
impl Connector for Bounded {
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

impl SourceConnector for Bounded {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(BoundedTask { topic: String::new(), next: 0, transactions: None })
    }
    fn exactly_once_support(&self, _: &Props) -> Option<ExactlyOnceSupport> {
        Some(ExactlyOnceSupport::Supported)
    }
    fn can_define_transaction_boundaries(&self, _: &Props) -> bool {
        true
    }
}

struct BoundedTask {
    topic: String,
    next: i64,
    transactions: Option<TransactionContext>,
}

fn partition() -> OffsetMap {
    offset_map([("p", json!(0))])
}

#[async_trait]
impl SourceTask for BoundedTask {
    async fn start(&mut self, context: SourceTaskContext, props: Props) -> Result<()> {
        self.topic = props["topic"].clone();
        self.transactions = context.transaction_context().cloned();
        Ok(())
    }
    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if self.next >= 60 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Ok(Vec::new());
        }
        let records: Vec<SourceRecord> = (self.next..self.next + 10)
            .map(|n| {
                let offset = offset_map([("n", json!(n))]);
                SourceRecord::new(partition(), offset, &self.topic, Value::String(format!("{n}")))
            })
            .collect();
        self.next += 10;
        let ctx = self.transactions.as_ref().expect("a transaction context with transaction.boundary=connector");
        for r in &records {
            match r.source_offset["n"].as_i64() {
                Some(25) => ctx.commit_transaction_after(r),
                Some(40) => ctx.abort_transaction_after(r),
                Some(59) => ctx.commit_transaction(),
                _ => {}
            }
        }
        Ok(records)
    }
}

fn bounded() -> Box<dyn SourceConnector> {
    Box::new(Bounded { props: Props::new() })
}

/// The values a `read_committed` consumer sees in partition 0 of `topic`.
fn committed_values(topic: &str) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("group.id", unique("eos-reader"))
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning).expect("partition");
    consumer.assign(&tpl).expect("assign");
    let mut values = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Err(KafkaError::PartitionEOF(_))) => break,
            Some(Ok(m)) => {
                let text = m.payload().and_then(|p| std::str::from_utf8(p).ok()).unwrap_or_default().to_owned();
                values.push(text.trim_matches('"').parse().expect("a number"));
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
    }
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_commits_and_aborts_where_it_says() {
    let offsets_topic = unique("eos-offsets");
    let props = Props::from([
        ("bootstrap.servers".to_owned(), kafka()),
        ("exactly.once.source.support".to_owned(), "enabled".to_owned()),
        ("offset.storage.topic".to_owned(), offsets_topic.clone()),
        ("key.converter".to_owned(), "StringConverter".to_owned()),
        ("value.converter".to_owned(), "StringConverter".to_owned()),
    ]);
    let config = WorkerConfig::from_props(props).expect("worker config");
    let clients = KafkaClients::new(&config);
    let store: Arc<dyn OffsetStore> = Arc::new(
        TopicOffsetStore::open(&clients, TopicSpec::compacted(&offsets_topic, 1, -1)).await.expect("offset store"),
    );
    let plugin =
        PluginDescriptor { class: "Bounded", aliases: &[], version: "1", factory: ConnectorFactory::Source(bounded) };
    let worker = Worker {
        clients: clients.clone(),
        config,
        store: store.clone(),
        plugins: Plugins::new(vec![plugin]),
        worker_id: "test:1".into(),
    };
    let herder = Herder::new(worker);
    let name = unique("bounded");
    let topic = unique("eos-topic");
    let connector: Props = [
        ("name", name.as_str()),
        ("connector.class", "Bounded"),
        ("topic", topic.as_str()),
        ("exactly.once.support", "required"),
        ("transaction.boundary", "connector"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into();
    herder.put_connector(connector, false).await.expect("connector created");

    let stored = |store: &Arc<dyn OffsetStore>| store.get(&name, &partition()).and_then(|o| o["n"].as_i64());
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored(&store) != Some(59) {
        assert!(Instant::now() < deadline, "the last commit never came; stored offset {:?}", stored(&store));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    herder.delete(&name).await.expect("delete");

    let expected: Vec<i64> = (0..=25).chain(41..60).collect();
    let seen = tokio::task::spawn_blocking(move || committed_values(&topic)).await.expect("reader");
    assert_eq!(seen, expected, "records 26..=40 were aborted; the rest committed once");
    // A store opened afresh reads the offsets the transactions wrote.
    let reopened = TopicOffsetStore::open(&clients, TopicSpec::compacted(&offsets_topic, 1, -1)).await.expect("reopen");
    assert_eq!(reopened.get(&name, &partition()).and_then(|o| o["n"].as_i64()), Some(59));
}
