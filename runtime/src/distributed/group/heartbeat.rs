//! The heartbeat task of one generation: a Heartbeat request every `heartbeat.interval.ms` on
//! its own connection to the coordinator, and what the answers say about the membership.
//!
//! It runs from the JoinGroup response (so the coordinator keeps the member while the leader
//! assigns) until the member rejoins, leaves or is dropped. `REBALANCE_IN_PROGRESS` keeps it
//! beating (the session must outlive the herder's preparations to rejoin);
//! `UNKNOWN_MEMBER_ID`, `ILLEGAL_GENERATION`, `FENCED_INSTANCE_ID`, or no successful heartbeat
//! within `session.timeout.ms` end it with [`MembershipStatus::Lost`].

use std::time::Duration;

use kafka_protocol::messages::{ApiKey, GroupId, HeartbeatRequest, HeartbeatResponse};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::GroupConfig;
use super::connection::{connect_coordinator, Connection};
use super::error::{code, code_name, GroupError};

/// Heartbeat v4 (Kafka 2.4+).
const HEARTBEAT_VERSION: i16 = 4;

/// What the heartbeats say about this worker's place in the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipStatus {
    /// Heartbeats succeed: keep running the assignment.
    Stable,
    /// The coordinator started a rebalance: rejoin soon. Under the incremental protocols the
    /// worker keeps running its assignment until the new one revokes parts of it.
    RebalanceNeeded,
    /// This worker is not (or no longer) a member of the generation it was given: stop its
    /// connectors and tasks before rejoining, since another worker may be given them.
    Lost(LostReason),
}

/// Why the membership was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostReason {
    /// The coordinator does not know the member id (it expired or was removed): rejoin afresh.
    UnknownMember,
    /// The group moved on to a newer generation without this member.
    IllegalGeneration,
    /// Another worker took this member's group instance id.
    Fenced,
    /// No heartbeat succeeded within `session.timeout.ms`: the coordinator has probably
    /// removed the member, or cannot be reached.
    SessionTimeout,
    /// The worker has not joined yet, or has left.
    NotJoined,
}

/// The running heartbeat of one generation; dropping it stops the heartbeats (without leaving).
pub(crate) struct Heartbeat {
    task: JoinHandle<()>,
    status: watch::Receiver<MembershipStatus>,
}

impl Heartbeat {
    /// Starts heartbeating for `member_id` in `generation` to `coordinator` (`host:port`).
    pub(crate) fn spawn(config: GroupConfig, coordinator: String, member_id: String, generation: i32) -> Self {
        let (tx, status) = watch::channel(MembershipStatus::Stable);
        let task = tokio::spawn(run(config, coordinator, member_id, generation, tx));
        Heartbeat { task, status }
    }

    /// The status now.
    pub(crate) fn status(&self) -> MembershipStatus {
        *self.status.borrow()
    }

