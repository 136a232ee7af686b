//! Starting and stopping task loops, shared by the standalone and the distributed herder: a
//! task is built from its connector's plugin, its connector config and its own task config,
//! and runs the source or sink loop until told to shut down.

use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::{Connector, PluginDescriptor, Props, SinkConnector, SourceConnector};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::warn;

use super::offsets::connector_store;
use super::{build_converters, validate_connector, Worker};
use crate::connector_config::TopicCreation;
use crate::status::{State, StatusCell, Target};
use crate::task_context::{ActiveTopics, TaskSetup};
use crate::transforms::TransformChain;
use crate::{embedded, exactly_once};
use crate::{sink_worker, source_worker};

/// A connector instance of either kind.
pub enum Instance {
    /// A source connector.
    Source(Box<dyn SourceConnector>),
    /// A sink connector.
    Sink(Box<dyn SinkConnector>),
}

impl Instance {
    /// A fresh, not yet started instance of `plugin`.
    pub fn new(plugin: &PluginDescriptor) -> Self {
        match (plugin.factory.new_source(), plugin.factory.new_sink()) {
            (Some(source), _) => Instance::Source(source),
            (None, Some(sink)) => Instance::Sink(sink),
            (None, None) => unreachable!("a connector factory is a source or a sink"),
        }
    }

    /// The connector's common methods.
    pub fn connector(&mut self) -> &mut dyn Connector {
        match self {
            Instance::Source(c) => c.as_mut(),
            Instance::Sink(c) => c.as_mut(),
        }
    }
}

/// A running task loop: its status, its control channel, its join handle.
pub struct TaskHandle {
    /// What the task reports.
    pub status: StatusCell,
    /// What the herder asks of it.
    pub control: watch::Sender<Target>,
    /// The loop.
    pub join: JoinHandle<()>,
}

/// What a task is started from.
pub struct TaskStart<'a> {
    /// The connector's config (validated again here).
    pub props: &'a Props,
    /// The instance that creates the task (need not be started).
    pub instance: Option<&'a Instance>,
    /// The task's own config.
    pub task_props: Props,
    /// The task number.
    pub id: u32,
    /// Start paused.
    pub paused: bool,
    /// The connector's active topics.
    pub topics: ActiveTopics,
}

/// Work a source task does before its loop starts (the distributed herder's zombie fencing for
/// exactly-once tasks); an error makes the task FAILED.
pub type Preflight = futures::future::BoxFuture<'static, aqueduct_sdk::Result<()>>;

/// Spawns the task loop; a task that cannot start is returned FAILED with the reason.
pub fn spawn_task(worker: &Arc<Worker>, start: TaskStart<'_>) -> TaskHandle {
    spawn_task_after(worker, start, None)
}

/// As [`spawn_task`]; a source task first runs `preflight`.
pub fn spawn_task_after(worker: &Arc<Worker>, start: TaskStart<'_>, preflight: Option<Preflight>) -> TaskHandle {
    let status = StatusCell::new(State::Unassigned);
    let initial = if start.paused { Target::Paused } else { Target::Running };
    let (control, control_rx) = watch::channel(initial);
    let fail = |status: &StatusCell, e: String| {
        status.fail(e);
        TaskHandle { status: status.clone(), control: control.clone(), join: tokio::spawn(async {}) }
    };
    let config = match validate_connector(&worker.plugins, &worker.config, start.props) {
        Ok((_, config)) => config,
        Err(e) => return fail(&status, e.message),
    };
    let converters = match build_converters(&worker.plugins, &worker.config, start.props) {
        Ok(v) => v,
        Err(e) => return fail(&status, e.trace()),
    };
    let transforms = match TransformChain::build(&worker.plugins, start.props) {
        Ok(chain) => chain,
        Err(e) => return fail(&status, e.trace()),
    };
    let id = start.id;
    let setup = TaskSetup {
        connector: config.clone(),
        task_id: id,
        worker_id: worker.worker_id.clone(),
        task_props: start.task_props,
        key_converter: converters.key,
        value_converter: converters.value,
        header_converter: converters.header,
        clients: worker.clients.clone(),
        status: status.clone(),
        control: control_rx,
        topics: start.topics,
        flush_interval: Duration::from_millis(worker.config.long("offset.flush.interval.ms").max(1) as u64),
        // The ack wait at shutdown takes at most half the graceful window, so the final
        // offset write and the task's stop() fit in the rest.
        flush_timeout: Duration::from_millis(worker.config.long("offset.flush.timeout.ms").max(0) as u64)
            .min(graceful_timeout(worker) / 2),
        transforms,
    };
    let join = match start.instance {
        Some(Instance::Source(c)) => {
            let creation = match TopicCreation::from_config(&config) {
                Ok(c) => c,
                Err(e) => return fail(&status, format!("{e:#}")),
            };
            let task = c.create_task();
            let exactly_once = exactly_once::task_settings(&worker.config, &worker.worker_id, &config, id);
            let worker = worker.clone();
            let status = status.clone();
            tokio::spawn(async move {
                if let Some(preflight) = preflight {
                    if let Err(e) = preflight.await {
                        return status.fail(e.trace());
                    }
                }
                match connector_store(&worker, &config).await {
                    Ok(store) => source_worker::run(setup, task, store, creation, exactly_once).await,
                    Err(e) => status.fail(e.trace()),
                }
            })
        }
        Some(Instance::Sink(c)) => {
            if let Some(bus) = worker.clients.embedded() {
                // Registered before the task runs: records sent from now on wait for this sink.
                match embedded::Subscription::of(&config) {
                    Ok(subscription) => bus.register_group(&embedded::group_of(config.name()), subscription),
                    Err(e) => return fail(&status, e.trace()),
                }
            }
            let task = c.create_task();
            let handle = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || sink_worker::run(setup, task, handle))
        }
        None => return fail(&status, "connector is not running".into()),
    };
    TaskHandle { status, control, join }
}

/// Forgets what the transport keeps for a deleted connector: on the embedded transport, a
/// sink's group, so records no longer wait for it.
pub fn forget_connector(worker: &Worker, name: &str, kind: &str) {
    if let (Some(bus), "sink") = (worker.clients.embedded(), kind) {
        bus.remove_group(&embedded::group_of(name));
    }
}

/// `task.shutdown.graceful.timeout.ms`.
pub fn graceful_timeout(worker: &Worker) -> Duration {
    Duration::from_millis(worker.config.long("task.shutdown.graceful.timeout.ms").max(0) as u64)
}

/// Shuts the tasks down together, waiting up to `task.shutdown.graceful.timeout.ms` in all;
/// `ids` names them in the logs.
pub async fn stop_all(worker: &Worker, tasks: Vec<(usize, TaskHandle)>) {
    for (_, task) in &tasks {
        let _ = task.control.send(Target::Shutdown);
    }
    let deadline = tokio::time::Instant::now() + graceful_timeout(worker);
    for (id, task) in tasks {
        await_stop(id, task.join, deadline).await;
    }
}

/// Waits for a stopping task until `deadline`, then abandons it (logged).
pub async fn await_stop(id: usize, join: JoinHandle<()>, deadline: tokio::time::Instant) {
    let abort = join.abort_handle();
    if tokio::time::timeout_at(deadline, join).await.is_err() {
        warn!(task = id, "task did not stop within task.shutdown.graceful.timeout.ms; abandoning it");
        abort.abort();
    }
}
