//! The SQL side of the connector: a regular connection for start-up checks, the publication,
//! the slot's state, and the catalog (tables, columns, keys, types).

use std::collections::HashMap;
use std::time::Duration;

use aqueduct_sdk::{ConnectError, Result};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Row};
use tracing::{debug, info, warn};

use super::config::{AutocreateMode, CdcConfig, PUBLICATION_AUTOCREATE, PUBLICATION_NAME, SLOT_NAME};
use super::table::{quote_ident, ColumnSpec, TableId};
use super::types::TypeInfo;

/// Session settings that fix the text format of values (the replication connection sets the same).
pub const SESSION_OPTIONS: &str =
    "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 -c bytea_output=hex -c extra_float_digits=3";

/// Turns a driver error into a [`ConnectError`] of the right kind: connection problems and
/// server shutdowns are retriable, authentication and missing objects are configuration
/// errors, anything else is fatal.
pub fn pg_error(e: tokio_postgres::Error, context: impl Into<String>) -> ConnectError {
    let context = context.into();
    let kind = match e.code().map(SqlState::code) {
        None => aqueduct_sdk::ErrorKind::Retriable,
        Some(code) if code.starts_with("08") || code.starts_with("57") || code.starts_with("53") => {
            aqueduct_sdk::ErrorKind::Retriable
        }
        Some(code) if code.starts_with("40") || code == "55P03" => aqueduct_sdk::ErrorKind::Retriable,
        Some(code) if code.starts_with("28") || code.starts_with("3D") || code == "42501" => {
            aqueduct_sdk::ErrorKind::Config
        }
        Some(_) => aqueduct_sdk::ErrorKind::Fatal,
    };
    let detail = e.as_db_error().map(|d| format!(": {}", d.message())).unwrap_or_default();
    ConnectError::new(kind, format!("{context}{detail}")).with_source(e)
}

/// A regular (non-replication) connection.
pub struct Sql {
    /// The client.
    pub client: Client,
    connection: tokio::task::JoinHandle<()>,
}

