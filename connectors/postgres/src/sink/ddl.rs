//! Makes sure a destination table can take a shape of row: reads it from the catalog (cached),
//! creates it (`auto.create`), adds missing columns (`auto.evolve`), checks upsert keys.

use std::collections::HashMap;
use std::sync::Arc;

use aqueduct_sdk::{ConnectError, Result};
use tokio_postgres::error::SqlState;
use tracing::info;

use super::config::{InsertMode, SinkConfig};
use super::conn::{Db, Failure, PgMessage};
use super::table::{self, ColumnInfo, TableId, TableInfo};
use super::types::SqlType;

/// A column the batch writes, with the type to create it with.
#[derive(Debug, Clone)]
pub struct WantedColumn {
    /// The name as in the record.
    pub name: String,
    /// The type for `CREATE TABLE` / `ADD COLUMN`.
    pub sql_type: SqlType,
    /// Whether the record schema allows null (non-key columns of required fields become `NOT NULL`).
    pub optional: bool,
}

/// The tables seen so far.
#[derive(Default)]
pub struct Tables {
    cache: HashMap<TableId, Arc<TableInfo>>,
}

impl Tables {
    /// Forgets a table (it changed under the sink).
    pub fn invalidate(&mut self, id: &TableId) {
        self.cache.remove(id);
    }

    /// Forgets every table.
    pub fn clear(&mut self) {
        self.cache.clear();
    }

    /// The table `id`, ready for rows of `columns` whose first `key_len` form the key; returns
    /// the catalog's column for each wanted one, in order.
    pub async fn ensure(
        &mut self,
        db: &mut Db,
        config: &SinkConfig,
        id: &TableId,
        columns: &[WantedColumn],
        key_len: usize,
        writes: bool,
    ) -> Result<(Arc<TableInfo>, Vec<ColumnInfo>)> {
        let quoting = config.quoting;
        let mut info = match self.cache.get(id) {
            Some(info) => info.clone(),
            None => self.load(db, config, id).await?,
        };
        if info.columns.is_empty() {
            if !config.auto_create {
                return Err(ConnectError::fatal(format!(
                    "table {id} does not exist and auto.create is false; create it or set auto.create=true"
                )));
            }
            let sql = create_table_sql(config, id, columns, key_len);
            info!(connector = %config.connector, table = %id, "creating table: {sql}");
            run_ddl(db, &sql, || format!("creating table {id}")).await?;
            info = self.load(db, config, id).await?;
        }
        let missing: Vec<&WantedColumn> =
            columns.iter().filter(|c| info.column(&quoting.stored(&c.name)).is_none()).collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|c| c.name.as_str()).collect();
            if !config.auto_evolve {
                return Err(ConnectError::fatal(format!(
                    "table {} has no column {} for the record field(s) of the same name, and auto.evolve is false; \
                     add the column(s), set auto.evolve=true, or leave the field(s) out with fields.whitelist",
                    info.id,
                    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
                )));
            }
            let adds: Vec<String> = missing
                .iter()
                .map(|c| format!("ADD COLUMN IF NOT EXISTS {} {}", quoting.ident(&c.name), c.sql_type.ddl()))
                .collect();
            let sql = format!("ALTER TABLE {} {}", info.id.sql(quoting), adds.join(", "));
            info!(connector = %config.connector, table = %info.id, "adding columns: {sql}");
            run_ddl(db, &sql, || format!("adding columns {names:?} to table {}", info.id)).await?;
            db.forget_statements();
            info = self.load(db, config, id).await?;
        }
        let mut found = Vec::with_capacity(columns.len());
        for c in columns {
            let column = info.column(&quoting.stored(&c.name)).ok_or_else(|| {
                ConnectError::fatal(format!("table {} still has no column '{}' after adding it", info.id, c.name))
            })?;
            found.push(column.clone());
        }
        if writes && config.insert_mode == InsertMode::Upsert {
            let key: Vec<String> = found[..key_len].iter().map(|c| c.name.clone()).collect();
            if !info.has_unique_key(&key) {
                return Err(ConnectError::fatal(format!(
                    "table {} has no primary key or unique index on ({}), which insert.mode=upsert needs \
                     (INSERT ... ON CONFLICT); add one or use insert.mode=insert",
                    info.id,
                    key.join(", ")
                )));
            }
        }
        Ok((info, found))
    }

    async fn load(&mut self, db: &mut Db, config: &SinkConfig, id: &TableId) -> Result<Arc<TableInfo>> {
        let url = db.url().to_owned();
        let client = db.client().await.map_err(|e| e.into_connect(format!("connecting to {url}")))?;
        let loaded = table::load(client, id, config.quoting)
            .await
            .map_err(|e| super::conn::DbError::new(e).into_connect(format!("reading the columns of table {id}")))?;
        let info = Arc::new(loaded.unwrap_or_else(|| TableInfo::missing(id.clone())));
        if !info.columns.is_empty() {
            self.cache.insert(id.clone(), info.clone());
        }
        Ok(info)
    }
}

/// Runs DDL; a table or column that another task created at the same moment is not an error.
async fn run_ddl(db: &mut Db, sql: &str, what: impl FnOnce() -> String) -> Result<()> {
    let raced = [SqlState::DUPLICATE_TABLE, SqlState::DUPLICATE_COLUMN, SqlState::UNIQUE_VIOLATION];
    match db.batch(sql).await {
        Ok(()) => Ok(()),
        Err(e) if e.error.code().is_some_and(|c| raced.contains(c)) => Ok(()),
        Err(e) if e.failure == Failure::Retriable => Err(e.into_connect(what())),
        Err(e) => Err(ConnectError::fatal(what()).with_source(PgMessage(e.error))),
    }
}

/// `CREATE TABLE IF NOT EXISTS` for these columns, the first `key_len` as primary key.
pub fn create_table_sql(config: &SinkConfig, id: &TableId, columns: &[WantedColumn], key_len: usize) -> String {
    let quoting = config.quoting;
    let mut defs: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let not_null = if i < key_len || !c.optional { " NOT NULL" } else { "" };
            format!("{} {}{not_null}", quoting.ident(&c.name), c.sql_type.ddl())
        })
        .collect();
    if key_len > 0 {
        let key: Vec<String> = columns[..key_len].iter().map(|c| quoting.ident(&c.name)).collect();
        defs.push(format!("PRIMARY KEY ({})", key.join(", ")));
    }
    format!("CREATE TABLE IF NOT EXISTS {} ({})", id.sql(quoting), defs.join(", "))
}
