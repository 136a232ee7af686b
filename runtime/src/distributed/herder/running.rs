//! This worker's share of the group's work: connector instances and task loops it runs, built
//! from the config topic's snapshot, and their statuses written to the status topic (with this
//! worker's id and the generation it runs them in).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aqueduct_sdk::{ConnectError, ConnectorContext, PluginDescriptor, Props};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::DistributedHerder;
use crate::distributed::config_topic::{ConfigSnapshot, TargetState, TaskId};
use crate::distributed::status_topic::{Status, StatusState, TopicStatus};
use crate::herder::tasks::{self, Instance, TaskHandle, TaskStart};
use crate::herder::validate_connector;
use crate::plugins::with_task_class;
use crate::status::{State, StatusCell, Target};
use crate::task_context::ActiveTopics;

/// What a connector instance asks of the worker loop.
pub(super) enum ConnectorEvent {
    /// `request_task_reconfiguration`.
    Reconfigure(String),
    /// `raise_error`.
    Failed(String, ConnectError),
}

struct Context {
    name: String,
    events: mpsc::UnboundedSender<ConnectorEvent>,
}

impl ConnectorContext for Context {
    fn request_task_reconfiguration(&self) {
        let _ = self.events.send(ConnectorEvent::Reconfigure(self.name.clone()));
    }
    fn raise_error(&self, error: ConnectError) {
        let _ = self.events.send(ConnectorEvent::Failed(self.name.clone(), error));
    }
}

struct LocalConnector {
    props: Props,
    plugin: Option<PluginDescriptor>,
    instance: Option<Instance>,
    target: TargetState,
    status: StatusCell,
}

struct LocalTask {
    handle: TaskHandle,
    /// The task config it was started with.
    config: Props,
    /// The connector config it was started with.
    connector_props: Props,
    /// The version of the connector plugin it runs (none when it could not be resolved).
    version: Option<&'static str>,
}

/// The connectors and tasks running here.
pub(super) struct Running {
    herder: Arc<DistributedHerder>,
    events: mpsc::UnboundedSender<ConnectorEvent>,
    connectors: BTreeMap<String, LocalConnector>,
    tasks: BTreeMap<TaskId, LocalTask>,
    topics: BTreeMap<String, ActiveTopics>,
    /// (connector, topic) records this worker wrote to the status topic; true once read back.
    topics_written: BTreeMap<(String, String), bool>,
    /// The generation statuses are written in.
    pub(super) generation: i32,
    published: BTreeMap<String, (StatusState, Option<String>, i32)>,
}

fn task_target(target: TargetState) -> Target {
    if target == TargetState::Paused {
        Target::Paused
    } else {
        Target::Running
    }
}

impl Running {
    pub(super) fn new(herder: Arc<DistributedHerder>, events: mpsc::UnboundedSender<ConnectorEvent>) -> Self {
        Running {
            herder,
            events,
            connectors: BTreeMap::new(),
            tasks: BTreeMap::new(),
            topics: BTreeMap::new(),
            topics_written: BTreeMap::new(),
            generation: -1,
            published: BTreeMap::new(),
        }
    }

    /// Connector names running here.
    pub(super) fn connector_names(&self) -> Vec<String> {
        self.connectors.keys().cloned().collect()
    }

    /// Task ids running here.
    pub(super) fn task_ids(&self) -> Vec<TaskId> {
        self.tasks.keys().cloned().collect()
    }

    /// Whether this worker runs the connector.
    pub(super) fn has_connector(&self, name: &str) -> bool {
        self.connectors.contains_key(name)
    }

    /// Starts the connector (unless its target is STOPPED) and, when its task configs changed,
    /// writes the new ones to the config topic.
    pub(super) async fn start_connector(&mut self, name: &str) {
        let snapshot = self.herder.configs.snapshot();
        let Some(props) = snapshot.connector_config(name).cloned() else { return };
        let target = snapshot.target_state(name).unwrap_or(TargetState::Started);
        let mut local =
            LocalConnector { props, plugin: None, instance: None, target, status: StatusCell::new(State::Unassigned) };
        info!(connector = %name, ?target, "starting connector");
        self.boot(name, &mut local).await;
        self.connectors.insert(name.to_owned(), local);
        self.reconfigure(name).await;
    }

