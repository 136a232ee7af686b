//! The standalone herder: owns every connector on this worker, starts and stops connectors
//! and tasks, and answers the REST API's questions.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::{ConfigDef, ConnectError, ConnectorContext, PluginDescriptor, Props};
use serde::Serialize;
use serde_json::{json, Value as Json};
use tokio::sync::{mpsc, Mutex};
use tracing::{info, warn};

use crate::connector_config::{self, ConnectorConfig};
use crate::converter::{self, Converter};
use crate::exactly_once;
use crate::kafka::KafkaClients;
use crate::offsets::OffsetStore;
use crate::plugins::{with_task_class, Plugins};
use crate::status::{State, Status, StatusCell, Target};
use crate::task_context::ActiveTopics;
use crate::transforms;
use crate::worker_config::{strip_prefix, WorkerConfig};

pub(crate) mod offsets;
pub mod tasks;
use tasks::{await_stop, Instance, TaskHandle, TaskStart};

/// An error for the REST API: an HTTP status and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HerderError {
    /// HTTP status code.
    pub code: u16,
    /// What went wrong.
    pub message: String,
}

impl HerderError {
    /// An error with an HTTP status and a message.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        HerderError { code, message: message.into() }
    }
    /// 404 for an unknown connector.
    pub fn not_found(name: &str) -> Self {
        Self::new(404, format!("Connector {name} not found"))
    }
}

/// A herder result.
pub type HResult<T> = Result<T, HerderError>;

/// What the user wants a connector to be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    /// Running.
    Started,
    /// Paused: tasks hold still.
    Paused,
    /// Stopped: no tasks; offsets may be edited.
    Stopped,
}

/// What the worker shares with every connector.
pub struct Worker {
    /// The worker config.
    pub config: WorkerConfig,
    /// Kafka clients.
    pub clients: KafkaClients,
    /// Source offsets.
    pub store: Arc<dyn OffsetStore>,
    /// Known plugins.
    pub plugins: Plugins,
    /// `host:port` shown in statuses.
    pub worker_id: String,
}

struct ConnectorEntry {
    props: Props,
    plugin: PluginDescriptor,
    target: TargetState,
    instance: Option<Instance>,
    status: StatusCell,
    task_configs: Vec<Props>,
    tasks: Vec<TaskHandle>,
    topics: ActiveTopics,
}

impl ConnectorEntry {
    fn kind(&self) -> &'static str {
        self.plugin.factory.kind()
    }
}

enum Event {
    Reconfigure(String),
    Failed(String, ConnectError),
}

struct Context {
    name: String,
    events: mpsc::UnboundedSender<Event>,
}

impl ConnectorContext for Context {
    fn request_task_reconfiguration(&self) {
        let _ = self.events.send(Event::Reconfigure(self.name.clone()));
    }
    fn raise_error(&self, error: ConnectError) {
        let _ = self.events.send(Event::Failed(self.name.clone(), error));
    }
}

/// Connector info as `GET /connectors/{name}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorInfo {
    /// Name.
    pub name: String,
    /// Config.
    pub config: Props,
    /// Task ids.
    pub tasks: Vec<Json>,
    /// `source` or `sink`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// Owns the connectors of a standalone worker.
pub struct Herder {
    worker: Arc<Worker>,
    connectors: Mutex<BTreeMap<String, ConnectorEntry>>,
    events: mpsc::UnboundedSender<Event>,
}

