//! The task: loads its tables at start, then polls each when due, round-robin.

use std::time::{Duration, Instant};

use aqueduct_sdk::{async_trait, ConnectError, Props, Result, SourceRecord, SourceTask, SourceTaskContext};
use tracing::{debug, info};

use super::config::{QueryConfig, TASK_TABLES};
use super::querier::{Querier, Source};
use crate::sink::conn::Db;

/// The longest a poll waits with nothing due, so the runtime can pause, stop or commit.
const MAX_IDLE: Duration = Duration::from_secs(1);

/// A task of the query source: reads its tables (or the custom query) in turn.
#[derive(Default)]
pub struct PostgresQueryTask {
    state: Option<State>,
}

struct State {
    cfg: QueryConfig,
    task_id: u32,
    db: Db,
    queriers: Vec<Querier>,
    cursor: usize,
}

impl PostgresQueryTask {
    /// A new, unstarted task.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The sources a task reads: the custom query, or the tables in its `tables` key.
pub fn task_sources(cfg: &QueryConfig, props: &Props) -> Result<Vec<Source>> {
    if let Some(query) = &cfg.query {
        return Ok(vec![Source::Query(query.clone())]);
    }
    let tables: Vec<Source> = props
        .get(TASK_TABLES)
        .map(|t| aqueduct_sdk::config::parse_list(t))
        .unwrap_or_default()
        .iter()
        .map(|t| Source::table(t))
        .collect();
    if tables.is_empty() {
        return Err(ConnectError::config(format!("no tables assigned to the task (task key '{TASK_TABLES}')")));
    }
    Ok(tables)
}

#[async_trait]
impl SourceTask for PostgresQueryTask {
    async fn start(&mut self, context: SourceTaskContext, props: Props) -> Result<()> {
        let cfg = QueryConfig::parse(&props)?;
        let sources = task_sources(&cfg, &props)?;
        let mut db = Db::new(cfg.connection.clone(), cfg.url_for_logs.clone());
        let mut queriers = Vec::with_capacity(sources.len());
        for source in sources {
            let stored = context.offset(&source.partition());
            info!(connector = %cfg.connector, task = context.task_id(), source = %source.label(), offset = ?stored,
                "starting to read");
            queriers.push(Querier::load(&mut db, &cfg, source, stored).await?);
        }
        self.state = Some(State { task_id: context.task_id(), cfg, db, queriers, cursor: 0 });
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(state) = self.state.as_mut() else {
            return Err(ConnectError::fatal("poll before start"));
        };
        let count = state.queriers.len();
        let now = Instant::now();
        // A table whose pass is being read through a cursor keeps the connection until it ends.
        let due = state.queriers.iter().position(Querier::streaming).or_else(|| {
            (0..count)
                .map(|i| (state.cursor + i) % count)
                .find(|&i| state.queriers[i].has_pending() || state.queriers[i].next_poll <= now)
        });
        let Some(index) = due else {
            let earliest = state.queriers.iter().map(|q| q.next_poll).min().unwrap_or(now + MAX_IDLE);
            tokio::time::sleep(earliest.saturating_duration_since(now).min(MAX_IDLE)).await;
            return Ok(Vec::new());
        };
        state.cursor = (index + 1) % count;
        let max = usize::try_from(state.cfg.batch_max_rows).unwrap_or(100);
        let querier = &mut state.queriers[index];
        let records = querier.poll(&mut state.db, max, state.cfg.poll_interval).await?;
        debug!(connector = %state.cfg.connector, task = state.task_id, source = %querier.label(),
            records = records.len(), "polled");
        Ok(records)
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(state) = self.state.take() {
            info!(connector = %state.cfg.connector, task = state.task_id, "stopping");
        }
        Ok(())
    }
}
