//! One table (or the custom query): its columns, the SQL of its mode, its offset, and how a
//! batch of rows becomes records.
//!
//! Incrementing modes query `batch.max.rows` rows at a time (`LIMIT` over a unique order).
//! Bulk and timestamp modes read one query per pass through a [`Cursor`], `batch.max.rows`
//! rows per poll. In timestamp mode the order is not unique, so a record's offset only moves to
//! its timestamp once every row of that timestamp was read (the next row has a later one, or
//! the pass ended): a restart from any stored offset reads again the rows of a timestamp it may
//! have left half-read, and never skips them (Confluent's rule). The last row fetched is held
//! back until the next fetch shows whether its timestamp continues.

use std::collections::VecDeque;
use std::time::Instant;

use aqueduct_sdk::serde_json::json;
use aqueduct_sdk::{offset_map, ConnectError, OffsetMap, Result, Schema, SchemaRef, SourceRecord, Struct, Value};
use tokio_postgres::error::SqlState;

use super::columns::{quote, timestamp_micros, Column, Kind};
use super::config::{Mode, QueryConfig, INCREMENTING_COLUMN, TIMESTAMP_COLUMN};
use super::cursor::Cursor;
use crate::sink::conn::{Db, DbError, Failure};

/// Confluent's starting incrementing value: rows with a larger id are read.
const INITIAL_INCREMENTING: i64 = -1;

/// What is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A table.
    Table {
        /// Its schema.
        schema: String,
        /// Its name.
        name: String,
    },
    /// The custom `query`.
    Query(String),
}

impl Source {
    /// Parses a `schema.table` task entry (no schema means `public`).
    pub fn table(qualified: &str) -> Source {
        match qualified.split_once('.') {
            Some((schema, name)) => Source::Table { schema: schema.to_owned(), name: name.to_owned() },
            None => Source::Table { schema: "public".to_owned(), name: qualified.to_owned() },
        }
    }

    /// `schema.table`, or `query`.
    pub fn label(&self) -> String {
        match self {
            Source::Table { schema, name } => format!("{schema}.{name}"),
            Source::Query(_) => "query".to_owned(),
        }
    }

    /// The source partition: `{"table": "schema.table"}` or `{"query": "query"}`.
    pub fn partition(&self) -> OffsetMap {
        match self {
            Source::Table { .. } => offset_map([("table", json!(self.label()))]),
            Source::Query(_) => offset_map([("query", json!("query"))]),
        }
    }

    fn relation_sql(&self) -> String {
        match self {
            Source::Table { schema, name } => format!("{}.{} AS t", quote(schema), quote(name)),
            Source::Query(query) => format!("({query}) AS t"),
        }
    }
}

/// The position reached: Confluent's `incrementing` and `timestamp`/`timestamp_nanos`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// The last incrementing value.
    pub incrementing: Option<i64>,
    /// The last timestamp, microseconds since the epoch.
    pub timestamp_micros: Option<i64>,
}

impl Position {
    /// Reads a stored offset.
    pub fn from_offset(offset: &OffsetMap) -> Position {
        let incrementing = offset.get("incrementing").and_then(|v| v.as_i64());
        let timestamp_micros = offset.get("timestamp").and_then(|v| v.as_i64()).map(|ms| {
            let nanos =
                offset.get("timestamp_nanos").and_then(|v| v.as_i64()).unwrap_or(ms.rem_euclid(1000) * 1_000_000);
            ms.div_euclid(1000) * 1_000_000 + nanos / 1000
        });
        Position { incrementing, timestamp_micros }
    }

    /// The offset to store.
    pub fn to_offset(self) -> OffsetMap {
        let mut map = OffsetMap::new();
        if let Some(micros) = self.timestamp_micros {
            map.insert("timestamp".into(), json!(micros.div_euclid(1000)));
            map.insert("timestamp_nanos".into(), json!(micros.rem_euclid(1_000_000) * 1000));
        }
        if let Some(id) = self.incrementing {
            map.insert("incrementing".into(), json!(id));
        }
        map
    }
}

