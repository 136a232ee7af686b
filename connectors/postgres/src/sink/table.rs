//! Destination tables: names, identifier quoting, and what the catalog says about their columns.

use std::collections::HashMap;
use std::fmt;

use tokio_postgres::Client;

use super::types::ColumnKind;

/// Whether identifiers are quoted (Confluent's `quote.sql.identifiers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// `"Name"`: case and special characters kept.
    Always,
    /// `Name`: folded to lower case by PostgreSQL.
    Never,
}

impl Quoting {
    /// The identifier as SQL.
    pub fn ident(self, name: &str) -> String {
        match self {
            Quoting::Always => format!("\"{}\"", name.replace('"', "\"\"")),
            Quoting::Never => name.to_owned(),
        }
    }
    /// The name as the catalog stores it.
    pub fn stored(self, name: &str) -> String {
        match self {
            Quoting::Always => name.to_owned(),
            Quoting::Never => name.to_lowercase(),
        }
    }
}

/// A table name, optionally qualified by a schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableId {
    /// The schema; `None` resolves through the `search_path`.
    pub schema: Option<String>,
    /// The table.
    pub name: String,
}

impl TableId {
    /// Parses `table`, `schema.table` or `database.schema.table` (the database is the one
    /// connected to, as the connection URL names it, so that part is ignored).
    pub fn parse(text: &str) -> TableId {
        let parts: Vec<&str> = text.split('.').collect();
        match parts.as_slice() {
            [.., schema, name] if !schema.is_empty() => {
                TableId { schema: Some((*schema).to_owned()), name: (*name).to_owned() }
            }
            _ => TableId { schema: None, name: text.to_owned() },
        }
    }
    /// The name as SQL.
    pub fn sql(&self, quoting: Quoting) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", quoting.ident(schema), quoting.ident(&self.name)),
            None => quoting.ident(&self.name),
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A column as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnInfo {
    /// The column name.
    pub name: String,
    /// The type as SQL, without modifiers (`character varying`, `numeric`, `integer[]`):
    /// values are cast to it, and the column's modifiers then apply as on any assignment.
    pub type_sql: String,
    /// What kind of value the type holds, for rendering.
    pub kind: ColumnKind,
}

/// What the sink knows about an existing table.
#[derive(Debug, Clone)]
pub struct TableInfo {
    /// The table, schema-qualified as found.
    pub id: TableId,
    /// Its columns, in order.
    pub columns: Vec<ColumnInfo>,
    by_name: HashMap<String, usize>,
    /// The column sets of its primary key and unique indexes (without predicates).
    pub unique_keys: Vec<Vec<String>>,
}

impl TableInfo {
    /// A table that does not exist (no columns).
    pub fn missing(id: TableId) -> TableInfo {
        TableInfo { id, columns: Vec::new(), by_name: HashMap::new(), unique_keys: Vec::new() }
    }
    /// The column with this (stored) name.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.by_name.get(name).map(|&i| &self.columns[i])
    }
    /// True when a unique index covers exactly these columns (in any order): ON CONFLICT can use it.
    pub fn has_unique_key(&self, columns: &[String]) -> bool {
        self.unique_keys.iter().any(|key| key.len() == columns.len() && columns.iter().all(|c| key.contains(c)))
    }
}

const COLUMNS_SQL: &str = "\
SELECT n.nspname::text, c.relname::text, a.attname::text,
       format_type(a.atttypid, NULL) AS type_sql,
       coalesce(bt.typname, t.typname)::text AS typname,
       coalesce(et.typname, '')::text AS elemname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
LEFT JOIN pg_type et ON et.oid = coalesce(bt.typelem, t.typelem) AND coalesce(bt.typcategory, t.typcategory) = 'A'
WHERE c.oid = to_regclass($1)
ORDER BY a.attnum";

const UNIQUE_KEYS_SQL: &str = "\
SELECT array_agg(a.attname::text ORDER BY k.ord)
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL
GROUP BY i.indexrelid";

/// Reads a table's columns and unique keys; `None` when it does not exist.
pub async fn load(client: &Client, id: &TableId, quoting: Quoting) -> Result<Option<TableInfo>, tokio_postgres::Error> {
    let regclass = id.sql(Quoting::Always);
    let regclass = match quoting {
        Quoting::Always => regclass,
        Quoting::Never => TableId { schema: id.schema.as_deref().map(str::to_lowercase), name: id.name.to_lowercase() }
            .sql(Quoting::Always),
    };
    let rows = client.query(COLUMNS_SQL, &[&regclass]).await?;
    let Some(first) = rows.first() else { return Ok(None) };
    let found = TableId { schema: Some(first.get(0)), name: first.get(1) };
    let columns: Vec<ColumnInfo> = rows
        .iter()
        .map(|row| {
            let typname: String = row.get(4);
            let elemname: String = row.get(5);
            ColumnInfo { name: row.get(2), type_sql: row.get(3), kind: ColumnKind::from_catalog(&typname, &elemname) }
        })
        .collect();
    let by_name = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
    let unique_keys =
        client.query(UNIQUE_KEYS_SQL, &[&regclass]).await?.iter().map(|row| row.get::<_, Vec<String>>(0)).collect();
    Ok(Some(TableInfo { id: found, columns, by_name, unique_keys }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_quotes_names() {
        assert_eq!(TableId::parse("orders"), TableId { schema: None, name: "orders".into() });
        assert_eq!(TableId::parse("s.orders").sql(Quoting::Always), "\"s\".\"orders\"");
        assert_eq!(TableId::parse("db.s.orders").schema.as_deref(), Some("s"));
        assert_eq!(Quoting::Always.ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(Quoting::Never.ident("Orders"), "Orders");
        assert_eq!(Quoting::Never.stored("Orders"), "orders");
    }
}
