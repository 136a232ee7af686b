//! Which rows of a batch write the same row, by the database's notion of equality: keys equal
//! to PostgreSQL but not as text (`uuid` letter case, `numeric` 1.0 and 1.00, `citext`,
//! timestamps in different zones) are one row, so the plan never puts both in one
//! `INSERT ... ON CONFLICT` (SQLSTATE 21000) or one `UPDATE ... FROM` (an arbitrary winner).
//!
//! Rows equal as text are equal. For key columns whose text is not canonical, the distinct key
//! texts of a table are sent once, cast to the columns' types and partitioned by the database
//! (`min(i) OVER (PARTITION BY c1::type, ...)`): each key maps to the first equal one.

use std::collections::HashMap;

use tokio_postgres::types::ToSql;
use tracing::debug;

use super::conn::{Db, DbError, Failure, PgMessage};
use super::ops::Op;
use super::plan::text_keys;
use super::table::{ColumnInfo, TableId};
use super::types::ColumnKind;
use super::writer::{Group, RenderedRow};

/// Per rendered row, the index of the first row writing the same row of the same table (`None`
/// for rows not rendered). A database error other than a lost connection falls back to
/// comparing text (the write then reports the bad value).
pub async fn same_row_keys(
    db: &mut Db,
    groups: &[Group],
    ops: &[Op<'_>],
    rows: &[Option<RenderedRow>],
) -> Result<Vec<Option<usize>>, DbError> {
    let mut keys = text_keys(groups, ops, rows);
    // The distinct text keys per table and key columns, and whether all their texts are canonical.
    let mut buckets: HashMap<(&TableId, &[ColumnInfo]), Bucket> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let Some(row) = row.as_ref().filter(|_| keys[i] == Some(i)) else { continue };
        let group = &groups[row.group];
        let columns = &group.columns[..group.key_len];
        let exact = columns.iter().zip(&row.cells).all(|(c, v)| canonical(c, v.as_deref()));
        let bucket = buckets.entry((&ops[i].table, columns)).or_insert(Bucket { distinct: Vec::new(), exact: true });
        bucket.distinct.push(i);
        bucket.exact &= exact;
    }
    let mut first_equal: HashMap<usize, usize> = HashMap::new();
    for ((table, columns), Bucket { distinct, exact }) in buckets {
        if exact || distinct.len() < 2 {
            continue;
        }
        match partition(db, columns, rows, &distinct).await {
            Ok(map) => first_equal.extend(map),
            Err(e) if e.failure == Failure::Retriable => return Err(e),
            Err(e) => {
                debug!(table = %table, error = %PgMessage(e.error), "cannot compare keys in the database; comparing their text")
            }
        }
    }
    for key in keys.iter_mut().flatten() {
        if let Some(&first) = first_equal.get(key) {
            *key = first;
        }
    }
    Ok(keys)
}

/// The distinct text keys of one table and key columns.
struct Bucket {
    /// Their first rows.
    distinct: Vec<usize>,
    /// Whether every key text is canonical (equal as text iff equal to the database).
    exact: bool,
}

/// True when equal values of this column always have the same text: integers written without
/// sign or leading zeros, and `text`/`varchar` (under deterministic collations; a statement that
/// still meets a row twice is replayed one row per statement). Not `citext`, not `char(n)`
/// (blank-padded), not domains.
fn canonical(column: &ColumnInfo, text: Option<&str>) -> bool {
    let Some(text) = text else { return true };
    match column.kind {
        ColumnKind::Text => matches!(column.type_sql.as_str(), "text" | "character varying"),
        ColumnKind::Int => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'))
                && text != "-0"
        }
        _ => false,
    }
}

/// Maps each of `distinct` (row indexes) to the first of them with an equal key, as the
/// database compares the key columns' types.
async fn partition(
    db: &mut Db,
    columns: &[ColumnInfo],
    rows: &[Option<RenderedRow>],
    distinct: &[usize],
) -> Result<HashMap<usize, usize>, DbError> {
    let ids: Vec<i64> = distinct.iter().map(|&i| i64::try_from(i).unwrap_or(i64::MAX)).collect();
    let texts: Vec<Vec<Option<&str>>> = (0..columns.len())
        .map(|c| distinct.iter().map(|&i| rows[i].as_ref().and_then(|r| r.cells[c].as_deref())).collect())
        .collect();
    let params: Vec<String> = (2..=columns.len() + 1).map(|n| format!("${n}::text[]")).collect();
    let aliases: Vec<String> = (1..=columns.len()).map(|n| format!("c{n}")).collect();
    let casts: Vec<String> =
        columns.iter().enumerate().map(|(c, col)| format!("__u.c{}::{}", c + 1, col.type_sql)).collect();
    let sql = format!(
        "SELECT __u.i, min(__u.i) OVER (PARTITION BY {}) FROM UNNEST($1::int8[], {}) AS __u(i, {})",
        casts.join(", "),
        params.join(", "),
        aliases.join(", ")
    );
    let mut values: Vec<&(dyn ToSql + Sync)> = vec![&ids];
    values.extend(texts.iter().map(|t| t as &(dyn ToSql + Sync)));
    let found = db.query(&sql, &values).await?;
    let index = |v: i64| usize::try_from(v).unwrap_or(usize::MAX);
    Ok(found.iter().map(|r| (index(r.get::<_, i64>(0)), index(r.get::<_, i64>(1)))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(type_sql: &str, kind: ColumnKind) -> ColumnInfo {
        ColumnInfo { name: "k".into(), type_sql: type_sql.into(), kind }
    }

    #[test]
    fn only_plain_integers_and_text_are_canonical() {
        let int = column("bigint", ColumnKind::Int);
        assert!(canonical(&int, Some("-12")));
        assert!(canonical(&int, Some("0")));
        assert!(!canonical(&int, Some("012")));
        assert!(!canonical(&int, Some("+1")));
        assert!(!canonical(&int, Some("-0")));
        assert!(canonical(&column("text", ColumnKind::Text), Some("Ann")));
        assert!(!canonical(&column("citext", ColumnKind::Text), Some("Ann")));
        assert!(!canonical(&column("character", ColumnKind::Text), Some("a")));
        assert!(!canonical(&column("uuid", ColumnKind::Uuid), Some("6f1c1a3e-0000-4000-8000-000000000001")));
        assert!(!canonical(&column("numeric", ColumnKind::Numeric), Some("1.0")));
        assert!(canonical(&column("numeric", ColumnKind::Numeric), None));
    }
}
