//! Driver errors mapped to [`ConnectError`] kinds: network trouble is retriable, a bad URI or
//! credentials a configuration error, a lost resume point fatal with its recovery named.

use aqueduct_sdk::ConnectError;
use mongodb::error::{Error, ErrorKind, WriteFailure};

/// Server error codes that clear up by themselves (elections, shutdowns, timeouts, lost cursors).
const TRANSIENT_CODES: &[i32] =
    &[6, 7, 43, 50, 63, 64, 89, 91, 133, 150, 189, 234, 262, 9001, 10107, 11600, 11602, 13388, 13435, 13436];

/// Codes meaning a change stream cannot resume from the token it was given.
const LOST_RESUME_CODES: &[i32] = &[
    260, // InvalidResumeToken
    280, // ChangeStreamFatalError
    286, // ChangeStreamHistoryLost
];

/// The server's error code and message, when the server answered with an error.
pub fn server_error(e: &Error) -> Option<(i32, &str)> {
    match &*e.kind {
        ErrorKind::Command(c) => Some((c.code, c.message.as_str())),
        ErrorKind::Write(WriteFailure::WriteError(w)) => Some((w.code, w.message.as_str())),
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => Some((w.code, w.message.as_str())),
        _ => None,
    }
}

/// True when retrying later may succeed: network errors, no reachable server, elections.
pub fn is_transient(e: &Error) -> bool {
    let labelled = ["RetryableWriteError", "ResumableChangeStreamError", "TransientTransactionError"]
        .iter()
        .any(|l| e.contains_label(l));
    labelled
        || match &*e.kind {
            ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::ServerSelection { .. }
            | ErrorKind::DnsResolve { .. } => true,
            ErrorKind::Write(WriteFailure::WriteConcernError(_)) => true,
            _ => server_error(e).is_some_and(|(code, _)| TRANSIENT_CODES.contains(&code)),
        }
}

/// True when a change stream cannot resume from its token: the token is invalid, or the oplog
/// no longer holds its position (also recognised by message, as servers word it differently).
pub fn is_lost_resume_point(e: &Error) -> bool {
    let Some((code, message)) = server_error(e) else { return false };
    if LOST_RESUME_CODES.contains(&code) {
        return true;
    }
    let m = message.to_ascii_lowercase();
    (m.contains("resume token") || m.contains("resume point"))
        && (m.contains("not found")
            || m.contains("does not exist")
            || m.contains("not a valid")
            || m.contains("invalid")
            || m.contains("missing")
            || m.contains("no longer be in the oplog"))
}

/// Maps a driver error: transient -> retriable, bad URI/credentials/TLS -> config, else fatal.
/// `context` says what was being done, naming the collection or setting.
pub fn to_connect_error(e: Error, context: impl FnOnce() -> String) -> ConnectError {
    let context = context();
    if is_transient(&e) {
        return ConnectError::retriable(format!("{context} (MongoDB unreachable or busy; retrying)")).with_source(e);
    }
    match &*e.kind {
        ErrorKind::InvalidArgument { .. } | ErrorKind::InvalidTlsConfig { .. } => {
            ConnectError::config(format!("{context}: invalid connection.uri or client option")).with_source(e)
        }
        ErrorKind::Authentication { .. } => {
            ConnectError::config(format!("{context}: authentication failed (check connection.uri credentials)"))
                .with_source(e)
        }
        _ => ConnectError::fatal(context).with_source(e),
    }
}
