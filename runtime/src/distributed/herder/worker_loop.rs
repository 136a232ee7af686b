//! The member loop: join, apply the assignment, run until the group needs attention, rejoin.
//!
//! Invariants: a revoked connector or task is stopped before this worker rejoins (the next
//! round may give it to another worker); when the membership is lost everything here stops at
//! once, before rejoining, so two copies of a task never run concurrently (another worker only
//! gets the work after the coordinator expired this member, `session.timeout.ms`, by which time
//! the heartbeat has reported the loss here).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tracing::{info, warn};

use super::assignor::LeaderAssignor;
use super::running::{ConnectorEvent, Running};
use super::{Command, DistributedHerder};
use crate::distributed::config_topic::{ConfigUpdate, TaskId};
use crate::distributed::group::{
    Assignment, ConnectProtocol, ConnectorTaskId, GroupMember, JoinResult, MembershipStatus, WorkerState,
};

/// How often changed statuses are written.
const STATUS_INTERVAL: Duration = Duration::from_millis(250);

/// What ends a steady period.
enum Next {
    Rejoin,
    Shutdown,
}

pub(super) struct WorkerLoop {
    pub(super) herder: Arc<DistributedHerder>,
    pub(super) member: GroupMember,
    pub(super) assignor: LeaderAssignor,
    pub(super) url: String,
    pub(super) sync_timeout: Duration,
    pub(super) commands: mpsc::UnboundedReceiver<Command>,
    pub(super) events: mpsc::UnboundedReceiver<ConnectorEvent>,
    pub(super) running: Running,
    pub(super) joined_once: bool,
    pub(super) is_leader: bool,
}

fn to_task(id: &ConnectorTaskId) -> Option<TaskId> {
    u32::try_from(id.task).ok().map(|t| TaskId::new(id.connector.clone(), t))
}

