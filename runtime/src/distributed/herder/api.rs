//! The REST answers of a distributed worker: reads from the local views of the config and
//! status topics; writes to the config topic, on the leader (the REST layer forwards a
//! follower's writes to it, see [`crate::rest::forward`]).

use std::collections::BTreeSet;

use aqueduct_sdk::Props;
use async_trait::async_trait;
use serde_json::{json, Value as Json};
use tokio::sync::oneshot;

use super::{Command, DistributedHerder};
use crate::distributed::config_topic::{self, RestartRequest, TaskId};
use crate::distributed::status_topic::Status;
use crate::herder::offsets;
use crate::herder::{validate_connector, ConnectorInfo, HResult, HerderError, TargetState};
use crate::rest::{ConnectHerder, Route};

fn store_error(e: aqueduct_sdk::ConnectError) -> HerderError {
    HerderError::new(500, format!("writing to the config topic: {e}"))
}

fn status_json(mut base: Json, status: Option<&Status>) -> Json {
    match status {
        Some(s) => {
            base["state"] = json!(s.state.name());
            base["worker_id"] = json!(s.worker_id);
            if let Some(trace) = &s.trace {
                base["trace"] = json!(trace);
            }
            if let Some(version) = &s.version {
                base["version"] = json!(version);
            }
        }
        None => {
            base["state"] = json!("UNASSIGNED");
            base["worker_id"] = Json::Null;
        }
    }
    base
}

impl DistributedHerder {
    pub(super) fn kind(&self, props: &Props) -> &'static str {
        let class = props.get("connector.class").map(String::as_str).unwrap_or_default();
        self.worker.plugins.find(class).map(|p| p.factory.kind()).unwrap_or("unknown")
    }

    fn info_of(&self, name: &str) -> HResult<ConnectorInfo> {
        let snapshot = self.configs.snapshot();
        let config = snapshot.connector_config(name).cloned().ok_or_else(|| HerderError::not_found(name))?;
        Ok(ConnectorInfo {
            name: name.to_owned(),
            kind: self.kind(&config),
            tasks: snapshot.tasks(name).iter().map(|t| json!({"connector": name, "task": t.task})).collect(),
            config,
        })
    }

    fn exists(&self, name: &str) -> HResult<()> {
        if self.configs.contains(name) {
            Ok(())
        } else {
            Err(HerderError::not_found(name))
        }
    }
}

#[async_trait]
impl ConnectHerder for DistributedHerder {
    async fn route_write(&self) -> Route {
        let view = self.view();
        match view.leader_url {
            _ if view.rebalancing => Route::Rebalancing,
            Some(_) if view.is_leader => Route::Local,
            Some(url) => Route::Forward(url),
            None => Route::Rebalancing,
        }
    }

    async fn names(&self) -> Vec<String> {
        self.configs.snapshot().connectors.keys().cloned().collect()
    }

    async fn info(&self, name: &str) -> HResult<ConnectorInfo> {
        self.info_of(name)
    }

    async fn status(&self, name: &str) -> HResult<Json> {
        let snapshot = self.configs.snapshot();
        let config = snapshot.connector_config(name).ok_or_else(|| HerderError::not_found(name))?;
        let tasks: Vec<Json> = snapshot
            .tasks(name)
            .iter()
            .map(|t| status_json(json!({"id": t.task}), self.statuses.task(t).as_ref()))
            .collect();
        let connector = status_json(json!({}), self.statuses.connector(name).as_ref());
        Ok(json!({"name": name, "connector": connector, "tasks": tasks, "type": self.kind(config)}))
    }

    async fn task_status(&self, name: &str, task: usize) -> HResult<Json> {
        self.exists(name)?;
        let id = TaskId::new(name, task as u32);
        if task as u32 >= self.configs.snapshot().task_count(name) {
            return Err(HerderError::new(404, format!("Task {id} not found")));
        }
        Ok(status_json(json!({"id": task}), self.statuses.task(&id).as_ref()))
    }

    async fn tasks(&self, name: &str) -> HResult<Json> {
        let snapshot = self.configs.snapshot();
        snapshot.connector_config(name).ok_or_else(|| HerderError::not_found(name))?;
        Ok(Json::Array(
            snapshot
                .tasks(name)
                .iter()
                .map(|t| json!({"id": {"connector": name, "task": t.task}, "config": snapshot.task_config(t)}))
                .collect(),
        ))
    }

