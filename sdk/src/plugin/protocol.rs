//! The messages of the plugin ABI, serialized as JSON: calls from the host into the plugin,
//! callbacks from the plugin into the host, and the manifest a plugin declares.

use serde::{Deserialize, Serialize};

use super::wire::{
    WireConfigKey, WireConnectRecord, WireError, WireKeyValidation, WireRecordMetadata, WireSchema, WireSinkRecord,
    WireSourceRecord, WireTopicPartition, WireValue,
};
use crate::config::Props;
use crate::exactly_once::TransactionRequests;
use crate::record::OffsetMap;

/// The connectors, transforms, predicates and converters a plugin library holds.
///
/// The last three were added after the first release of ABI version 1: a manifest without
/// them (a plugin declaring only connectors) reads as declaring none, and a host that does not
/// know them ignores them, so the change needs no new ABI version. Any change to this file
/// changes the [`PROTOCOL`](super::PROTOCOL) fingerprint, though, and a host refuses a plugin
/// whose fingerprint is not its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// One entry per connector.
    pub connectors: Vec<ManifestConnector>,
    /// One entry per transform.
    #[serde(default)]
    pub transforms: Vec<ManifestComponent>,
    /// One entry per predicate.
    #[serde(default)]
    pub predicates: Vec<ManifestComponent>,
    /// One entry per converter.
    #[serde(default)]
    pub converters: Vec<ManifestComponent>,
    /// The [`PROTOCOL`](super::PROTOCOL) the plugin was built with; empty from a plugin built
    /// before manifests carried it.
    #[serde(default)]
    pub protocol: String,
}

/// One transform, predicate or converter of a [`Manifest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestComponent {
    /// Its class name.
    pub class: String,
    /// Other names it answers to.
    pub aliases: Vec<String>,
    /// Its version.
    pub version: String,
    /// One line on what it does.
    pub doc: String,
}

/// One connector of a [`Manifest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestConnector {
    /// Its class name.
    pub class: String,
    /// Other names it answers to.
    pub aliases: Vec<String>,
    /// Its version.
    pub version: String,
    /// `source` or `sink`.
    pub kind: String,
}

/// An instance (connector or task) living in the plugin, named by a number the plugin chose.
pub type Handle = u64;

/// A call from the host into the plugin. Calls naming one task never overlap (the task's
/// lifecycle); calls naming different instances may run concurrently.
#[derive(Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Call {
    /// A fresh connector of `class` -> [`Reply::Handle`].
    NewConnector {
        class: String,
    },
    /// -> [`Reply::ConfigDef`].
    ConfigDef {
        connector: Handle,
    },
    /// -> [`Reply::Validations`].
    Validate {
        connector: Handle,
        props: Props,
    },
    /// Starts the connector; the call carries the host's connector context.
    ConnectorStart {
        connector: Handle,
        props: Props,
    },
    /// -> [`Reply::TaskConfigs`].
    TaskConfigs {
        connector: Handle,
        max_tasks: usize,
    },
    /// -> [`Reply::Unit`].
    ConnectorStop {
        connector: Handle,
    },
    /// -> [`Reply::OptionalBool`] (`Some(true)` = supported).
    ExactlyOnceSupport {
        connector: Handle,
        props: Props,
    },
    /// -> [`Reply::Bool`].
    CanDefineTransactionBoundaries {
        connector: Handle,
        props: Props,
    },
    /// A fresh task of the connector -> [`Reply::Handle`].
    NewTask {
        connector: Handle,
    },
    /// Starts a source task; the call carries the host's task context.
    SourceStart {
        task: Handle,
        connector: String,
        task_id: u32,
        props: Props,
        /// The task defines transaction boundaries (`transaction.boundary=connector`): it gets
        /// a `TransactionContext`, whose requests the host takes after each poll.
        #[serde(default)]
        transactions: bool,
    },
    /// -> [`Reply::SourceRecords`].
    Poll {
        task: Handle,
    },
    /// What a task started with `transactions` asked of its transactions since the last time
    /// -> [`Reply::TransactionRequests`].
    TransactionRequests {
        task: Handle,
    },
    CommitRecord {
        task: Handle,
        record: Box<WireSourceRecord>,
        metadata: WireRecordMetadata,
    },
    Commit {
        task: Handle,
    },
    /// Starts a sink task; the call carries the host's task context.
    SinkStart {
        task: Handle,
        props: Props,
    },
    Put {
        task: Handle,
        records: Vec<WireSinkRecord>,
    },
    Flush {
        task: Handle,
        offsets: Vec<(WireTopicPartition, i64)>,
    },
    /// -> [`Reply::Offsets`].
    PreCommit {
        task: Handle,
        offsets: Vec<(WireTopicPartition, i64)>,
    },
    Open {
        task: Handle,
        partitions: Vec<WireTopicPartition>,
    },
    Close {
        task: Handle,
        partitions: Vec<WireTopicPartition>,
    },
    TaskStop {
        task: Handle,
    },
    /// A fresh, unconfigured transform of `class` -> [`Reply::Handle`].
    NewTransform {
        class: String,
    },
    /// A fresh, unconfigured predicate of `class` -> [`Reply::Handle`].
    NewPredicate {
        class: String,
    },
    /// A fresh, unconfigured converter of `class` -> [`Reply::Handle`].
    NewConverter {
        class: String,
    },
    /// The config definition of a transform, predicate or converter -> [`Reply::ConfigDef`].
    ComponentConfigDef {
        handle: Handle,
    },
    /// Configures a transform or predicate (`is_key` ignored) or a converter -> [`Reply::Unit`].
    Configure {
        handle: Handle,
        props: Props,
        is_key: bool,
    },
    /// `Transform::apply` of one record -> [`Reply::Record`] (`None`: dropped).
    Apply {
        transform: Handle,
        record: Box<WireConnectRecord>,
    },
    /// `Predicate::test` -> [`Reply::Bool`].
    Test {
        predicate: Handle,
        record: Box<WireConnectRecord>,
    },
    /// `Converter::encode` -> [`Reply::Bytes`].
    Encode {
        converter: Handle,
        topic: String,
        schema: Option<WireSchema>,
        value: WireValue,
    },
    /// `Converter::decode` of base64 bytes (`None`: null) -> [`Reply::SchemaAndValue`].
    Decode {
        converter: Handle,
        topic: String,
        bytes: Option<String>,
    },
    /// Drops an instance and the host context it holds.
    Drop {
        handle: Handle,
    },
}

