//! Connector and task states as the status API reports them.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// Kafka Connect's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// Not running yet.
    Unassigned,
    /// Running.
    Running,
    /// Paused by the user.
    Paused,
    /// Failed; the trace says why.
    Failed,
    /// Being restarted.
    Restarting,
    /// Stopped by the user: no tasks, offsets may be changed.
    Stopped,
}

/// A state and, when failed, the error trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The state.
    pub state: State,
    /// The error that failed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// A status shared between a running task (which updates it) and the REST API (which reads it).
#[derive(Debug, Clone)]
pub struct StatusCell(Arc<Mutex<Status>>);

impl StatusCell {
    /// A cell in `state`.
    pub fn new(state: State) -> Self {
        StatusCell(Arc::new(Mutex::new(Status { state, trace: None })))
    }
    /// Sets a state without a trace.
    pub fn set(&self, state: State) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Status { state, trace: None };
    }
    /// Marks it failed with `trace`.
    pub fn fail(&self, trace: String) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Status { state: State::Failed, trace: Some(trace) };
    }
    /// The current status.
    pub fn get(&self) -> Status {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// What the herder asks of a running task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Move data.
    Running,
    /// Hold still, keep resources.
    Paused,
    /// Finish in-flight work, commit, and exit.
    Shutdown,
}
