//! The CDC source task: start-up checks, the snapshot, then the stream; offsets confirmed to
//! the server only in `commit`.

use std::time::{Duration, Instant};

use aqueduct_sdk::debezium::Op;
use aqueduct_sdk::{
    async_trait, ConnectError, ErrorKind, OffsetMap, Props, Result, SchemaRef, SourceRecord, SourceTask,
    SourceTaskContext,
};
use tracing::{debug, info, warn};

use super::catalog::Sql;
use super::changes::ChangeProcessor;
use super::config::{CdcConfig, SnapshotMode, SLOT_MAX_RETRIES, SLOT_NAME, STALE_OFFSET_HANDLING};
use super::events::{heartbeat, heartbeat_key_schema, heartbeat_value_schema, source_schema, EventBuilder, SourceInfo};
use super::offsets::{lsn_text, partition, stale_offset_error, Offset, StreamPosition};
use super::replication::{create_slot, is_slot_busy, ReplicationStream};
use super::snapshot::{now_usec, SnapshotReader, SnapshotRow};

/// What the task is doing.
enum Phase {
    /// Not connected yet (or re-initializing after a failed snapshot).
    Init,
    /// Reading the snapshot.
    Snapshot(Box<Snapshotting>),
    /// Streaming changes.
    Streaming,
    /// `snapshot.mode=initial_only` finished: nothing more to do.
    Finished,
}

struct Snapshotting {
    reader: SnapshotReader,
    /// The stream position the snapshot's records carry.
    base: StreamPosition,
    /// The last row read, held back until it is known whether it is the snapshot's last.
    held: Option<SnapshotRow>,
    /// Stream after the snapshot (every mode but initial_only).
    then_stream: bool,
}

/// The `PostgresCdcSource` task.
pub struct PostgresCdcTask {
    cfg: Option<CdcConfig>,
    context: Option<SourceTaskContext>,
    partition: OffsetMap,
    source_schema: SchemaRef,
    heartbeat_schemas: (SchemaRef, SchemaRef),
    phase: Phase,
    catalog: Option<Sql>,
    stream: Option<ReplicationStream>,
    processor: Option<ChangeProcessor>,
    /// The highest LSN confirmed to the server (always a stored `lsn_proc`).
    confirmed: u64,
    slot_busy_since: Option<Instant>,
    next_heartbeat: Option<Instant>,
}

impl Default for PostgresCdcTask {
    fn default() -> Self {
        Self::new()
    }
}

impl PostgresCdcTask {
    /// A new, unstarted task.
    pub fn new() -> Self {
        PostgresCdcTask {
            cfg: None,
            context: None,
            partition: OffsetMap::new(),
            source_schema: source_schema(),
            heartbeat_schemas: (heartbeat_key_schema(), heartbeat_value_schema()),
            phase: Phase::Init,
            catalog: None,
            stream: None,
            processor: None,
            confirmed: 0,
            slot_busy_since: None,
            next_heartbeat: None,
        }
    }

    fn cfg(&self) -> Result<&CdcConfig> {
        self.cfg.as_ref().ok_or_else(|| ConnectError::fatal("the task was not started"))
    }

    fn stored_offset(&self) -> Result<Option<Offset>> {
        let Some(context) = &self.context else { return Ok(None) };
        context.offset(&self.partition).map(|m| Offset::from_map(&m)).transpose()
    }

