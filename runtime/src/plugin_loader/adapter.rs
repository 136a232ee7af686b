//! The SDK's connector and task traits over a loaded plugin: every method is one call into
//! the library, its arguments and results in their wire form.

use std::sync::{Arc, OnceLock};

use aqueduct_sdk::plugin::protocol::{Call, Reply};
use aqueduct_sdk::plugin::wire::{
    config_def_in, offsets_in, offsets_out, partitions_out, WireRecordMetadata, WireSinkRecord, WireSourceRecord,
};
use aqueduct_sdk::{
    async_trait, ConfigDef, ConnectError, Connector, ConnectorContext, ExactlyOnceSupport, KeyValidation, Props,
    RecordMetadata, Result, SinkConnector, SinkRecord, SinkTask, SinkTaskContext, SourceConnector, SourceRecord,
    SourceTask, SourceTaskContext, TopicPartition, TopicPartitionOffsets, TransactionContext,
};
use tracing::warn;

use super::callbacks::{HostContext, Target};
use super::client::{unexpected, PluginClient, Remote};

/// A connector of a plugin, source or sink. The instance in the plugin is created on first use.
pub struct PluginConnector {
    client: PluginClient,
    class: String,
    remote: OnceLock<std::result::Result<Remote, String>>,
}

impl PluginConnector {
    /// A connector of `class` in the plugin behind `client`.
    pub fn new(client: PluginClient, class: &str) -> Self {
        PluginConnector { client, class: class.to_owned(), remote: OnceLock::new() }
    }

    fn remote(&self) -> Result<&Remote> {
        let remote =
            self.remote.get_or_init(|| match self.client.call_sync(Call::NewConnector { class: self.class.clone() }) {
                Ok(Reply::Handle(handle)) => Ok(Remote { client: self.client.clone(), handle }),
                Ok(other) => Err(unexpected(&other).to_string()),
                Err(e) => Err(e.to_string()),
            });
        remote.as_ref().map_err(|e| ConnectError::fatal(e.clone()))
    }

    fn sync(&self, call: impl FnOnce(u64) -> Call) -> Result<Reply> {
        let remote = self.remote()?;
        remote.client.call_sync(call(remote.handle))
    }

    fn new_task(&self) -> std::result::Result<Remote, String> {
        match self.sync(|connector| Call::NewTask { connector }) {
            Ok(Reply::Handle(handle)) => Ok(Remote { client: self.client.clone(), handle }),
            Ok(other) => Err(unexpected(&other).to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[async_trait]
impl Connector for PluginConnector {
    fn config_def(&self) -> ConfigDef {
        match self.sync(|connector| Call::ConfigDef { connector }) {
            Ok(Reply::ConfigDef(keys)) => config_def_in(keys),
            Ok(other) => {
                warn!(class = %self.class, reply = ?other, "unexpected config definition from a plugin");
                ConfigDef::new()
            }
            Err(e) => {
                warn!(class = %self.class, error = %e, "reading a plugin's config definition failed");
                ConfigDef::new()
            }
        }
    }

    fn validate(&self, props: &Props) -> Vec<KeyValidation> {
        let failed = |message: String| {
            vec![KeyValidation {
                name: "connector.class".to_owned(),
                value: Some(self.class.clone()),
                recommended_values: Vec::new(),
                errors: vec![message],
            }]
        };
        match self.sync(|connector| Call::Validate { connector, props: props.clone() }) {
            Ok(Reply::Validations(v)) => v.into_iter().map(KeyValidation::from).collect(),
            Ok(other) => failed(unexpected(&other).to_string()),
            Err(e) => failed(e.to_string()),
        }
    }

    async fn start(&mut self, context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        let remote = self.remote()?;
        let name = props.get("name").map_or("", String::as_str);
        let span = tracing::info_span!("connector", connector = %name);
        let host = Arc::new(HostContext::in_span(Target::Connector(context), span));
        remote.call(Call::ConnectorStart { connector: remote.handle, props }, Some(host)).await.map(|_| ())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>> {
        match self.sync(|connector| Call::TaskConfigs { connector, max_tasks })? {
            Reply::TaskConfigs(configs) => Ok(configs),
            other => Err(unexpected(&other)),
        }
    }

    async fn stop(&mut self) -> Result<()> {
        let remote = self.remote()?;
        remote.call(Call::ConnectorStop { connector: remote.handle }, None).await.map(|_| ())
    }
}

impl SourceConnector for PluginConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(PluginSourceTask { remote: self.new_task(), transactions: None })
    }

    fn exactly_once_support(&self, props: &Props) -> Option<ExactlyOnceSupport> {
        match self.sync(|connector| Call::ExactlyOnceSupport { connector, props: props.clone() }) {
            Ok(Reply::OptionalBool(Some(true))) => Some(ExactlyOnceSupport::Supported),
            Ok(Reply::OptionalBool(Some(false))) => Some(ExactlyOnceSupport::Unsupported),
            _ => None,
        }
    }

    fn can_define_transaction_boundaries(&self, props: &Props) -> bool {
        matches!(
            self.sync(|connector| Call::CanDefineTransactionBoundaries { connector, props: props.clone() }),
            Ok(Reply::Bool(true))
        )
    }
}

impl SinkConnector for PluginConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(PluginSinkTask { remote: self.new_task() })
    }
}

/// The task's instance in the plugin, or why it could not be created (its `start` fails).
fn remote(remote: &std::result::Result<Remote, String>) -> Result<&Remote> {
    remote.as_ref().map_err(|e| ConnectError::fatal(format!("creating the plugin task: {e}")))
}

async fn unit(remote: &std::result::Result<Remote, String>, call: impl FnOnce(u64) -> Call) -> Result<()> {
    let remote = self::remote(remote)?;
    remote.call(call(remote.handle), None).await.map(|_| ())
}

/// A source task of a plugin.
pub struct PluginSourceTask {
    remote: std::result::Result<Remote, String>,
    /// The runtime's transaction context (`transaction.boundary=connector`): the plugin task
    /// has its own, whose requests are taken after each poll and added to this one.
    transactions: Option<TransactionContext>,
}

#[async_trait]
impl SourceTask for PluginSourceTask {
    async fn start(&mut self, context: SourceTaskContext, props: Props) -> Result<()> {
        let remote = remote(&self.remote)?;
        self.transactions = context.transaction_context().cloned();
        let call = Call::SourceStart {
            task: remote.handle,
            connector: context.connector().to_owned(),
            task_id: context.task_id(),
            props,
            transactions: self.transactions.is_some(),
        };
        remote.call(call, Some(Arc::new(HostContext::new(Target::Source(context))))).await.map(|_| ())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let remote = remote(&self.remote)?;
        let records = match remote.call(Call::Poll { task: remote.handle }, None).await? {
            Reply::SourceRecords(records) => records.into_iter().map(SourceRecord::try_from).collect::<Result<_>>()?,
            other => return Err(unexpected(&other)),
        };
        if let Some(transactions) = &self.transactions {
            match remote.call(Call::TransactionRequests { task: remote.handle }, None).await? {
                Reply::TransactionRequests(requests) => transactions.add_requests(requests),
                other => return Err(unexpected(&other)),
            }
        }
        Ok(records)
    }

