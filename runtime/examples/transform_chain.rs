//! Benchmark (not a test): the per-record cost of a 3-transform chain (HoistField$Value,
//! InsertField$Value, RegexRouter) against no transforms, in the same run on the same records:
//!
//! 1. chain level: `TransformChain::apply` over datagen records (each cloned from a batch, in
//!    both runs), ns/record, best of 3 alternating rounds, plus each transform alone;
//! 2. worker level (skipped with `--chain-only`): records/s of a datagen source task through the
//!    runtime to Kafka (JSON converter, producer, acks, offsets stored), without and with the chain.
//!
//!     cargo run --release -p aqueduct --example transform_chain [RECORDS] [--chain-only]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_connector_datagen::generator::Generator;
use aqueduct_runtime::connector_config::{source_def, ConnectorConfig, TopicCreation};
use aqueduct_runtime::converter::{Converter, JsonConverter, SimpleHeaderConverter};
use aqueduct_runtime::kafka::KafkaClients;
use aqueduct_runtime::offsets::{FileOffsetStore, OffsetStore};
use aqueduct_runtime::status::{State, StatusCell, Target};
use aqueduct_runtime::task_context::{ActiveTopics, TaskSetup};
use aqueduct_runtime::transforms::TransformChain;
use aqueduct_runtime::worker_config::WorkerConfig;
use aqueduct_sdk::{offset_map, ConnectRecord, Props, SourceConnector};

/// The transforms' keys: every one, or only those of the aliases in `only`.
fn chain_props(only: &[&str]) -> Props {
    let all = [
        ("hoist", "org.apache.kafka.connect.transforms.HoistField$Value", &[("field", "user")][..]),
        (
            "stamp",
            "org.apache.kafka.connect.transforms.InsertField$Value",
            &[("static.field", "origin"), ("static.value", "bench")][..],
        ),
        (
            "route",
            "org.apache.kafka.connect.transforms.RegexRouter",
            &[("regex", "(.*)-in"), ("replacement", "$1-out")][..],
        ),
    ];
    let picked: Vec<_> = all.iter().filter(|(alias, _, _)| only.contains(alias)).collect();
    let mut props = Props::new();
    props.insert("transforms".into(), picked.iter().map(|(a, _, _)| *a).collect::<Vec<_>>().join(","));
    for (alias, class, keys) in picked {
        props.insert(format!("transforms.{alias}.type"), (*class).into());
        for (k, v) in *keys {
            props.insert(format!("transforms.{alias}.{k}"), (*v).into());
        }
    }
    props
}

const CHAIN: [&str; 3] = ["hoist", "stamp", "route"];