impl Drop for Sql {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl Sql {
    /// Connects with the connector's settings and the fixed session options.
    pub async fn connect(cfg: &CdcConfig, purpose: &str) -> Result<Sql> {
        let mut pg = tokio_postgres::Config::new();
        pg.host(&cfg.hostname)
            .port(cfg.port)
            .user(&cfg.user)
            .password(cfg.password.as_bytes())
            .dbname(&cfg.dbname)
            .application_name(format!("aqueduct-cdc-{purpose}"))
            .options(SESSION_OPTIONS)
            .connect_timeout(Duration::from_secs(30))
            .keepalives_idle(Duration::from_secs(30));
        let (client, connection) = pg.connect(NoTls).await.map_err(|e| {
            pg_error(e, format!("cannot connect to PostgreSQL at {} as user {}", cfg.server(), cfg.user))
        })?;
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(error = %e, "PostgreSQL connection ended");
            }
        });
        Ok(Sql { client, connection })
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        what: &str,
    ) -> Result<Vec<Row>> {
        self.client.query(sql, params).await.map_err(|e| pg_error(e, what.to_owned()))
    }

    /// Checks `wal_level` and the user's REPLICATION attribute.
    pub async fn check_server(&self, cfg: &CdcConfig) -> Result<()> {
        let rows = self
            .query(
                "SELECT current_setting('wal_level'), r.rolreplication, r.rolsuper \
                 FROM pg_roles r WHERE r.rolname = current_user",
                &[],
                "reading wal_level and the user's privileges",
            )
            .await?;
        let row = rows.first().ok_or_else(|| ConnectError::fatal("current_user has no pg_roles entry"))?;
        let wal_level: String = get(row, 0)?;
        let replication: bool = get(row, 1)?;
        let superuser: bool = get(row, 2)?;
        if wal_level != "logical" {
            return Err(ConnectError::config(format!(
                "the server {} has wal_level={wal_level}; change data capture needs wal_level=logical \
                 (ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL)",
                cfg.server()
            )));
        }
        if !replication && !superuser {
            return Err(ConnectError::config(format!(
                "the user '{}' (database.user) has neither the REPLICATION attribute nor superuser; \
                 grant it with ALTER ROLE {} REPLICATION",
                cfg.user,
                quote_ident(&cfg.user)
            )));
        }
        Ok(())
    }

    /// The ordinary tables the filters capture, sorted by schema and name byte-wise
    /// (`COLLATE "C"`: the order of Rust's `str` comparison, whatever the database's collation).
    pub async fn captured_tables(&self, cfg: &CdcConfig) -> Result<Vec<(u32, TableId)>> {
        let rows = self
            .query(
                "SELECT c.oid, n.nspname::text, c.relname::text FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                 AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
                 ORDER BY n.nspname::text COLLATE \"C\", c.relname::text COLLATE \"C\"",
                &[],
                "listing tables",
            )
            .await?;
        let mut tables = Vec::new();
        for row in &rows {
            let id = TableId::new(get::<String>(row, 1)?, get::<String>(row, 2)?);
            if cfg.filter.captures(&id.schema, &id.table) {
                tables.push((get::<u32>(row, 0)?, id));
            }
        }
        Ok(tables)
    }

    /// Creates the publication when missing (or sets its tables in `filtered` mode) as
    /// `publication.autocreate.mode` says; warns about captured tables it does not publish.
    pub async fn ensure_publication(&self, cfg: &CdcConfig, captured: &[(u32, TableId)]) -> Result<()> {
        let name = &cfg.publication_name;
        let rows = self
            .query("SELECT puballtables FROM pg_publication WHERE pubname = $1", &[name], "reading the publication")
            .await?;
        let all_tables: Option<bool> = rows.first().map(|r| get(r, 0)).transpose()?;
        let table_list = || captured.iter().map(|(_, id)| id.quoted()).collect::<Vec<_>>().join(", ");
        let filtered_needs_tables = || {
            ConnectError::config(format!(
                "{PUBLICATION_AUTOCREATE}=filtered but the table filters capture no table, so the publication \
                 '{name}' would be empty"
            ))
        };
        match (all_tables, cfg.publication_autocreate) {
            (None, AutocreateMode::Disabled) => {
                return Err(ConnectError::config(format!(
                    "the publication '{name}' ({PUBLICATION_NAME}) does not exist and {PUBLICATION_AUTOCREATE} is \
                     disabled; create it (CREATE PUBLICATION {} FOR ALL TABLES) or enable autocreation",
                    quote_ident(name)
                )));
            }
            (None, AutocreateMode::AllTables) => {
                self.execute_create(&format!("CREATE PUBLICATION {} FOR ALL TABLES", quote_ident(name)), name).await?;
            }
            (None, AutocreateMode::Filtered) => {
                if captured.is_empty() {
                    return Err(filtered_needs_tables());
                }
                let sql = format!("CREATE PUBLICATION {} FOR TABLE {}", quote_ident(name), table_list());
                self.execute_create(&sql, name).await?;
            }
            (Some(false), AutocreateMode::Filtered) => {
                if captured.is_empty() {
                    return Err(filtered_needs_tables());
                }
                let sql = format!("ALTER PUBLICATION {} SET TABLE {}", quote_ident(name), table_list());
                self.client
                    .batch_execute(&sql)
                    .await
                    .map_err(|e| pg_error(e, format!("updating the tables of publication '{name}'")))?;
                info!(publication = %name, tables = captured.len(), "set the publication's tables to the captured tables");
            }
            (Some(_), _) => {}
        }
        let rows = self
            .query(
                "SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1",
                &[name],
                "reading the publication's tables",
            )
            .await?;
        let published: std::collections::HashSet<TableId> = rows
            .iter()
            .filter_map(|r| Some(TableId::new(get::<String>(r, 0).ok()?, get::<String>(r, 1).ok()?)))
            .collect();
        for (_, id) in captured {
            if !published.contains(id) {
                warn!(table = %id, publication = %name, "captured table is not in the publication: its changes will not be streamed");
            }
        }
        Ok(())
    }

    async fn execute_create(&self, sql: &str, name: &str) -> Result<()> {
        match self.client.batch_execute(sql).await {
            Ok(()) => {
                info!(publication = %name, sql, "created the publication");
                Ok(())
            }
            // Created concurrently by someone else: fine.
            Err(e) if e.code() == Some(&SqlState::DUPLICATE_OBJECT) => Ok(()),
            Err(e) => Err(pg_error(e, format!("creating the publication '{name}' ({sql})"))),
        }
    }

    /// The slot's state, if it exists.
    pub async fn slot(&self, slot: &str) -> Result<Option<SlotState>> {
        let rows = self
            .query(
                "SELECT plugin::text, database::text, slot_type, active_pid, \
                 (confirmed_flush_lsn - '0/0'::pg_lsn)::text FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
                "reading the replication slot",
            )
            .await?;
        let Some(row) = rows.first() else { return Ok(None) };
        let confirmed: Option<String> = get(row, 4)?;
        Ok(Some(SlotState {
            plugin: get::<Option<String>>(row, 0)?.unwrap_or_default(),
            database: get::<Option<String>>(row, 1)?.unwrap_or_default(),
            logical: get::<String>(row, 2)? == "logical",
            active_pid: get(row, 3)?,
            confirmed_flush: confirmed.and_then(|c| c.parse().ok()).unwrap_or(0),
        }))
    }

    /// Checks an existing slot fits this connector; an active slot is reported as busy.
    pub fn check_slot(cfg: &CdcConfig, slot: &SlotState) -> Result<()> {
        let name = &cfg.slot_name;
        if !slot.logical || slot.plugin != "pgoutput" {
            return Err(ConnectError::config(format!(
                "the replication slot '{name}' ({SLOT_NAME}) uses the plugin '{}', not pgoutput; drop it or choose another {SLOT_NAME}",
                slot.plugin
            )));
        }
        if slot.database != cfg.dbname {
            return Err(ConnectError::config(format!(
                "the replication slot '{name}' ({SLOT_NAME}) belongs to database '{}', not '{}'",
                slot.database, cfg.dbname
            )));
        }
        Ok(())
    }

    /// Drops the slot (when `slot.drop.on.stop`).
    pub async fn drop_slot(&self, slot: &str) -> Result<()> {
        self.client
            .execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await
            .map_err(|e| pg_error(e, format!("dropping the replication slot '{slot}'")))?;
        Ok(())
    }

    /// The columns of a table as the catalog has them now, with NOT NULL and primary key
    /// positions; and its replica identity. Generated columns are left out (pgoutput does).
    pub async fn columns(&self, oid: u32) -> Result<(Vec<ColumnSpec>, u8)> {
        let rows = self
            .query(
                "SELECT a.attname::text, a.atttypid, a.atttypmod, a.attnotnull, \
                 array_position(i.indkey::int2[], a.attnum)::int4, c.relreplident \
                 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
                 LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary \
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' \
                 ORDER BY a.attnum",
                &[&oid],
                "reading the columns of a table",
            )
            .await?;
        let mut identity = b'd';
        let mut columns = Vec::with_capacity(rows.len());
        for row in &rows {
            let pk: Option<i32> = get(row, 4)?;
            identity = get::<i8>(row, 5)? as u8;
            columns.push(ColumnSpec {
                name: get(row, 0)?,
                type_oid: get(row, 1)?,
                modifier: get(row, 2)?,
                not_null: get(row, 3)?,
                pk_position: pk.and_then(|p| usize::try_from(p).ok()),
                identity: false,
            });
        }
        Ok((columns, identity))
    }

    /// Catalog descriptions of types that are not built in.
    pub async fn type_infos(&self, oids: &[u32]) -> Result<HashMap<u32, TypeInfo>> {
        if oids.is_empty() {
            return Ok(HashMap::new());
        }
        let list: Vec<u32> = oids.to_vec();
        let rows = self
            .query(
                "SELECT oid, typtype, typbasetype, typtypmod, typelem, typcategory FROM pg_type WHERE oid = ANY($1)",
                &[&list],
                "reading column types",
            )
            .await?;
        let mut out = HashMap::new();
        for row in &rows {
            out.insert(
                get::<u32>(row, 0)?,
                TypeInfo {
                    typtype: get::<i8>(row, 1)? as u8,
                    base_type: get(row, 2)?,
                    base_modifier: get(row, 3)?,
                    element: get(row, 4)?,
                    category: get::<i8>(row, 5)? as u8,
                },
            );
        }
        Ok(out)
    }

    /// The planner's row estimate of a table (`pg_class.reltuples`), for progress logs.
    pub async fn estimated_rows(&self, oid: u32) -> Result<u64> {
        let rows = self
            .query("SELECT reltuples::float8 FROM pg_class WHERE oid = $1", &[&oid], "reading row estimates")
            .await?;
        let n: f64 = rows.first().map(|r| get(r, 0)).transpose()?.unwrap_or(0.0);
        Ok(if n > 0.0 { n as u64 } else { 0 })
    }
}

/// A replication slot as `pg_replication_slots` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    /// Output plugin.
    pub plugin: String,
    /// Database.
    pub database: String,
    /// A logical slot.
    pub logical: bool,
    /// The PID of the walsender streaming from it, if any.
    pub active_pid: Option<i32>,
    /// `confirmed_flush_lsn` as a number (0 when unset).
    pub confirmed_flush: u64,
}

/// A column of a catalog row, with a type error instead of a panic.
pub fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, index: usize) -> Result<T> {
    row.try_get(index)
        .map_err(|e| ConnectError::fatal(format!("unexpected catalog result (column {index})")).with_source(e))
}
