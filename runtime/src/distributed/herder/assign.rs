//! The leader's assignment, incremental cooperative as KIP-415 in its simplest form:
//! - work held by a member stays there, unless it was deleted or is held twice (revoked);
//! - work of a member that left the group is *lost*: held back for
//!   `scheduled.rebalance.max.delay.ms` (members are told to rejoin when it ends), then
//!   treated as new;
//! - new work goes to the members with the least of that kind (connectors and tasks are
//!   balanced separately);
//! - a member holding more than its share (`ceil` or `floor` of total/members) has the extra
//!   revoked; revoked work is not reassigned in the same round — the member stops it and
//!   rejoins at once, and the next round assigns it (the two-round revocation rule).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::distributed::group::ConnectorTaskId;

/// Connectors and tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Work {
    /// Connector names.
    pub connectors: BTreeSet<String>,
    /// Task ids.
    pub tasks: BTreeSet<ConnectorTaskId>,
}

impl Work {
    /// True when there is neither connector nor task.
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }
}

/// One member's plan for this round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// To start.
    pub assigned: Work,
    /// To stop.
    pub revoked: Work,
    /// Rejoin after this long (lost work is held back until then); zero for none.
    pub delay: Duration,
}

/// What the leader remembers between rounds.
#[derive(Debug, Default)]
pub struct Memory {
    /// What each member holds after the last round.
    previous: BTreeMap<String, Work>,
    /// Work of departed members, held back until `deadline`.
    lost: Work,
    deadline: Option<Instant>,
}

/// Plans every member's round. `members` are (member id, work it reports running).
pub fn plan(
    all: &Work,
    members: &[(String, Work)],
    memory: &mut Memory,
    now: Instant,
    max_delay: Duration,
) -> BTreeMap<String, Plan> {
    let ids: BTreeSet<&String> = members.iter().map(|(id, _)| id).collect();
    for (id, work) in std::mem::take(&mut memory.previous) {
        if !ids.contains(&id) {
            memory.lost.connectors.extend(work.connectors);
            memory.lost.tasks.extend(work.tasks);
        }
    }
    let held_c: BTreeSet<&String> = members.iter().flat_map(|(_, w)| &w.connectors).collect();
    let held_t: BTreeSet<&ConnectorTaskId> = members.iter().flat_map(|(_, w)| &w.tasks).collect();
    memory.lost.connectors.retain(|c| all.connectors.contains(c) && !held_c.contains(c));
    memory.lost.tasks.retain(|t| all.tasks.contains(t) && !held_t.contains(t));
    let mut delay = Duration::ZERO;
    let withheld = if memory.lost.is_empty() {
        memory.deadline = None;
        Work::default()
    } else {
        let deadline = *memory.deadline.get_or_insert(now + max_delay);
        if now >= deadline {
            memory.deadline = None;
            std::mem::take(&mut memory.lost);
            Work::default()
        } else {
            delay = deadline - now;
            memory.lost.clone()
        }
    };
    let reported_c: Vec<&BTreeSet<String>> = members.iter().map(|(_, w)| &w.connectors).collect();
    let reported_t: Vec<&BTreeSet<ConnectorTaskId>> = members.iter().map(|(_, w)| &w.tasks).collect();
    let (keep_c, assign_c, revoke_c) = plan_kind(&all.connectors, &reported_c, &withheld.connectors);
    let (keep_t, assign_t, revoke_t) = plan_kind(&all.tasks, &reported_t, &withheld.tasks);
    let mut out = BTreeMap::new();
    for (i, (id, _)) in members.iter().enumerate() {
        let mut after = Work { connectors: keep_c[i].clone(), tasks: keep_t[i].clone() };
        after.connectors.extend(assign_c[i].iter().cloned());
        after.tasks.extend(assign_t[i].iter().cloned());
        memory.previous.insert(id.clone(), after);
        out.insert(
            id.clone(),
            Plan {
                assigned: Work { connectors: assign_c[i].clone(), tasks: assign_t[i].clone() },
                revoked: Work { connectors: revoke_c[i].clone(), tasks: revoke_t[i].clone() },
                delay,
            },
        );
    }
    out
}

type Sets<T> = Vec<BTreeSet<T>>;

