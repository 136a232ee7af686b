//! The snapshot: reads every captured table inside one `REPEATABLE READ` transaction.
//!
//! On a first start the transaction imports the snapshot exported when the slot was created
//! (`SET TRANSACTION SNAPSHOT`), so the rows read are exactly those committed before the
//! slot's consistent point and the stream continues with the first change after it: nothing
//! lost, nothing doubled.
//!
//! Tables are read in (schema, table) byte-wise order (`COLLATE "C"`) through a cursor, `snapshot.fetch.size` rows per
//! round trip, ordered by primary key. Every record's offset carries the table and the last
//! key read, so after a crash the snapshot resumes after that key. The exported snapshot is
//! gone by then, so the resumed part reads a newer state; the slot never confirmed anything past
//! its starting point while the snapshot ran, so streaming then replays every change since,
//! and the result converges (rows may be delivered twice, none is lost). Tables without a
//! primary key are re-read from their start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_sdk::{Result, SchemaRef, SourceTaskContext, Value};
use tokio_postgres::SimpleQueryMessage;
use tracing::info;

use super::catalog::{pg_error, Sql};
use super::config::CdcConfig;
use super::offsets::SnapshotProgress;
use super::table::{quote_ident, quote_literal, TableId, TableSchema};
use super::types::FIRST_NORMAL_OID;

/// How often progress is logged while a table is read.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);
/// The cursor's name.
const CURSOR: &str = "aqueduct_snapshot";

/// A table to read.
struct SnapshotTable {
    schema: Arc<TableSchema>,
    estimated_rows: u64,
    /// Resume after this key (text values, key order).
    after_key: Option<Vec<Option<String>>>,
}

/// A row read by the snapshot.
pub struct SnapshotRow {
    /// Its table.
    pub table: Arc<TableSchema>,
    /// The row struct.
    pub row: Value,
    /// Where the snapshot is after this row.
    pub progress: SnapshotProgress,
}

/// Reads the captured tables inside one repeatable-read transaction.
pub struct SnapshotReader {
    sql: Sql,
    tables: Vec<SnapshotTable>,
    /// Index of the table being read; its cursor is open when `cursor_open`.
    current: usize,
    cursor_open: bool,
    fetch_size: usize,
    table_rows: u64,
    table_started: Instant,
    last_log: Instant,
    total_rows: u64,
    started: Instant,
    /// When the snapshot started, µs since the epoch (the `ts_ms` of its records).
    pub ts_usec: i64,
    /// The snapshot's transaction id horizon (`txId` of its records).
    pub tx_id: Option<u32>,
    /// Where progress is shown in the task's status.
    pub progress: Option<SourceTaskContext>,
}

