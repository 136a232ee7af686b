//! What the REST API asks of a herder: the standalone herder and the distributed herder both
//! answer it, so one set of handlers serves both modes.

use aqueduct_sdk::Props;
use async_trait::async_trait;
use axum::http::HeaderMap;
use serde_json::Value as Json;

use crate::herder::{ConnectorInfo, HResult, Herder, HerderError, TargetState};

/// Where a request should be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Here.
    Local,
    /// At this base URL (the group leader), e.g. `http://host:8083/`.
    Forward(String),
    /// Nowhere right now: the group is rebalancing (409, as Kafka Connect).
    Rebalancing,
}

/// A herder as the REST handlers use it.
#[async_trait]
pub trait ConnectHerder: Send + Sync {
    /// Where a write request (`POST`, `PUT`, `PATCH`, `DELETE` under `/connectors`) should run.
    async fn route_write(&self) -> Route {
        Route::Local
    }
    /// Connector names.
    async fn names(&self) -> Vec<String>;
    /// Connector info.
    async fn info(&self, name: &str) -> HResult<ConnectorInfo>;
    /// Connector status.
    async fn status(&self, name: &str) -> HResult<Json>;
    /// One task's status.
    async fn task_status(&self, name: &str, task: usize) -> HResult<Json>;
    /// Task configs.
    async fn tasks(&self, name: &str) -> HResult<Json>;
    /// Creates or (with `allow_update`) replaces a connector; returns its info and whether it was created.
    async fn put_connector(&self, props: Props, allow_update: bool) -> HResult<(ConnectorInfo, bool)>;
    /// Deletes a connector.
    async fn delete(&self, name: &str) -> HResult<()>;
    /// Pauses, resumes or stops a connector.
    async fn set_target(&self, name: &str, target: TargetState) -> HResult<()>;
    /// Restarts a connector and/or its tasks.
    async fn restart(&self, name: &str, include_tasks: bool, only_failed: bool) -> HResult<()>;
    /// Restarts one task.
    async fn restart_task(&self, name: &str, task: usize) -> HResult<()>;
    /// Topics the connector used.
    async fn topics(&self, name: &str) -> HResult<Vec<String>>;
    /// Forgets the connector's topics.
    async fn reset_topics(&self, name: &str) -> HResult<()>;
    /// The connector's offsets.
    async fn offsets(&self, name: &str) -> HResult<Json>;
    /// Alters (`Some`) or resets (`None`) offsets.
    async fn change_offsets(&self, name: &str, offsets: Option<Json>) -> HResult<Json>;
    /// Fences out the previous generation of a source connector's exactly-once tasks: the
    /// internal, signed `PUT /connectors/{name}/fence` (distributed mode only).
    async fn fence_zombies(&self, name: &str, headers: &HeaderMap, body: &[u8]) -> HResult<()> {
        let _ = (name, headers, body);
        Err(HerderError::new(404, "Zombie fencing is done by distributed workers only"))
    }
}

#[async_trait]
impl ConnectHerder for Herder {
    async fn names(&self) -> Vec<String> {
        Herder::names(self).await
    }
    async fn info(&self, name: &str) -> HResult<ConnectorInfo> {
        Herder::info(self, name).await
    }
    async fn status(&self, name: &str) -> HResult<Json> {
        Herder::status(self, name).await
    }
    async fn task_status(&self, name: &str, task: usize) -> HResult<Json> {
        Herder::task_status(self, name, task).await
    }
    async fn tasks(&self, name: &str) -> HResult<Json> {
        Herder::tasks(self, name).await
    }
    async fn put_connector(&self, props: Props, allow_update: bool) -> HResult<(ConnectorInfo, bool)> {
        Herder::put_connector(self, props, allow_update).await
    }
    async fn delete(&self, name: &str) -> HResult<()> {
        Herder::delete(self, name).await
    }
    async fn set_target(&self, name: &str, target: TargetState) -> HResult<()> {
        Herder::set_target(self, name, target).await
    }
    async fn restart(&self, name: &str, include_tasks: bool, only_failed: bool) -> HResult<()> {
        Herder::restart(self, name, include_tasks, only_failed).await
    }
    async fn restart_task(&self, name: &str, task: usize) -> HResult<()> {
        Herder::restart_task(self, name, task).await
    }
    async fn topics(&self, name: &str) -> HResult<Vec<String>> {
        Herder::topics(self, name).await
    }
    async fn reset_topics(&self, name: &str) -> HResult<()> {
        Herder::reset_topics(self, name).await
    }
    async fn offsets(&self, name: &str) -> HResult<Json> {
        Herder::offsets(self, name).await
    }
    async fn change_offsets(&self, name: &str, offsets: Option<Json>) -> HResult<Json> {
        Herder::change_offsets(self, name, offsets).await
    }
}