    async fn boot(&self, name: &str, local: &mut LocalConnector) {
        if local.target == TargetState::Stopped {
            local.status.set(State::Stopped);
            return;
        }
        let worker = &self.herder.worker;
        let plugin = match validate_connector(&worker.plugins, &worker.config, &local.props) {
            Ok((plugin, _)) => plugin,
            Err(e) => return local.status.fail(e.message),
        };
        let mut instance = Instance::new(&plugin);
        local.plugin = Some(plugin);
        let context = Arc::new(Context { name: name.to_owned(), events: self.events.clone() });
        if let Err(e) = instance.connector().start(context, local.props.clone()).await {
            warn!(connector = %name, error = %e, "connector failed to start");
            return local.status.fail(e.trace());
        }
        local.instance = Some(instance);
        local.status.set(if local.target == TargetState::Paused { State::Paused } else { State::Running });
    }

    /// Asks the connector for its task configs; writes them when they differ from the config
    /// topic's (Kafka Connect's worker writes them through the leader; here the connector's
    /// worker writes them itself, after reading the topic to its end).
    pub(super) async fn reconfigure(&mut self, name: &str) {
        let Some(local) = self.connectors.get_mut(name) else { return };
        let Some(instance) = local.instance.as_mut() else { return };
        let max = local.props.get("tasks.max").and_then(|v| v.trim().parse().ok()).unwrap_or(1usize);
        let mut configs = match instance.connector().task_configs(max) {
            Ok(c) => c,
            Err(e) => return local.status.fail(e.trace()),
        };
        configs.truncate(max);
        if let Some(plugin) = &local.plugin {
            configs = with_task_class(plugin, &local.props, configs);
        }
        let snapshot = self.herder.configs.snapshot();
        let current: Vec<Props> =
            snapshot.tasks(name).iter().filter_map(|t| snapshot.task_config(t).cloned()).collect();
        if current == configs && snapshot.task_count(name) as usize == configs.len() {
            return;
        }
        info!(connector = %name, tasks = configs.len(), "writing new task configs");
        if let Err(e) = self.herder.configs.put_task_configs(name, configs).await {
            warn!(connector = %name, error = %e, "could not write task configs");
            local.status.fail(e.trace());
        }
    }

    /// Stops the connector instance; `destroyed` when it was deleted (status tombstone).
    pub(super) async fn stop_connector(&mut self, name: &str, destroyed: bool) {
        let Some(mut local) = self.connectors.remove(name) else { return };
        info!(connector = %name, "stopping connector");
        if let Some(mut instance) = local.instance.take() {
            if let Err(e) = instance.connector().stop().await {
                warn!(connector = %name, error = %e, "connector stop failed");
            }
        }
        let state = if destroyed { StatusState::Destroyed } else { StatusState::Unassigned };
        self.write_connector_status(name, state, None).await;
    }

    /// Applies a new target state to the connector and its tasks here.
    pub(super) async fn set_target(&mut self, name: &str, target: TargetState) {
        for (id, task) in &self.tasks {
            if id.connector == name {
                let _ = task.handle.control.send(task_target(target));
            }
        }
        let Some(mut local) = self.connectors.remove(name) else { return };
        let previous = local.target;
        local.target = target;
        match target {
            TargetState::Stopped => {
                if let Some(mut instance) = local.instance.take() {
                    let _ = instance.connector().stop().await;
                }
                local.status.set(State::Stopped);
            }
            _ if previous == TargetState::Stopped => {
                self.boot(name, &mut local).await;
            }
            _ => {
                if local.status.get().state != State::Failed {
                    local.status.set(if target == TargetState::Paused { State::Paused } else { State::Running });
                }
            }
        }
        self.connectors.insert(name.to_owned(), local);
        if previous == TargetState::Stopped && target != TargetState::Stopped {
            self.reconfigure(name).await;
        }
    }

    /// Restarts the connector instance with its current config (a config update or a restart).
    pub(super) async fn restart_connector(&mut self, name: &str, only_failed: bool) {
        let snapshot = self.herder.configs.snapshot();
        let Some(local) = self.connectors.get_mut(name) else { return };
        if only_failed && local.status.get().state != State::Failed {
            return;
        }
        if let Some(mut instance) = local.instance.take() {
            let _ = instance.connector().stop().await;
        }
        local.status.set(State::Restarting);
        if let Some(props) = snapshot.connector_config(name) {
            local.props = props.clone();
        }
        local.target = snapshot.target_state(name).unwrap_or(TargetState::Started);
        let Some(mut local) = self.connectors.remove(name) else { return };
        self.boot(name, &mut local).await;
        self.connectors.insert(name.to_owned(), local);
        self.reconfigure(name).await;
    }