    /// Checks the server, the publication and the slot, and decides between snapshot and stream.
    async fn initialize(&mut self) -> Result<()> {
        let cfg = self.cfg()?.clone();
        let sql = Sql::connect(&cfg, "catalog").await?;
        sql.check_server(&cfg).await?;
        let stored = self.stored_offset()?;
        let captured = sql.captured_tables(&cfg).await?;
        if captured.is_empty() {
            warn!(connector = %cfg.connector_name, "no table matches the table and schema filters");
        }
        let mut resume = stored.as_ref().filter(|o| o.snapshot_incomplete()).and_then(|o| o.snapshot.clone());

        if cfg.snapshot_mode == SnapshotMode::InitialOnly {
            self.catalog = Some(sql);
            if stored.is_some() && resume.is_none() {
                info!(connector = %cfg.connector_name, "snapshot.mode=initial_only and the snapshot completed before: nothing to do");
                self.phase = Phase::Finished;
                return Ok(());
            }
            self.processor = Some(ChangeProcessor::new(
                StreamPosition::default(),
                self.source_schema.clone(),
                self.partition.clone(),
            ));
            return self.begin_snapshot(&cfg, None, resume.as_ref(), StreamPosition::default(), false).await;
        }

        sql.ensure_publication(&cfg, &captured).await?;
        let slot = sql.slot(&cfg.slot_name).await?;
        if let Some(s) = &slot {
            Sql::check_slot(&cfg, s)?;
            if let Some(pid) = s.active_pid {
                return Err(self.slot_busy(&cfg, &format!("it is active for PID {pid}")));
            }
        }
        self.slot_busy_since = None;
        let mut stored_position = stored.as_ref().map(|o| o.position).filter(|p| p.lsn_proc > 0);
        // The slot moved past the stored offset (advanced or re-created by someone else): the
        // changes in between can no longer be streamed.
        let stale = match (&slot, stored_position) {
            (Some(s), Some(p)) if p.lsn_proc < s.confirmed_flush => Some((p.lsn_proc, s.confirmed_flush)),
            _ => None,
        };
        if let Some((at, confirmed)) = stale {
            if cfg.snapshot_mode == SnapshotMode::WhenNeeded {
                warn!(connector = %cfg.connector_name, slot = %cfg.slot_name, stored = %lsn_text(at), confirmed = %lsn_text(confirmed),
                    "the slot has moved past the stored offset; snapshot.mode=when_needed: taking a new snapshot");
                stored_position = None;
                resume = None;
            } else if cfg.fail_on_stale_offset {
                return Err(stale_offset_error(&cfg, at, confirmed));
            } else {
                warn!(connector = %cfg.connector_name, slot = %cfg.slot_name, stored = %lsn_text(at), confirmed = %lsn_text(confirmed),
                    "the slot has moved past the stored offset; {STALE_OFFSET_HANDLING}=warn: streaming from the slot's \
                     position, the changes in between are lost");
            }
        }
        let wants_snapshot = match cfg.snapshot_mode {
            SnapshotMode::Never => false,
            SnapshotMode::Always => true,
            SnapshotMode::WhenNeeded => stored.is_none() || resume.is_some() || stale.is_some(),
            SnapshotMode::Initial | SnapshotMode::InitialOnly => stored.is_none() || resume.is_some(),
        };
        let (base, created) = match &slot {
            Some(s) => {
                // The stored position is durable: it may be confirmed as soon as streaming starts.
                self.confirmed = s.confirmed_flush.max(stored_position.map_or(0, |p| p.lsn_proc));
                (
                    stored_position
                        .unwrap_or(StreamPosition { lsn_proc: s.confirmed_flush, ..StreamPosition::default() }),
                    None,
                )
            }
            None => {
                let fresh_snapshot = wants_snapshot;
                if stored_position.is_some() {
                    warn!(connector = %cfg.connector_name, slot = %cfg.slot_name,
                        "the replication slot is gone although offsets are stored: creating it again; changes made \
                         since the stored offset are lost (delete the offsets and use snapshot.mode=initial to re-snapshot)");
                }
                if resume.take().is_some() {
                    warn!(connector = %cfg.connector_name, "the replication slot is gone: restarting the snapshot from the beginning");
                }
                let created = create_slot(&cfg, fresh_snapshot).await?;
                self.confirmed = created.consistent_point;
                (StreamPosition { lsn_proc: created.consistent_point, ..StreamPosition::default() }, Some(created))
            }
        };
        self.catalog = Some(sql);
        self.processor = Some(ChangeProcessor::new(base, self.source_schema.clone(), self.partition.clone()));
        if !wants_snapshot {
            info!(connector = %cfg.connector_name, start = base.lsn_proc, "streaming without a snapshot");
            self.phase = Phase::Streaming;
            return Ok(());
        }
        let (name, holder) = match created {
            Some(c) => (c.snapshot_name, c.holder),
            None => (None, None),
        };
        let result = self.begin_snapshot(&cfg, name.as_deref(), resume.as_ref(), base, true).await;
        // The exported snapshot is imported (or failed): release the session that exported it.
        drop(holder);
        result
    }

    async fn begin_snapshot(
        &mut self,
        cfg: &CdcConfig,
        exported: Option<&str>,
        resume: Option<&super::offsets::SnapshotProgress>,
        base: StreamPosition,
        then_stream: bool,
    ) -> Result<()> {
        let (mut reader, schemas) = SnapshotReader::begin(cfg, exported, resume, &self.source_schema).await?;
        reader.progress = self.context.clone();
        if let Some(p) = self.processor.as_mut() {
            p.add_tables(schemas);
        }
        self.phase = Phase::Snapshot(Box::new(Snapshotting { reader, base, held: None, then_stream }));
        Ok(())
    }

