//! The leader's hook: given every member's metadata, decide each member's assignment.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::protocol::{Assignment, ConnectProtocol, WorkerState};

/// One member of the group, as the leader sees it in the JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// Its `group.instance.id`, if it is a static member (Kafka Connect workers are not).
    pub group_instance_id: Option<String>,
    /// Its URL, config offset and current assignment.
    pub state: WorkerState,
}

/// What the leader's [`Assignor`] is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRequest {
    /// The leader's own member id (this worker); its metadata is among `members`.
    pub leader_id: String,
    /// The generation being assigned.
    pub generation: i32,
    /// The protocol the coordinator chose; assignments are encoded for it (eager assignments
    /// cannot carry revocations).
    pub protocol: ConnectProtocol,
    /// Every member, leader included, in the coordinator's order.
    pub members: Vec<MemberMetadata>,
}

impl AssignmentRequest {
    /// The leader's own entry.
    pub fn leader(&self) -> Option<&MemberMetadata> {
        self.members.iter().find(|m| m.member_id == self.leader_id)
    }

    /// The highest config offset any member has read (what Kafka Connect's leader compares
    /// its own with before assigning).
    pub fn max_config_offset(&self) -> Option<i64> {
        self.members.iter().map(|m| m.state.config_offset).max()
    }
}

/// An assignor's failure; the member reports it as a retriable [`super::GroupError::Assignor`].
pub type AssignorError = Box<dyn std::error::Error + Send + Sync>;

/// Computes assignments on the leader, once per generation (the distributed herder implements
/// it, as Kafka Connect's `ConnectAssignor`). Called from [`super::GroupMember::join`] while the
/// other members wait in SyncGroup and the leader's heartbeats keep its session alive, so it
/// should return well within `rebalance.timeout.ms`.
#[async_trait]
pub trait Assignor: Send + Sync {
    /// One assignment per member id of `request.members`, each naming the leader
    /// (`request.leader_id` and its URL). Every member must be present.
    async fn assign(&self, request: &AssignmentRequest) -> Result<BTreeMap<String, Assignment>, AssignorError>;
}
