//! Zombie fencing for exactly-once source tasks (KIP-618), as Kafka Connect's
//! `DistributedHerder` does it: before a task of a new generation of task configs starts, the
//! leader fences out the transactional producers of every task of the previous generation
//! (their ids come from the connector's last `tasks-fencing-<name>` record), then writes a new
//! task count record. A task on a follower asks the leader through the internal, signed
//! `PUT /connectors/{name}/fence`. Fencing = `InitProducerId` for each old `transactional.id`,
//! which bumps its epoch so a zombie's next transactional write is refused by Kafka.

use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::ConnectError;
use rdkafka::producer::{BaseProducer, Producer};
use tracing::{debug, info};

use super::{session, DistributedHerder};
use crate::exactly_once;
use crate::herder::tasks::Preflight;
use crate::herder::{HResult, HerderError};

/// How long one producer's fencing may take.
const FENCE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a task keeps asking while the group rebalances or the leader is unreachable.
const PREFLIGHT_PATIENCE: Duration = Duration::from_secs(60);

impl DistributedHerder {
    /// The leader's side: fences the previous generation's producers of `name` when its task
    /// configs changed since the last fencing, and records the new task count. Concurrent
    /// requests for one connector fence once.
    pub(super) async fn fence_zombies(&self, name: &str) -> HResult<()> {
        if !self.view().is_leader {
            return Err(HerderError::new(409, "Only the leader may perform zombie fencing."));
        }
        let _one_at_a_time = self.fencing.lock().await;
        let sync = Duration::from_millis(self.worker.config.long("worker.sync.timeout.ms").max(1) as u64);
        self.configs.refresh(sync).await.map_err(|e| {
            HerderError::new(
                500,
                format!("Failed to read to end of config topic before performing zombie fencing: {e}"),
            )
        })?;
        let snapshot = self.configs.snapshot();
        let props = snapshot.connector_config(name).ok_or_else(|| HerderError::not_found(name))?;
        if self.kind(props) != "source" {
            return Err(HerderError::new(400, format!("Connector {name} is not a source connector")));
        }
        if !snapshot.pending_fencing.contains(name) {
            debug!(connector = name, "every older task generation is already fenced out");
            return Ok(());
        }
        let tasks = snapshot.task_count(name);
        match snapshot.task_count_records.get(name).copied() {
            // One task before and after: the new task's own InitProducerId fences the old one.
            Some(previous) if previous != 1 || tasks != 1 => {
                info!(connector = name, previous, "fencing the producers of the previous task generation");
                self.fence_producers(name, previous).await?;
            }
            _ => debug!(connector = name, "nothing to fence; writing the task count record"),
        }
        self.configs
            .put_task_count_record(name, tasks)
            .await
            .map_err(|e| HerderError::new(500, format!("writing the task count record of {name}: {e}")))
    }

    /// `InitProducerId` for the `transactional.id` of tasks `0..count` of `name`.
    async fn fence_producers(&self, name: &str, count: u32) -> HResult<()> {
        for task in 0..count {
            let id = exactly_once::transactional_id(&self.worker.config, &self.worker.worker_id, name, task);
            let mut config = self.worker.clients.producer_config(&Default::default());
            config.set("transactional.id", &id);
            let fenced = tokio::task::spawn_blocking(move || {
                let producer: BaseProducer = config.create()?;
                producer.init_transactions(FENCE_TIMEOUT)
            })
            .await;
            match fenced {
                Ok(Ok(())) => debug!(connector = name, transactional_id = %id, "fenced"),
                Ok(Err(e)) => {
                    return Err(HerderError::new(500, format!("Failed to fence out transactional.id {id}: {e}")))
                }
                Err(e) => return Err(HerderError::new(500, format!("fencing transactional.id {id}: {e}"))),
            }
        }
        Ok(())
    }

    /// What an exactly-once source task of `name` does before it starts: have the leader fence
    /// zombies (here when this worker leads, else over REST), retried while the group rebalances
    /// or the leader is unreachable. `None` when the worker does not run exactly-once sources.
    pub(super) fn preflight(self: &Arc<Self>, name: &str, source: bool) -> Option<Preflight> {
        if !source || !exactly_once::enabled(&self.worker.config) {
            return None;
        }
        let (herder, name) = (self.clone(), name.to_owned());
        Some(Box::pin(async move {
            let deadline = tokio::time::Instant::now() + PREFLIGHT_PATIENCE;
            let mut delay = Duration::from_millis(200);
            loop {
                let error = match herder.ask_leader_to_fence(&name).await {
                    Ok(()) => return Ok(()),
                    Err(e) => e,
                };
                let transient = matches!(error.code, 409 | 503) || error.code >= 1000;
                if !transient || tokio::time::Instant::now() + delay > deadline {
                    return Err(ConnectError::fatal(format!("Failed to perform zombie fencing: {}", error.message)));
                }
                debug!(connector = %name, error = %error.message, retry_in = ?delay, "zombie fencing not done yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }))
    }

    /// One fencing attempt; a transport error has code 1000+.
    async fn ask_leader_to_fence(&self, name: &str) -> HResult<()> {
        let view = self.view();
        if view.is_leader {
            return self.fence_zombies(name).await;
        }
        let Some(leader) = view.leader_url.filter(|_| !view.rebalancing) else {
            return Err(HerderError::new(409, "no leader while the group rebalances"));
        };
        let url = format!("{}/connectors/{name}/fence", leader.trim_end_matches('/'));
        let mut request = reqwest::Client::new().put(&url).timeout(FENCE_TIMEOUT * 2);
        if view.sessioned {
            let key = self.configs.session_key();
            let Some(key) = key else { return Err(HerderError::new(503, "no session key read yet")) };
            for (header, value) in session::sign(&key, b"") {
                request = request.header(header, value);
            }
        }
        let answer = request.send().await.map_err(|e| HerderError::new(1000, format!("{url}: {e}")))?;
        if answer.status().is_success() {
            return Ok(());
        }
        let code = answer.status().as_u16();
        let body: serde_json::Value = answer.json().await.unwrap_or_default();
        let message = body["message"].as_str().unwrap_or("no message").to_owned();
        Err(HerderError::new(code, format!("the leader at {url} answered {code}: {message}")))
    }
}

/// Checks a fencing request's signature when the group is sessioned, then fences.
pub(super) async fn fence_request(
    herder: &DistributedHerder,
    name: &str,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> HResult<()> {
    if herder.view().sessioned {
        session::verify(herder.configs.session_key().as_ref(), headers, body)?;
    }
    herder.fence_zombies(name).await
}