impl SnapshotReader {
    /// Opens the transaction (importing `snapshot_name` when given), lists the captured tables
    /// and their schemas, and positions after `resume` when continuing an interrupted snapshot.
    pub async fn begin(
        cfg: &CdcConfig,
        snapshot_name: Option<&str>,
        resume: Option<&SnapshotProgress>,
        source_schema: &SchemaRef,
    ) -> Result<(SnapshotReader, Vec<(u32, Arc<TableSchema>)>)> {
        let sql = Sql::connect(cfg, "snapshot").await?;
        let mut begin = String::from("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;");
        if let Some(name) = snapshot_name {
            begin.push_str(&format!(" SET TRANSACTION SNAPSHOT {};", quote_literal(name)));
        }
        sql.client.batch_execute(&begin).await.map_err(|e| pg_error(e, "opening the snapshot transaction"))?;
        let xmin = sql
            .client
            .query_one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", &[])
            .await
            .map_err(|e| pg_error(e, "reading the snapshot's transaction horizon"))?;
        let tx_id =
            xmin.try_get::<_, String>(0).ok().and_then(|s| s.parse::<u64>().ok()).map(|x| (x & 0xffff_ffff) as u32);

        let captured = sql.captured_tables(cfg).await?;
        let mut specs = Vec::with_capacity(captured.len());
        let mut custom_types = Vec::new();
        for (oid, id) in &captured {
            let (columns, identity) = sql.columns(*oid).await?;
            custom_types.extend(columns.iter().map(|c| c.type_oid).filter(|o| *o >= FIRST_NORMAL_OID));
            specs.push((*oid, id.clone(), columns, identity));
        }
        let types = sql.type_infos(&custom_types).await?;
        let lookup = |o: u32| types.get(&o).cloned();

        let resume_at = resume.map(|r| r.table.as_str());
        // Tables before the one being read at the interruption are done: found by its place in
        // the list (no name comparison), or, when it is gone, by comparing names the list's way.
        let resume_index = resume_at.map(|at| {
            specs
                .iter()
                .position(|s| s.1.to_string() == at)
                .unwrap_or_else(|| specs.iter().position(|s| !table_before(&s.1, at)).unwrap_or(specs.len()))
        });
        let mut tables = Vec::new();
        let mut schemas = Vec::new();
        for (index, (oid, id, columns, identity)) in specs.into_iter().enumerate() {
            let schema = TableSchema::build(
                &cfg.topic_prefix,
                id.clone(),
                &columns,
                identity,
                &cfg.values,
                &lookup,
                source_schema,
            );
            schemas.push((oid, schema.clone()));
            let name = id.to_string();
            let after_key = match (resume, resume_at, resume_index) {
                (_, _, Some(at)) if index < at => continue,
                (Some(r), Some(at), _) if name == at && !schema.key_columns.is_empty() => r.key.clone(),
                _ => None,
            };
            let estimated_rows = sql.estimated_rows(oid).await?;
            tables.push(SnapshotTable { schema, estimated_rows, after_key });
        }
        let estimated: u64 = tables.iter().map(|t| t.estimated_rows).sum();
        info!(tables = tables.len(), estimated_rows = estimated, exported_snapshot = ?snapshot_name,
            resumed_at = ?resume_at, "snapshot started");
        let now = Instant::now();
        let ts_usec = now_usec();
        Ok((
            SnapshotReader {
                sql,
                tables,
                current: 0,
                cursor_open: false,
                fetch_size: cfg.snapshot_fetch_size,
                table_rows: 0,
                table_started: now,
                last_log: now,
                total_rows: 0,
                started: now,
                ts_usec,
                tx_id,
                progress: None,
            },
            schemas,
        ))
    }

    /// The next rows (at most `max`); an empty batch when every table was read.
    pub async fn next_rows(&mut self, max: usize) -> Result<Vec<SnapshotRow>> {
        while self.current < self.tables.len() {
            if !self.cursor_open {
                self.open_cursor().await?;
            }
            let rows = self.fetch(max.min(self.fetch_size)).await?;
            if !rows.is_empty() {
                return Ok(rows);
            }
            self.close_cursor().await?;
            self.current += 1;
        }
        Ok(Vec::new())
    }

    /// Commits the snapshot transaction and logs the totals.
    pub async fn finish(self) -> Result<()> {
        self.sql.client.batch_execute("COMMIT").await.map_err(|e| pg_error(e, "ending the snapshot transaction"))?;
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        info!(
            rows = self.total_rows,
            seconds = format!("{secs:.1}"),
            rows_per_second = (self.total_rows as f64 / secs) as u64,
            "snapshot completed"
        );
        Ok(())
    }

    async fn open_cursor(&mut self) -> Result<()> {
        let table = &self.tables[self.current];
        let schema = &table.schema;
        let columns: Vec<String> = schema.columns.iter().map(|c| quote_ident(&c.name)).collect();
        let mut select = format!("SELECT {} FROM {}", columns.join(", "), schema.id.quoted());
        if !schema.key_columns.is_empty() {
            let keys: Vec<String> = schema.key_names().iter().map(|k| quote_ident(k)).collect();
            if let Some(after) = &table.after_key {
                let values: Vec<String> =
                    after.iter().map(|v| v.as_deref().map_or("NULL".to_owned(), quote_literal)).collect();
                select.push_str(&format!(" WHERE ({}) > ({})", keys.join(", "), values.join(", ")));
            }
            select.push_str(&format!(" ORDER BY {}", keys.join(", ")));
        }
        let sql = format!("DECLARE {CURSOR} NO SCROLL CURSOR FOR {select}");
        self.sql
            .client
            .batch_execute(&sql)
            .await
            .map_err(|e| pg_error(e, format!("opening a snapshot cursor on table {}", schema.id)))?;
        info!(table = %schema.id, estimated_rows = table.estimated_rows, resumed_after_key = ?table.after_key,
            "snapshotting table");
        self.cursor_open = true;
        self.table_rows = 0;
        self.table_started = Instant::now();
        Ok(())
    }

