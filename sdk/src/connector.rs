//! Connectors: validate a configuration and split the work into task configurations.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{ConfigDef, KeyValidation, Props};
use crate::exactly_once::ExactlyOnceSupport;
use crate::task::{SinkTask, SourceTask};
use crate::{ConnectError, Result};

/// What a running connector may ask of the runtime.
pub trait ConnectorContext: Send + Sync {
    /// The work changed (new tables, new files): the runtime calls `task_configs` again and
    /// restarts the tasks if their configurations differ.
    fn request_task_reconfiguration(&self);
    /// The connector hit an error it cannot recover from: the runtime marks it FAILED.
    fn raise_error(&self, error: ConnectError);
}

/// What source and sink connectors share.
///
/// Lifecycle: `config_def`/`validate` may be called at any time on a fresh instance; then
/// `start` once, `task_configs` any number of times, and `stop` once.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The keys this connector understands; drives validation and the REST plugin API.
    fn config_def(&self) -> ConfigDef;

    /// Validates a configuration without I/O. The default checks every key of [`Connector::config_def`].
    fn validate(&self, props: &Props) -> Vec<KeyValidation> {
        self.config_def().validate(props)
    }

    /// Starts the connector with its full configuration.
    async fn start(&mut self, context: Arc<dyn ConnectorContext>, props: Props) -> Result<()>;

    /// Splits the work into at most `max_tasks` task configurations.
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>>;

    /// The Kafka Connect task class of this connector's tasks when it stands in for the Kafka
    /// Connect connector `kafka_connect_class` (one of its qualified aliases), like Kafka
    /// Connect's `Connector.taskClass()`. The runtime writes it as `task.class` into every task
    /// config, so that a Kafka Connect worker sharing the config topic can run them; `None` (the
    /// default) makes it `<kafka_connect_class>Task`.
    fn kafka_connect_task_class(&self, kafka_connect_class: &str) -> Option<&'static str> {
        let _ = kafka_connect_class;
        None
    }

    /// Stops the connector; release anything `start` acquired.
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A connector that reads from an external system into Kafka.
pub trait SourceConnector: Connector {
    /// A new, unstarted task.
    fn create_task(&self) -> Box<dyn SourceTask>;

    /// Whether this configuration can deliver exactly once (see [`crate::exactly_once`]);
    /// `None`, the default, means the connector does not say, and
    /// `exactly.once.support=required` is then refused.
    fn exactly_once_support(&self, _props: &Props) -> Option<ExactlyOnceSupport> {
        None
    }

    /// Whether its tasks define transaction boundaries themselves through the
    /// [`TransactionContext`](crate::TransactionContext), as `transaction.boundary=connector`
    /// needs. The default is no.
    fn can_define_transaction_boundaries(&self, _props: &Props) -> bool {
        false
    }
}

/// A connector that writes from Kafka into an external system.
pub trait SinkConnector: Connector {
    /// A new, unstarted task.
    fn create_task(&self) -> Box<dyn SinkTask>;
}

/// Creates a source connector, as a closure: what a plugin loaded at run time supplies.
pub type SharedSourceFactory = Arc<dyn Fn() -> Box<dyn SourceConnector> + Send + Sync>;
/// Creates a sink connector, as a closure: what a plugin loaded at run time supplies.
pub type SharedSinkFactory = Arc<dyn Fn() -> Box<dyn SinkConnector> + Send + Sync>;

/// Creates fresh connector instances of one plugin.
///
/// Built-in connectors name a function (`ConnectorFactory::Source(|| Box::new(...))` in a
/// `const`); a connector loaded at run time from `plugin.path` is a closure over its library
/// (the `Shared*` variants).
#[derive(Clone)]
pub enum ConnectorFactory {
    /// A source connector.
    Source(fn() -> Box<dyn SourceConnector>),
    /// A sink connector.
    Sink(fn() -> Box<dyn SinkConnector>),
    /// A source connector made by a closure.
    SharedSource(SharedSourceFactory),
    /// A sink connector made by a closure.
    SharedSink(SharedSinkFactory),
}

impl ConnectorFactory {
    /// `"source"` or `"sink"`, as the REST API names plugin types.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorFactory::Source(_) | ConnectorFactory::SharedSource(_) => "source",
            ConnectorFactory::Sink(_) | ConnectorFactory::SharedSink(_) => "sink",
        }
    }
    /// True for a source connector.
    pub fn is_source(&self) -> bool {
        self.kind() == "source"
    }
    /// A fresh source connector; `None` for a sink.
    pub fn new_source(&self) -> Option<Box<dyn SourceConnector>> {
        match self {
            ConnectorFactory::Source(f) => Some(f()),
            ConnectorFactory::SharedSource(f) => Some(f()),
            _ => None,
        }
    }
    /// A fresh sink connector; `None` for a source.
    pub fn new_sink(&self) -> Option<Box<dyn SinkConnector>> {
        match self {
            ConnectorFactory::Sink(f) => Some(f()),
            ConnectorFactory::SharedSink(f) => Some(f()),
            _ => None,
        }
    }
    /// The config definition of a fresh instance.
    pub fn config_def(&self) -> ConfigDef {
        match (self.new_source(), self.new_sink()) {
            (Some(c), _) => c.config_def(),
            (_, Some(c)) => c.config_def(),
            _ => ConfigDef::new(),
        }
    }
    /// Validates `props` on a fresh instance.
    pub fn validate(&self, props: &Props) -> Vec<KeyValidation> {
        match (self.new_source(), self.new_sink()) {
            (Some(c), _) => c.validate(props),
            (_, Some(c)) => c.validate(props),
            _ => Vec::new(),
        }
    }
}

/// A connector plugin as the runtime registers it.
///
/// A plugin loaded at run time has its names leaked to `'static`: libraries are loaded once,
/// at start, and never unloaded.
#[derive(Clone)]
pub struct PluginDescriptor {
    /// The name used in `connector.class`, e.g. `"FileStreamSource"`.
    pub class: &'static str,
    /// Other accepted names, e.g. Kafka Connect's `"org.apache.kafka.connect.file.FileStreamSourceConnector"`.
    pub aliases: &'static [&'static str],
    /// The plugin version.
    pub version: &'static str,
    /// Creates instances.
    pub factory: ConnectorFactory,
}

impl PluginDescriptor {
    /// True when `name` is the class or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.class == name || self.aliases.contains(&name)
    }
}