    /// The error for a slot held by another connection: retriable within the retry budget.
    fn slot_busy(&mut self, cfg: &CdcConfig, detail: &str) -> ConnectError {
        let since = *self.slot_busy_since.get_or_insert_with(Instant::now);
        let budget = cfg.slot_retry_delay.saturating_mul(cfg.slot_max_retries);
        let message = format!(
            "the replication slot '{}' ({SLOT_NAME}) on {} is in use by another connection ({detail}); \
             stop the other client or choose another {SLOT_NAME}",
            cfg.slot_name,
            cfg.server()
        );
        if since.elapsed() >= budget {
            ConnectError::config(format!("{message} (gave up after {SLOT_MAX_RETRIES}={})", cfg.slot_max_retries))
        } else {
            ConnectError::retriable(format!("{message}; retrying"))
        }
    }

    async fn poll_snapshot(&mut self) -> Result<Vec<SourceRecord>> {
        let cfg = self.cfg()?.clone();
        let Phase::Snapshot(state) = &mut self.phase else { return Ok(Vec::new()) };
        let rows = match state.reader.next_rows(cfg.max_batch_size).await {
            Ok(rows) => rows,
            Err(e) => {
                if e.is_retriable() {
                    warn!(connector = %cfg.connector_name, error = %e, "the snapshot failed; it restarts from the stored offset");
                    self.phase = Phase::Init;
                }
                return Err(e);
            }
        };
        let (ts_usec, tx_id, base) = (state.reader.ts_usec, state.reader.tx_id, state.base);
        let done = rows.is_empty();
        let mut ready = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(previous) = state.held.replace(row) {
                ready.push(previous);
            }
        }
        let mut out = Vec::with_capacity(ready.len() + 1);
        for row in ready {
            out.push(self.snapshot_record(&cfg, row, false, ts_usec, tx_id, base)?);
        }
        if !done {
            return Ok(out);
        }
        let Phase::Snapshot(state) = std::mem::replace(&mut self.phase, Phase::Init) else { return Ok(out) };
        let Snapshotting { reader, held, then_stream, .. } = *state;
        reader.finish().await?;
        if let Some(last) = held {
            out.push(self.snapshot_record(&cfg, last, true, ts_usec, tx_id, base)?);
        }
        self.phase = if then_stream { Phase::Streaming } else { Phase::Finished };
        Ok(out)
    }

    fn snapshot_record(
        &self,
        cfg: &CdcConfig,
        row: SnapshotRow,
        last: bool,
        ts_usec: i64,
        tx_id: Option<u32>,
        base: StreamPosition,
    ) -> Result<SourceRecord> {
        let source = SourceInfo {
            server: &cfg.topic_prefix,
            db: &cfg.dbname,
            ts_usec,
            snapshot: if last { "last" } else { "true" },
            tx_id,
            lsn: base.lsn_proc,
            last_commit_lsn: None,
        };
        let mut progress = row.progress;
        progress.last = last;
        let offset = Offset { position: base, snapshot: Some(progress) }.to_map();
        let events = EventBuilder {
            table: &row.table,
            partition: &self.partition,
            source_schema: &self.source_schema,
            now_ms: now_usec() / 1000,
        };
        events.change(Op::Read, None, Some(row.row), &source, offset)
    }

    async fn open_stream(&mut self) -> Result<()> {
        let cfg = self.cfg()?.clone();
        if self.catalog.is_none() {
            self.catalog = Some(Sql::connect(&cfg, "catalog").await?);
        }
        let start = self.processor.as_ref().map_or(0, ChangeProcessor::restart_lsn);
        match ReplicationStream::start(&cfg, start, self.confirmed).await {
            Ok(stream) => {
                self.stream = Some(stream);
                self.slot_busy_since = None;
                Ok(())
            }
            Err(e) if is_slot_busy(&e) => Err(self.slot_busy(&cfg, &e.to_string())),
            Err(e) => Err(e),
        }
    }

    async fn poll_stream(&mut self) -> Result<Vec<SourceRecord>> {
        if self.stream.is_none() {
            self.open_stream().await?;
        }
        let cfg = self.cfg()?.clone();
        let deadline = tokio::time::Instant::now() + cfg.poll_interval;
        let mut out = Vec::new();
        let failure = loop {
            if out.len() >= cfg.max_batch_size {
                break None;
            }
            let wait = if out.is_empty() {
                deadline.saturating_duration_since(tokio::time::Instant::now())
            } else {
                Duration::ZERO
            };
            let (Some(stream), Some(processor), Some(catalog)) =
                (self.stream.as_mut(), self.processor.as_mut(), self.catalog.as_ref())
            else {
                return Err(ConnectError::fatal("the stream is not open"));
            };
            let event = match stream.next(wait, &cfg).await {
                Ok(Some(event)) => event,
                Ok(None) => break None,
                Err(e) => break Some(e),
            };
            if let Err(e) = processor.handle(event, &cfg, catalog, &mut out).await {
                break Some(e);
            }
        };
        if let Some(e) = failure {
            if !e.is_retriable() {
                return Err(e);
            }
            warn!(connector = %cfg.connector_name, error = %e, "replication interrupted; reconnecting from the last emitted position");
            self.reset_stream().await;
            if out.is_empty() {
                return Err(e);
            }
        }
        self.maybe_heartbeat(&cfg, &mut out)?;
        Ok(out)
    }

    /// Drops the stream and the catalog connection after a failure; the next poll reconnects.
    async fn reset_stream(&mut self) {
        if let Some(stream) = self.stream.take() {
            stream.close().await;
        }
        self.catalog = None;
        if let Some(p) = self.processor.as_mut() {
            p.reset_session();
        }
    }

    fn maybe_heartbeat(&mut self, cfg: &CdcConfig, out: &mut Vec<SourceRecord>) -> Result<()> {
        let Some(interval) = cfg.heartbeat_interval else { return Ok(()) };
        let now = Instant::now();
        let due = *self.next_heartbeat.get_or_insert(now + interval);
        if now < due {
            return Ok(());
        }
        self.next_heartbeat = Some(now + interval);
        let Some(processor) = self.processor.as_mut() else { return Ok(()) };
        let offset = processor.heartbeat_offset();
        out.push(heartbeat(
            &cfg.heartbeat_topic(),
            &cfg.topic_prefix,
            &self.partition,
            offset.to_map(),
            now_usec() / 1000,
            &self.heartbeat_schemas,
        )?);
        Ok(())
    }
}