/// One kind of work: (kept, assigned, revoked) per member.
fn plan_kind<T: Ord + Clone>(
    all: &BTreeSet<T>,
    reported: &[&BTreeSet<T>],
    withheld: &BTreeSet<T>,
) -> (Sets<T>, Sets<T>, Sets<T>) {
    let n = reported.len();
    let mut keep: Sets<T> = vec![BTreeSet::new(); n];
    let mut revoke: Sets<T> = vec![BTreeSet::new(); n];
    let mut seen = BTreeSet::new();
    for (i, held) in reported.iter().enumerate() {
        for x in held.iter() {
            if all.contains(x) && seen.insert(x.clone()) {
                keep[i].insert(x.clone());
            } else {
                revoke[i].insert(x.clone());
            }
        }
    }
    let unassigned: Vec<T> = all.iter().filter(|x| !seen.contains(*x) && !withheld.contains(*x)).cloned().collect();
    let mut assign: Sets<T> = vec![BTreeSet::new(); n];
    if n == 0 {
        return (keep, assign, revoke);
    }
    let total = seen.len() + unassigned.len();
    let (base, extra) = (total / n, total % n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(keep[i].len()), i));
    let mut target = vec![base; n];
    for &i in order.iter().take(extra) {
        target[i] = base + 1;
    }
    for i in 0..n {
        while keep[i].len() > target[i] {
            if let Some(x) = keep[i].pop_last() {
                revoke[i].insert(x);
            }
        }
    }
    for x in unassigned {
        let i = (0..n).min_by_key(|&i| (keep[i].len() + assign[i].len(), i)).unwrap_or(0);
        assign[i].insert(x);
    }
    (keep, assign, revoke)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(connectors: &[&str], tasks: &[(&str, i32)]) -> Work {
        Work {
            connectors: connectors.iter().map(|c| c.to_string()).collect(),
            tasks: tasks.iter().map(|(c, t)| ConnectorTaskId::new(*c, *t)).collect(),
        }
    }

    fn all6() -> Work {
        work(&["a"], &[("a", 0), ("a", 1), ("a", 2), ("a", 3), ("a", 4), ("a", 5)])
    }

    #[test]
    fn new_work_is_spread_evenly() {
        let mut memory = Memory::default();
        let members: Vec<(String, Work)> =
            ["m1", "m2", "m3"].iter().map(|m| (m.to_string(), Work::default())).collect();
        let plans = plan(&all6(), &members, &mut memory, Instant::now(), Duration::from_secs(3));
        for p in plans.values() {
            assert_eq!(p.assigned.tasks.len(), 2);
            assert!(p.revoked.is_empty());
        }
        assert_eq!(plans.values().map(|p| p.assigned.connectors.len()).sum::<usize>(), 1);
    }

    #[test]
    fn a_new_member_gets_work_in_the_second_round() {
        let mut memory = Memory::default();
        let now = Instant::now();
        let full = all6();
        let first = vec![("m1".to_string(), full.clone()), ("m2".to_string(), Work::default())];
        let plans = plan(&full, &first, &mut memory, now, Duration::ZERO);
        assert_eq!(plans["m1"].revoked.tasks.len(), 3, "{plans:?}");
        assert!(plans["m2"].assigned.tasks.is_empty(), "revoked work waits a round");
        let mut m1 = full.clone();
        m1.tasks.retain(|t| !plans["m1"].revoked.tasks.contains(t));
        let second = vec![("m1".to_string(), m1), ("m2".to_string(), Work::default())];
        let plans = plan(&full, &second, &mut memory, now, Duration::ZERO);
        assert_eq!(plans["m2"].assigned.tasks.len(), 3);
        assert!(plans["m1"].revoked.is_empty());
    }

    #[test]
    fn lost_work_waits_for_the_delay_then_moves() {
        let mut memory = Memory::default();
        let now = Instant::now();
        let full = all6();
        let members: Vec<(String, Work)> = ["m1", "m2"].iter().map(|m| (m.to_string(), Work::default())).collect();
        let plans = plan(&full, &members, &mut memory, now, Duration::from_secs(3));
        let m1 = plans["m1"].assigned.clone();
        let alone = vec![("m1".to_string(), m1.clone())];
        let plans = plan(&full, &alone, &mut memory, now + Duration::from_secs(1), Duration::from_secs(3));
        assert!(plans["m1"].assigned.is_empty(), "held back: {plans:?}");
        assert_eq!(plans["m1"].delay, Duration::from_secs(3), "the delay runs from when the loss is seen");
        let plans = plan(&full, &alone, &mut memory, now + Duration::from_secs(2), Duration::from_secs(3));
        assert!(plans["m1"].assigned.is_empty());
        assert_eq!(plans["m1"].delay, Duration::from_secs(2));
        let plans = plan(&full, &alone, &mut memory, now + Duration::from_secs(4), Duration::from_secs(3));
        assert_eq!(plans["m1"].assigned.tasks.len() + m1.tasks.len(), 6);
        assert_eq!(plans["m1"].delay, Duration::ZERO);
    }

    #[test]
    fn deleted_and_duplicate_work_is_revoked() {
        let mut memory = Memory::default();
        let all = work(&["a"], &[("a", 0)]);
        let members =
            vec![("m1".to_string(), work(&["a", "gone"], &[("a", 0)])), ("m2".to_string(), work(&[], &[("a", 0)]))];
        let plans = plan(&all, &members, &mut memory, Instant::now(), Duration::ZERO);
        assert_eq!(plans["m1"].revoked, work(&["gone"], &[]));
        assert_eq!(plans["m2"].revoked, work(&[], &[("a", 0)]));
    }
}