/// ns per record of `chain` over `rounds` passes of `batch`.
fn per_record(chain: &mut TransformChain, batch: &[ConnectRecord], rounds: usize) -> anyhow::Result<f64> {
    let started = Instant::now();
    for _ in 0..rounds {
        for record in batch {
            let out = chain.apply(record.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
            black_box(out);
        }
    }
    Ok(started.elapsed().as_nanos() as f64 / (rounds * batch.len()) as f64)
}

fn chain_level(n: usize) -> anyhow::Result<()> {
    let plugins = aqueduct::builtin_plugins();
    let generator = Generator::new();
    let batch_len = 10_000.min(n);
    let batch = (0..batch_len as i64)
        .map(|id| {
            let mut r = ConnectRecord::new("bench-in", generator.value(id)?);
            r.value_schema = Some(generator.value_schema().clone());
            r.key_schema = Some(generator.key_schema().clone());
            r.key = generator.key(id);
            Ok(r)
        })
        .collect::<aqueduct_sdk::Result<Vec<_>>>()?;
    let rounds = n.div_ceil(batch_len);
    let mut variants: Vec<(String, TransformChain)> = vec![("no transforms".into(), TransformChain::default())];
    variants.push((CHAIN.join(" + "), TransformChain::build(&plugins, &chain_props(&CHAIN))?));
    for alias in CHAIN {
        variants.push((format!("{alias} alone"), TransformChain::build(&plugins, &chain_props(&[alias]))?));
    }
    let mut best = vec![f64::MAX; variants.len()];
    for _ in 0..3 {
        for ((_, chain), best) in variants.iter_mut().zip(&mut best) {
            *best = best.min(per_record(chain, &batch, rounds)?);
        }
    }
    println!(
        "chain level: {} records per variant (a batch of {batch_len} cloned {rounds} times), best of 3",
        rounds * batch_len
    );
    for ((name, _), ns) in variants.iter().zip(&best) {
        println!("  {name:<28} {ns:>8.1} ns/record  (+{:.1} over no transforms)", ns - best[0]);
    }
    // What the chain's output costs downstream: the JSON converter (schemas on) on the value.
    let json = JsonConverter::new(true);
    let chain = &mut variants[1].1;
    let transformed = batch
        .iter()
        .map(|r| chain.apply(r.clone()).map_err(|e| anyhow::anyhow!("{e}"))?.ok_or_else(|| anyhow::anyhow!("dropped")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (name, records) in [("no transforms", &batch), ("after the chain", &transformed)] {
        let mut ns = f64::MAX;
        let mut bytes = 0;
        for _ in 0..3 {
            let started = Instant::now();
            bytes = 0;
            for r in records.iter() {
                bytes += json.encode(&r.topic, r.value_schema.as_ref(), &r.value)?.map_or(0, |b| b.len());
            }
            ns = ns.min(started.elapsed().as_nanos() as f64 / records.len() as f64);
        }
        println!("  JSON value, {name:<16} {ns:>8.1} ns/record, {} bytes/record", bytes / records.len());
    }
    Ok(())
}

/// Seconds for a datagen source task to send `n` records and store its last offset.
async fn worker_run(clients: &KafkaClients, n: i64, chain: TransformChain, label: &str) -> anyhow::Result<Duration> {
    let run = std::process::id();
    let name = format!("bench-smt-{label}-{run}");
    let json: Arc<dyn Converter> = Arc::new(JsonConverter::new(true));
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn OffsetStore> = Arc::new(FileOffsetStore::open(dir.path().join("offsets.json")).await?);
    let connector_props: Props = [
        ("name", name.clone()),
        ("connector.class", "DatagenSource".into()),
        ("kafka.topic", format!("{name}-in")),
        ("iterations", n.to_string()),
        ("batch.size", "2000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
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
        transforms: chain,
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
        anyhow::ensure!(!task.is_finished(), "the {label} task ended before sending {n} records");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let _ = control.send(Target::Shutdown);
    task.await?;
    Ok(elapsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let chain_only = args.iter().any(|a| a == "--chain-only");
    let n: usize = args.iter().find(|a| !a.starts_with("--")).map(|a| a.parse()).transpose()?.unwrap_or(1_000_000);
    chain_level(n)?;
    if chain_only {
        return Ok(());
    }
    let bootstrap = std::env::var("AQUEDUCT_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let worker = WorkerConfig::from_props([("bootstrap.servers".to_owned(), bootstrap)].into_iter().collect())?;
    let clients = KafkaClients::new(&worker);
    let records = (n / 5).max(1) as i64;
    let plugins = aqueduct::builtin_plugins();
    let mut rates = [f64::MIN; 2];
    for round in 0..2 {
        for (i, rate) in rates.iter_mut().enumerate() {
            let chain =
                if i == 0 { TransformChain::default() } else { TransformChain::build(&plugins, &chain_props(&CHAIN))? };
            let label = format!("{}{round}", ["plain", "chain"][i]);
            let took = worker_run(&clients, records, chain, &label).await?;
            *rate = rate.max(records as f64 / took.as_secs_f64());
        }
    }
    println!("worker level: datagen -> JSON -> Kafka, {records} records per run, best of 2");
    println!("  no transforms   {:>8.0} records/s ({:.2} us/record)", rates[0], 1e6 / rates[0]);
    println!("  {} {:>8.0} records/s ({:.2} us/record)", CHAIN.join(" + "), rates[1], 1e6 / rates[1]);
    println!("  chain/plain rate: {:.2}", rates[1] / rates[0]);
    Ok(())
}
