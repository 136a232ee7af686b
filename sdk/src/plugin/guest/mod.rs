//! The plugin side (feature `plugin`): the state behind the symbols [`declare_plugin!`]
//! exports, the tokio runtime the plugin owns, and the dispatch of each [`Call`] to the
//! connector, task, transform, predicate or converter it names.
//!
//! [`declare_plugin!`]: crate::declare_plugin

mod components;
mod ffi;
mod host;
mod log;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

pub use ffi::{call, declaration, free, set_logger};
use ffi::{panic_error, HostRef};
use host::{Host, SinkContext};

use super::protocol::{Call, CallResult, Handle, Manifest, ManifestComponent, ManifestConnector, Reply};
use super::wire::{
    config_def_out, offsets_in, offsets_out, partitions_in, WireError, WireKeyValidation, WireSourceRecord,
};
use crate::{
    ConnectError, Converter, ConverterDescriptor, ExactlyOnceSupport, PluginDescriptor, Predicate, PredicateDescriptor,
    RecordMetadata, SinkConnector, SinkRecord, SinkTask, SourceConnector, SourceRecord, SourceTask, SourceTaskContext,
    TransactionContext, Transform, TransformDescriptor,
};

/// What a plugin declares, as [`declare_plugin!`](crate::declare_plugin) collects it.
pub struct Declared {
    /// Its connectors.
    pub connectors: Vec<PluginDescriptor>,
    /// Its transforms.
    pub transforms: Vec<TransformDescriptor>,
    /// Its predicates.
    pub predicates: Vec<PredicateDescriptor>,
    /// Its converters.
    pub converters: Vec<ConverterDescriptor>,
}

/// Everything the plugin keeps between calls. Lives in a static for the life of the process
/// (a host never unloads a plugin).
pub(crate) struct State {
    declared: Declared,
    pub(crate) manifest: String,
    runtime: OnceLock<Result<tokio::runtime::Runtime, String>>,
    instances: Mutex<HashMap<Handle, Arc<tokio::sync::Mutex<Instance>>>>,
    /// The host context each started connector and task logs in.
    hosts: Mutex<HashMap<Handle, Host>>,
    next: AtomicU64,
}

enum Instance {
    Source(Box<dyn SourceConnector>),
    Sink(Box<dyn SinkConnector>),
    /// With the task's transaction context, when it defines transaction boundaries.
    SourceTask(Box<dyn SourceTask>, Option<TransactionContext>),
    SinkTask(Box<dyn SinkTask>),
    Transform(Box<dyn Transform>),
    Predicate(Box<dyn Predicate>),
    Converter(Box<dyn Converter>),
}

static STATE: OnceLock<State> = OnceLock::new();

