//! The Postgres table against the collection: row count plus a checksum of every row.
//!
//! The sink writes, for a Debezium MongoDB envelope keyed by `{"id": <_id>}`, one row per
//! document: column `id` (the key: ObjectId as hex), and a column per top-level field of the
//! document (`_id` included): strings as text, int32/int64/double/bool as themselves, dates as
//! `timestamptz`, Decimal128 as `numeric`, sub-documents and arrays as `jsonb` (relaxed Extended
//! JSON); a field the document lacks (never had, or `$unset`) is NULL. Both sides are brought to
//! one canonical text per column (dates as epoch milliseconds, decimals without trailing zeros,
//! JSON with sorted keys and `$date`/`$numberDecimal` normalised), and a row's checksum is the
//! FNV-1a hash of its columns in name order. The expected side is computed from the documents
//! with the driver's own Extended JSON, not with the connector's code.

use std::collections::{BTreeMap, HashMap};

use aqueduct_connector_mongodb::mongodb::bson::{Bson, DateTime, Document};
use aqueduct_connector_mongodb::mongodb::Collection;
use futures::TryStreamExt;

use super::tokio_postgres;
use serde_json::Value as Json;

/// One row as column -> canonical text (NULL columns absent).
pub type Row = BTreeMap<String, String>;

/// The outcome of a comparison.
#[derive(Debug, Default)]
pub struct Report {
    /// Documents in the collection.
    pub documents: usize,
    /// Rows in the table.
    pub rows: usize,
    /// Distinct ids among the rows (rows - this = duplicate rows).
    pub distinct_ids: usize,
    /// Documents with no row.
    pub missing: Vec<String>,
    /// Rows with no document.
    pub extra: Vec<String>,
    /// Ids whose row differs from the document: (id, first differing column, want, got).
    pub differing: Vec<(String, String, String, String)>,
    /// Order-independent checksum of the collection (sum of row hashes).
    pub want_checksum: u64,
    /// The same over the table.
    pub got_checksum: u64,
}

impl Report {
    /// The table equals the collection: same count, no duplicates, every row's checksum equal.
    pub fn equal(&self) -> bool {
        self.documents == self.rows
            && self.distinct_ids == self.rows
            && self.missing.is_empty()
            && self.extra.is_empty()
            && self.differing.is_empty()
            && self.want_checksum == self.got_checksum
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} documents, {} rows ({} duplicate), {} missing, {} extra, {} differing; checksum {:016x} vs {:016x}",
            self.documents,
            self.rows,
            self.rows - self.distinct_ids,
            self.missing.len(),
            self.extra.len(),
            self.differing.len(),
            self.want_checksum,
            self.got_checksum
        )?;
        for id in self.missing.iter().take(3) {
            write!(f, "\n  missing {id}")?;
        }
        for id in self.extra.iter().take(3) {
            write!(f, "\n  extra {id}")?;
        }
        for (id, col, want, got) in self.differing.iter().take(3) {
            write!(f, "\n  {id}.{col}: want {want:?}, got {got:?}")?;
        }
        Ok(())
    }
}

