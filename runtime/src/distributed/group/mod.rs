//! Group membership for distributed mode: workers sharing a `group.id` join a Kafka group of
//! protocol type `connect`, byte-compatible with Kafka Connect's `WorkerCoordinator`, so Aqueduct
//! and Kafka Connect workers can sit in one group.
//!
//! - [`protocol`]: the worker metadata and assignments of the eager (v0, "default") and
//!   incremental cooperative (v1 "compatible", v2 "sessioned") protocols.
//! - [`GroupMember`]: FindCoordinator, JoinGroup (MEMBER_ID_REQUIRED handled), the leader's
//!   [`Assignor`], SyncGroup, heartbeats reporting [`MembershipStatus`], LeaveGroup.
//!
//! The herder drives it:
//! ```text
//! loop {
//!     let joined = member.join(&worker_state, &assignor).await?;   // stop what is revoked, start what is assigned
//!     match member.next_event().await {
//!         MembershipStatus::RebalanceNeeded => continue,             // rejoin, keep running (incremental)
//!         MembershipStatus::Lost(_) => { /* stop all connectors and tasks */ continue }
//!         MembershipStatus::Stable => unreachable,
//!     }
//! }
//! ```
//! Plaintext connections only for now (no TLS or SASL). Request versions: FindCoordinator v3,
//! JoinGroup v7, SyncGroup v5, Heartbeat v4, LeaveGroup v4 (brokers 2.5 and later).

mod assignor;
mod config;
mod connection;
mod error;
mod heartbeat;
mod member;
pub mod protocol;

pub use assignor::{AssignmentRequest, Assignor, AssignorError, MemberMetadata};
pub use config::GroupConfig;
pub use error::GroupError;
pub use heartbeat::{LostReason, MembershipStatus};
pub use member::{GroupMember, JoinResult, PROTOCOL_TYPE};
pub use protocol::{Assignment, ConnectProtocol, ConnectorTaskId, WorkerState};
