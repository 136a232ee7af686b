//! A server-side cursor: `BEGIN`, `DECLARE ... NO SCROLL CURSOR FOR <query>`, then `FETCH
//! FORWARD n` per poll, `COMMIT` at the end. The task holds at most `n` rows of a table in
//! memory however large the result, and the rows of one pass come from one snapshot.
//!
//! A task reads one cursor at a time (it keeps polling the table whose cursor is open), so one
//! connection and one transaction serve all its tables.

use aqueduct_sdk::Result;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::sink::conn::Db;

/// The cursor's name (one per connection at a time).
const NAME: &str = "aqueduct_query";

/// An open cursor, inside its transaction on the task's connection.
#[derive(Debug)]
pub struct Cursor {
    label: String,
}

impl Cursor {
    /// Opens a transaction and a cursor over `sql` with `params`; `label` names the table in
    /// errors.
    pub async fn open(db: &mut Db, sql: &str, params: &[&(dyn ToSql + Sync)], label: &str) -> Result<Cursor> {
        db.batch("BEGIN").await.map_err(|e| e.into_connect(format!("starting a transaction to read {label}")))?;
        db.execute(&format!("DECLARE {NAME} NO SCROLL CURSOR FOR {sql}"), params)
            .await
            .map_err(|e| e.into_connect(format!("opening a cursor on {label}")))?;
        Ok(Cursor { label: label.to_owned() })
    }

    /// The next `n` rows at most; fewer when the query has no more.
    pub async fn fetch(&mut self, db: &mut Db, n: usize) -> Result<Vec<Row>> {
        db.query(&format!("FETCH FORWARD {n} FROM {NAME}"), &[])
            .await
            .map_err(|e| e.into_connect(format!("reading {}", self.label)))
    }

    /// Ends the transaction (and the cursor with it).
    pub async fn close(self, db: &mut Db) -> Result<()> {
        db.batch("COMMIT").await.map_err(|e| e.into_connect(format!("ending the read of {}", self.label)))
    }
}
