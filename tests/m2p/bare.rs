//! The copy without the runtime, for the benchmark's baseline: the same drivers (the `mongodb`
//! crate, tokio-postgres) doing what the pipeline does for a first copy — open a change stream
//! (its resume token is where streaming would start), read every document, and write the same
//! rows into a table with `COPY ... FROM STDIN`, 5,000 rows per COPY.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aqueduct_connector_mongodb::mongodb::bson::{Bson, Document};
use aqueduct_connector_mongodb::mongodb::Collection;
use futures::{SinkExt, TryStreamExt};

use super::tokio_postgres;

/// The SQL type the sink gives a top-level field of this BSON type.
fn sql_type(v: &Bson) -> &'static str {
    match v {
        Bson::Int32(_) => "INTEGER",
        Bson::Int64(_) => "BIGINT",
        Bson::Double(_) => "DOUBLE PRECISION",
        Bson::Boolean(_) => "BOOLEAN",
        Bson::DateTime(_) => "TIMESTAMPTZ",
        Bson::Decimal128(_) => "NUMERIC",
        Bson::Document(_) | Bson::Array(_) => "JSONB",
        _ => "TEXT",
    }
}

/// A field in COPY's text format (`\N` for null, tabs/newlines/backslashes escaped).
fn copy_text(out: &mut String, v: Option<&Bson>) {
    let text = match v {
        None | Some(Bson::Null) => {
            out.push_str("\\N");
            return;
        }
        Some(Bson::ObjectId(o)) => o.to_hex(),
        Some(Bson::String(s)) => s.clone(),
        Some(Bson::Int32(i)) => i.to_string(),
        Some(Bson::Int64(i)) => i.to_string(),
        Some(Bson::Double(f)) => f.to_string(),
        Some(Bson::Boolean(b)) => b.to_string(),
        Some(Bson::DateTime(d)) => d.try_to_rfc3339_string().unwrap_or_default(),
        Some(Bson::Decimal128(d)) => d.to_string(),
        Some(other) => other.clone().into_relaxed_extjson().to_string(),
    };
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Copies the collection into `table` (dropped and created from the first document's fields);
/// returns the number of rows written.
pub async fn copy(coll: &Collection<Document>, pg: &tokio_postgres::Client, table: &str) -> anyhow::Result<u64> {
    let stream = coll.watch().await?;
    let _resume_from = stream.resume_token();
    let mut cursor = coll.find(Default::default()).batch_size(5_000).await?;
    let mut columns: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut batch: Vec<Document> = Vec::with_capacity(5_000);
    let mut copied = 0;
    while let Some(doc) = cursor.try_next().await? {
        if columns.is_empty() {
            columns = doc.iter().map(|(k, v)| (k.clone(), sql_type(v))).collect();
            let defs: Vec<String> = columns.iter().map(|(k, t)| format!("{} {t}", super::quote_ident(k))).collect();
            super::pg_drop(pg, table).await?;
            pg.batch_execute(&format!(
                "CREATE TABLE {} (id TEXT PRIMARY KEY, {})",
                super::quote_ident(table),
                defs.join(", ")
            ))
            .await?;
        }
        batch.push(doc);
        if batch.len() == 5_000 {
            copied += write(pg, table, &columns, &batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        copied += write(pg, table, &columns, &batch).await?;
    }
    Ok(copied)
}

async fn write(
    pg: &tokio_postgres::Client,
    table: &str,
    columns: &BTreeMap<String, &'static str>,
    docs: &[Document],
) -> anyhow::Result<u64> {
    let names: Vec<String> = columns.keys().map(|k| super::quote_ident(k)).collect();
    let sql = format!("COPY {} (id, {}) FROM STDIN", super::quote_ident(table), names.join(", "));
    let mut text = String::with_capacity(docs.len() * 600);
    for d in docs {
        copy_text(&mut text, d.get("_id"));
        for k in columns.keys() {
            text.push('\t');
            copy_text(&mut text, d.get(k));
        }
        let _ = writeln!(text);
    }
    let sink = pg.copy_in(&sql).await?;
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from(text)).await?;
    Ok(sink.finish().await?)
}
