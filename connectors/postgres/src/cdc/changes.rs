//! Turns the replication stream into Debezium records with exact offsets.
//!
//! Records of the latest change are held back until the next change or the commit arrives,
//! so the last record of each transaction carries `lsn_proc` = the transaction's end: once
//! that record's offset is stored, the transaction never needs to be read again. Records
//! already emitted (according to the stored offset, or before a reconnect) are skipped by
//! counting the records of the transaction being replayed (see [`super::offsets`]).

use std::collections::HashMap;
use std::sync::Arc;

use aqueduct_sdk::debezium::Op;
use aqueduct_sdk::{ConnectError, OffsetMap, Result, SchemaRef, SourceRecord};
use tracing::{debug, info, warn};

use super::catalog::Sql;
use super::config::CdcConfig;
use super::events::{EventBuilder, SourceInfo};
use super::offsets::{Offset, StreamPosition};
use super::pgoutput::{self, Message, OldTuple, Relation};
use super::replication::{StreamEvent, PG_EPOCH_OFFSET_MICROS};
use super::snapshot::now_usec;
use super::table::{ColumnSpec, TableId, TableSchema};
use super::types::{TypeInfo, FIRST_NORMAL_OID};

/// The transaction being received.
#[derive(Debug, Clone, Copy)]
struct Txn {
    commit_lsn: u64,
    xid: u32,
    ts_usec: i64,
    /// Records generated for it so far (emitted or skipped).
    serial: u64,
}

/// State of the stream between polls.
pub struct ChangeProcessor {
    /// Captured tables by relation OID; `None` for tables the filters leave out.
    tables: HashMap<u32, Option<Arc<TableSchema>>>,
    types: HashMap<u32, TypeInfo>,
    source_schema: SchemaRef,
    partition: OffsetMap,
    txn: Option<Txn>,
    /// Records of the latest change, with their offsets, not yet emitted.
    pending: Vec<(SourceRecord, Offset)>,
    /// Every transaction committed before this LSN was completely processed.
    processed: u64,
    /// The position of the last emitted record.
    emitted: StreamPosition,
    /// Records at or before this position were emitted before (a restart or reconnect).
    resume: Option<StreamPosition>,
    last_commit_lsn: Option<u64>,
}

impl ChangeProcessor {
    /// A processor starting at `position` (the stored offset, or where streaming begins).
    pub fn new(position: StreamPosition, source_schema: SchemaRef, partition: OffsetMap) -> Self {
        ChangeProcessor {
            tables: HashMap::new(),
            types: HashMap::new(),
            source_schema,
            partition,
            txn: None,
            pending: Vec::new(),
            processed: position.lsn_proc,
            emitted: position,
            resume: position.mid_transaction().then_some(position),
            last_commit_lsn: None,
        }
    }

    /// Seeds table schemas (from the snapshot).
    pub fn add_tables(&mut self, tables: impl IntoIterator<Item = (u32, Arc<TableSchema>)>) {
        for (oid, table) in tables {
            self.tables.insert(oid, Some(table));
        }
    }

    /// The position of the last emitted record.
    pub fn emitted(&self) -> StreamPosition {
        self.emitted
    }

    /// Where a new stream must start: after everything emitted.
    pub fn restart_lsn(&self) -> u64 {
        self.emitted.lsn_proc
    }

    /// Forgets the half-received transaction after a disconnect; the next stream replays it
    /// and skips what was emitted.
    pub fn reset_session(&mut self) {
        self.txn = None;
        self.pending.clear();
        self.processed = self.emitted.lsn_proc;
        self.resume = Some(self.emitted);
    }

    /// True between transactions with nothing held back.
    pub fn idle(&self) -> bool {
        self.txn.is_none() && self.pending.is_empty()
    }