impl Herder {
    /// A herder with no connectors; spawns its event loop.
    pub fn new(worker: Worker) -> Arc<Self> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let herder = Arc::new(Herder { worker: Arc::new(worker), connectors: Mutex::new(BTreeMap::new()), events: tx });
        let weak = Arc::downgrade(&herder);
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(herder) = weak.upgrade() else { break };
                herder.on_event(event).await;
            }
        });
        herder
    }

    /// The worker's shared parts.
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    async fn on_event(&self, event: Event) {
        let mut connectors = self.connectors.lock().await;
        match event {
            Event::Reconfigure(name) => {
                if let Some(entry) = connectors.get_mut(&name) {
                    if entry.target != TargetState::Stopped {
                        info!(connector = %name, "task reconfiguration requested");
                        self.reconfigure(entry, false).await;
                    }
                }
            }
            Event::Failed(name, error) => {
                if let Some(entry) = connectors.get_mut(&name) {
                    warn!(connector = %name, error = %error, "connector raised an error");
                    entry.status.fail(error.trace());
                }
            }
        }
    }

    /// The definition used to validate a plugin's config: common keys, kind keys, plugin keys.
    pub fn config_def(plugin: &PluginDescriptor) -> ConfigDef {
        let base =
            if plugin.factory.is_source() { connector_config::source_def() } else { connector_config::sink_def() };
        base.merge(&plugin.factory.config_def())
    }

    /// Validates `props` fully: common keys, the plugin's own keys, converters.
    pub fn validate(&self, props: &Props) -> HResult<(PluginDescriptor, ConnectorConfig)> {
        validate_connector(&self.worker.plugins, &self.worker.config, props)
    }

    /// Creates a connector, or replaces its config when `allow_update`; returns its info and
    /// whether it was created.
    pub async fn put_connector(&self, props: Props, allow_update: bool) -> HResult<(ConnectorInfo, bool)> {
        let (plugin, config) = self.validate(&props)?;
        let name = config.name().to_owned();
        let mut connectors = self.connectors.lock().await;
        let created = match connectors.get_mut(&name) {
            Some(_) if !allow_update => return Err(HerderError::new(409, format!("Connector {name} already exists"))),
            Some(entry) => {
                info!(connector = %name, "updating connector config");
                self.stop_entry(entry).await;
                entry.props = props;
                entry.plugin = plugin;
                false
            }
            None => {
                info!(connector = %name, class = plugin.class, "creating connector");
                connectors.insert(
                    name.clone(),
                    ConnectorEntry {
                        props,
                        plugin,
                        target: TargetState::Started,
                        instance: None,
                        status: StatusCell::new(State::Unassigned),
                        task_configs: Vec::new(),
                        tasks: Vec::new(),
                        topics: ActiveTopics::default(),
                    },
                );
                true
            }
        };
        let entry = connectors.get_mut(&name).ok_or_else(|| HerderError::not_found(&name))?;
        self.start_entry(&name, entry).await;
        Ok((info_of(&name, entry), created))
    }

    /// Starts the connector instance and, unless stopped, its tasks. Failures show in the status.
    async fn start_entry(&self, name: &str, entry: &mut ConnectorEntry) {
        if entry.target == TargetState::Stopped {
            entry.status.set(State::Stopped);
            return;
        }
        let mut instance = Instance::new(&entry.plugin);
        let context = Arc::new(Context { name: name.to_owned(), events: self.events.clone() });
        if let Err(e) = instance.connector().start(context, entry.props.clone()).await {
            warn!(connector = %name, error = %e, "connector failed to start");
            entry.status.fail(e.trace());
            return;
        }
        entry.instance = Some(instance);
        entry.status.set(if entry.target == TargetState::Paused { State::Paused } else { State::Running });
        self.reconfigure(entry, true).await;
    }

    /// Asks the connector for task configs; restarts tasks if they changed (or `force`).
    async fn reconfigure(&self, entry: &mut ConnectorEntry, force: bool) {
        let Some(instance) = entry.instance.as_mut() else { return };
        let max = entry.props.get("tasks.max").and_then(|v| v.trim().parse().ok()).unwrap_or(1usize);
        match instance.connector().task_configs(max) {
            Ok(mut configs) => {
                configs.truncate(max);
                let configs = with_task_class(&entry.plugin, &entry.props, configs);
                if !force && configs == entry.task_configs {
                    return;
                }
                self.stop_tasks(entry).await;
                entry.task_configs = configs;
                for id in 0..entry.task_configs.len() {
                    entry.tasks.push(self.spawn_task(entry, id as u32));
                }
            }
            Err(e) => entry.status.fail(e.trace()),
        }
    }

    fn spawn_task(&self, entry: &ConnectorEntry, id: u32) -> TaskHandle {
        tasks::spawn_task(
            &self.worker,
            TaskStart {
                props: &entry.props,
                instance: entry.instance.as_ref(),
                task_props: entry.task_configs.get(id as usize).cloned().unwrap_or_default(),
                id,
                paused: entry.target == TargetState::Paused,
                topics: entry.topics.clone(),
            },
        )
    }

    /// `task.shutdown.graceful.timeout.ms`.
    fn graceful_timeout(&self) -> Duration {
        tasks::graceful_timeout(&self.worker)
    }

    /// Shuts every task down together, waiting up to `task.shutdown.graceful.timeout.ms` in all.
    async fn stop_tasks(&self, entry: &mut ConnectorEntry) {
        tasks::stop_all(&self.worker, entry.tasks.drain(..).enumerate().collect()).await;
    }

    /// Stops tasks and the connector instance.
    async fn stop_entry(&self, entry: &mut ConnectorEntry) {
        self.stop_tasks(entry).await;
        if let Some(mut instance) = entry.instance.take() {
            if let Err(e) = instance.connector().stop().await {
                warn!(error = %e, "connector stop failed");
            }
        }
    }

    /// Connector names.
    pub async fn names(&self) -> Vec<String> {
        self.connectors.lock().await.keys().cloned().collect()
    }

    /// Connector info.
    pub async fn info(&self, name: &str) -> HResult<ConnectorInfo> {
        let connectors = self.connectors.lock().await;
        connectors.get(name).map(|e| info_of(name, e)).ok_or_else(|| HerderError::not_found(name))
    }

    /// Connector status, as `GET /connectors/{name}/status` shows it.
    pub async fn status(&self, name: &str) -> HResult<Json> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| HerderError::not_found(name))?;
        let (worker_id, version) = (&self.worker.worker_id, entry.plugin.version);
        let tasks: Vec<Json> = entry
            .tasks
            .iter()
            .enumerate()
            .map(|(id, t)| status_json(json!({"id": id}), &t.status.get(), worker_id, version))
            .collect();
        let connector = status_json(json!({}), &entry.status.get(), worker_id, version);
        let mut out = json!({"name": name, "connector": connector, "tasks": tasks, "type": entry.kind()});
        if entry.target == TargetState::Stopped {
            out["connector"]["state"] = json!("STOPPED");
        }
        Ok(out)
    }

    /// One task's status.
    pub async fn task_status(&self, name: &str, task: usize) -> HResult<Json> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| HerderError::not_found(name))?;
        let t = entry.tasks.get(task).ok_or_else(|| HerderError::new(404, format!("Task {name}-{task} not found")))?;
        Ok(status_json(json!({"id": task}), &t.status.get(), &self.worker.worker_id, entry.plugin.version))
    }

    /// Task configs, as `GET /connectors/{name}/tasks` shows them.
    pub async fn tasks(&self, name: &str) -> HResult<Json> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| HerderError::not_found(name))?;
        Ok(Json::Array(
            entry
                .task_configs
                .iter()
                .enumerate()
                .map(|(id, c)| json!({"id": {"connector": name, "task": id}, "config": c}))
                .collect(),
        ))
    }

    /// Deletes a connector (its offsets stay).
    pub async fn delete(&self, name: &str) -> HResult<()> {
        let mut connectors = self.connectors.lock().await;
        let mut entry = connectors.remove(name).ok_or_else(|| HerderError::not_found(name))?;
        self.stop_entry(&mut entry).await;
        tasks::forget_connector(&self.worker, name, entry.kind());
        info!(connector = %name, "deleted connector");
        Ok(())
    }

    /// Pauses, resumes or stops a connector.
    pub async fn set_target(&self, name: &str, target: TargetState) -> HResult<()> {
        let mut connectors = self.connectors.lock().await;
        let entry = connectors.get_mut(name).ok_or_else(|| HerderError::not_found(name))?;
        let previous = entry.target;
        entry.target = target;
        match target {
            TargetState::Stopped => {
                self.stop_entry(entry).await;
                entry.task_configs.clear();
                entry.status.set(State::Stopped);
            }
            TargetState::Paused | TargetState::Started if previous == TargetState::Stopped => {
                self.start_entry(name, entry).await;
            }
            TargetState::Paused | TargetState::Started => {
                let task_target = if target == TargetState::Paused { Target::Paused } else { Target::Running };
                for t in &entry.tasks {
                    let _ = t.control.send(task_target);
                }
                if entry.status.get().state != State::Failed {
                    entry.status.set(if target == TargetState::Paused { State::Paused } else { State::Running });
                }
            }
        }
        info!(connector = %name, ?target, "target state changed");
        Ok(())
    }

    /// Restarts the connector and/or its tasks, Kafka Connect's `restart` semantics.
    pub async fn restart(&self, name: &str, include_tasks: bool, only_failed: bool) -> HResult<()> {
        let mut connectors = self.connectors.lock().await;
        let entry = connectors.get_mut(name).ok_or_else(|| HerderError::not_found(name))?;
        let connector_failed = entry.status.get().state == State::Failed;
        if !only_failed || connector_failed {
            if include_tasks {
                self.stop_entry(entry).await;
            } else if let Some(mut instance) = entry.instance.take() {
                let _ = instance.connector().stop().await;
            }
            entry.status.set(State::Restarting);
            if include_tasks || entry.tasks.is_empty() {
                self.start_entry(name, entry).await;
                return Ok(());
            }
            // Restart only the connector instance; keep the running tasks.
            let mut instance = Instance::new(&entry.plugin);
            let context = Arc::new(Context { name: name.to_owned(), events: self.events.clone() });
            match instance.connector().start(context, entry.props.clone()).await {
                Ok(()) => {
                    entry.instance = Some(instance);
                    entry.status.set(if entry.target == TargetState::Paused { State::Paused } else { State::Running });
                }
                Err(e) => entry.status.fail(e.trace()),
            }
            return Ok(());
        }
        if include_tasks {
            let failed: Vec<usize> = entry
                .tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| t.status.get().state == State::Failed)
                .map(|(i, _)| i)
                .collect();
            for id in failed {
                self.restart_task_in(entry, id).await;
            }
        }
        Ok(())
    }

    /// Restarts one task.
    pub async fn restart_task(&self, name: &str, task: usize) -> HResult<()> {
        let mut connectors = self.connectors.lock().await;
        let entry = connectors.get_mut(name).ok_or_else(|| HerderError::not_found(name))?;
        if task >= entry.tasks.len() {
            return Err(HerderError::new(404, format!("Task {name}-{task} not found")));
        }
        self.restart_task_in(entry, task).await;
        Ok(())
    }

    /// Stops task `id` (it flushes its offsets and commits as it goes), then starts it again:
    /// two copies of one task never run at once.
    async fn restart_task_in(&self, entry: &mut ConnectorEntry, id: usize) {
        let old = &mut entry.tasks[id];
        let _ = old.control.send(Target::Shutdown);
        old.status.set(State::Restarting);
        let join = std::mem::replace(&mut old.join, tokio::spawn(async {}));
        await_stop(id, join, tokio::time::Instant::now() + self.graceful_timeout()).await;
        entry.tasks[id] = self.spawn_task(entry, id as u32);
    }

    /// Topics the connector used (KIP-558).
    pub async fn topics(&self, name: &str) -> HResult<Vec<String>> {
        let connectors = self.connectors.lock().await;
        Ok(connectors.get(name).ok_or_else(|| HerderError::not_found(name))?.topics.list())
    }

    /// Forgets the connector's topics.
    pub async fn reset_topics(&self, name: &str) -> HResult<()> {
        let connectors = self.connectors.lock().await;
        connectors.get(name).ok_or_else(|| HerderError::not_found(name))?.topics.reset();
        Ok(())
    }

    /// Stops every connector and task; offsets are flushed by the tasks as they stop.
    pub async fn shutdown(&self) {
        let mut connectors = self.connectors.lock().await;
        for (name, entry) in connectors.iter_mut() {
            info!(connector = %name, "stopping");
            self.stop_entry(entry).await;
        }
    }
}