    async fn close_cursor(&mut self) -> Result<()> {
        self.sql
            .client
            .batch_execute(&format!("CLOSE {CURSOR}"))
            .await
            .map_err(|e| pg_error(e, "closing a snapshot cursor"))?;
        self.cursor_open = false;
        let table = &self.tables[self.current];
        let secs = self.table_started.elapsed().as_secs_f64().max(0.001);
        let rate = (self.table_rows as f64 / secs) as u64;
        info!(table = %table.schema.id, rows = self.table_rows, seconds = format!("{secs:.1}"),
            rows_per_second = rate, "table snapshot completed");
        if let Some(context) = &self.progress {
            context.report_progress(Some(format!(
                "snapshot of {} completed: {} rows in {secs:.1} s ({rate} rows/s); {} rows in all tables so far",
                table.schema.id, self.table_rows, self.total_rows
            )));
        }
        Ok(())
    }

    async fn fetch(&mut self, n: usize) -> Result<Vec<SnapshotRow>> {
        let table = &self.tables[self.current];
        let schema = table.schema.clone();
        let messages = self
            .sql
            .client
            .simple_query(&format!("FETCH FORWARD {n} FROM {CURSOR}"))
            .await
            .map_err(|e| pg_error(e, format!("reading table {} for the snapshot", schema.id)))?;
        let name = schema.id.to_string();
        let mut rows = Vec::with_capacity(n);
        let mut values: Vec<Option<&str>> = Vec::with_capacity(schema.columns.len());
        for message in &messages {
            let SimpleQueryMessage::Row(row) = message else { continue };
            values.clear();
            for i in 0..schema.columns.len() {
                values.push(row.try_get(i).map_err(|e| pg_error(e, format!("reading a row of table {name}")))?);
            }
            let key = (!schema.key_columns.is_empty())
                .then(|| schema.key_columns.iter().map(|&i| values[i].map(str::to_owned)).collect());
            let value = schema.row_from_text(&values)?;
            rows.push(SnapshotRow {
                table: schema.clone(),
                row: value,
                progress: SnapshotProgress { table: name.clone(), key, last: false },
            });
        }
        self.table_rows += rows.len() as u64;
        self.total_rows += rows.len() as u64;
        if self.last_log.elapsed() >= PROGRESS_INTERVAL {
            self.last_log = Instant::now();
            let secs = self.table_started.elapsed().as_secs_f64().max(0.001);
            let pct = if table.estimated_rows > 0 {
                100.0 * self.table_rows as f64 / table.estimated_rows as f64
            } else {
                0.0
            };
            let rate = (self.table_rows as f64 / secs) as u64;
            info!(table = %schema.id, rows = self.table_rows, estimated_rows = table.estimated_rows,
                percent = format!("{pct:.1}"), rows_per_second = rate, total_rows = self.total_rows, "snapshot progress");
            if let Some(context) = &self.progress {
                context.report_progress(Some(format!(
                    "snapshot of {}: {}/~{} rows ({pct:.1}%), {rate} rows/s; {} rows in all tables so far",
                    schema.id, self.table_rows, table.estimated_rows, self.total_rows
                )));
            }
        }
        Ok(rows)
    }
}

/// True when `id` sorts before the table named `at` (`schema.table`, split at its first dot, so
/// only exact for schemas without dots) in snapshot order: byte-wise, as `COLLATE "C"` sorts the
/// list.
fn table_before(id: &TableId, at: &str) -> bool {
    let (schema, table) = at.split_once('.').unwrap_or((at, ""));
    (id.schema.as_str(), id.table.as_str()) < (schema, table)
}

/// Now, µs since the epoch.
pub fn now_usec() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_tables_like_the_snapshot() {
        assert!(table_before(&TableId::new("a", "z"), "b.a"));
        assert!(table_before(&TableId::new("b", "a"), "b.b"));
        assert!(!table_before(&TableId::new("b", "b"), "b.b"));
        assert!(!table_before(&TableId::new("c", "a"), "b.z"));
    }
}