fn component(class: &str, aliases: &[&str], version: &str, doc: &str) -> ManifestComponent {
    ManifestComponent {
        class: class.to_owned(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        version: version.to_owned(),
        doc: doc.to_owned(),
    }
}

/// The plugin's state, made on first use from what it declares.
pub(crate) fn state(declared: fn() -> Declared, _sdk_version: &'static str) -> &'static State {
    STATE.get_or_init(|| {
        let declared = declared();
        let manifest = Manifest {
            connectors: declared
                .connectors
                .iter()
                .map(|d| ManifestConnector {
                    class: d.class.to_owned(),
                    aliases: d.aliases.iter().map(|a| (*a).to_owned()).collect(),
                    version: d.version.to_owned(),
                    kind: d.factory.kind().to_owned(),
                })
                .collect(),
            transforms: declared.transforms.iter().map(|d| component(d.class, d.aliases, d.version, d.doc)).collect(),
            predicates: declared.predicates.iter().map(|d| component(d.class, d.aliases, d.version, d.doc)).collect(),
            converters: declared.converters.iter().map(|d| component(d.class, d.aliases, d.version, d.doc)).collect(),
            protocol: super::PROTOCOL.to_owned(),
        };
        let manifest = serde_json::to_string(&manifest).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        State {
            declared,
            manifest,
            runtime: OnceLock::new(),
            instances: Mutex::new(HashMap::new()),
            hosts: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    })
}

impl State {
    fn runtime(&self) -> Result<&tokio::runtime::Runtime, WireError> {
        let runtime = self.runtime.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("aqueduct-plugin")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        });
        runtime.as_ref().map_err(|e| fatal(format!("starting the plugin's runtime: {e}")))
    }

    fn instances(&self) -> std::sync::MutexGuard<'_, HashMap<Handle, Arc<tokio::sync::Mutex<Instance>>>> {
        self.instances.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn hosts(&self) -> std::sync::MutexGuard<'_, HashMap<Handle, Host>> {
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The host context `call` logs in: the one it carries (a start, whose instance keeps it
    /// from then on), else the one its instance was started with.
    fn log_context(&self, call: &Call, host: Option<&Host>) -> Option<Host> {
        let instance = instance_of(call)?;
        match host {
            Some(host) => {
                self.hosts().insert(instance, host.clone());
                Some(host.clone())
            }
            None => self.hosts().get(&instance).cloned(),
        }
    }

    fn insert(&self, instance: Instance) -> Handle {
        let handle = self.next.fetch_add(1, Ordering::Relaxed);
        self.instances().insert(handle, Arc::new(tokio::sync::Mutex::new(instance)));
        handle
    }

    fn get(&self, handle: Handle) -> Result<Arc<tokio::sync::Mutex<Instance>>, WireError> {
        self.instances().get(&handle).cloned().ok_or_else(|| fatal(format!("no plugin instance {handle}")))
    }
}

fn fatal(message: String) -> WireError {
    WireError::from(&ConnectError::fatal(message))
}

fn wrong(handle: Handle, wanted: &str) -> WireError {
    fatal(format!("plugin instance {handle} is not a {wanted}"))
}

fn unit(result: crate::Result<()>) -> CallResult {
    result.map(|()| Reply::Unit).map_err(|e| WireError::from(&e))
}

fn err(e: ConnectError) -> WireError {
    WireError::from(&e)
}

/// Runs one call to completion on the plugin's runtime. The future runs on the runtime's
/// workers, so a panic in it comes back as the join error, and the calling (host) thread only
/// waits.
pub(crate) fn handle(state: &'static State, call: Call, host: Option<HostRef>) -> CallResult {
    let runtime = state.runtime()?;
    let host = host.map(|h| Host(Arc::new(h)));
    let context = state.log_context(&call, host.as_ref());
    let task = runtime.spawn(log::in_context(context, dispatch(state, call, host)));
    match runtime.block_on(task) {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(panic_error(e.into_panic())),
        Err(e) => Err(fatal(format!("plugin call cancelled: {e}"))),
    }
}

/// The connector or task instance a call is about.
fn instance_of(call: &Call) -> Option<Handle> {
    match call {
        Call::ConfigDef { connector }
        | Call::Validate { connector, .. }
        | Call::ConnectorStart { connector, .. }
        | Call::TaskConfigs { connector, .. }
        | Call::ConnectorStop { connector }
        | Call::ExactlyOnceSupport { connector, .. }
        | Call::CanDefineTransactionBoundaries { connector, .. }
        | Call::NewTask { connector } => Some(*connector),
        Call::SourceStart { task, .. }
        | Call::Poll { task }
        | Call::TransactionRequests { task }
        | Call::CommitRecord { task, .. }
        | Call::Commit { task }
        | Call::SinkStart { task, .. }
        | Call::Put { task, .. }
        | Call::Flush { task, .. }
        | Call::PreCommit { task, .. }
        | Call::Open { task, .. }
        | Call::Close { task, .. }
        | Call::TaskStop { task } => Some(*task),
        _ => None,
    }
}

/// Waits for the instance behind `handle` (a call in progress on it finishes first).
async fn lock(state: &'static State, handle: Handle) -> Result<tokio::sync::OwnedMutexGuard<Instance>, WireError> {
    Ok(state.get(handle)?.lock_owned().await)
}

async fn dispatch(state: &'static State, call: Call, host: Option<Host>) -> CallResult {
    let need_host = || host.clone().ok_or_else(|| fatal("the call carries no host context".to_owned()));
    match call {
        Call::NewConnector { class } => {
            let descriptor = state
                .declared
                .connectors
                .iter()
                .find(|d| d.answers_to(&class))
                .ok_or_else(|| fatal(format!("this plugin has no connector {class}")))?;
            let instance = match descriptor.factory.kind() {
                "source" => descriptor.factory.new_source().map(Instance::Source),
                _ => descriptor.factory.new_sink().map(Instance::Sink),
            };
            let instance = instance.ok_or_else(|| fatal(format!("connector {class} has no factory")))?;
            Ok(Reply::Handle(state.insert(instance)))
        }
        Call::ConfigDef { connector } => match &mut *lock(state, connector).await? {
            Instance::Source(c) => Ok(Reply::ConfigDef(config_def_out(&c.config_def()))),
            Instance::Sink(c) => Ok(Reply::ConfigDef(config_def_out(&c.config_def()))),
            _ => Err(wrong(connector, "connector")),
        },
        Call::Validate { connector, props } => {
            let validations = match &mut *lock(state, connector).await? {
                Instance::Source(c) => c.validate(&props),
                Instance::Sink(c) => c.validate(&props),
                _ => return Err(wrong(connector, "connector")),
            };
            Ok(Reply::Validations(validations.iter().map(WireKeyValidation::from).collect()))
        }
        Call::ConnectorStart { connector, props } => {
            let context = Arc::new(need_host()?);
            match &mut *lock(state, connector).await? {
                Instance::Source(c) => unit(c.start(context, props).await),
                Instance::Sink(c) => unit(c.start(context, props).await),
                _ => Err(wrong(connector, "connector")),
            }
        }
        Call::TaskConfigs { connector, max_tasks } => match &mut *lock(state, connector).await? {
            Instance::Source(c) => c.task_configs(max_tasks).map(Reply::TaskConfigs).map_err(err),
            Instance::Sink(c) => c.task_configs(max_tasks).map(Reply::TaskConfigs).map_err(err),
            _ => Err(wrong(connector, "connector")),
        },
        Call::ConnectorStop { connector } => match &mut *lock(state, connector).await? {
            Instance::Source(c) => unit(c.stop().await),
            Instance::Sink(c) => unit(c.stop().await),
            _ => Err(wrong(connector, "connector")),
        },
        Call::ExactlyOnceSupport { connector, props } => match &mut *lock(state, connector).await? {
            Instance::Source(c) => {
                Ok(Reply::OptionalBool(c.exactly_once_support(&props).map(|s| s == ExactlyOnceSupport::Supported)))
            }
            _ => Err(wrong(connector, "source connector")),
        },
        Call::CanDefineTransactionBoundaries { connector, props } => match &mut *lock(state, connector).await? {
            Instance::Source(c) => Ok(Reply::Bool(c.can_define_transaction_boundaries(&props))),
            _ => Err(wrong(connector, "source connector")),
        },
        Call::NewTask { connector } => {
            let task = match &mut *lock(state, connector).await? {
                Instance::Source(c) => Instance::SourceTask(c.create_task(), None),
                Instance::Sink(c) => Instance::SinkTask(c.create_task()),
                _ => return Err(wrong(connector, "connector")),
            };
            Ok(Reply::Handle(state.insert(task)))
        }
        Call::SourceStart { task, connector, task_id, props, transactions } => {
            let host = need_host()?;
            let mut context =
                SourceTaskContext::new(connector, task_id, Arc::new(host.clone())).with_progress(Arc::new(host));
            let transactions = transactions.then(TransactionContext::new);
            if let Some(transactions) = &transactions {
                context = context.with_transactions(transactions.clone());
            }
            match &mut *lock(state, task).await? {
                Instance::SourceTask(t, kept) => {
                    *kept = transactions;
                    unit(t.start(context, props).await)
                }
                _ => Err(wrong(task, "source task")),
            }
        }
        Call::TransactionRequests { task } => match &mut *lock(state, task).await? {
            Instance::SourceTask(_, transactions) => Ok(Reply::TransactionRequests(
                transactions.as_ref().map(TransactionContext::take_requests).unwrap_or_default(),
            )),
            _ => Err(wrong(task, "source task")),
        },
        Call::Poll { task } => match &mut *lock(state, task).await? {
            Instance::SourceTask(t, _) => match t.poll().await {
                Ok(records) => Ok(Reply::SourceRecords(records.iter().map(WireSourceRecord::from).collect())),
                Err(e) => Err(err(e)),
            },
            _ => Err(wrong(task, "source task")),
        },
        Call::CommitRecord { task, record, metadata } => {
            let record = SourceRecord::try_from(*record).map_err(err)?;
            let metadata = RecordMetadata::from(metadata);
            match &mut *lock(state, task).await? {
                Instance::SourceTask(t, _) => unit(t.commit_record(&record, &metadata).await),
                _ => Err(wrong(task, "source task")),
            }
        }
        Call::Commit { task } => match &mut *lock(state, task).await? {
            Instance::SourceTask(t, _) => unit(t.commit().await),
            _ => Err(wrong(task, "source task")),
        },
        Call::SinkStart { task, props } => {
            let context = Arc::new(SinkContext::new(need_host()?).map_err(err)?);
            match &mut *lock(state, task).await? {
                Instance::SinkTask(t) => unit(t.start(context, props).await),
                _ => Err(wrong(task, "sink task")),
            }
        }
        Call::Put { task, records } => {
            let records = records.into_iter().map(SinkRecord::try_from).collect::<Result<Vec<_>, _>>().map_err(err)?;
            match &mut *lock(state, task).await? {
                Instance::SinkTask(t) => unit(t.put(&records).await),
                _ => Err(wrong(task, "sink task")),
            }
        }
        Call::Flush { task, offsets } => match &mut *lock(state, task).await? {
            Instance::SinkTask(t) => unit(t.flush(&offsets_in(offsets)).await),
            _ => Err(wrong(task, "sink task")),
        },
        Call::PreCommit { task, offsets } => match &mut *lock(state, task).await? {
            Instance::SinkTask(t) => match t.pre_commit(&offsets_in(offsets)).await {
                Ok(done) => Ok(Reply::Offsets(offsets_out(&done))),
                Err(e) => Err(err(e)),
            },
            _ => Err(wrong(task, "sink task")),
        },
        Call::Open { task, partitions } => match &mut *lock(state, task).await? {
            Instance::SinkTask(t) => unit(t.open(&partitions_in(partitions)).await),
            _ => Err(wrong(task, "sink task")),
        },
        Call::Close { task, partitions } => match &mut *lock(state, task).await? {
            Instance::SinkTask(t) => unit(t.close(&partitions_in(partitions)).await),
            _ => Err(wrong(task, "sink task")),
        },
        Call::TaskStop { task } => match &mut *lock(state, task).await? {
            Instance::SourceTask(t, _) => unit(t.stop().await),
            Instance::SinkTask(t) => unit(t.stop().await),
            _ => Err(wrong(task, "task")),
        },
        call @ (Call::NewTransform { .. }
        | Call::NewPredicate { .. }
        | Call::NewConverter { .. }
        | Call::ComponentConfigDef { .. }
        | Call::Configure { .. }
        | Call::Apply { .. }
        | Call::Test { .. }
        | Call::Encode { .. }
        | Call::Decode { .. }) => components::dispatch(state, call).await,
        Call::Drop { handle } => {
            // Without waiting: a call still in progress on it (a poll the host stopped waiting
            // for) holds the last reference, and the instance is dropped, on this runtime,
            // when that call returns.
            drop(state.instances().remove(&handle));
            drop(state.hosts().remove(&handle));
            Ok(Reply::Unit)
        }
    }
}
