//! The Mongo -> Postgres job's own tool, one piece shared by `scripts/quickstart.sh` (through
//! `runtime/examples/m2p.rs`), the acceptance test (`tests/e2e/pipeline_acceptance.rs`) and the
//! benchmark (`m2p bench`):
//! - [`data`]: sample customers, deterministic from a seed, and live changes;
//! - [`compare`]: the Postgres table against the collection (count + per-row checksum);
//! - [`bare`]: the same copy without the runtime (change stream + find + COPY), for the benchmark;
//! - [`pipeline`]: connector and worker configs for a collection/table pair, in both transports.
#![allow(dead_code)] // the example and the e2e test each use their own subset

pub mod bare;
pub mod compare;
pub mod data;
pub mod pipeline;

pub use aqueduct_connector_postgres::tokio_postgres;

/// MongoDB the tool talks to (`AQUEDUCT_TEST_MONGODB`, default the local replica set).
pub fn mongodb_uri() -> String {
    std::env::var("AQUEDUCT_TEST_MONGODB").unwrap_or_else(|_| "mongodb://127.0.0.1:27017/?replicaSet=secantus".into())
}

/// PostgreSQL the tool talks to (`AQUEDUCT_TEST_POSTGRES`).
pub fn postgres_url() -> String {
    std::env::var("AQUEDUCT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into())
}

/// One tokio-postgres connection, its driver task spawned on the current runtime.
pub async fn pg_connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("postgres connection: {e}");
        }
    });
    Ok(client)
}

/// Quotes an SQL identifier (`a"b` -> `"a""b"`); `schema.table` is quoted part by part.
pub fn quote_ident(name: &str) -> String {
    name.split('.').map(|p| format!("\"{}\"", p.replace('"', "\"\""))).collect::<Vec<_>>().join(".")
}

/// Rows in `table`, 0 while it does not exist yet.
pub async fn pg_count(pg: &tokio_postgres::Client, table: &str) -> anyhow::Result<i64> {
    let exists = pg.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]).await?;
    if !exists.get::<_, bool>(0) {
        return Ok(0);
    }
    let row = pg.query_one(&format!("SELECT count(*) FROM {}", quote_ident(table)), &[]).await?;
    Ok(row.get(0))
}

/// Drops `table` if it exists.
pub async fn pg_drop(pg: &tokio_postgres::Client, table: &str) -> anyhow::Result<()> {
    pg.batch_execute(&format!("DROP TABLE IF EXISTS {}", quote_ident(table))).await?;
    Ok(())
}
