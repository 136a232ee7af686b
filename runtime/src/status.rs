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
    /// What the task last reported of its progress (e.g. a snapshot's rows done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
}

/// A status shared between a running task (which updates it) and the REST API (which reads it).
#[derive(Debug, Clone)]
pub struct StatusCell(Arc<Mutex<Status>>);

impl StatusCell {
    /// A cell in `state`.
    pub fn new(state: State) -> Self {
        StatusCell(Arc::new(Mutex::new(Status { state, trace: None, progress: None })))
    }
    /// Sets a state without a trace.
    pub fn set(&self, state: State) {
        let mut status = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        status.state = state;
        status.trace = None;
    }
    /// Marks it failed with `trace`.
    pub fn fail(&self, trace: String) {
        let mut status = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        status.state = State::Failed;
        status.trace = Some(trace);
    }
    /// The current status.
    pub fn get(&self) -> Status {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl aqueduct_sdk::ProgressReporter for StatusCell {
    fn report(&self, progress: Option<String>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).progress = progress;
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

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::ProgressReporter;

    #[test]
    fn progress_survives_state_changes_until_cleared() {
        let cell = StatusCell::new(State::Unassigned);
        cell.report(Some("snapshot: 10/100 rows".into()));
        cell.set(State::Running);
        assert_eq!(cell.get().progress.as_deref(), Some("snapshot: 10/100 rows"));
        cell.fail("boom".into());
        let failed = serde_json::to_value(cell.get()).expect("json");
        assert_eq!(
            failed,
            serde_json::json!({"state": "FAILED", "trace": "boom", "progress": "snapshot: 10/100 rows"})
        );
        cell.report(None);
        assert_eq!(cell.get().progress, None);
    }
}