    async fn put_connector(&self, props: Props, allow_update: bool) -> HResult<(ConnectorInfo, bool)> {
        let (_, config) = validate_connector(&self.worker.plugins, &self.worker.config, &props)?;
        let name = config.name().to_owned();
        let exists = self.configs.contains(&name);
        if exists && !allow_update {
            return Err(HerderError::new(409, format!("Connector {name} already exists")));
        }
        self.configs.put_connector_config(&name, props, None).await.map_err(store_error)?;
        Ok((self.info_of(&name)?, !exists))
    }

    async fn delete(&self, name: &str) -> HResult<()> {
        self.exists(name)?;
        self.configs.remove_connector_config(name).await.map_err(store_error)
    }

    async fn set_target(&self, name: &str, target: TargetState) -> HResult<()> {
        self.exists(name)?;
        let state = match target {
            TargetState::Started => config_topic::TargetState::Started,
            TargetState::Paused => config_topic::TargetState::Paused,
            TargetState::Stopped => {
                // As Kafka Connect: no tasks first, then the target state.
                self.configs.put_task_configs(name, Vec::new()).await.map_err(store_error)?;
                config_topic::TargetState::Stopped
            }
        };
        self.configs.put_target_state(name, state).await.map_err(store_error)
    }

    async fn restart(&self, name: &str, include_tasks: bool, only_failed: bool) -> HResult<()> {
        self.exists(name)?;
        let request = RestartRequest { connector: name.to_owned(), only_failed, include_tasks };
        self.configs.put_restart_request(request).await.map_err(store_error)
    }

    async fn restart_task(&self, name: &str, task: usize) -> HResult<()> {
        self.exists(name)?;
        let id = TaskId::new(name, task as u32);
        if task as u32 >= self.configs.snapshot().task_count(name) {
            return Err(HerderError::new(404, format!("Task {id} not found")));
        }
        let (reply, answer) = oneshot::channel();
        let _ = self.commands.send(Command::RestartTask(id.clone(), reply));
        if answer.await.unwrap_or(Ok(false))? {
            return Ok(());
        }
        // Not here: ask the worker its status names (its id is its advertised host:port).
        let owner = self.statuses.task(&id).map(|s| s.worker_id).filter(|w| *w != self.worker.worker_id);
        let Some(owner) = owner else {
            return Err(HerderError::new(409, format!("Task {id} is not running on any worker right now")));
        };
        let url = format!("http://{owner}/connectors/{name}/tasks/{task}/restart");
        let answer = reqwest::Client::new()
            .post(&url)
            .send()
            .await
            .map_err(|e| HerderError::new(500, format!("forwarding the restart to {url}: {e}")))?;
        match answer.status().as_u16() {
            200..=299 => Ok(()),
            code => Err(HerderError::new(code, answer.text().await.unwrap_or_default())),
        }
    }

    async fn topics(&self, name: &str) -> HResult<Vec<String>> {
        self.exists(name)?;
        let topics: BTreeSet<String> = self.statuses.connector_topics(name).into_iter().map(|t| t.topic).collect();
        Ok(topics.into_iter().collect())
    }

    async fn reset_topics(&self, name: &str) -> HResult<()> {
        self.exists(name)?;
        for t in self.statuses.connector_topics(name) {
            self.statuses
                .delete_topic(name, &t.topic)
                .await
                .map_err(|e| HerderError::new(500, format!("writing to the status topic: {e}")))?;
        }
        Ok(())
    }

    async fn offsets(&self, name: &str) -> HResult<Json> {
        let props =
            self.configs.snapshot().connector_config(name).cloned().ok_or_else(|| HerderError::not_found(name))?;
        let (_, config) = validate_connector(&self.worker.plugins, &self.worker.config, &props)?;
        offsets::read_offsets(&self.worker, name, self.kind(&props), &config).await
    }

    async fn change_offsets(&self, name: &str, offsets: Option<Json>) -> HResult<Json> {
        let snapshot = self.configs.snapshot();
        let props = snapshot.connector_config(name).cloned().ok_or_else(|| HerderError::not_found(name))?;
        let (_, config) = validate_connector(&self.worker.plugins, &self.worker.config, &props)?;
        let target = match snapshot.target_state(name) {
            Some(config_topic::TargetState::Stopped) => TargetState::Stopped,
            Some(config_topic::TargetState::Paused) => TargetState::Paused,
            _ => TargetState::Started,
        };
        offsets::write_offsets(&self.worker, name, target, self.kind(&props), &config, offsets).await
    }

    async fn fence_zombies(&self, name: &str, headers: &axum::http::HeaderMap, body: &[u8]) -> HResult<()> {
        super::fencing::fence_request(self, name, headers, body).await
    }
}