    /// Handles one stream event, appending finished records to `out`.
    pub async fn handle(
        &mut self,
        event: StreamEvent,
        cfg: &CdcConfig,
        catalog: &Sql,
        out: &mut Vec<SourceRecord>,
    ) -> Result<()> {
        match event {
            StreamEvent::Begin { commit_lsn, xid, commit_time_pg } => {
                self.flush_pending(out);
                self.txn = Some(Txn { commit_lsn, xid, ts_usec: commit_time_pg + PG_EPOCH_OFFSET_MICROS, serial: 0 });
            }
            StreamEvent::Commit { end_lsn } => {
                if let Some(txn) = self.txn.take() {
                    self.processed = self.processed.max(end_lsn);
                    if let Some((_, offset)) = self.pending.last_mut() {
                        offset.position.lsn_proc = self.processed;
                    }
                    self.last_commit_lsn = Some(txn.commit_lsn);
                    if self.resume.is_some_and(|r| txn.commit_lsn >= r.lsn_commit) {
                        self.resume = None;
                    }
                }
                self.flush_pending(out);
            }
            StreamEvent::KeepAlive { wal_end } => {
                if self.txn.is_none() {
                    self.processed = self.processed.max(wal_end);
                }
            }
            StreamEvent::Data { lsn, data } => {
                let message = pgoutput::decode(data).map_err(|e| {
                    ConnectError::fatal(format!("decoding the replication stream at LSN {lsn:X}")).with_source(e)
                })?;
                match message {
                    Message::Relation(relation) => self.on_relation(relation, cfg, catalog).await?,
                    Message::Type { .. } | Message::Origin | Message::Message | Message::Boundary => {}
                    change => {
                        self.flush_pending(out);
                        self.on_change(change, lsn, cfg)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A heartbeat's offset: the processed position when idle, else the last emitted one.
    pub fn heartbeat_offset(&mut self) -> Offset {
        let position = if self.idle() && self.processed > self.emitted.lsn_proc {
            StreamPosition {
                lsn_proc: self.processed,
                lsn_commit: self.last_commit_lsn.unwrap_or(0),
                event_serial: 0,
                lsn: self.processed,
                tx_id: self.emitted.tx_id,
                ts_usec: now_usec(),
            }
        } else {
            self.emitted
        };
        self.emitted = position;
        Offset { position, snapshot: None }
    }

    fn flush_pending(&mut self, out: &mut Vec<SourceRecord>) {
        for (mut record, offset) in self.pending.drain(..) {
            record.source_offset = offset.to_map();
            self.emitted = offset.position;
            out.push(record);
        }
    }

    async fn on_relation(&mut self, relation: Relation, cfg: &CdcConfig, catalog: &Sql) -> Result<()> {
        let id = TableId::new(relation.namespace.clone(), relation.name.clone());
        if !cfg.filter.captures(&id.schema, &id.table) {
            self.tables.insert(relation.oid, None);
            return Ok(());
        }
        // NOT NULL and the primary key come from the catalog as it is now.
        let (catalog_columns, _) = catalog.columns(relation.oid).await?;
        let by_name: HashMap<&str, &ColumnSpec> = catalog_columns.iter().map(|c| (c.name.as_str(), c)).collect();
        let specs: Vec<ColumnSpec> = relation
            .columns
            .iter()
            .map(|c| {
                let known = by_name.get(c.name.as_str());
                ColumnSpec {
                    name: c.name.clone(),
                    type_oid: c.type_oid,
                    modifier: c.type_modifier,
                    not_null: known.is_some_and(|k| k.not_null),
                    pk_position: known.and_then(|k| k.pk_position),
                    identity: c.key,
                }
            })
            .collect();
        let missing: Vec<u32> = specs
            .iter()
            .map(|c| c.type_oid)
            .filter(|o| *o >= FIRST_NORMAL_OID && !self.types.contains_key(o))
            .collect();
        if !missing.is_empty() {
            self.types.extend(catalog.type_infos(&missing).await?);
        }
        let types = &self.types;
        let lookup = |o: u32| types.get(&o).cloned();
        let table = TableSchema::build(
            &cfg.topic_prefix,
            id,
            &specs,
            relation.replica_identity,
            &cfg.values,
            &lookup,
            &self.source_schema,
        );
        match self.tables.get(&relation.oid) {
            Some(Some(old)) if !old.same_shape(&table) => {
                let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
                info!(table = %table.id, ?columns, "table schema changed");
            }
            Some(Some(_)) => {}
            _ => {
                if relation.replica_identity != b'f' {
                    debug!(table = %table.id, identity = %(relation.replica_identity as char),
                        "replica identity is not FULL: updates and deletes carry only the key as 'before'");
                }
                if table.key_columns.is_empty() {
                    warn!(table = %table.id, "table has no primary key: its events have a null key");
                }
            }
        }
        self.tables.insert(relation.oid, Some(table));
        Ok(())
    }

    fn table(&self, oid: u32) -> Result<Option<Arc<TableSchema>>> {
        match self.tables.get(&oid) {
            Some(t) => Ok(t.clone()),
            None => Err(ConnectError::fatal(format!(
                "a change refers to relation {oid}, which no Relation message described"
            ))),
        }
    }

    fn on_change(&mut self, message: Message, lsn: u64, cfg: &CdcConfig) -> Result<()> {
        let Some(txn) = self.txn else {
            return Err(ConnectError::fatal(format!("a change at LSN {lsn:X} arrived outside a transaction")));
        };
        let now_ms = now_usec() / 1000;
        let source = SourceInfo {
            server: &cfg.topic_prefix,
            db: &cfg.dbname,
            ts_usec: txn.ts_usec,
            snapshot: "false",
            tx_id: Some(txn.xid),
            lsn,
            last_commit_lsn: self.last_commit_lsn,
        };
        let mut records: Vec<SourceRecord> = Vec::new();
        match message {
            Message::Insert { relation, new } => {
                let Some(table) = self.table(relation)? else { return Ok(()) };
                if cfg.skipped.create {
                    return Ok(());
                }
                let events = self.events(&table, now_ms);
                let after = table.row_from_tuple(&new, None, &cfg.values)?;
                records.push(events.change(Op::Create, None, Some(after), &source, OffsetMap::new())?);
            }
            Message::Update { relation, old, new } => {
                let Some(table) = self.table(relation)? else { return Ok(()) };
                if cfg.skipped.update {
                    return Ok(());
                }
                let events = self.events(&table, now_ms);
                let full_old = match &old {
                    Some(OldTuple::Full(values)) => Some(values.as_slice()),
                    _ => None,
                };
                let after = table.row_from_tuple(&new, full_old, &cfg.values)?;
                let before = old.as_ref().map(|o| table.row_from_tuple(o.values(), None, &cfg.values)).transpose()?;
                let key_changed = match &before {
                    Some(b) if !table.key_columns.is_empty() => table.key_of(b)? != table.key_of(&after)?,
                    _ => false,
                };
                if key_changed {
                    // Debezium: a key change is a delete of the old key (and its tombstone),
                    // then a create with the new key.
                    let delete = events.change(Op::Delete, before, None, &source, OffsetMap::new())?;
                    let tombstone = cfg.tombstones_on_delete.then(|| events.tombstone(&delete, OffsetMap::new()));
                    records.push(delete);
                    records.extend(tombstone);
                    records.push(events.change(Op::Create, None, Some(after), &source, OffsetMap::new())?);
                } else {
                    records.push(events.change(Op::Update, before, Some(after), &source, OffsetMap::new())?);
                }
            }
            Message::Delete { relation, old } => {
                let Some(table) = self.table(relation)? else { return Ok(()) };
                if cfg.skipped.delete {
                    return Ok(());
                }
                let events = self.events(&table, now_ms);
                let before = table.row_from_tuple(old.values(), None, &cfg.values)?;
                let delete = events.change(Op::Delete, Some(before), None, &source, OffsetMap::new())?;
                let tombstone = cfg.tombstones_on_delete.then(|| events.tombstone(&delete, OffsetMap::new()));
                records.push(delete);
                records.extend(tombstone);
            }
            Message::Truncate { relations, .. } => {
                if cfg.skipped.truncate {
                    return Ok(());
                }
                for oid in relations {
                    let Some(table) = self.table(oid)? else { continue };
                    records.push(self.events(&table, now_ms).truncate(&source, OffsetMap::new())?);
                }
            }
            _ => {}
        }
        for record in records {
            let txn = self.txn.as_mut().ok_or_else(|| ConnectError::fatal("transaction state lost"))?;
            txn.serial += 1;
            let position = StreamPosition {
                lsn_proc: self.processed,
                lsn_commit: txn.commit_lsn,
                event_serial: txn.serial,
                lsn,
                tx_id: Some(txn.xid),
                ts_usec: txn.ts_usec,
            };
            if self.resume.is_some_and(|r| r.covers(txn.commit_lsn, txn.serial)) {
                continue;
            }
            self.pending.push((record, Offset { position, snapshot: None }));
        }
        Ok(())
    }

    fn events<'a>(&'a self, table: &'a TableSchema, now_ms: i64) -> EventBuilder<'a> {
        EventBuilder { table, partition: &self.partition, source_schema: &self.source_schema, now_ms }
    }
}
