//! Benchmark (not a test): records/s of a source task through the runtime (datagen -> JSON
//! converter -> producer -> acks -> offsets stored) against a bare rdkafka producer sending the
//! same pre-serialized records, in the same run, plus the process's peak RSS.
//!
//!     scripts/services.sh up kafka
//!     cargo run --release -p aqueduct --example source_throughput [RECORDS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_connector_datagen::generator::Generator;
use aqueduct_runtime::connector_config::{source_def, ConnectorConfig, TopicCreation};
use aqueduct_runtime::converter::{Converter, JsonConverter, SimpleHeaderConverter};
use aqueduct_runtime::kafka::{KafkaClients, TopicSpec};
use aqueduct_runtime::offsets::{FileOffsetStore, OffsetStore};
use aqueduct_runtime::status::{State, StatusCell, Target};
use aqueduct_runtime::task_context::{ActiveTopics, TaskSetup};
use aqueduct_runtime::worker_config::WorkerConfig;
use aqueduct_sdk::{offset_map, Props, SourceConnector};
use rdkafka::producer::{FutureProducer, FutureRecord};

fn props(pairs: &[(&str, String)]) -> Props {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: i64 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(200_000);
    let bootstrap = std::env::var("AQUEDUCT_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let worker = WorkerConfig::from_props(props(&[("bootstrap.servers", bootstrap)]))?;
    let clients = KafkaClients::new(&worker);
    let run = std::process::id();
    let json: Arc<dyn Converter> = Arc::new(JsonConverter::new(true));

    // Aqueduct: a datagen task through the source loop, until its last offset is stored.
    let name = format!("bench-{run}");
    let topic = format!("bench-aqueduct-{run}");
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn OffsetStore> = Arc::new(FileOffsetStore::open(dir.path().join("offsets.json")).await?);
    let connector_props = props(&[
        ("name", name.clone()),
        ("connector.class", "DatagenSource".into()),
        ("kafka.topic", topic.clone()),
        ("iterations", n.to_string()),
        ("batch.size", "2000".into()),
    ]);
    let mut connector = aqueduct_connector_datagen::DatagenConnector::new();
    aqueduct_sdk::Connector::start(
        &mut connector,
        Arc::new(aqueduct_sdk::testing::QuietConnectorContext::default()),
        connector_props.clone(),
    )
    .await?;
    let task_props = aqueduct_sdk::Connector::task_configs(&connector, 1)?.remove(0);
    let config = ConnectorConfig::parse(&source_def(), &connector_props)?;
    let (control, control_rx) = tokio::sync::watch::channel(Target::Running);
    let setup = TaskSetup {
        connector: config.clone(),
        task_id: 0,
        worker_id: "bench:0".into(),
        task_props,
        key_converter: json.clone(),
        value_converter: json,
        header_converter: Arc::new(SimpleHeaderConverter),
        clients: clients.clone(),
        status: StatusCell::new(State::Unassigned),
        control: control_rx,
        topics: ActiveTopics::default(),
        flush_interval: Duration::from_millis(200),
        flush_timeout: Duration::from_secs(30),
        transforms: Default::default(),
    };
    let started = Instant::now();
    let task = tokio::spawn(aqueduct_runtime::source_worker::run(
        setup,
        connector.create_task(),
        store.clone(),
        TopicCreation::from_config(&config)?,
        None,
    ));
    let partition = offset_map([("task", serde_json::json!(0))]);
    while store.get(&name, &partition).and_then(|o| o["id"].as_i64()) != Some(n - 1) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let aqueduct = started.elapsed();
    let _ = control.send(Target::Shutdown);
    task.await?;
    let peak_rss = std::fs::read_to_string("/proc/self/status")?
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        .unwrap_or_default();

    // Baseline: the same records, serialized up front, through a bare producer.
    let topic = format!("bench-raw-{run}");
    let json: Arc<dyn Converter> = Arc::new(JsonConverter::new(true));
    clients
        .ensure_topic(&TopicSpec { name: topic.clone(), partitions: 1, replication_factor: -1, configs: vec![] })
        .await?;
    let generator = Generator::new();
    let mut payloads = Vec::with_capacity(n as usize);
    for id in 0..n {
        let key = json.encode(&topic, Some(generator.key_schema()), &generator.key(id))?;
        let value = json.encode(&topic, Some(generator.value_schema()), &generator.value(id)?)?;
        payloads.push((key.unwrap_or_default(), value.unwrap_or_default()));
    }
    let producer: FutureProducer = clients.producer_config(&Props::new()).create()?;
    let started = Instant::now();
    let mut deliveries = Vec::with_capacity(payloads.len());
    for (key, value) in &payloads {
        loop {
            match producer.send_result(FutureRecord::to(&topic).key(key).payload(value)) {
                Ok(d) => {
                    deliveries.push(d);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    }
    for d in deliveries {
        d.await?.map_err(|(e, _)| e)?;
    }
    let raw = started.elapsed();
    drop(payloads);

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!("records: {n}");
    println!("bare producer (pre-serialized): {:>10.0} records/s ({raw:.2?})", rate(raw));
    println!("aqueduct source task (end to end): {:>7.0} records/s ({aqueduct:.2?})", rate(aqueduct));
    println!("ratio aqueduct/bare: {:.2}", raw.as_secs_f64() / aqueduct.as_secs_f64());
    println!("peak RSS after the aqueduct run (before the baseline): {peak_rss}");
    Ok(())
}
