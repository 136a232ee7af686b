//! Writes a batch of operations: groups them by table and columns (leaving out unavailable
//! TOAST values), renders values for the catalog's column types, and builds and runs
//! `INSERT ... SELECT FROM UNNEST(...)` statements (their order is [`super::plan`]'s).

use std::collections::HashMap;
use std::sync::Arc;

use aqueduct_sdk::{Result, Value};
use tokio_postgres::types::ToSql;

use super::config::{InsertMode, SinkConfig};
use super::conn::{Db, DbError};
use super::ddl::{Tables, WantedColumn};
use super::ops::{Action, Op};
use super::render::render;
use super::table::{ColumnInfo, Quoting, TableId, TableInfo};
use super::types::SqlType;

/// Writes rows or deletes keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Insert, upsert or update, per `insert.mode`.
    Write,
    /// Delete by key.
    Delete,
}

/// Operations on one table with the same columns and kind: they share statements.
#[derive(Debug)]
pub struct Group {
    /// The table as found in the catalog.
    pub table: Arc<TableInfo>,
    /// The catalog's columns written, key columns first.
    pub columns: Vec<ColumnInfo>,
    /// How many leading columns form the key.
    pub key_len: usize,
    /// Write or delete.
    pub kind: Kind,
    /// The operations' columns left out (their values are unavailable), as indexes into the
    /// operations' shape; `columns` holds the others.
    pub omitted: Vec<usize>,
}

/// One operation, rendered.
#[derive(Debug)]
pub struct RenderedRow {
    /// Index of the record in the batch.
    pub record: usize,
    /// Index of its group.
    pub group: usize,
    /// Column texts (`None`: NULL), as the group's columns.
    pub cells: Vec<Option<String>>,
}

/// A statement to run.
#[derive(Debug)]
pub enum Step {
    /// `TRUNCATE` this table.
    Truncate(TableId),
    /// Write or delete these rows (indexes into the rendered rows) of one group.
    Rows {
        /// The group.
        group: usize,
        /// The rows.
        rows: Vec<usize>,
    },
}

/// Which group (if any) each operation belongs to.
pub struct Grouping {
    /// The groups.
    pub groups: Vec<Group>,
    /// Per operation, its group; `None` for truncates.
    pub of_op: Vec<Option<usize>>,
}

/// A group's identity: table, column names, key length, kind, omitted columns.
type ByNames<'a> = (&'a TableId, &'a [String], usize, Kind, &'a [usize]);

/// Finds the groups of `ops` and makes their tables ready (create, evolve).
pub async fn group(db: &mut Db, tables: &mut Tables, config: &SinkConfig, ops: &[Op<'_>]) -> Result<Grouping> {
    let mut by_shape: HashMap<(&TableId, usize, Kind, &[usize]), usize> = HashMap::new();
    let mut by_names: HashMap<ByNames<'_>, usize> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut of_op = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let (shape, kind, omitted) = match &op.action {
            Action::Write { shape, unavailable, .. } => (shape, Kind::Write, unavailable.as_slice()),
            Action::Delete { shape, .. } => (shape, Kind::Delete, &[][..]),
            Action::Truncate => {
                of_op.push(None);
                continue;
            }
        };
        let ptr = Arc::as_ptr(shape) as usize;
        let index = match by_shape.get(&(&op.table, ptr, kind, omitted)) {
            Some(&g) => g,
            None => {
                let next = members.len();
                let g = *by_names.entry((&op.table, &shape.names, shape.key_len, kind, omitted)).or_insert(next);
                if g == next {
                    members.push(Vec::new());
                }
                by_shape.insert((&op.table, ptr, kind, omitted), g);
                g
            }
        };
        members[index].push(i);
        of_op.push(Some(index));
    }
    let mut groups = Vec::with_capacity(members.len());
    for member in &members {
        let first = &ops[member[0]];
        let Some((shape, _)) = first.action.shape_values() else { continue };
        let (kind, omitted) = match &first.action {
            Action::Write { unavailable, .. } => (Kind::Write, unavailable.clone()),
            _ => (Kind::Delete, Vec::new()),
        };
        let wanted: Vec<WantedColumn> = (0..shape.names.len())
            .map(|c| {
                let spec = &shape.specs[c];
                let sql_type = spec.sql_type.clone().or_else(|| {
                    member
                        .iter()
                        .find_map(|&i| ops[i].action.shape_values().and_then(|(_, v)| SqlType::from_value(&v[c])))
                });
                WantedColumn {
                    name: shape.names[c].clone(),
                    sql_type: sql_type.unwrap_or(SqlType::Text),
                    optional: spec.schema.as_ref().is_none_or(|s| s.optional),
                }
            })
            .collect();
        // The table gets every column of the shape (auto.create/evolve), the statement only
        // the available ones.
        let (table, all) = tables.ensure(db, config, &first.table, &wanted, shape.key_len, kind == Kind::Write).await?;
        let columns = all.into_iter().enumerate().filter(|(c, _)| !omitted.contains(c)).map(|(_, c)| c).collect();
        groups.push(Group { table, columns, key_len: shape.key_len, kind, omitted });
    }
    Ok(Grouping { groups, of_op })
}

