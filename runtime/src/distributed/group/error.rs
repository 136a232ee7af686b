//! Errors of the group member, each with a kind: retriable (rejoin after a backoff) or fatal
//! (configuration, authorization, a broken peer: retrying cannot help).

use std::time::Duration;

use aqueduct_sdk::ErrorKind;

use super::protocol::ProtocolError;

/// Kafka error codes the member reacts to (see `org.apache.kafka.common.protocol.Errors`).
pub(crate) mod code {
    pub const NONE: i16 = 0;
    pub const REQUEST_TIMED_OUT: i16 = 7;
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    pub const INVALID_GROUP_ID: i16 = 24;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const INVALID_SESSION_TIMEOUT: i16 = 26;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const GROUP_AUTHORIZATION_FAILED: i16 = 30;
    pub const UNSUPPORTED_VERSION: i16 = 35;
    pub const MEMBER_ID_REQUIRED: i16 = 79;
    pub const GROUP_MAX_SIZE_REACHED: i16 = 81;
    pub const FENCED_INSTANCE_ID: i16 = 82;
}

/// Kafka's name for an error code, for messages.
pub(crate) fn code_name(c: i16) -> &'static str {
    match c {
        code::NONE => "NONE",
        code::REQUEST_TIMED_OUT => "REQUEST_TIMED_OUT",
        code::COORDINATOR_LOAD_IN_PROGRESS => "COORDINATOR_LOAD_IN_PROGRESS",
        code::COORDINATOR_NOT_AVAILABLE => "COORDINATOR_NOT_AVAILABLE",
        code::NOT_COORDINATOR => "NOT_COORDINATOR",
        code::ILLEGAL_GENERATION => "ILLEGAL_GENERATION",
        code::INCONSISTENT_GROUP_PROTOCOL => "INCONSISTENT_GROUP_PROTOCOL",
        code::INVALID_GROUP_ID => "INVALID_GROUP_ID",
        code::UNKNOWN_MEMBER_ID => "UNKNOWN_MEMBER_ID",
        code::INVALID_SESSION_TIMEOUT => "INVALID_SESSION_TIMEOUT",
        code::REBALANCE_IN_PROGRESS => "REBALANCE_IN_PROGRESS",
        code::GROUP_AUTHORIZATION_FAILED => "GROUP_AUTHORIZATION_FAILED",
        code::UNSUPPORTED_VERSION => "UNSUPPORTED_VERSION",
        code::MEMBER_ID_REQUIRED => "MEMBER_ID_REQUIRED",
        code::GROUP_MAX_SIZE_REACHED => "GROUP_MAX_SIZE_REACHED",
        code::FENCED_INSTANCE_ID => "FENCED_INSTANCE_ID",
        _ => "UNKNOWN_SERVER_ERROR",
    }
}

/// Why joining, heartbeating or leaving the Connect group failed.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// The group settings are invalid (checked before any I/O).
    #[error("invalid group config: {0}")]
    Config(String),
    /// A connection to a broker failed.
    #[error("connection to {broker}: {source}")]
    Io {
        /// `host:port` of the broker.
        broker: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A request or connection took longer than its timeout.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What timed out.
        what: String,
        /// The timeout.
        after: Duration,
    },
    /// The broker answered with an error code.
    #[error("{api} for group {group}: {} (error code {code})", code_name(*.code))]
    Broker {
        /// The request, e.g. "JoinGroup".
        api: &'static str,
        /// The group id.
        group: String,
        /// Kafka's error code.
        code: i16,
    },
    /// A Connect payload (metadata or assignment) could not be written or read.
    #[error("{what}: {source}")]
    Protocol {
        /// Which payload, and whose.
        what: String,
        /// What was wrong with it.
        #[source]
        source: ProtocolError,
    },
    /// A Kafka request or response could not be encoded or decoded (kafka-protocol).
    #[error("{0}")]
    Codec(String),
    /// The group does not speak Connect: another protocol type or a protocol never offered.
    #[error("inconsistent group protocol: {0}")]
    Inconsistent(String),
    /// The leader's assignor failed or left a member without an assignment.
    #[error("assignor: {0}")]
    Assignor(String),
}

impl GroupError {
    /// Retriable (rejoin after a backoff) or fatal.
    pub fn kind(&self) -> ErrorKind {
        match self {
            GroupError::Config(_) => ErrorKind::Config,
            GroupError::Io { .. } | GroupError::Timeout { .. } | GroupError::Assignor(_) => ErrorKind::Retriable,
            GroupError::Broker { code, .. } => broker_kind(*code),
            GroupError::Protocol { .. } | GroupError::Codec(_) | GroupError::Inconsistent(_) => ErrorKind::Fatal,
        }
    }

    /// True when rejoining later may succeed.
    pub fn is_retriable(&self) -> bool {
        self.kind() == ErrorKind::Retriable
    }

    pub(crate) fn broker(api: &'static str, group: &str, code: i16) -> Self {
        GroupError::Broker { api, group: group.to_owned(), code }
    }
}

fn broker_kind(c: i16) -> ErrorKind {
    match c {
        code::INCONSISTENT_GROUP_PROTOCOL
        | code::INVALID_GROUP_ID
        | code::INVALID_SESSION_TIMEOUT
        | code::GROUP_AUTHORIZATION_FAILED
        | code::UNSUPPORTED_VERSION
        | code::GROUP_MAX_SIZE_REACHED
        | code::FENCED_INSTANCE_ID => ErrorKind::Fatal,
        _ => ErrorKind::Retriable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_errors_have_kafkas_names_and_kinds() {
        let e = GroupError::broker("JoinGroup", "g", code::INVALID_SESSION_TIMEOUT);
        assert_eq!(e.to_string(), "JoinGroup for group g: INVALID_SESSION_TIMEOUT (error code 26)");
        assert_eq!(e.kind(), ErrorKind::Fatal);
        assert!(GroupError::broker("SyncGroup", "g", code::REBALANCE_IN_PROGRESS).is_retriable());
        assert!(GroupError::broker("SyncGroup", "g", code::NOT_COORDINATOR).is_retriable());
    }
}