/// Validates a connector config fully before any I/O: common keys, the plugin's own keys, converters.
pub fn validate_connector(
    plugins: &Plugins,
    worker: &WorkerConfig,
    props: &Props,
) -> HResult<(PluginDescriptor, ConnectorConfig)> {
    let class = props.get("connector.class").map(String::as_str).unwrap_or_default();
    let plugin = plugins
        .find_version(class, props.get("connector.plugin.version").map(String::as_str))
        .cloned()
        .map_err(|e| HerderError::new(400, e.to_string()))?;
    let (def, problems) = transforms::enrich(Herder::config_def(&plugin), plugins, props);
    let mut errors: Vec<String> = problems.into_iter().map(|(_, message)| message).collect();
    for error in def.validate(props).into_iter().chain(plugin.factory.validate(props)).flat_map(|k| k.errors) {
        if !errors.contains(&error) {
            errors.push(error);
        }
    }
    for error in exactly_once::preflight_errors(&plugin, worker, props) {
        if !errors.contains(&error) {
            errors.push(error);
        }
    }
    if errors.is_empty() {
        if let Err(e) = build_converters(plugins, worker, props) {
            errors.push(e.to_string());
        }
    }
    if !errors.is_empty() {
        return Err(HerderError::new(
            400,
            format!(
                "Connector configuration is invalid and contains the following {} error(s):\n{}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{}/config/validate`",
                errors.len(),
                errors.join("\n"),
                plugin.class
            ),
        ));
    }
    let config = ConnectorConfig::parse(&def, props).map_err(|e| HerderError::new(400, e.to_string()))?;
    Ok((plugin, config))
}