/// What a [`Call`] returns.
#[derive(Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Reply {
    Unit,
    Handle(Handle),
    ConfigDef(Vec<WireConfigKey>),
    Validations(Vec<WireKeyValidation>),
    TaskConfigs(Vec<Props>),
    OptionalBool(Option<bool>),
    Bool(bool),
    SourceRecords(Vec<WireSourceRecord>),
    TransactionRequests(TransactionRequests),
    Offsets(Vec<(WireTopicPartition, i64)>),
    /// A transformed record, or `None` when the transform dropped it.
    Record(Option<Box<WireConnectRecord>>),
    /// Encoded bytes as base64, or `None` for null.
    Bytes(Option<String>),
    /// A decoded value and its schema.
    SchemaAndValue(Option<WireSchema>, WireValue),
}

/// The answer to a [`Call`]: a reply, or the error the connector returned (a panic in the
/// plugin is a fatal error whose message starts with `plugin panicked: `).
pub type CallResult = Result<Reply, WireError>;

/// A callback from the plugin into the host's context of one connector or task.
#[derive(Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum HostCall {
    /// `ConnectorContext::request_task_reconfiguration`.
    RequestReconfiguration,
    /// `ConnectorContext::raise_error`.
    RaiseError(WireError),
    /// `SourceTaskContext::offset` -> [`HostReply::Offset`].
    Offset(OffsetMap),
    /// `SourceTaskContext::report_progress`.
    ReportProgress(Option<String>),
    /// -> [`HostReply::Partitions`].
    Assignment,
    Pause(Vec<WireTopicPartition>),
    Resume(Vec<WireTopicPartition>),
    Rewind(Vec<(WireTopicPartition, i64)>),
    RequestCommit,
    /// Whether the sink task has an errant record reporter -> [`HostReply::Bool`].
    HasErrantReporter,
    /// `ErrantRecordReporter::report`; returns once the report is durable.
    ReportErrant {
        record: Box<WireSinkRecord>,
        error: WireError,
    },
}

/// One `tracing` event of a plugin, as its host logs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEvent {
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: String,
    /// The event's target (by default the plugin's module path).
    pub target: String,
    /// The event's message.
    pub message: String,
    /// Its other fields, rendered (`name`, `value`), in order.
    pub fields: Vec<(String, String)>,
    /// The plugin's own spans around it, outermost first, as `name{field=value ...}`.
    pub spans: Vec<String>,
}

/// What a [`HostCall`] returns.
#[derive(Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum HostReply {
    Unit,
    Offset(Option<OffsetMap>),
    Partitions(Vec<WireTopicPartition>),
    Bool(bool),
}

/// The answer to a [`HostCall`].
pub type HostResult = Result<HostReply, WireError>;