#[async_trait]
impl SourceTask for PostgresCdcTask {
    async fn start(&mut self, context: SourceTaskContext, props: Props) -> Result<()> {
        let cfg = CdcConfig::parse(&props)?;
        self.partition = partition(&cfg.topic_prefix);
        info!(connector = %context.connector(), task = context.task_id(), server = %cfg.server(), slot = %cfg.slot_name,
            publication = %cfg.publication_name, snapshot_mode = ?cfg.snapshot_mode, "starting the PostgreSQL CDC task");
        self.context = Some(context);
        self.cfg = Some(cfg);
        self.phase = Phase::Init;
        // Bad settings fail the task now; an unreachable server is retried by poll.
        match self.initialize().await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::Retriable => {
                warn!(error = %e, "PostgreSQL is not available yet; polling will retry");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if matches!(self.phase, Phase::Init) {
            self.initialize().await?;
        }
        match self.phase {
            Phase::Init => Ok(Vec::new()),
            Phase::Snapshot(_) => self.poll_snapshot().await,
            Phase::Streaming => self.poll_stream().await,
            Phase::Finished => {
                tokio::time::sleep(self.cfg()?.poll_interval).await;
                Ok(Vec::new())
            }
        }
    }

    /// Confirms to the server the `lsn_proc` of the offset now in the store: the only place the
    /// slot's confirmed position moves.
    async fn commit(&mut self) -> Result<()> {
        let stored = match self.stored_offset() {
            Ok(Some(offset)) => offset,
            Ok(None) => return Ok(()),
            Err(e) => {
                warn!(error = %e, "cannot read the stored offset; not confirming anything");
                return Ok(());
            }
        };
        let lsn = stored.position.lsn_proc;
        if lsn > self.confirmed {
            self.confirmed = lsn;
            if let Some(stream) = &self.stream {
                stream.confirm(lsn);
            }
            debug!(lsn = %lsn_text(lsn), "confirmed the stored position to the server");
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(stream) = self.stream.take() {
            stream.close().await;
        }
        self.phase = Phase::Finished;
        let Some(cfg) = self.cfg.clone() else { return Ok(()) };
        if cfg.drop_slot_on_stop && cfg.snapshot_mode != SnapshotMode::InitialOnly {
            let sql = match self.catalog.take() {
                Some(sql) => sql,
                None => Sql::connect(&cfg, "catalog").await?,
            };
            // The walsender may take a moment to release the slot.
            for attempt in 0..50 {
                match sql.drop_slot(&cfg.slot_name).await {
                    Ok(()) => {
                        info!(slot = %cfg.slot_name, "dropped the replication slot (slot.drop.on.stop)");
                        break;
                    }
                    Err(e) if attempt < 49 => {
                        debug!(error = %e, "slot not released yet");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        self.catalog = None;
        Ok(())
    }
}