    /// Starts a task from the snapshot's configs.
    pub(super) fn start_task(&mut self, id: &TaskId, snapshot: &ConfigSnapshot) {
        let (Some(props), Some(config)) = (snapshot.connector_config(&id.connector), snapshot.task_config(id)) else {
            warn!(task = %id, "assigned a task the config topic does not have; not starting it");
            return;
        };
        let worker = &self.herder.worker;
        let plugin = validate_connector(&worker.plugins, &worker.config, props).ok().map(|(p, _)| p);
        // Tasks are created by a fresh connector instance; it is not started.
        let instance = plugin.as_ref().map(Instance::new);
        let target = snapshot.target_state(&id.connector).unwrap_or(TargetState::Started);
        info!(task = %id, "starting task");
        let source = plugin.as_ref().is_some_and(|p| p.factory.kind() == "source");
        let handle = tasks::spawn_task_after(
            worker,
            TaskStart {
                props,
                instance: instance.as_ref(),
                task_props: config.clone(),
                id: id.task,
                paused: target == TargetState::Paused,
                topics: self.topics.entry(id.connector.clone()).or_default().clone(),
            },
            self.herder.preflight(&id.connector, source),
        );
        let version = plugin.as_ref().map(|p| p.version);
        self.tasks
            .insert(id.clone(), LocalTask { handle, config: config.clone(), connector_props: props.clone(), version });
    }

    /// Stops tasks together; their statuses become UNASSIGNED, or tombstones when `destroyed`.
    pub(super) async fn stop_tasks(&mut self, ids: &[TaskId], destroyed: bool) {
        let mut stopping = Vec::new();
        for id in ids {
            if let Some(task) = self.tasks.remove(id) {
                info!(task = %id, "stopping task");
                stopping.push((id.clone(), task));
            }
        }
        if stopping.is_empty() {
            return;
        }
        let handles = stopping.iter_mut().map(|(id, t)| {
            let placeholder = TaskHandle {
                status: t.handle.status.clone(),
                control: t.handle.control.clone(),
                join: tokio::spawn(async {}),
            };
            (id.task as usize, std::mem::replace(&mut t.handle, placeholder))
        });
        tasks::stop_all(&self.herder.worker, handles.collect()).await;
        let state = if destroyed { StatusState::Destroyed } else { StatusState::Unassigned };
        for (id, _) in stopping {
            self.write_task_status(&id, state, None).await;
        }
    }

    /// Stops every task and connector here (membership lost, or shutdown).
    pub(super) async fn stop_all(&mut self) {
        let ids = self.task_ids();
        self.stop_tasks(&ids, false).await;
        for name in self.connector_names() {
            self.stop_connector(&name, false).await;
        }
    }

    /// Restarts tasks of `connector` (all, or only the failed ones).
    pub(super) async fn restart_tasks(&mut self, connector: &str, only_failed: bool) {
        let ids: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(id, t)| {
                id.connector == connector && (!only_failed || t.handle.status.get().state == State::Failed)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.restart_task(&id).await;
        }
    }

    /// Stops a task (it flushes as it goes) and starts it again; false when not running here.
    pub(super) async fn restart_task(&mut self, id: &TaskId) -> bool {
        if !self.tasks.contains_key(id) {
            return false;
        }
        self.stop_tasks(std::slice::from_ref(id), false).await;
        let snapshot = self.herder.configs.snapshot();
        self.start_task(id, &snapshot);
        true
    }

    /// Tasks whose task config or connector config in `snapshot` differs from what they run
    /// (or that are gone): they must stop.
    pub(super) fn outdated_tasks(&self, snapshot: &ConfigSnapshot) -> (Vec<TaskId>, Vec<TaskId>) {
        let (mut changed, mut gone) = (Vec::new(), Vec::new());
        for (id, task) in &self.tasks {
            match (snapshot.task_config(id), snapshot.connector_config(&id.connector)) {
                (Some(c), Some(p)) if id.task < snapshot.task_count(&id.connector) => {
                    if *c != task.config || *p != task.connector_props {
                        changed.push(id.clone());
                    }
                }
                _ => gone.push(id.clone()),
            }
        }
        (changed, gone)
    }

    /// Marks the connector failed (an error it raised).
    pub(super) fn fail_connector(&self, name: &str, error: &ConnectError) {
        if let Some(local) = self.connectors.get(name) {
            warn!(connector = %name, error = %error, "connector raised an error");
            local.status.fail(error.trace());
        }
    }