/// Reads one table or query.
pub struct Querier {
    source: Source,
    mode: Mode,
    topic: String,
    partition: OffsetMap,
    columns: Vec<Column>,
    schema: SchemaRef,
    sql: String,
    limit: i64,
    delay_ms: i64,
    position: Position,
    /// When the next query is due.
    pub next_poll: Instant,
    pending: VecDeque<SourceRecord>,
    /// Bulk and timestamp modes: the cursor of the pass being read.
    cursor: Option<Cursor>,
    /// Timestamp mode: the last row fetched, not returned yet.
    held: Option<tokio_postgres::Row>,
}

impl Querier {
    /// Loads the columns of `source`, checks the mode's columns and builds the SQL; `stored` is
    /// the offset to resume from.
    pub async fn load(db: &mut Db, cfg: &QueryConfig, source: Source, stored: Option<OffsetMap>) -> Result<Querier> {
        let label = source.label();
        let probe = format!("SELECT t.* FROM {} LIMIT 0", source.relation_sql());
        let prepared =
            db.client().await.map_err(|e| e.into_connect(format!("connecting for {label}")))?.prepare(&probe).await;
        let statement = match prepared {
            Ok(statement) => statement,
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => {
                return Err(ConnectError::config(format!("table {label} does not exist")).with_source(e))
            }
            Err(e) => {
                let error = DbError::new(e);
                if error.failure == Failure::Retriable {
                    db.reset();
                }
                return Err(error.into_connect(format!("reading the columns of {label}")));
            }
        };
        let attributes: Vec<(String, i32, bool)> = match &source {
            Source::Table { schema, name } => db
                .query(
                    "SELECT a.attname::text, a.atttypmod, a.attnotnull FROM pg_attribute a \
                     WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                    &[&format!("{}.{}", quote(schema), quote(name))],
                )
                .await
                .map_err(|e| e.into_connect(format!("reading the catalog of {label}")))?
                .into_iter()
                .map(|row| (row.get(0), row.get(1), row.get(2)))
                .collect(),
            Source::Query(_) => Vec::new(),
        };
        let columns: Vec<Column> = statement
            .columns()
            .iter()
            .map(|c| {
                let attribute = attributes.iter().find(|a| a.0 == c.name());
                let scale = attribute.and_then(|a| (a.1 >= 4).then_some((a.1 - 4) & 0xffff));
                Column::new(c.name(), c.type_(), scale, !attribute.is_some_and(|a| a.2))
            })
            .collect();
        let find = |key: &str, name: &str| {
            columns
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(|| ConnectError::config(format!("{key}: column '{name}' does not exist in {label}")))
        };
        let mut order = Vec::new();
        let mut extra = Vec::new();
        let mut conditions = Vec::new();
        let ts_expr = if cfg.mode.uses_timestamp() {
            let mut parts = Vec::new();
            for name in &cfg.timestamp_columns {
                let column = find(TIMESTAMP_COLUMN, name)?;
                if column.kind != Kind::Timestamp {
                    return Err(ConnectError::config(format!(
                        "{TIMESTAMP_COLUMN}: column '{name}' of {label} is {}, not a timestamp",
                        column.type_name
                    )));
                }
                if cfg.validate_non_null
                    && column.nullable
                    && matches!(source, Source::Table { .. })
                    && cfg.timestamp_columns.len() == 1
                {
                    return Err(ConnectError::config(format!(
                        "{TIMESTAMP_COLUMN}: column '{name}' of {label} is nullable (set validate.non.null=false to allow it)"
                    )));
                }
                parts.push(format!("t.{}", quote(name)));
            }
            Some(if parts.len() == 1 { parts.remove(0) } else { format!("COALESCE({})", parts.join(", ")) })
        } else {
            None
        };
        let inc_expr = if cfg.mode.uses_incrementing() {
            let name = &cfg.incrementing_column;
            let column = find(INCREMENTING_COLUMN, name)?;
            if !matches!(column.kind, Kind::Int16 | Kind::Int32 | Kind::Int64 | Kind::Decimal(0)) {
                return Err(ConnectError::config(format!(
                    "{INCREMENTING_COLUMN}: column '{name}' of {label} is {}, not an integer",
                    column.type_name
                )));
            }
            if cfg.validate_non_null && column.nullable && matches!(source, Source::Table { .. }) {
                return Err(ConnectError::config(format!(
                    "{INCREMENTING_COLUMN}: column '{name}' of {label} is nullable (set validate.non.null=false to allow it)"
                )));
            }
            Some(format!("t.{}", quote(name)))
        } else {
            None
        };
        const TS: &str = "'epoch'::timestamptz + $1::int8 * interval '1 microsecond'";
        match (&ts_expr, &inc_expr) {
            (Some(ts), Some(inc)) => {
                conditions.push(format!("({ts} > {TS} OR ({ts} = {TS} AND {inc} > $2::int8))"));
                conditions.push(format!("{ts} < now() - $3::int8 * interval '1 millisecond'"));
            }
            (Some(ts), None) => {
                conditions.push(format!("{ts} > {TS}"));
                conditions.push(format!("{ts} < now() - $2::int8 * interval '1 millisecond'"));
            }
            (None, Some(inc)) => conditions.push(format!("{inc} > $1::int8")),
            (None, None) => {}
        }
        if let Some(ts) = &ts_expr {
            order.push(ts.clone());
            extra.push(ts.clone());
        }
        if let Some(inc) = &inc_expr {
            order.push(inc.clone());
            extra.push(format!("{inc}::int8"));
        }
        let select: Vec<String> = columns.iter().map(|c| c.select("t")).chain(extra).collect();
        let mut sql = format!("SELECT {} FROM {}", select.join(", "), source.relation_sql());
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {} ORDER BY {}", conditions.join(" AND "), order.join(", ")));
            // A LIMIT needs a unique order: with timestamps alone, rows sharing the last
            // timestamp past the limit would be skipped by the next `ts > last` query (that
            // mode reads through a cursor instead).
            if inc_expr.is_some() {
                sql.push_str(&format!(" LIMIT {}", cfg.batch_max_rows));
            }
        }
        let mut builder = Schema::struct_builder();
        if let Source::Table { name, .. } = &source {
            builder = builder.name(name.clone());
        }
        for column in &columns {
            builder = builder.field(column.name.clone(), column.schema());
        }
        let topic = match &source {
            Source::Table { name, .. } => format!("{}{name}", cfg.topic_prefix),
            Source::Query(_) => cfg.topic_prefix.clone(),
        };
        let mut position = stored.as_ref().map(Position::from_offset).unwrap_or_default();
        if cfg.mode.uses_incrementing() && position.incrementing.is_none() {
            position.incrementing = Some(INITIAL_INCREMENTING);
        }
        if cfg.mode.uses_timestamp() && position.timestamp_micros.is_none() {
            position.timestamp_micros = Some(0);
        }
        Ok(Querier {
            partition: source.partition(),
            source,
            mode: cfg.mode,
            topic,
            columns,
            schema: builder.build(),
            sql,
            limit: cfg.batch_max_rows,
            delay_ms: cfg.timestamp_delay_ms,
            position,
            next_poll: Instant::now(),
            pending: VecDeque::new(),
            cursor: None,
            held: None,
        })
    }

    /// `schema.table` or `query`, for logs.
    pub fn label(&self) -> String {
        self.source.label()
    }

    /// Whether records read earlier wait to be returned, or a pass is being read (the task
    /// keeps polling this table until the pass ends: its cursor holds the connection).
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() || self.streaming()
    }

    /// Whether a pass is being read through a cursor.
    pub fn streaming(&self) -> bool {
        self.cursor.is_some()
    }

    /// Returns up to `max` records (`max` is `batch.max.rows`); sets when the next query is due
    /// (at once when the last one filled a batch or a pass is being read).
    pub async fn poll(&mut self, db: &mut Db, max: usize, interval: std::time::Duration) -> Result<Vec<SourceRecord>> {
        if matches!(self.mode, Mode::Bulk | Mode::Timestamp) {
            let result = self.poll_cursor(db, max.max(1)).await;
            if result.is_err() {
                // The pass starts again from the position reached (the transaction is gone).
                self.cursor = None;
                self.held = None;
                db.rollback().await;
            }
            let (records, ended) = result?;
            self.next_poll = if ended { Instant::now() + interval } else { Instant::now() };
            return Ok(records);
        }
        if self.pending.is_empty() {
            let rows = self.query(db).await?;
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= self.limit;
            for row in &rows {
                let (ts, id) = self.tracking(row);
                self.position.timestamp_micros = ts.or(self.position.timestamp_micros);
                self.position.incrementing = id.or(self.position.incrementing);
                let record = self.record(row, self.position.to_offset())?;
                self.pending.push_back(record);
            }
            self.next_poll = if full { Instant::now() } else { Instant::now() + interval };
        }
        let take = max.min(self.pending.len());
        Ok(self.pending.drain(..take).collect())
    }

    /// Bulk and timestamp modes: the next rows of the pass (opening it when none is open), and
    /// whether the pass ended.
    async fn poll_cursor(&mut self, db: &mut Db, max: usize) -> Result<(Vec<SourceRecord>, bool)> {
        if self.cursor.is_none() {
            let ts = self.position.timestamp_micros.unwrap_or(0);
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                if self.mode == Mode::Bulk { Vec::new() } else { vec![&ts, &self.delay_ms] };
            self.cursor = Some(Cursor::open(db, &self.sql, &params, &self.source.label()).await?);
        }
        let Some(cursor) = self.cursor.as_mut() else { return Ok((Vec::new(), true)) };
        let fetched = cursor.fetch(db, max).await?;
        let ended = fetched.len() < max;
        let mut rows: Vec<tokio_postgres::Row> = self.held.take().into_iter().chain(fetched).collect();
        if !ended && self.mode == Mode::Timestamp {
            self.held = rows.pop();
        }
        let mut records = Vec::with_capacity(rows.len());
        for (k, row) in rows.iter().enumerate() {
            let offset = if self.mode == Mode::Bulk {
                OffsetMap::new()
            } else {
                let ts = self.tracking(row).0;
                let next = rows.get(k + 1).or(self.held.as_ref()).map(|r| self.tracking(r).0);
                // Every row of this timestamp is read once the next row is later, or at the end.
                if next.map_or(ended, |n| n > ts) && ts.is_some() {
                    self.position.timestamp_micros = ts;
                }
                self.position.to_offset()
            };
            records.push(self.record(row, offset)?);
        }
        if ended {
            if let Some(cursor) = self.cursor.take() {
                cursor.close(db).await?;
            }
        }
        Ok((records, ended))
    }

    async fn query(&mut self, db: &mut Db) -> Result<Vec<tokio_postgres::Row>> {
        let ts = self.position.timestamp_micros.unwrap_or(0);
        let inc = self.position.incrementing.unwrap_or(INITIAL_INCREMENTING);
        let delay = self.delay_ms;
        let result = match self.mode {
            Mode::Incrementing => db.query(&self.sql, &[&inc]).await,
            Mode::TimestampIncrementing => db.query(&self.sql, &[&ts, &inc, &delay]).await,
            Mode::Bulk => db.query(&self.sql, &[]).await,
            Mode::Timestamp => db.query(&self.sql, &[&ts, &delay]).await,
        };
        result.map_err(|e| e.into_connect(format!("querying {}", self.source.label())))
    }

    /// The row's tracking values: its timestamp (µs) and incrementing id, per the mode.
    fn tracking(&self, row: &tokio_postgres::Row) -> (Option<i64>, Option<i64>) {
        let mut extra = self.columns.len();
        let mut ts = None;
        if self.mode.uses_timestamp() {
            let raw: Option<Vec<u8>> = row.try_get::<_, Option<RawBytes>>(extra).ok().flatten().map(|r| r.0);
            ts = raw.as_deref().and_then(timestamp_micros);
            extra += 1;
        }
        let id = if self.mode.uses_incrementing() { row.try_get::<_, Option<i64>>(extra).ok().flatten() } else { None };
        (ts, id)
    }

    fn record(&self, row: &tokio_postgres::Row, offset: OffsetMap) -> Result<SourceRecord> {
        let mut value = Struct::new(self.schema.clone());
        for (index, column) in self.columns.iter().enumerate() {
            value = value.put(&column.name, column.value(row, index)?)?;
        }
        Ok(SourceRecord::new(self.partition.clone(), offset, self.topic.clone(), Value::Struct(value))
            .with_value_schema(self.schema.clone()))
    }
}

/// A timestamp's raw binary value.
struct RawBytes(Vec<u8>);

impl<'a> tokio_postgres::types::FromSql<'a> for RawBytes {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawBytes(raw.to_vec()))
    }
    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        matches!(*ty, tokio_postgres::types::Type::TIMESTAMP | tokio_postgres::types::Type::TIMESTAMPTZ)
    }
}