/// FNV-1a over a row's columns (name, 0x1f, value, 0x1e), in name order.
pub fn checksum(row: &Row) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in row {
        for b in k.bytes().chain([0x1f]).chain(v.bytes()).chain([0x1e]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// `12.50` -> `12.5`, `3.00` -> `3`, `-0.0` -> `0`.
pub fn decimal(text: &str) -> String {
    let t = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { text };
    if t == "-0" || t.is_empty() {
        "0".into()
    } else {
        t.into()
    }
}

/// A JSON value with `$date` as epoch milliseconds and `$numberDecimal` normalised; serialised
/// by serde_json with sorted keys.
fn canonical_json(v: Json) -> Json {
    match v {
        Json::Object(map) => {
            if map.len() == 1 {
                match map.iter().next() {
                    Some((k, Json::String(s))) if k == "$date" => {
                        if let Ok(d) = DateTime::parse_rfc3339_str(s) {
                            return serde_json::json!({"$date": d.timestamp_millis()});
                        }
                    }
                    Some((k, Json::Object(inner))) if k == "$date" => {
                        if let Some(ms) =
                            inner.get("$numberLong").and_then(Json::as_str).and_then(|s| s.parse::<i64>().ok())
                        {
                            return serde_json::json!({"$date": ms});
                        }
                    }
                    Some((k, Json::String(s))) if k == "$numberDecimal" => {
                        return serde_json::json!({"$numberDecimal": decimal(s)});
                    }
                    _ => {}
                }
            }
            // Sorted keys (serde_json's map may keep insertion order, as jsonb does not).
            let sorted: BTreeMap<String, Json> = map.into_iter().map(|(k, v)| (k, canonical_json(v))).collect();
            Json::Object(sorted.into_iter().collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(canonical_json).collect()),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Json::from(i),
            (None, Some(f)) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
            _ => Json::Number(n),
        },
        other => other,
    }
}

/// JSON text in canonical form (itself when it is not JSON).
fn json_text(text: &str) -> String {
    serde_json::from_str(text).map(|j| canonical_json(j).to_string()).unwrap_or_else(|_| text.to_owned())
}

fn float(text: &str) -> String {
    text.parse::<f64>().map(|f| f.to_string()).unwrap_or_else(|_| text.to_owned())
}

/// The canonical text of a BSON value as the sink stores it; `None` for null.
fn bson_text(v: &Bson) -> Option<String> {
    Some(match v {
        Bson::Null | Bson::Undefined => return None,
        Bson::ObjectId(o) => o.to_hex(),
        Bson::String(s) => s.clone(),
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        Bson::Double(f) => f.to_string(),
        Bson::Boolean(b) => if *b { "t" } else { "f" }.into(),
        Bson::DateTime(d) => d.timestamp_millis().to_string(),
        Bson::Decimal128(d) => decimal(&d.to_string()),
        // Through text, as the table's side: both parse the same digits the same way
        // (serde_json's float parsing may differ from the exact value by one ulp).
        other => json_text(&other.clone().into_relaxed_extjson().to_string()),
    })
}

/// The row the sink should hold for a document.
pub fn expected_row(doc: &Document) -> (String, Row) {
    let id = doc.get("_id").and_then(bson_text).unwrap_or_default();
    let mut row: Row = doc.iter().filter_map(|(k, v)| Some((k.clone(), bson_text(v)?))).collect();
    row.insert("id".into(), id.clone());
    (id, row)
}

/// Every document of the collection as its expected row, by id.
pub async fn collection_rows(coll: &Collection<Document>) -> anyhow::Result<HashMap<String, Row>> {
    let docs: Vec<Document> = coll.find(Default::default()).batch_size(5_000).await?.try_collect().await?;
    Ok(docs.iter().map(expected_row).collect())
}

/// Every row of the table in canonical form, with the number of rows read (duplicates count).
pub async fn table_rows(pg: &tokio_postgres::Client, table: &str) -> anyhow::Result<(usize, HashMap<String, Row>)> {
    let (schema, name) = table.split_once('.').unwrap_or(("public", table));
    let cols = pg
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            &[&schema, &name],
        )
        .await?;
    if cols.is_empty() {
        return Ok((0, HashMap::new()));
    }
    let cols: Vec<(String, String)> = cols.iter().map(|r| (r.get(0), r.get(1))).collect();
    let exprs: Vec<String> = cols
        .iter()
        .map(|(c, t)| {
            let q = super::quote_ident(c);
            if t.starts_with("timestamp") || t == "date" {
                format!("(extract(epoch from {q}) * 1000)::bigint::text")
            } else {
                format!("{q}::text")
            }
        })
        .collect();
    let sql = format!("SELECT {} FROM {}", exprs.join(", "), super::quote_ident(table));
    let mut n = 0;
    let mut out = HashMap::new();
    for msg in pg.simple_query(&sql).await? {
        let tokio_postgres::SimpleQueryMessage::Row(r) = msg else { continue };
        n += 1;
        let mut row = Row::new();
        for (i, (c, t)) in cols.iter().enumerate() {
            let Some(v) = r.get(i) else { continue };
            let v = match t.as_str() {
                "jsonb" | "json" => json_text(v),
                "numeric" => decimal(v),
                "double precision" | "real" => float(v),
                "boolean" => if v == "true" {
                    "t"
                } else if v == "false" {
                    "f"
                } else {
                    v
                }
                .into(),
                _ => v.to_owned(),
            };
            row.insert(c.clone(), v);
        }
        let id = row.get("id").cloned().unwrap_or_default();
        out.insert(id, row);
    }
    Ok((n, out))
}

/// Compares the table with the collection.
pub async fn compare(coll: &Collection<Document>, pg: &tokio_postgres::Client, table: &str) -> anyhow::Result<Report> {
    let want = collection_rows(coll).await?;
    let (rows, got) = table_rows(pg, table).await?;
    let mut report = Report { documents: want.len(), rows, distinct_ids: got.len(), ..Report::default() };
    for (id, w) in &want {
        let hw = checksum(w);
        report.want_checksum = report.want_checksum.wrapping_add(hw);
        match got.get(id) {
            None => report.missing.push(id.clone()),
            Some(g) if checksum(g) != hw => {
                let col = w.keys().chain(g.keys()).find(|k| w.get(*k) != g.get(*k)).cloned().unwrap_or_default();
                let (a, b) = (w.get(&col).cloned().unwrap_or_default(), g.get(&col).cloned().unwrap_or_default());
                report.differing.push((id.clone(), col, a, b));
            }
            Some(_) => {}
        }
    }
    for (id, g) in &got {
        report.got_checksum = report.got_checksum.wrapping_add(checksum(g));
        if !want.contains_key(id) {
            report.extra.push(id.clone());
        }
    }
    report.missing.sort();
    report.extra.sort();
    report.differing.sort();
    Ok(report)
}

/// One row of the table as `column=value` pairs (for the quickstart's sample), if any.
pub async fn sample_row(pg: &tokio_postgres::Client, table: &str) -> anyhow::Result<Option<String>> {
    let sql = format!("SELECT row_to_json(t)::text FROM {} t ORDER BY id LIMIT 1", super::quote_ident(table));
    let rows = pg.query(&sql, &[]).await?;
    Ok(rows.first().map(|r| r.get(0)))
}
