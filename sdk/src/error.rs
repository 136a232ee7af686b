//! The one error type connectors return, with a kind that tells the runtime what to do next.

use std::fmt;

/// What the runtime should do with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A transient failure (network, timeout, lock): the runtime calls again after a backoff.
    Retriable,
    /// One record cannot be handled (poison data): `errors.tolerance` decides skip or fail.
    Data,
    /// The configuration is invalid: the connector or task fails with the message.
    Config,
    /// Anything else: the task fails with this error in its status.
    Fatal,
}

impl ErrorKind {
    /// A stable lower-case code, used in logs and in the REST status traces.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Retriable => "retriable",
            ErrorKind::Data => "data",
            ErrorKind::Config => "config",
            ErrorKind::Fatal => "fatal",
        }
    }
}

/// The error returned by connectors and tasks: a kind, a message, and an optional cause.
pub struct ConnectError {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with [`ConnectError`] as the error.
pub type Result<T, E = ConnectError> = std::result::Result<T, E>;

impl ConnectError {
    /// An error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ConnectError { kind, message: message.into(), source: None }
    }
    /// A transient error: the runtime retries the call after a backoff.
    pub fn retriable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Retriable, message)
    }
    /// A record that cannot be processed.
    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, message)
    }
    /// An invalid configuration; name the key in the message.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    /// A failure that stops the task.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Fatal, message)
    }
    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The message, without the causes.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// True when the runtime should retry the call.
    pub fn is_retriable(&self) -> bool {
        self.kind == ErrorKind::Retriable
    }
    /// The message followed by every cause, one per line: what the status API shows as `trace`.
    pub fn trace(&self) -> String {
        let mut out = format!("{} error: {}", self.kind.code(), self.message);
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            out.push_str("\nCaused by: ");
            out.push_str(&c.to_string());
            cause = c.source();
        }
        out
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.trace())
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// Turns any error into a [`ConnectError`] of a chosen kind, with context.
pub trait ResultExt<T> {
    /// A transient failure: retried by the runtime.
    fn retriable(self, context: impl FnOnce() -> String) -> Result<T>;
    /// A failure that stops the task.
    fn fatal(self, context: impl FnOnce() -> String) -> Result<T>;
    /// A record that cannot be processed.
    fn data_error(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> ResultExt<T> for std::result::Result<T, E> {
    fn retriable(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| ConnectError::retriable(context()).with_source(e))
    }
    fn fatal(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| ConnectError::fatal(context()).with_source(e))
    }
    fn data_error(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| ConnectError::data(context()).with_source(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_lists_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = ConnectError::fatal("reading /x").with_source(io);
        assert_eq!(err.to_string(), "reading /x: no such file");
        assert_eq!(err.trace(), "fatal error: reading /x\nCaused by: no such file");
        assert!(!err.is_retriable());
    }
}
