//! `aqueduct standalone`: one worker, connectors from files, offsets in a topic or a file.
//! With `transport=embedded` no Kafka client is created (a dead-letter topic aside): records
//! move through in-process topics and source offsets stay in the file.

use std::future::IntoFuture;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use aqueduct_sdk::Props;
use rdkafka::consumer::{BaseConsumer, Consumer};
use tracing::{info, warn};

use crate::herder::{Herder, Worker};
use crate::kafka::{KafkaClients, TopicSpec};
use crate::offsets::{FileOffsetStore, OffsetStore, TopicOffsetStore};
use crate::plugins::Plugins;
use crate::process::{bind_rest, shutdown_signal};
use crate::rest::{self, AppState};
use crate::worker_config::WorkerConfig;

/// Runs a standalone worker until SIGINT or SIGTERM.
pub async fn run(worker_file: PathBuf, connector_files: Vec<PathBuf>, plugins: Plugins) -> Result<()> {
    let config = WorkerConfig::load(&worker_file)?;
    let plugins = crate::plugin_loader::with_plugin_path(plugins, &config.plugin_path());
    if config.embedded() {
        let errors = crate::embedded::config_errors(&config);
        if !errors.is_empty() {
            anyhow::bail!("invalid worker config: {}", errors.join("; "));
        }
    }
    if config.string("exactly.once.source.support") == "enabled"
        && !config.string("offset.storage.file.filename").is_empty()
    {
        anyhow::bail!(
            "exactly.once.source.support=enabled writes source offsets in Kafka transactions: remove offset.storage.file.filename to keep them in offset.storage.topic"
        );
    }
    // Read and validate every connector file before touching Kafka.
    let connectors: Vec<Props> =
        connector_files.iter().map(|f| crate::connector_config::load_file(f)).collect::<Result<_>>()?;
    for props in &connectors {
        crate::herder::validate_connector(&plugins, &config, props).map_err(|e| {
            anyhow::anyhow!("connector {}: {}", props.get("name").map_or("(unnamed)", String::as_str), e.message)
        })?;
    }
    let clients = KafkaClients::new(&config);
    if let Some(bus) = clients.embedded() {
        // Every sink from the files subscribes before any source sends, so none of the
        // sources' records is taken as unsubscribed.
        for props in &connectors {
            if let Ok((plugin, connector)) = crate::herder::validate_connector(&plugins, &config, props) {
                if plugin.factory.kind() == "sink" {
                    let name = crate::embedded::group_of(connector.name());
                    bus.register_group(&name, crate::embedded::Subscription::of(&connector)?);
                }
            }
        }
        info!(
            max_records = bus.settings().max_records,
            skip_converters = bus.settings().skip_converters,
            "transport=embedded: no Kafka broker is used"
        );
    }

    let host = config.string("rest.host.name").to_owned();
    let (listener, port) = bind_rest(&config).await?;
    let worker_id = config.worker_id(port);

    let state = AppState::new(plugins.clone());
    let cluster_id = state.kafka_cluster_id.clone();
    let id_clients = clients.clone();
    if clients.embedded().is_none() {
        tokio::task::spawn_blocking(move || {
            if let Some(id) = fetch_cluster_id(&id_clients) {
                let _ = cluster_id.set(id);
            }
        });
    }
    let server = tokio::spawn(axum::serve(listener, rest::router(state.clone())).into_future());
    info!(rest = %format!("http://{host}:{port}/"), worker_id, "REST API listening");

    let startup = async {
        let store = open_store(&config, &clients, &state).await?;
        let worker =
            Worker { config: config.clone(), clients: clients.clone(), store, plugins, worker_id: worker_id.clone() };
        let herder = Herder::new(worker);
        let _ = state.herder.set(herder.clone() as Arc<dyn rest::ConnectHerder>);
        for props in connectors {
            let name = props.get("name").cloned().unwrap_or_default();
            match herder.put_connector(props, true).await {
                Ok(_) => info!(connector = %name, "connector created from file"),
                Err(e) => anyhow::bail!("connector {name}: {}", e.message),
            }
        }
        Ok(herder)
    };
    let herder = tokio::select! {
        herder = startup => herder?,
        _ = shutdown_signal() => {
            info!("shut down before the worker finished starting");
            return Ok(());
        }
    };

    shutdown_signal().await;
    info!("shutting down: stopping tasks and flushing offsets");
    herder.shutdown().await;
    server.abort();
    info!("stopped");
    Ok(())
}

/// The offset store: a file when `offset.storage.file.filename` is set, else the offset topic.
/// Kafka being unreachable is retried with backoff, and logged, until it answers.
async fn open_store(config: &WorkerConfig, clients: &KafkaClients, state: &AppState) -> Result<Arc<dyn OffsetStore>> {
    let file = config.string("offset.storage.file.filename");
    if !file.is_empty() {
        return Ok(Arc::new(FileOffsetStore::open(PathBuf::from(file)).await?));
    }
    let spec = TopicSpec::compacted(
        config.string("offset.storage.topic"),
        config.long("offset.storage.partitions") as i32,
        config.long("offset.storage.replication.factor") as i32,
    );
    let mut delay = Duration::from_millis(500);
    loop {
        match TopicOffsetStore::open(clients, spec.clone()).await {
            Ok(store) => return Ok(Arc::new(store)),
            Err(e) => {
                if let Ok(mut problem) = state.startup_problem.lock() {
                    *problem =
                        format!("cannot open the offset topic {} at {}: {e:#}", spec.name, config.bootstrap_servers());
                }
                warn!(error = format!("{e:#}"), brokers = %config.bootstrap_servers(), retry_in = ?delay, "cannot open the offset topic; is Kafka reachable?");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

fn fetch_cluster_id(clients: &KafkaClients) -> Option<String> {
    let consumer: BaseConsumer = clients.consumer_config("aqueduct-cluster-id", &Props::new()).create().ok()?;
    consumer.client().fetch_cluster_id(rdkafka::util::Timeout::After(Duration::from_secs(10)))
}