impl Action<'_> {
    /// The shape and values of a write or delete.
    pub fn shape_values(&self) -> Option<(&Arc<super::ops::Shape>, &[std::borrow::Cow<'_, Value>])> {
        match self {
            Action::Write { shape, values, .. } | Action::Delete { shape, values } => Some((shape, values)),
            Action::Truncate => None,
        }
    }
}

/// Renders one operation's values for its group's columns (leaving out the omitted ones); the
/// error names the column.
pub fn render_op(op: &Op<'_>, group: &Group) -> std::result::Result<Vec<Option<String>>, String> {
    let Some((shape, values)) = op.action.shape_values() else { return Ok(Vec::new()) };
    values
        .iter()
        .zip(&shape.specs)
        .enumerate()
        .filter(|(c, _)| !group.omitted.contains(c))
        .map(|(_, pair)| pair)
        .zip(&group.columns)
        .map(|((value, spec), column)| {
            render(value, spec.schema.as_deref(), &column.kind).map_err(|reason| {
                format!("table {}, column '{}' ({}): {reason}", group.table.id, column.name, column.type_sql)
            })
        })
        .collect()
}

/// The statement writing or deleting a group's rows; `None` when there is nothing to do
/// (update mode with key columns only).
pub fn rows_sql(mode: InsertMode, group: &Group) -> Option<String> {
    let q = Quoting::Always;
    let table = group.table.id.sql(q);
    let cols = &group.columns;
    let n = cols.len();
    let params: Vec<String> = (1..=n).map(|i| format!("${i}::text[]")).collect();
    let aliases: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();
    let cast = |i: usize| format!("__u.c{}::{}", i + 1, cols[i].type_sql);
    let unnest = format!("UNNEST({}) AS __u({})", params.join(", "), aliases.join(", "));
    let key_match = (0..group.key_len)
        .map(|i| format!("__t.{} = {}", q.ident(&cols[i].name), cast(i)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let names: Vec<String> = cols.iter().map(|c| q.ident(&c.name)).collect();
    Some(match (group.kind, mode) {
        (Kind::Delete, _) => format!("DELETE FROM {table} AS __t USING {unnest} WHERE {key_match}"),
        (Kind::Write, InsertMode::Update) => {
            if group.key_len == n {
                return None;
            }
            let sets: Vec<String> = (group.key_len..n).map(|i| format!("{} = {}", names[i], cast(i))).collect();
            format!("UPDATE {table} AS __t SET {} FROM {unnest} WHERE {key_match}", sets.join(", "))
        }
        (Kind::Write, _) => {
            let casts: Vec<String> = (0..n).map(cast).collect();
            let mut sql =
                format!("INSERT INTO {table} ({}) SELECT {} FROM {unnest}", names.join(", "), casts.join(", "));
            if mode == InsertMode::Upsert {
                let key = names[..group.key_len].join(", ");
                if group.key_len == n {
                    sql.push_str(&format!(" ON CONFLICT ({key}) DO NOTHING"));
                } else {
                    let sets: Vec<String> =
                        names[group.key_len..].iter().map(|c| format!("{c} = EXCLUDED.{c}")).collect();
                    sql.push_str(&format!(" ON CONFLICT ({key}) DO UPDATE SET {}", sets.join(", ")));
                }
            }
            sql
        }
    })
}

/// `COPY ... FROM STDIN` into a group's columns (insert mode).
pub fn copy_sql(group: &Group) -> String {
    let q = Quoting::Always;
    let names: Vec<String> = group.columns.iter().map(|c| q.ident(&c.name)).collect();
    format!("COPY {} ({}) FROM STDIN", group.table.id.sql(q), names.join(", "))
}

/// The rows in COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
pub fn copy_data(rows: &[&RenderedRow]) -> bytes::Bytes {
    let mut out = String::with_capacity(rows.len() * 64);
    for row in rows {
        for (i, cell) in row.cells.iter().enumerate() {
            if i > 0 {
                out.push('\t');
            }
            match cell {
                None => out.push_str("\\N"),
                Some(text) => {
                    for c in text.chars() {
                        match c {
                            '\\' => out.push_str("\\\\"),
                            '\n' => out.push_str("\\n"),
                            '\r' => out.push_str("\\r"),
                            '\t' => out.push_str("\\t"),
                            c => out.push(c),
                        }
                    }
                }
            }
        }
        out.push('\n');
    }
    bytes::Bytes::from(out)
}

/// Runs a group's statement over `rows`, `batch_size` rows per statement.
pub async fn write_rows(
    db: &mut Db,
    sql: &str,
    width: usize,
    rows: &[&RenderedRow],
    batch_size: usize,
) -> std::result::Result<(), DbError> {
    for chunk in rows.chunks(batch_size.max(1)) {
        let columns: Vec<Vec<Option<&str>>> =
            (0..width).map(|c| chunk.iter().map(|row| row.cells[c].as_deref()).collect()).collect();
        let params: Vec<&(dyn ToSql + Sync)> = columns.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
        db.execute(sql, &params).await?;
    }
    Ok(())
}

/// Which column of a failed row holds a value its type cannot read, by casting each one alone
/// (inside a savepoint, in the open transaction).
pub async fn find_bad_column<'g>(db: &mut Db, group: &'g Group, row: &RenderedRow) -> Option<&'g ColumnInfo> {
    for (column, cell) in group.columns.iter().zip(&row.cells) {
        let Some(text) = cell else { continue };
        if db.batch("SAVEPOINT aqueduct_diag").await.is_err() {
            return None;
        }
        let ok = db.query(&format!("SELECT $1::text::{}", column.type_sql), &[text]).await.is_ok();
        let end = if ok { "RELEASE SAVEPOINT aqueduct_diag" } else { "ROLLBACK TO SAVEPOINT aqueduct_diag" };
        if db.batch(end).await.is_err() || !ok {
            return if ok { None } else { Some(column) };
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::types::ColumnKind;
    use super::*;

    fn group(kind: Kind, key_len: usize) -> Group {
        let col = |name: &str, ty: &str| ColumnInfo { name: name.into(), type_sql: ty.into(), kind: ColumnKind::Other };
        let mut info = TableInfo::missing(TableId { schema: Some("public".into()), name: "t".into() });
        info.columns = vec![col("id", "bigint"), col("v", "text")];
        let columns = info.columns.clone();
        let columns = if kind == Kind::Delete { columns[..1].to_vec() } else { columns };
        Group { table: Arc::new(info), columns, key_len, kind, omitted: Vec::new() }
    }

    #[test]
    fn builds_statements() {
        let upsert = rows_sql(InsertMode::Upsert, &group(Kind::Write, 1)).expect("sql");
        assert_eq!(
            upsert,
            "INSERT INTO \"public\".\"t\" (\"id\", \"v\") SELECT __u.c1::bigint, __u.c2::text FROM \
             UNNEST($1::text[], $2::text[]) AS __u(c1, c2) ON CONFLICT (\"id\") DO UPDATE SET \"v\" = EXCLUDED.\"v\""
        );
        let update = rows_sql(InsertMode::Update, &group(Kind::Write, 1)).expect("sql");
        assert!(update.starts_with("UPDATE \"public\".\"t\" AS __t SET \"v\" = __u.c2::text FROM UNNEST("), "{update}");
        assert!(update.ends_with("WHERE __t.\"id\" = __u.c1::bigint"), "{update}");
        let delete = rows_sql(InsertMode::Insert, &group(Kind::Delete, 1)).expect("sql");
        assert_eq!(
            delete,
            "DELETE FROM \"public\".\"t\" AS __t USING UNNEST($1::text[]) AS __u(c1) WHERE __t.\"id\" = __u.c1::bigint"
        );
        assert!(rows_sql(InsertMode::Insert, &group(Kind::Write, 0)).is_some_and(|s| !s.contains("ON CONFLICT")));
    }
}
