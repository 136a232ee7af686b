//! The [`Assignor`] the group member calls on the leader: reads the config topic to its end,
//! checks no member has read further, and turns [`assign::plan`] into assignments.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::assign::{self, Memory, Work};
use crate::distributed::config_topic::ConfigStore;
use crate::distributed::group::{Assignment, AssignmentRequest, Assignor, AssignorError, ConnectorTaskId};

/// The leader's side of a rebalance.
pub(super) struct LeaderAssignor {
    pub(super) configs: Arc<ConfigStore>,
    pub(super) url: String,
    pub(super) max_delay: Duration,
    pub(super) sync_timeout: Duration,
    pub(super) memory: Mutex<Memory>,
}

#[async_trait]
impl Assignor for LeaderAssignor {
    async fn assign(&self, request: &AssignmentRequest) -> Result<BTreeMap<String, Assignment>, AssignorError> {
        if let Err(e) = self.configs.refresh(self.sync_timeout).await {
            tracing::warn!(error = %e, "the leader could not read the config topic to its end");
        }
        let snapshot = self.configs.snapshot();
        let leader = request.leader_id.clone();
        let mut out = BTreeMap::new();
        if request.max_config_offset().is_some_and(|max| max > snapshot.offset) {
            tracing::warn!(
                leader_offset = snapshot.offset,
                "a member has read further in the config topic; config mismatch"
            );
            for m in &request.members {
                let mut a = Assignment::new(&leader, &self.url, snapshot.offset);
                a.error = Assignment::CONFIG_MISMATCH;
                out.insert(m.member_id.clone(), a);
            }
            return Ok(out);
        }
        let mut all = Work::default();
        for name in snapshot.connectors.keys() {
            all.connectors.insert(name.clone());
            for t in snapshot.tasks(name) {
                all.tasks.insert(ConnectorTaskId::new(t.connector, t.task as i32));
            }
        }
        let members: Vec<(String, Work)> = request
            .members
            .iter()
            .map(|m| {
                let running = m.state.assignment.as_ref().map_or_else(Work::default, |a| Work {
                    connectors: a.connectors.iter().cloned().collect(),
                    tasks: a.tasks.iter().cloned().collect(),
                });
                (m.member_id.clone(), running)
            })
            .collect();
        let plans = {
            let mut memory = self.memory.lock().await;
            assign::plan(&all, &members, &mut memory, Instant::now(), self.max_delay)
        };
        for (member, plan) in plans {
            let mut a = Assignment::new(&leader, &self.url, snapshot.offset);
            a.connectors = plan.assigned.connectors.into_iter().collect();
            a.tasks = plan.assigned.tasks.into_iter().collect();
            a.revoked_connectors = plan.revoked.connectors.into_iter().collect();
            a.revoked_tasks = plan.revoked.tasks.into_iter().collect();
            a.delay_ms = i32::try_from(plan.delay.as_millis()).unwrap_or(i32::MAX);
            tracing::info!(
                member = %member, connectors = ?a.connectors, tasks = a.tasks.len(),
                revoked_connectors = ?a.revoked_connectors, revoked_tasks = a.revoked_tasks.len(), delay_ms = a.delay_ms,
                "assignment"
            );
            out.insert(member, a);
        }
        Ok(out)
    }
}
