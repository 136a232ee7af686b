//! A worker's membership in its Connect group: JoinGroup and SyncGroup (with the leader's
//! assignment), heartbeats between rebalances, LeaveGroup on close — Kafka's
//! `AbstractCoordinator` state machine as Kafka Connect's `WorkerCoordinator` drives it.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, GroupId, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, SyncGroupRequest,
    SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use tokio::time::Instant;

use super::assignor::{AssignmentRequest, Assignor, MemberMetadata};
use super::config::GroupConfig;
use super::connection::{connect_coordinator, Connection};
use super::error::{code, GroupError};
use super::heartbeat::{Heartbeat, LostReason, MembershipStatus};
use super::protocol::{self, Assignment, ConnectProtocol, WorkerState};

/// The group's protocol type.
pub const PROTOCOL_TYPE: &str = "connect";
/// JoinGroup v7 (Kafka 2.5+: flexible, protocol type and name in responses).
const JOIN_GROUP_VERSION: i16 = 7;
/// SyncGroup v5 (Kafka 2.5+).
const SYNC_GROUP_VERSION: i16 = 5;
/// LeaveGroup v4 (Kafka 2.4+).
const LEAVE_GROUP_VERSION: i16 = 4;
/// Extra time a JoinGroup or SyncGroup may take beyond `rebalance.timeout.ms` (Kafka's lapse).
const JOIN_LAPSE: Duration = Duration::from_secs(5);

/// The outcome of a rebalance for this worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    /// The generation joined.
    pub generation: i32,
    /// This worker's member id.
    pub member_id: String,
    /// The leader's member id.
    pub leader_id: String,
    /// The protocol the coordinator chose.
    pub protocol: ConnectProtocol,
    /// What the leader assigned to this worker (its `leader_url` is where to forward requests).
    pub assignment: Assignment,
}

impl JoinResult {
    /// True when this worker is the leader of the generation.
    pub fn is_leader(&self) -> bool {
        self.member_id == self.leader_id
    }
}

/// One worker's member of a Connect group. Not shared: one task drives it (join, wait for
/// [`GroupMember::next_event`], rejoin), while a background task sends the heartbeats.
/// Dropping it without [`GroupMember::leave`] stops the heartbeats without leaving, as a
/// crashed worker would: the coordinator removes the member after `session.timeout.ms`.
pub struct GroupMember {
    config: GroupConfig,
    conn: Option<Connection>,
    member_id: String,
    generation: i32,
    heartbeat: Option<Heartbeat>,
}

impl std::fmt::Debug for GroupMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupMember")
            .field("group_id", &self.config.group_id)
            .field("member_id", &self.member_id)
            .field("generation", &self.generation)
            .field("status", &self.status())
            .finish()
    }
}

impl GroupMember {
    /// A member that has not joined yet; checks `config` (no I/O).
    pub fn new(config: GroupConfig) -> Result<Self, GroupError> {
        config.validate()?;
        Ok(GroupMember { config, conn: None, member_id: String::new(), generation: -1, heartbeat: None })
    }

    /// The member id the coordinator gave (empty before the first JoinGroup answer).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The generation of the last completed join, -1 when none.
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// What the heartbeats say now; [`LostReason::NotJoined`] before a join or after leaving.
    pub fn status(&self) -> MembershipStatus {
        self.heartbeat.as_ref().map_or(MembershipStatus::Lost(LostReason::NotJoined), Heartbeat::status)
    }

    /// Waits until the membership needs attention — a rebalance to rejoin, or a lost
    /// membership — and returns it. Cancel-safe.
    pub async fn next_event(&mut self) -> MembershipStatus {
        match &mut self.heartbeat {
            Some(heartbeat) => heartbeat.changed().await,
            None => MembershipStatus::Lost(LostReason::NotJoined),
        }
    }

