//! The runtime's contexts as a plugin sees them: each method is a [`HostCall`] through the
//! host's vtable.

use std::sync::Arc;

use async_trait::async_trait;

use super::ffi::HostRef;
use crate::plugin::protocol::{HostCall, HostReply};
use crate::plugin::wire::{offsets_out, partitions_in, partitions_out, WireError, WireSinkRecord};
use crate::{
    ConnectError, ConnectorContext, ErrantRecordReporter, OffsetMap, OffsetReader, ProgressReporter, Result,
    SinkRecord, SinkTaskContext, TopicPartition, TopicPartitionOffsets,
};

/// A failed callback that returns nothing is logged (through the host's logger).
fn warn(message: std::fmt::Arguments<'_>) {
    tracing::warn!("{message}");
}

/// One host context, shared by every context object made from it.
#[derive(Clone)]
pub(crate) struct Host(pub(crate) Arc<HostRef>);

impl Host {
    fn call(&self, call: &HostCall) -> Result<HostReply> {
        self.0.call(call).map_err(ConnectError::from)
    }
    /// A callback whose answer is nothing; a failure is only logged (the trait returns nothing).
    fn notify(&self, call: &HostCall) {
        if let Err(e) = self.call(call) {
            warn(format_args!("host callback failed: {e}"));
        }
    }
}

impl ConnectorContext for Host {
    fn request_task_reconfiguration(&self) {
        self.notify(&HostCall::RequestReconfiguration);
    }
    fn raise_error(&self, error: ConnectError) {
        self.notify(&HostCall::RaiseError(WireError::from(&error)));
    }
}

impl OffsetReader for Host {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        match self.call(&HostCall::Offset(partition.clone())) {
            Ok(HostReply::Offset(offset)) => offset,
            Ok(other) => {
                warn(format_args!("host answered an offset read with {other:?}"));
                None
            }
            Err(e) => {
                warn(format_args!("reading an offset from the host failed: {e}"));
                None
            }
        }
    }
}

impl ProgressReporter for Host {
    fn report(&self, progress: Option<String>) {
        self.notify(&HostCall::ReportProgress(progress));
    }
}

/// A sink task's context over the host.
pub(crate) struct SinkContext {
    host: Host,
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
}

impl SinkContext {
    /// Asks the host once whether the task has an errant record reporter.
    pub(crate) fn new(host: Host) -> Result<Self> {
        let reporter: Option<Arc<dyn ErrantRecordReporter>> = match host.call(&HostCall::HasErrantReporter)? {
            HostReply::Bool(true) => Some(Arc::new(Reporter(host.clone()))),
            _ => None,
        };
        Ok(SinkContext { host, reporter })
    }
}

impl SinkTaskContext for SinkContext {
    fn assignment(&self) -> Vec<TopicPartition> {
        match self.host.call(&HostCall::Assignment) {
            Ok(HostReply::Partitions(p)) => partitions_in(p),
            Ok(_) | Err(_) => Vec::new(),
        }
    }
    fn pause(&self, partitions: &[TopicPartition]) {
        self.host.notify(&HostCall::Pause(partitions_out(partitions)));
    }
    fn resume(&self, partitions: &[TopicPartition]) {
        self.host.notify(&HostCall::Resume(partitions_out(partitions)));
    }
    fn rewind(&self, offsets: TopicPartitionOffsets) {
        self.host.notify(&HostCall::Rewind(offsets_out(&offsets)));
    }
    fn request_commit(&self) {
        self.host.notify(&HostCall::RequestCommit);
    }
    fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>> {
        self.reporter.clone()
    }
}

/// The errant record reporter over the host: the host call blocks until the report is
/// durable, so it runs on the plugin runtime's blocking pool.
struct Reporter(Host);

#[async_trait]
impl ErrantRecordReporter for Reporter {
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> Result<()> {
        let call =
            HostCall::ReportErrant { record: Box::new(WireSinkRecord::from(record)), error: WireError::from(error) };
        let host = self.0.clone();
        match tokio::task::spawn_blocking(move || host.call(&call)).await {
            Ok(result) => result.map(|_| ()),
            Err(e) => Err(ConnectError::fatal(format!("reporting an errant record: {e}"))),
        }
    }
}
