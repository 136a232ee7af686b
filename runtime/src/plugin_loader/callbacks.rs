//! The host's answers to a plugin's callbacks: each [`HostCall`] is applied to the runtime's
//! own context object of that connector or task.

use std::fmt::Write as _;
use std::sync::Arc;

use aqueduct_sdk::plugin::protocol::{HostCall, HostReply, HostResult, LogEvent};
use aqueduct_sdk::plugin::wire::{offsets_in, partitions_in, partitions_out, WireError};
use aqueduct_sdk::{ConnectError, ConnectorContext, SinkRecord, SinkTaskContext, SourceTaskContext};
use tracing::warn;

/// The runtime's context of one plugin connector or task, shared with the plugin through the
/// vtable: what its callbacks act on, and the span its log events are recorded in.
pub struct HostContext {
    target: Target,
    span: tracing::Span,
}

/// What a plugin connector's or task's callbacks act on.
pub enum Target {
    /// A connector's.
    Connector(Arc<dyn ConnectorContext>),
    /// A source task's.
    Source(SourceTaskContext),
    /// A sink task's, with the runtime the errant record reporter runs on.
    Sink(Arc<dyn SinkTaskContext>, Option<tokio::runtime::Handle>),
}

/// The answer when answering panicked.
pub fn panicked() -> Vec<u8> {
    encode(&Err(WireError::from(&ConnectError::fatal("the host panicked answering a plugin callback"))))
}

fn encode(result: &HostResult) -> Vec<u8> {
    serde_json::to_vec(result).unwrap_or_default()
}

fn unsupported(call: &HostCall) -> HostResult {
    Err(WireError::from(&ConnectError::fatal(format!("this context does not answer {call:?}"))))
}

/// Logs one encoded [`LogEvent`] of a plugin, in `context`'s span when given. Its target is
/// `aqueduct::plugin`; the plugin's own target is the `origin` field.
pub fn log(context: Option<&HostContext>, event: &[u8]) {
    let Ok(event) = serde_json::from_slice::<LogEvent>(event) else {
        warn!("a plugin sent an unreadable log event");
        return;
    };
    let _entered = context.map(|c| c.span.enter());
    let mut text = event.spans.join(":");
    if !text.is_empty() {
        text.push_str(": ");
    }
    text.push_str(&event.message);
    for (name, value) in &event.fields {
        let _ = write!(text, " {name}={value}");
    }
    let origin = event.target.as_str();
    match event.level.as_str() {
        "ERROR" => tracing::error!(target: "aqueduct::plugin", origin, "{text}"),
        "WARN" => tracing::warn!(target: "aqueduct::plugin", origin, "{text}"),
        "INFO" => tracing::info!(target: "aqueduct::plugin", origin, "{text}"),
        "DEBUG" => tracing::debug!(target: "aqueduct::plugin", origin, "{text}"),
        _ => tracing::trace!(target: "aqueduct::plugin", origin, "{text}"),
    }
}

impl HostContext {
    /// `target`'s context, logging in the current span.
    pub fn new(target: Target) -> Self {
        HostContext { target, span: tracing::Span::current() }
    }

    /// `target`'s context, logging in `span`.
    pub fn in_span(target: Target, span: tracing::Span) -> Self {
        HostContext { target, span }
    }

    /// Answers one encoded [`HostCall`].
    pub fn answer(&self, request: &[u8]) -> Vec<u8> {
        let result = match serde_json::from_slice::<HostCall>(request) {
            Ok(call) => self.apply(call),
            Err(e) => Err(WireError::from(&ConnectError::fatal(format!("reading a plugin callback: {e}")))),
        };
        encode(&result)
    }

    fn apply(&self, call: HostCall) -> HostResult {
        use Target::{Connector, Sink, Source};
        match (&self.target, call) {
            (Connector(c), HostCall::RequestReconfiguration) => c.request_task_reconfiguration(),
            (Connector(c), HostCall::RaiseError(e)) => c.raise_error(ConnectError::from(e)),
            (Source(c), HostCall::Offset(partition)) => return Ok(HostReply::Offset(c.offset(&partition))),
            (Source(c), HostCall::ReportProgress(p)) => c.report_progress(p),
            (Sink(c, _), HostCall::Assignment) => return Ok(HostReply::Partitions(partitions_out(&c.assignment()))),
            (Sink(c, _), HostCall::Pause(p)) => c.pause(&partitions_in(p)),
            (Sink(c, _), HostCall::Resume(p)) => c.resume(&partitions_in(p)),
            (Sink(c, _), HostCall::Rewind(o)) => c.rewind(offsets_in(o)),
            (Sink(c, _), HostCall::RequestCommit) => c.request_commit(),
            (Sink(c, _), HostCall::HasErrantReporter) => {
                return Ok(HostReply::Bool(c.errant_record_reporter().is_some()))
            }
            (Sink(c, runtime), HostCall::ReportErrant { record, error }) => {
                return report_errant(c.as_ref(), runtime.as_ref(), *record, error)
            }
            (_, call) => return unsupported(&call),
        }
        Ok(HostReply::Unit)
    }
}

/// Runs the asynchronous report on the sink's runtime and waits for it on this (plugin) thread.
fn report_errant(
    context: &dyn SinkTaskContext,
    runtime: Option<&tokio::runtime::Handle>,
    record: aqueduct_sdk::plugin::wire::WireSinkRecord,
    error: WireError,
) -> HostResult {
    let fail = |e: ConnectError| Err(WireError::from(&e));
    let Some(reporter) = context.errant_record_reporter() else {
        return fail(ConnectError::fatal("the task has no errant record reporter"));
    };
    let Some(runtime) = runtime else {
        return fail(ConnectError::fatal("no runtime to report the errant record on"));
    };
    let record = match SinkRecord::try_from(record) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let error = ConnectError::from(error);
    let (done, wait) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let _ = done.send(reporter.report(&record, &error).await);
    });
    match wait.recv() {
        Ok(Ok(())) => Ok(HostReply::Unit),
        Ok(Err(e)) => fail(e),
        Err(_) => {
            warn!("an errant record report was dropped before it finished");
            fail(ConnectError::fatal("the errant record report was dropped"))
        }
    }
}