    /// Waits until the status is no longer [`MembershipStatus::Stable`] and returns it.
    pub(crate) async fn changed(&mut self) -> MembershipStatus {
        match self.status.wait_for(|s| *s != MembershipStatus::Stable).await {
            Ok(status) => *status,
            // The task ended without a verdict (it panicked or was aborted).
            Err(_) => MembershipStatus::Lost(LostReason::NotJoined),
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    config: GroupConfig,
    mut coordinator: String,
    member_id: String,
    generation: i32,
    tx: watch::Sender<MembershipStatus>,
) {
    let request = HeartbeatRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(config.group_id.clone())))
        .with_generation_id(generation)
        .with_member_id(StrBytes::from_string(member_id.clone()));
    let mut conn: Option<Connection> = None;
    let mut rediscover = false;
    let mut last_ok = Instant::now();
    let mut delay = config.heartbeat_interval;
    let lost = |reason: LostReason| {
        tracing::warn!(group = %config.group_id, member = %member_id, generation, ?reason, "group membership lost");
        tx.send_replace(MembershipStatus::Lost(reason));
    };
    loop {
        let deadline = last_ok + config.session_timeout;
        tokio::time::sleep_until((Instant::now() + delay).min(deadline)).await;
        let now = Instant::now();
        if now >= deadline {
            lost(LostReason::SessionTimeout);
            return;
        }
        let timeout = config.request_timeout.min(deadline - now);
        let answer = beat(&config, &mut conn, &mut coordinator, &mut rediscover, &request, timeout).await;
        delay = next_backoff(delay, &config);
        match answer {
            Ok(code::NONE) => {
                last_ok = now;
                delay = config.heartbeat_interval;
            }
            Ok(code::REBALANCE_IN_PROGRESS) => {
                last_ok = now;
                delay = config.heartbeat_interval;
                if *tx.borrow() == MembershipStatus::Stable {
                    tracing::info!(group = %config.group_id, member = %member_id, generation, "the group is rebalancing: rejoin needed");
                    tx.send_replace(MembershipStatus::RebalanceNeeded);
                }
            }
            Ok(code::UNKNOWN_MEMBER_ID) => return lost(LostReason::UnknownMember),
            Ok(code::ILLEGAL_GENERATION) => return lost(LostReason::IllegalGeneration),
            Ok(code::FENCED_INSTANCE_ID) => return lost(LostReason::Fenced),
            Ok(c @ (code::NOT_COORDINATOR | code::COORDINATOR_NOT_AVAILABLE)) => {
                tracing::info!(group = %config.group_id, coordinator = %coordinator, error = code_name(c), "the coordinator moved; finding it again");
                conn = None;
                rediscover = true;
            }
            Ok(c) => {
                tracing::warn!(group = %config.group_id, member = %member_id, error = code_name(c), code = c, "heartbeat failed");
            }
            Err(e) => {
                tracing::debug!(group = %config.group_id, coordinator = %coordinator, error = %e, "heartbeat failed; retrying");
                conn = None;
            }
        }
    }
}

/// One heartbeat: (re)connects when needed and returns the broker's error code.
async fn beat(
    config: &GroupConfig,
    conn: &mut Option<Connection>,
    coordinator: &mut String,
    rediscover: &mut bool,
    request: &HeartbeatRequest,
    timeout: Duration,
) -> Result<i16, GroupError> {
    let attempt = async {
        let mut c = match conn.take() {
            Some(c) => c,
            None if *rediscover => {
                let c = connect_coordinator(config).await?;
                *rediscover = false;
                coordinator.clone_from(&c.addr);
                c
            }
            None => Connection::open(coordinator, config.request_timeout, &config.client_id).await?,
        };
        let response: HeartbeatResponse = c.call(ApiKey::Heartbeat, HEARTBEAT_VERSION, request, timeout).await?;
        *conn = Some(c);
        Ok(response.error_code)
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(GroupError::Timeout { what: "heartbeat".into(), after: timeout }))
}

/// After a failure: the retry backoff, doubling on repeated failures up to the heartbeat interval.
fn next_backoff(previous: Duration, config: &GroupConfig) -> Duration {
    if previous >= config.heartbeat_interval {
        config.retry_backoff
    } else {
        (previous * 2).min(config.heartbeat_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "coordinator" that accepts connections and never answers: no heartbeat succeeds, so
    /// the member must call its membership lost once `session.timeout.ms` has passed, not before.
    #[tokio::test]
    async fn silence_for_a_session_timeout_is_lost_membership() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let mut config = GroupConfig::new(addr.clone(), "g");
        config.session_timeout = Duration::from_millis(600);
        config.heartbeat_interval = Duration::from_millis(100);
        let started = Instant::now();
        let mut heartbeat = Heartbeat::spawn(config, addr, "m".into(), 1);
        assert_eq!(heartbeat.status(), MembershipStatus::Stable);
        let status = tokio::time::timeout(Duration::from_secs(5), heartbeat.changed()).await.expect("a verdict");
        assert_eq!(status, MembershipStatus::Lost(LostReason::SessionTimeout));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(600) && waited < Duration::from_secs(2), "{waited:?}");
        silent.abort();
    }
}