    /// Joins (or rejoins) the group with `state` as this worker's metadata, runs `assignor` if
    /// elected leader, and returns this worker's assignment. Retries what Kafka's coordinator
    /// protocol retries (member id required, unknown member, rebalance in progress, coordinator
    /// moved or loading) until `rebalance.timeout.ms` has passed; fatal errors return at once.
    /// If the future is dropped part-way, the next call reconnects and rejoins.
    pub async fn join(&mut self, state: &WorkerState, assignor: &dyn Assignor) -> Result<JoinResult, GroupError> {
        self.stop_heartbeat();
        let mut protocols = Vec::new();
        for &p in self.config.protocol.offered() {
            let metadata = protocol::encode_metadata(state, p)
                .map_err(|source| GroupError::Protocol { what: format!("this worker's {p} metadata"), source })?;
            protocols.push(
                JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str(p.name()))
                    .with_metadata(metadata),
            );
        }
        let deadline = Instant::now() + self.config.rebalance_timeout;
        let mut backoff = self.config.retry_backoff;
        loop {
            let error = match self.attempt(&protocols, assignor).await {
                Ok(joined) => return Ok(joined),
                Err(e) => e,
            };
            self.stop_heartbeat();
            if !error.is_retriable() {
                tracing::error!(group = %self.config.group_id, error = %error, "joining the group failed");
                return Err(error);
            }
            if Instant::now() >= deadline {
                tracing::warn!(group = %self.config.group_id, error = %error, "giving up joining for now");
                return Err(error);
            }
            let immediate = matches!(
                error,
                GroupError::Broker {
                    code: code::MEMBER_ID_REQUIRED
                        | code::UNKNOWN_MEMBER_ID
                        | code::ILLEGAL_GENERATION
                        | code::REBALANCE_IN_PROGRESS,
                    ..
                }
            );
            tracing::info!(group = %self.config.group_id, member = %self.member_id, error = %error, immediate, "rejoining");
            if !immediate {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }

    /// One JoinGroup + SyncGroup round; updates member id, generation and connection.
    async fn attempt(
        &mut self,
        protocols: &[JoinGroupRequestProtocol],
        assignor: &dyn Assignor,
    ) -> Result<JoinResult, GroupError> {
        let group = self.config.group_id.clone();
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => connect_coordinator(&self.config).await?,
        };
        let rebalance_wait = self.config.rebalance_timeout.saturating_add(JOIN_LAPSE).max(self.config.request_timeout);
        let request = JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.clone())))
            .with_session_timeout_ms(GroupConfig::millis(self.config.session_timeout))
            .with_rebalance_timeout_ms(GroupConfig::millis(self.config.rebalance_timeout))
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
            .with_protocols(protocols.to_vec());
        tracing::debug!(group = %group, member = %self.member_id, coordinator = %conn.addr, "sending JoinGroup");
        let joined: JoinGroupResponse =
            conn.call(ApiKey::JoinGroup, JOIN_GROUP_VERSION, &request, rebalance_wait).await?;
        match joined.error_code {
            code::NONE => {}
            code::MEMBER_ID_REQUIRED => self.member_id = joined.member_id.to_string(),
            code::UNKNOWN_MEMBER_ID => self.member_id.clear(),
            _ => {}
        }
        if joined.error_code != code::NONE {
            self.keep_unless_moved(conn, joined.error_code);
            return Err(GroupError::broker("JoinGroup", &group, joined.error_code));
        }
        check_protocol_type(joined.protocol_type.as_deref())?;
        let chosen = joined.protocol_name.as_deref().unwrap_or_default();
        let chosen = ConnectProtocol::from_name(chosen)
            .filter(|p| self.config.protocol.offered().contains(p))
            .ok_or_else(|| GroupError::Inconsistent(format!("the coordinator chose protocol {chosen:?}")))?;
        self.member_id = joined.member_id.to_string();
        let generation = joined.generation_id;
        let leader_id = joined.leader.to_string();
        tracing::info!(group = %group, member = %self.member_id, generation, leader = %leader_id, protocol = %chosen, members = joined.members.len(), "joined the group");
        // Heartbeat from now on: the session must outlive the leader's assignment.
        self.heartbeat =
            Some(Heartbeat::spawn(self.config.clone(), conn.addr.clone(), self.member_id.clone(), generation));
        let assignments = if leader_id == self.member_id {
            self.lead(&joined, generation, chosen, assignor).await?
        } else {
            Vec::new()
        };
        let request = SyncGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.clone())))
            .with_generation_id(generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(Some(StrBytes::from_static_str(PROTOCOL_TYPE)))
            .with_protocol_name(Some(StrBytes::from_static_str(chosen.name())))
            .with_assignments(assignments);
        let synced: SyncGroupResponse =
            conn.call(ApiKey::SyncGroup, SYNC_GROUP_VERSION, &request, rebalance_wait).await?;
        if synced.error_code != code::NONE {
            if synced.error_code == code::UNKNOWN_MEMBER_ID {
                self.member_id.clear();
            }
            self.keep_unless_moved(conn, synced.error_code);
            return Err(GroupError::broker("SyncGroup", &group, synced.error_code));
        }
        self.conn = Some(conn);
        check_protocol_type(synced.protocol_type.as_deref())?;
        if let Some(name) = synced.protocol_name.as_deref().filter(|n| *n != chosen.name()) {
            return Err(GroupError::Inconsistent(format!("SyncGroup named protocol {name:?}, JoinGroup {chosen}")));
        }
        if synced.assignment.is_empty() {
            return Err(GroupError::Assignor(format!("leader {leader_id} sent no assignment for this worker")));
        }
        let assignment = protocol::decode_assignment(&synced.assignment).map_err(|source| GroupError::Protocol {
            what: format!("the assignment from leader {leader_id}"),
            source,
        })?;
        self.generation = generation;
        tracing::info!(
            group = %group, member = %self.member_id, generation, leader = %leader_id,
            connectors = assignment.connectors.len(), tasks = assignment.tasks.len(),
            revoked_connectors = assignment.revoked_connectors.len(), revoked_tasks = assignment.revoked_tasks.len(),
            error = assignment.error, "received the assignment"
        );
        Ok(JoinResult { generation, member_id: self.member_id.clone(), leader_id, protocol: chosen, assignment })
    }

    /// On the leader: decodes every member's metadata, asks the assignor, encodes its answer.
    async fn lead(
        &self,
        joined: &JoinGroupResponse,
        generation: i32,
        chosen: ConnectProtocol,
        assignor: &dyn Assignor,
    ) -> Result<Vec<SyncGroupRequestAssignment>, GroupError> {
        let mut members = Vec::with_capacity(joined.members.len());
        for m in &joined.members {
            let state = protocol::decode_metadata(&m.metadata).map_err(|source| GroupError::Protocol {
                what: format!("the metadata of member {}", m.member_id.as_str()),
                source,
            })?;
            members.push(MemberMetadata {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
                state,
            });
        }
        let request = AssignmentRequest { leader_id: self.member_id.clone(), generation, protocol: chosen, members };
        let mut assigned: BTreeMap<String, Assignment> =
            assignor.assign(&request).await.map_err(|e| GroupError::Assignor(e.to_string()))?;
        let mut out = Vec::with_capacity(request.members.len());
        for m in &request.members {
            let assignment = assigned
                .remove(&m.member_id)
                .ok_or_else(|| GroupError::Assignor(format!("no assignment for member {}", m.member_id)))?;
            let bytes: Bytes = protocol::encode_assignment(&assignment, chosen).map_err(|source| {
                GroupError::Protocol { what: format!("the assignment for member {}", m.member_id), source }
            })?;
            out.push(
                SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(m.member_id.clone()))
                    .with_assignment(bytes),
            );
        }
        if let Some(unknown) = assigned.keys().next() {
            return Err(GroupError::Assignor(format!(
                "assignment for {unknown}, not a member of generation {generation}"
            )));
        }
        tracing::info!(group = %self.config.group_id, generation, members = out.len(), protocol = %chosen, "assigned the group as leader");
        Ok(out)
    }

    /// Leaves the group (LeaveGroup), so the others rebalance at once instead of after
    /// `session.timeout.ms`. Best effort as Kafka's: the member forgets its id either way.
    pub async fn leave(&mut self) -> Result<(), GroupError> {
        self.heartbeat = None;
        self.generation = -1;
        let member_id = std::mem::take(&mut self.member_id);
        if member_id.is_empty() {
            return Ok(());
        }
        let group = self.config.group_id.clone();
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => connect_coordinator(&self.config).await?,
        };
        let request = LeaveGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.clone())))
            .with_members(vec![MemberIdentity::default().with_member_id(StrBytes::from_string(member_id.clone()))]);
        let left: LeaveGroupResponse =
            conn.call(ApiKey::LeaveGroup, LEAVE_GROUP_VERSION, &request, self.config.request_timeout).await?;
        self.conn = Some(conn);
        let failed = std::iter::once(left.error_code)
            .chain(left.members.iter().map(|m| m.error_code))
            .find(|c| *c != code::NONE && *c != code::UNKNOWN_MEMBER_ID);
        if let Some(c) = failed {
            return Err(GroupError::broker("LeaveGroup", &group, c));
        }
        tracing::info!(group = %group, member = %member_id, "left the group");
        Ok(())
    }

    /// Stops the heartbeats of the current generation and applies what they learnt.
    fn stop_heartbeat(&mut self) {
        match self.heartbeat.take().map(|h| h.status()) {
            Some(MembershipStatus::Lost(LostReason::UnknownMember | LostReason::Fenced)) => self.member_id.clear(),
            Some(MembershipStatus::Lost(LostReason::SessionTimeout)) => self.conn = None,
            _ => {}
        }
    }

    /// Keeps `conn` for the next attempt unless `error` says the coordinator moved.
    fn keep_unless_moved(&mut self, conn: Connection, error: i16) {
        if !matches!(error, code::NOT_COORDINATOR | code::COORDINATOR_NOT_AVAILABLE) {
            self.conn = Some(conn);
        }
    }
}

fn check_protocol_type(protocol_type: Option<&str>) -> Result<(), GroupError> {
    match protocol_type {
        Some(t) if t != PROTOCOL_TYPE => Err(GroupError::Inconsistent(format!("the group has protocol type {t:?}"))),
        _ => Ok(()),
    }
}
