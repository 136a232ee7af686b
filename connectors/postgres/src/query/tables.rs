//! Finding the tables to copy (whitelist/blacklist) and splitting them across tasks.

use aqueduct_sdk::{ConnectError, Result};

use super::config::{QueryConfig, TABLE_WHITELIST};
use crate::sink::conn::Db;

/// Ordinary and partitioned tables outside the system schemas, as `schema.table`.
const LIST_TABLES: &str = "SELECT n.nspname::text, c.relname::text FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
     ORDER BY 1, 2";

/// Whether `entry` (`table` or `schema.table`) names `schema.table`.
pub fn matches(entry: &str, schema: &str, table: &str) -> bool {
    match entry.split_once('.') {
        Some((s, t)) => s == schema && t == table,
        None => entry == table,
    }
}

/// The tables to copy, `schema.table`, sorted; a whitelisted table that does not exist is a
/// configuration error naming it.
pub async fn find(db: &mut Db, cfg: &QueryConfig) -> Result<Vec<String>> {
    let rows = db.query(LIST_TABLES, &[]).await.map_err(|e| e.into_connect("listing the tables"))?;
    let all: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    if let Some(missing) = cfg.whitelist.iter().find(|entry| !all.iter().any(|(s, t)| matches(entry, s, t))) {
        return Err(ConnectError::config(format!("{TABLE_WHITELIST}: table '{missing}' does not exist")));
    }
    Ok(all
        .into_iter()
        .filter(|(s, t)| cfg.whitelist.is_empty() || cfg.whitelist.iter().any(|e| matches(e, s, t)))
        .filter(|(s, t)| !cfg.blacklist.iter().any(|e| matches(e, s, t)))
        .map(|(s, t)| format!("{s}.{t}"))
        .collect())
}

/// Deals `tables` round-robin into `min(max_tasks, tables)` groups.
pub fn split(tables: &[String], max_tasks: usize) -> Vec<Vec<String>> {
    let groups = max_tasks.max(1).min(tables.len());
    let mut out = vec![Vec::new(); groups];
    for (i, table) in tables.iter().enumerate() {
        out[i % groups].push(table.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_round_robin() {
        let tables: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(split(&tables, 2), vec![vec!["a", "c", "e"], vec!["b", "d"]]);
        assert_eq!(split(&tables, 9).len(), 5);
        assert!(split(&[], 3).is_empty());
        assert!(matches("public.x", "public", "x") && matches("x", "s", "x") && !matches("s.x", "public", "x"));
    }
}
