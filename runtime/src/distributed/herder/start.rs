//! `aqueduct distributed WORKER`: a worker of a group; connectors come through the REST API
//! and live in the config topic.

use std::future::IntoFuture;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::assignor::LeaderAssignor;
use super::running::Running;
use super::session::SessionSettings;
use super::worker_loop::WorkerLoop;
use super::{DistributedHerder, GroupView};
use crate::distributed::config_topic::ConfigStore;
use crate::distributed::group::{ConnectProtocol, GroupConfig, GroupMember};
use crate::distributed::settings::InternalTopics;
use crate::distributed::status_topic::StatusStore;
use crate::herder::Worker;
use crate::kafka::{KafkaClients, TopicSpec};
use crate::offsets::{OffsetStore, TopicOffsetStore};
use crate::plugins::Plugins;
use crate::process::{bind_rest, shutdown_signal};
use crate::rest::{self, AppState, ConnectHerder};
use crate::worker_config::WorkerConfig;

fn millis(config: &WorkerConfig, key: &str) -> Duration {
    Duration::from_millis(config.long(key).max(0) as u64)
}

/// The group settings from the worker keys (checked before any I/O).
fn group_config(config: &WorkerConfig) -> Result<GroupConfig> {
    let group_id = config.string("group.id");
    if group_id.trim().is_empty() {
        anyhow::bail!("distributed mode needs group.id: the workers sharing connectors");
    }
    let security = config.props().get("security.protocol").map(|p| p.trim()).unwrap_or("PLAINTEXT");
    if !security.eq_ignore_ascii_case("plaintext") {
        anyhow::bail!(
            "security.protocol={security}: a distributed worker joins its group and reads its internal topics over \
             PLAINTEXT only so far; point bootstrap.servers at a plaintext listener (tasks' clients may still use TLS \
             and SASL through producer.* and consumer.*)"
        );
    }
    let mut group = GroupConfig::new(config.bootstrap_servers(), group_id);
    group.session_timeout = millis(config, "session.timeout.ms");
    group.heartbeat_interval = millis(config, "heartbeat.interval.ms");
    group.rebalance_timeout = millis(config, "rebalance.timeout.ms");
    let mode = config.string("connect.protocol");
    group.protocol = ConnectProtocol::from_mode(mode)
        .filter(|p| p.is_incremental())
        .with_context(|| format!("connect.protocol={mode}: only compatible and sessioned are supported"))?;
    group.validate()?;
    Ok(group)
}

/// Runs a distributed worker until SIGINT or SIGTERM.
pub async fn run(worker_file: &Path, plugins: Plugins) -> Result<()> {
    let config = WorkerConfig::load(worker_file)?;
    let plugins = crate::plugin_loader::with_plugin_path(plugins, &config.plugin_path());
    if !config.string("offset.storage.file.filename").is_empty() {
        anyhow::bail!(
            "offset.storage.file.filename is for standalone mode; distributed workers use offset.storage.topic"
        );
    }
    let group = group_config(&config)?;
    let session = SessionSettings::from_props(config.props()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let topics = InternalTopics::from_worker(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let clients = KafkaClients::new(&config);

    let (listener, port) = bind_rest(&config).await?;
    let advertised_port = match config.long("rest.advertised.port") {
        p if p > 0 => u16::try_from(p).context("rest.advertised.port")?,
        _ => port,
    };
    let worker_id = config.worker_id(advertised_port);
    let url = format!("http://{worker_id}/");
    let state = AppState::new(plugins.clone());
    let server = tokio::spawn(axum::serve(listener, rest::router(state.clone())).into_future());
    info!(rest = %url, worker_id, group = %group.group_id, "REST API listening");

    let opened = async {
        let offsets = open_offsets(&config, &clients, &state).await;
        let configs = ConfigStore::open(&clients, &topics).await.map_err(|e| anyhow::anyhow!("config topic: {e}"))?;
        let statuses = StatusStore::open(&clients, &topics).await.map_err(|e| anyhow::anyhow!("status topic: {e}"))?;
        anyhow::Ok((offsets, configs, statuses))
    };
    let (offsets, configs, statuses) = tokio::select! {
        opened = opened => opened?,
        _ = shutdown_signal() => {
            info!("shut down before the worker finished starting");
            return Ok(());
        }
    };
    let worker = Arc::new(Worker { config: config.clone(), clients, store: offsets, plugins, worker_id });
    let (commands_tx, commands) = mpsc::unbounded_channel();
    let herder = Arc::new(DistributedHerder {
        worker,
        configs: Arc::new(configs),
        statuses: Arc::new(statuses),
        view: Mutex::new(GroupView { rebalancing: true, ..GroupView::default() }),
        commands: commands_tx,
        session,
        fencing: Default::default(),
    });
    let _ = state.herder.set(herder.clone() as Arc<dyn ConnectHerder>);
    let sync_timeout = millis(&config, "worker.sync.timeout.ms");
    let assignor = LeaderAssignor {
        configs: herder.configs.clone(),
        url: url.clone(),
        max_delay: millis(&config, "scheduled.rebalance.max.delay.ms"),
        sync_timeout,
        memory: Default::default(),
    };
    let (events_tx, events) = mpsc::unbounded_channel();
    let member = GroupMember::new(group)?;
    let worker_loop = WorkerLoop {
        running: Running::new(herder.clone(), events_tx),
        herder,
        member,
        assignor,
        url,
        sync_timeout,
        commands,
        events,
        joined_once: false,
        is_leader: false,
    };
    worker_loop.run(shutdown_signal()).await;
    server.abort();
    info!("stopped");
    Ok(())
}

/// The offset topic, retried with backoff (logged) until Kafka answers.
async fn open_offsets(config: &WorkerConfig, clients: &KafkaClients, state: &AppState) -> Arc<dyn OffsetStore> {
    let spec = TopicSpec::compacted(
        config.string("offset.storage.topic"),
        config.long("offset.storage.partitions") as i32,
        config.long("offset.storage.replication.factor") as i32,
    );
    let mut delay = Duration::from_millis(500);
    loop {
        match TopicOffsetStore::open(clients, spec.clone()).await {
            Ok(store) => return Arc::new(store),
            Err(e) => {
                if let Ok(mut problem) = state.startup_problem.lock() {
                    *problem = format!("cannot open the offset topic {}: {e:#}", spec.name);
                }
                warn!(error = format!("{e:#}"), retry_in = ?delay, "cannot open the offset topic; is Kafka reachable?");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(pairs: &[(&str, &str)]) -> WorkerConfig {
        WorkerConfig::from_props(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .expect("worker config")
    }

    #[test]
    fn group_settings_need_a_group_and_a_plaintext_listener() {
        let e = group_config(&worker(&[])).expect_err("no group.id");
        assert!(e.to_string().contains("group.id"), "{e}");
        let e = group_config(&worker(&[("group.id", "g"), ("security.protocol", "SASL_SSL")])).expect_err("TLS");
        assert!(e.to_string().contains("security.protocol=SASL_SSL"), "{e}");
        let e = group_config(&worker(&[("group.id", "g"), ("connect.protocol", "eager")])).expect_err("eager");
        assert!(e.to_string().contains("connect.protocol=eager"), "{e}");
        let g = group_config(&worker(&[("group.id", "g"), ("security.protocol", "plaintext")])).expect("plaintext");
        assert_eq!(g.group_id, "g");
    }
}