/// A task's converters: of keys, of values and of header values.
pub(crate) struct Converters {
    pub key: Arc<dyn Converter>,
    pub value: Arc<dyn Converter>,
    pub header: Arc<dyn Converter>,
}

/// The connector's key, value and header converters: its own `key.converter`,
/// `value.converter` and `header.converter`, else the worker's, found in the registry (built-ins
/// and plugins).
pub(crate) fn build_converters(
    plugins: &Plugins,
    worker: &WorkerConfig,
    props: &Props,
) -> aqueduct_sdk::Result<Converters> {
    let build = |which: &str| -> aqueduct_sdk::Result<Arc<dyn Converter>> {
        let key = format!("{which}.converter");
        let (class, settings) = match props.get(&key).filter(|c| !c.is_empty()) {
            Some(class) => (class.clone(), strip_prefix(props, &format!("{key}."))),
            None => (worker.string(&key).to_owned(), worker.with_prefix(&format!("{key}."))),
        };
        Ok(Arc::from(converter::resolve(plugins, &key, &class, &settings)?))
    };
    Ok(Converters { key: build("key")?, value: build("value")?, header: build("header")? })
}

fn info_of(name: &str, entry: &ConnectorEntry) -> ConnectorInfo {
    ConnectorInfo {
        name: name.to_owned(),
        config: entry.props.clone(),
        tasks: (0..entry.task_configs.len()).map(|i| json!({"connector": name, "task": i})).collect(),
        kind: entry.kind(),
    }
}

/// Kafka Connect's status object; `version` is the connector plugin's (KIP-891), shown only for
/// a connector or task that exists (not UNASSIGNED or RESTARTING), as Kafka Connect shows it.
fn status_json(mut base: Json, status: &Status, worker_id: &str, version: &str) -> Json {
    base["state"] = json!(status.state);
    base["worker_id"] = json!(worker_id);
    if !matches!(status.state, State::Unassigned | State::Restarting) {
        base["version"] = json!(version);
    }
    if let Some(trace) = &status.trace {
        base["trace"] = json!(trace);
    }
    if let Some(progress) = &status.progress {
        base["progress"] = json!(progress);
    }
    base
}