    /// Writes the statuses that changed since last written.
    pub(super) async fn publish(&mut self) {
        let connectors: Vec<(String, StatusState, Option<String>)> = self
            .connectors
            .iter()
            .map(|(n, c)| {
                let s = c.status.get();
                (n.clone(), StatusState::from(s.state), s.trace)
            })
            .collect();
        for (name, state, trace) in connectors {
            self.write_connector_status(&name, state, trace).await;
        }
        let tasks: Vec<(TaskId, StatusState, Option<String>)> = self
            .tasks
            .iter()
            .map(|(id, t)| {
                let s = t.handle.status.get();
                (id.clone(), StatusState::from(s.state), s.trace)
            })
            .collect();
        for (id, state, trace) in tasks {
            self.write_task_status(&id, state, trace).await;
        }
        self.publish_topics().await;
    }

    /// Writes a topic record for each topic the tasks here used that the status topic lacks
    /// (as Kafka Connect: the `/topics` endpoint reads them). A record this worker wrote that
    /// is gone was reset (`PUT /connectors/{name}/topics/reset`): the local set is forgotten
    /// too, and the tasks record their topics again as they use them.
    async fn publish_topics(&mut self) {
        let topics: Vec<(String, ActiveTopics)> = self.topics.iter().map(|(c, t)| (c.clone(), t.clone())).collect();
        for (connector, active) in topics {
            let known: BTreeSet<String> =
                self.herder.statuses.connector_topics(&connector).into_iter().map(|t| t.topic).collect();
            let used = active.list();
            for topic in &used {
                if let Some(seen) = self.topics_written.get_mut(&(connector.clone(), topic.clone())) {
                    *seen |= known.contains(topic);
                }
            }
            let reset = used
                .iter()
                .any(|t| !known.contains(t) && self.topics_written.get(&(connector.clone(), t.clone())) == Some(&true));
            if reset {
                active.reset();
                self.topics_written.retain(|(c, _), _| *c != connector);
                continue;
            }
            let task = self.tasks.keys().filter(|id| id.connector == connector).map(|id| id.task).min().unwrap_or(0);
            for topic in used.into_iter().filter(|t| !known.contains(t)) {
                if self.topics_written.contains_key(&(connector.clone(), topic.clone())) {
                    continue;
                }
                let record = TopicStatus {
                    topic: topic.clone(),
                    connector: connector.clone(),
                    task: task as i32,
                    discover_timestamp: std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() as i64)
                        .unwrap_or_default(),
                };
                match self.herder.statuses.put_topic(record).await {
                    Ok(()) => {
                        self.topics_written.insert((connector.clone(), topic), false);
                    }
                    Err(e) => warn!(connector = %connector, topic = %topic, error = %e, "writing a topic status"),
                }
            }
        }
    }

    /// A status record; `version` is the connector plugin's (KIP-891), written only while the
    /// connector or task exists here, as Kafka Connect writes it.
    fn status(&self, state: StatusState, trace: Option<String>, version: Option<&str>) -> Status {
        let present = !matches!(state, StatusState::Unassigned | StatusState::Restarting | StatusState::Destroyed);
        Status {
            state,
            trace,
            worker_id: self.herder.worker.worker_id.clone(),
            generation: self.generation,
            version: version.filter(|_| present).map(str::to_owned),
        }
    }

    fn changed(&mut self, key: String, state: StatusState, trace: &Option<String>) -> bool {
        let now = (state, trace.clone(), self.generation);
        if self.published.get(&key) == Some(&now) {
            return false;
        }
        self.published.insert(key, now);
        true
    }

    async fn write_connector_status(&mut self, name: &str, state: StatusState, trace: Option<String>) {
        if !self.changed(format!("c/{name}"), state, &trace) {
            return;
        }
        let version = self.connectors.get(name).and_then(|c| c.plugin.as_ref()).map(|p| p.version);
        let status = self.status(state, trace, version);
        if let Err(e) = self.herder.statuses.put_connector(name, status, state != StatusState::Destroyed).await {
            warn!(connector = %name, error = %e, "could not write the connector status");
        }
    }

    async fn write_task_status(&mut self, id: &TaskId, state: StatusState, trace: Option<String>) {
        if !self.changed(format!("t/{id}"), state, &trace) {
            return;
        }
        let version = self.tasks.get(id).and_then(|t| t.version);
        let status = self.status(state, trace, version);
        if let Err(e) = self.herder.statuses.put_task(id, status, state != StatusState::Destroyed).await {
            warn!(task = %id, error = %e, "could not write the task status");
        }
    }
}