    async fn commit_record(&mut self, record: &SourceRecord, metadata: &RecordMetadata) -> Result<()> {
        let record = Box::new(WireSourceRecord::from(record));
        let metadata = WireRecordMetadata::from(metadata);
        unit(&self.remote, |task| Call::CommitRecord { task, record, metadata }).await
    }

    async fn commit(&mut self) -> Result<()> {
        unit(&self.remote, |task| Call::Commit { task }).await
    }

    async fn stop(&mut self) -> Result<()> {
        unit(&self.remote, |task| Call::TaskStop { task }).await
    }
}

/// A sink task of a plugin.
pub struct PluginSinkTask {
    remote: std::result::Result<Remote, String>,
}

#[async_trait]
impl SinkTask for PluginSinkTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>, props: Props) -> Result<()> {
        let remote = remote(&self.remote)?;
        let host = HostContext::new(Target::Sink(context, tokio::runtime::Handle::try_current().ok()));
        remote.call(Call::SinkStart { task: remote.handle, props }, Some(Arc::new(host))).await.map(|_| ())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        let records = records.iter().map(WireSinkRecord::from).collect();
        unit(&self.remote, |task| Call::Put { task, records }).await
    }

    async fn flush(&mut self, offsets: &TopicPartitionOffsets) -> Result<()> {
        let offsets = offsets_out(offsets);
        unit(&self.remote, |task| Call::Flush { task, offsets }).await
    }

    async fn pre_commit(&mut self, offsets: &TopicPartitionOffsets) -> Result<TopicPartitionOffsets> {
        let remote = remote(&self.remote)?;
        match remote.call(Call::PreCommit { task: remote.handle, offsets: offsets_out(offsets) }, None).await? {
            Reply::Offsets(done) => Ok(offsets_in(done)),
            other => Err(unexpected(&other)),
        }
    }

    async fn open(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let partitions = partitions_out(partitions);
        unit(&self.remote, |task| Call::Open { task, partitions }).await
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let partitions = partitions_out(partitions);
        unit(&self.remote, |task| Call::Close { task, partitions }).await
    }

    async fn stop(&mut self) -> Result<()> {
        unit(&self.remote, |task| Call::TaskStop { task }).await
    }
}
