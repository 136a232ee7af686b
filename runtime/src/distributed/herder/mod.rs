//! The distributed herder: a worker in a group of workers sharing connectors and tasks through
//! Kafka, as Kafka Connect's `DistributedHerder`.
//!
//! - [`start`]: `aqueduct distributed WORKER`: opens the offset, config and status topics,
//!   serves the REST API, runs the member loop until SIGINT/SIGTERM.
//! - `worker_loop`: joins the `connect` group (its URL and config offset as metadata), applies
//!   each assignment (stops what is revoked, starts what is assigned), reacts to config topic
//!   changes, rejoins on rebalances, stops everything at once when the membership is lost.
//! - [`assign`]: the leader's incremental cooperative assignment.
//! - `running`: this worker's connectors and tasks, and their statuses in the status topic.
//! - `session`: the leader's session key and signed internal requests (KIP-507).
//! - `fencing`: zombie fencing before exactly-once source tasks start (KIP-618).
//! - `api`: the REST answers: reads from the local views of the config and status topics,
//!   writes to the config topic (by the leader; followers forward them to it).

mod api;
pub mod assign;
mod assignor;
mod fencing;
mod running;
mod session;
pub mod start;
mod worker_loop;

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};

use crate::distributed::config_topic::{ConfigStore, TaskId};
use crate::distributed::status_topic::StatusStore;
use crate::herder::{HResult, Worker};

/// What the REST side knows of the group, updated by the worker loop.
#[derive(Debug, Clone, Default)]
struct GroupView {
    /// The leader's REST URL, once a generation is joined.
    leader_url: Option<String>,
    /// This worker leads the generation.
    is_leader: bool,
    /// Between giving up an assignment and receiving the next.
    rebalancing: bool,
    /// The group runs the sessioned protocol: internal requests are signed.
    sessioned: bool,
}

/// Requests from the REST side to the worker loop.
enum Command {
    /// Restart a task running here.
    RestartTask(TaskId, oneshot::Sender<HResult<bool>>),
}

/// A distributed worker as the REST API sees it.
pub struct DistributedHerder {
    worker: Arc<Worker>,
    configs: Arc<ConfigStore>,
    statuses: Arc<StatusStore>,
    view: Mutex<GroupView>,
    commands: mpsc::UnboundedSender<Command>,
    /// The `inter.worker.*` settings.
    session: session::SessionSettings,
    /// One zombie fencing at a time (leader).
    fencing: tokio::sync::Mutex<()>,
}

impl DistributedHerder {
    fn view(&self) -> GroupView {
        self.view.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set_view(&self, f: impl FnOnce(&mut GroupView)) {
        f(&mut self.view.lock().unwrap_or_else(PoisonError::into_inner));
    }
}
