//! One transaction of the sink: the planned statements, then (exactly once) the offsets, then
//! `COMMIT`. What can go wrong is typed: a statement failed, the task is stale (the offsets
//! table is ahead of it), or the `COMMIT` got no answer (its outcome is unknown).

use aqueduct_sdk::{ConnectError, TopicPartitionOffsets};

use super::config::{InsertMode, SinkConfig};
use super::conn::{Db, DbError, Failure};
use super::offsets::OffsetStore;
use super::writer::{self, Group, RenderedRow, Step};

/// A row the database rejected in the row-by-row pass.
pub struct BadRow {
    /// Index of its record in the batch.
    pub record: usize,
    /// Which table (and column, when found) rejected it.
    pub message: String,
    /// The server's error.
    pub error: DbError,
}

/// Why a transaction did not commit. The caller rolls back (the connection may be gone).
pub enum RunError {
    /// A statement failed: the error and what was being done.
    Statement(DbError, String),
    /// The offsets table holds offsets at or past the batch's: another task wrote these
    /// partitions since this one was given them. Nothing must be committed.
    Stale(ConnectError),
    /// `COMMIT` failed with a transient error (connection lost, shutdown): it may have happened.
    InDoubt(DbError),
}

/// What a transaction writes.
pub struct Batch<'a> {
    /// The statements, in order.
    pub steps: &'a [Step],
    /// The groups the steps refer to.
    pub groups: &'a [Group],
    /// The rendered rows the steps refer to (`None`: skipped).
    pub rows: &'a [Option<RenderedRow>],
    /// Next offset per partition, stored with the rows (exactly once).
    pub next_offsets: &'a TopicPartitionOffsets,
}

/// Runs `batch` and the offsets in one transaction and commits. With `bad`, runs row by row in
/// savepoints, collects the rows the database rejects, and does not commit.
pub async fn run(
    db: &mut Db,
    config: &SinkConfig,
    offsets: Option<&OffsetStore>,
    batch: &Batch<'_>,
    mut bad: Option<&mut Vec<BadRow>>,
) -> Result<(), RunError> {
    let mode = config.insert_mode;
    let at = |context: String| move |e| RunError::Statement(e, context);
    let url = db.url().to_owned();
    db.batch("BEGIN").await.map_err(at(format!("starting a transaction on {url}")))?;
    for step in batch.steps {
        match step {
            Step::Truncate(table) => {
                let sql = format!("TRUNCATE TABLE {}", table.sql(config.quoting));
                db.batch(&sql).await.map_err(at(format!("truncating table {table}")))?;
            }
            Step::Rows { group, rows: indexes } => {
                let group = &batch.groups[*group];
                let Some(sql) = writer::rows_sql(mode, group) else { continue };
                let selected: Vec<&RenderedRow> = indexes.iter().filter_map(|&i| batch.rows[i].as_ref()).collect();
                let width = group.columns.len();
                let table = &group.table.id;
                match bad.as_deref_mut() {
                    None if mode == InsertMode::Insert && group.kind == writer::Kind::Write => {
                        // Insert mode: COPY is the fastest path (see the README's figures).
                        db.copy_in(&writer::copy_sql(group), writer::copy_data(&selected))
                            .await
                            .map_err(at(format!("copying {} rows into table {table}", selected.len())))?;
                    }
                    None => writer::write_rows(db, &sql, width, &selected, config.batch_size)
                        .await
                        .map_err(at(format!("writing {} rows to table {table}", selected.len())))?,
                    Some(bad) => {
                        for row in selected {
                            db.batch("SAVEPOINT aqueduct_row").await.map_err(at("savepoint".to_owned()))?;
                            match writer::write_rows(db, &sql, width, &[row], 1).await {
                                Ok(()) => {}
                                Err(e) if e.failure == Failure::Data => {
                                    db.batch("ROLLBACK TO SAVEPOINT aqueduct_row")
                                        .await
                                        .map_err(at("rollback to savepoint".to_owned()))?;
                                    let column = writer::find_bad_column(db, group, row)
                                        .await
                                        .map(|c| format!(", column '{}' ({})", c.name, c.type_sql))
                                        .unwrap_or_default();
                                    let message = format!("table {table}{column} rejected the row");
                                    bad.push(BadRow { record: row.record, message, error: e });
                                }
                                Err(e) => {
                                    return Err(RunError::Statement(e, format!("writing a row to table {table}")))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(store) = offsets {
        let stale =
            store.write(db, batch.next_offsets).await.map_err(at(format!("storing offsets in {}", store.name())))?;
        if !stale.is_empty() {
            return Err(RunError::Stale(store.stale_error(db, &stale, batch.next_offsets).await));
        }
    }
    if bad.is_none() {
        match db.batch("COMMIT").await {
            Ok(()) => {}
            // The connection broke or the server is shutting down: it may or may not have
            // committed (re-reading the offsets is harmless when it did not).
            Err(e) if e.failure == Failure::Retriable => return Err(RunError::InDoubt(e)),
            Err(e) => return Err(RunError::Statement(e, "committing the transaction".to_owned())),
        }
    }
    Ok(())
}