impl WorkerLoop {
    /// Runs until `shutdown` resolves; then stops everything here and leaves the group.
    pub(super) async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut updates = self.herder.configs.subscribe();
        loop {
            self.herder.set_view(|v| v.rebalancing = true);
            let state = WorkerState {
                url: self.url.clone(),
                config_offset: self.herder.configs.snapshot().offset,
                assignment: self.joined_once.then(|| self.running_assignment()),
            };
            let joined = tokio::select! {
                joined = self.member.join(&state, &self.assignor) => joined,
                _ = &mut shutdown => break,
            };
            let joined = match joined {
                Ok(joined) => joined,
                Err(e) => {
                    warn!(error = %e, "could not join the group; stopping local work and retrying");
                    self.running.stop_all().await;
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = &mut shutdown => break,
                    }
                }
            };
            let rejoin_at = match self.apply(joined).await {
                Some(at) => at,
                None => continue,
            };
            match self.steady(rejoin_at, &mut updates, &mut shutdown).await {
                Next::Rejoin => continue,
                Next::Shutdown => break,
            }
        }
        info!("shutting down: stopping connectors and tasks");
        self.herder.set_view(|v| v.rebalancing = true);
        self.running.stop_all().await;
        if let Err(e) = self.member.leave().await {
            warn!(error = %e, "could not leave the group");
        }
    }

    /// What this worker runs, as its metadata reports it.
    fn running_assignment(&self) -> Assignment {
        let mut a = Assignment::new("", "", self.herder.configs.snapshot().offset);
        a.connectors = self.running.connector_names();
        a.tasks =
            self.running.task_ids().into_iter().map(|t| ConnectorTaskId::new(t.connector, t.task as i32)).collect();
        a
    }

    /// Applies an assignment; returns when to rejoin (`Some(None)`: not before an event), or
    /// `None` to rejoin at once.
    async fn apply(&mut self, joined: JoinResult) -> Option<Option<Instant>> {
        let a = &joined.assignment;
        if a.failed() {
            warn!(error = a.error, "the leader reported a config mismatch; reading the config topic and rejoining");
            let _ = self.herder.configs.refresh(self.sync_timeout).await;
            return None;
        }
        if let Err(e) = self.herder.configs.wait_for_offset(a.config_offset, self.sync_timeout).await {
            warn!(error = %e, "could not read the config topic to the assignment's offset; rejoining");
            return None;
        }
        self.joined_once = true;
        self.is_leader = joined.is_leader();
        let sessioned = joined.protocol == ConnectProtocol::Sessioned;
        self.running.generation = joined.generation;
        let revoked_tasks: Vec<TaskId> = a.revoked_tasks.iter().filter_map(to_task).collect();
        self.running.stop_tasks(&revoked_tasks, false).await;
        for name in &a.revoked_connectors {
            self.running.stop_connector(name, false).await;
        }
        let leader_url = a.leader_url.clone();
        let is_leader = self.is_leader;
        self.herder.set_view(|v| {
            v.leader_url = Some(leader_url);
            v.is_leader = is_leader;
            v.rebalancing = false;
            v.sessioned = sessioned;
        });
        self.herder.ensure_session_key().await;
        for name in &a.connectors {
            if !self.running.has_connector(name) {
                self.running.start_connector(name).await;
            }
        }
        let snapshot = self.herder.configs.snapshot();
        let running = self.running.task_ids();
        if a.tasks.iter().filter_map(to_task).any(|id| !running.contains(&id)) {
            self.refresh_offsets().await;
        }
        for id in a.tasks.iter().filter_map(to_task) {
            if !running.contains(&id) {
                self.running.start_task(&id, &snapshot);
            }
        }
        self.running.publish().await;
        if !a.revoked_connectors.is_empty() || !a.revoked_tasks.is_empty() {
            // The revoked work goes elsewhere in the next round: rejoin now that it stopped.
            return None;
        }
        Some((a.delay_ms > 0).then(|| Instant::now() + Duration::from_millis(a.delay_ms as u64)))
    }

    async fn steady(
        &mut self,
        rejoin_at: Option<Instant>,
        updates: &mut broadcast::Receiver<ConfigUpdate>,
        shutdown: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    ) -> Next {
        let mut tick = tokio::time::interval(STATUS_INTERVAL);
        let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
        let rejoin = tokio::time::sleep_until(rejoin_at.unwrap_or(far));
        tokio::pin!(rejoin);
        loop {
            tokio::select! {
                _ = shutdown.as_mut() => return Next::Shutdown,
                event = self.member.next_event() => match event {
                    MembershipStatus::Stable => {}
                    MembershipStatus::RebalanceNeeded => {
                        info!("the group is rebalancing; rejoining");
                        return Next::Rejoin;
                    }
                    MembershipStatus::Lost(reason) => {
                        warn!(?reason, "lost the group membership: stopping every connector and task here");
                        self.herder.set_view(|v| v.rebalancing = true);
                        self.running.stop_all().await;
                        return Next::Rejoin;
                    }
                },
                _ = &mut rejoin => {
                    info!("scheduled rebalance delay over; rejoining");
                    return Next::Rejoin;
                }
                update = updates.recv() => {
                    let rejoin = match update {
                        Ok(update) => self.on_update(update).await,
                        Err(broadcast::error::RecvError::Lagged(_)) => self.on_update(ConfigUpdate::TaskConfigs(Vec::new())).await,
                        Err(broadcast::error::RecvError::Closed) => return Next::Shutdown,
                    };
                    if rejoin {
                        return Next::Rejoin;
                    }
                }
                Some(event) = self.events.recv() => match event {
                    ConnectorEvent::Reconfigure(name) => {
                        info!(connector = %name, "task reconfiguration requested");
                        self.running.reconfigure(&name).await;
                    }
                    ConnectorEvent::Failed(name, error) => self.running.fail_connector(&name, &error),
                },
                Some(command) = self.commands.recv() => match command {
                    Command::RestartTask(id, reply) => {
                        let restarted = self.running.restart_task(&id).await;
                        let _ = reply.send(Ok(restarted));
                    }
                },
                _ = tick.tick() => {
                    self.running.publish().await;
                    self.herder.ensure_session_key().await;
                }
            }
        }
    }

    /// Reacts to a config topic change; true when this worker should rejoin (the leader, when
    /// connectors or task sets change: Kafka Connect's reconfiguration rebalance).
    async fn on_update(&mut self, update: ConfigUpdate) -> bool {
        match update {
            ConfigUpdate::ConnectorConfig(name) => {
                if self.running.has_connector(&name) {
                    info!(connector = %name, "connector config changed; restarting the connector");
                    self.running.restart_connector(&name, false).await;
                }
                self.restart_outdated_tasks().await;
                self.is_leader
            }
            ConfigUpdate::ConnectorRemoved(name) => {
                if self.running.has_connector(&name) {
                    self.running.stop_connector(&name, true).await;
                }
                self.restart_outdated_tasks().await;
                self.is_leader
            }
            ConfigUpdate::TaskConfigs(_) => {
                self.restart_outdated_tasks().await;
                self.is_leader
            }
            ConfigUpdate::TargetState(name) => {
                if let Some(target) = self.herder.configs.snapshot().target_state(&name) {
                    info!(connector = %name, target = target.name(), "target state changed");
                    self.running.set_target(&name, target).await;
                }
                false
            }
            ConfigUpdate::Restart(request) => {
                self.running.restart_connector(&request.connector, request.only_failed).await;
                if request.include_tasks {
                    self.running.restart_tasks(&request.connector, request.only_failed).await;
                }
                false
            }
            ConfigUpdate::SessionKey | ConfigUpdate::LoggerLevel { .. } => false,
        }
    }

    /// Reads the worker's source offsets to the end before tasks start: another worker may
    /// have run them, or the leader altered their offsets (`PATCH /connectors/{name}/offsets`).
    async fn refresh_offsets(&self) {
        if let Err(e) = self.herder.worker.store.refresh().await {
            warn!(error = %e, "could not read the source offsets to the end; tasks start from what is known");
        }
    }

    /// Stops tasks whose configs changed or vanished; changed ones start again here with the
    /// new config (they stay assigned to this worker), vanished ones are destroyed.
    async fn restart_outdated_tasks(&mut self) {
        let snapshot = self.herder.configs.snapshot();
        let (changed, gone) = self.running.outdated_tasks(&snapshot);
        self.running.stop_tasks(&gone, true).await;
        if !changed.is_empty() {
            self.running.stop_tasks(&changed, false).await;
            self.refresh_offsets().await;
            for id in &changed {
                self.running.start_task(id, &snapshot);
            }
        }
    }
}
