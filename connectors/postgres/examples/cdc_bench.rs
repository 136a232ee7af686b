//! Benchmark (not a test): CDC events/s of `PostgresCdcSource` against bare reads of the same
//! WAL, and peak RSS of each.
//!
//! ```text
//! cargo run --release -p aqueduct-connector-postgres --example cdc_bench [ROWS]
//! ```
//!
//! Creates a table and three logical slots at the same position, writes ROWS rows (default
//! 500,000, in transactions of 10,000), then reads them in separate processes: with
//! `pg_recvlogical` (pgoutput to /dev/null), with the raw replication client (pgwire-replication,
//! no decoding), and through the connector's `SourceTask::poll` (decode + Debezium envelopes).
//! Uses `AQUEDUCT_TEST_POSTGRES` (default postgres://postgres:postgres@127.0.0.1:5432/postgres).

use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_connector_postgres::cdc::PLUGIN;
use aqueduct_sdk::testing::MemoryOffsets;
use aqueduct_sdk::{ConnectorFactory, Props, SourceTaskContext};
use pgwire_replication::{Lsn, ReplicationClient, ReplicationConfig, ReplicationEvent};
use tokio_postgres::NoTls;

const SCHEMA: &str = "aqcdc_bench";

fn url() -> String {
    std::env::var("AQUEDUCT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into())
}

fn pg() -> tokio_postgres::Config {
    tokio_postgres::Config::from_str(&url()).expect("AQUEDUCT_TEST_POSTGRES is a URL")
}

fn host() -> String {
    match pg().get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    }
}

fn password() -> String {
    String::from_utf8_lossy(pg().get_password().unwrap_or(b"")).into_owned()
}

/// Peak resident set size of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

async fn connect() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&url(), NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
}

async fn setup(rows: i64) -> u64 {
    let db = connect().await;
    for slot in ["recvlogical", "raw", "connector"] {
        let _ = db.execute("SELECT pg_drop_replication_slot($1)", &[&format!("{SCHEMA}_{slot}")]).await;
    }
    db.batch_execute(&format!(
        "DROP PUBLICATION IF EXISTS {SCHEMA}; DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};
         CREATE TABLE {SCHEMA}.orders (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2),
           created timestamptz NOT NULL, paid boolean, note text);
         CREATE PUBLICATION {SCHEMA} FOR TABLE {SCHEMA}.orders;"
    ))
    .await
    .expect("setup");
    for slot in ["recvlogical", "raw", "connector"] {
        db.execute("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", &[&format!("{SCHEMA}_{slot}")])
            .await
            .expect("slot");
    }
    let started = Instant::now();
    let mut id = 0i64;
    while id < rows {
        let n = (rows - id).min(10_000);
        db.execute(
            &format!(
                "INSERT INTO {SCHEMA}.orders SELECT g, 'customer ' || (g % 1000), (g % 10000) / 100.0, now(), g % 2 = 0,
                 CASE WHEN g % 10 = 0 THEN NULL ELSE 'note ' || g END FROM generate_series($1::bigint, $2::bigint) g"
            ),
            &[&(id + 1), &(id + n)],
        )
        .await
        .expect("insert");
        id += n;
    }
    let end: String = db.query_one("SELECT pg_current_wal_lsn()::text", &[]).await.expect("lsn").get(0);
    println!("wrote {rows} rows in {:.1}s; WAL end {end}", started.elapsed().as_secs_f64());
    Lsn::parse(&end).expect("lsn").as_u64()
}

fn report(what: &str, events: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    println!(
        "{what:<34} {events:>9} events in {secs:>6.2}s = {:>9.0} events/s, peak RSS {:>6.1} MiB",
        events as f64 / secs,
        peak_rss_mib()
    );
}

/// The raw client: streams the WAL and counts pgoutput insert messages, decoding nothing else.
async fn raw(end: u64) {
    let pg = pg();
    let cfg = ReplicationConfig::new(
        host(),
        pg.get_user().unwrap_or("postgres"),
        password(),
        pg.get_dbname().unwrap_or("postgres"),
        format!("{SCHEMA}_raw"),
        SCHEMA,
    )
    .with_port(pg.get_ports().first().copied().unwrap_or(5432))
    .with_stop_lsn(Lsn::from_u64(end));
    let started = Instant::now();
    let mut client = ReplicationClient::connect(cfg).await.expect("replication");
    let mut inserts = 0u64;
    while let Some(event) = client.recv().await.expect("stream") {
        match event {
            ReplicationEvent::XLogData { data, .. } if data.first() == Some(&b'I') => inserts += 1,
            ReplicationEvent::StoppedAt { .. } => break,
            _ => {}
        }
    }
    report("raw pgoutput client (no decoding)", inserts, started.elapsed());
}

/// The connector: every change becomes a Debezium record.
async fn connector(rows: u64) {
    let pg = pg();
    let props: Props = [
        ("name", "bench".to_owned()),
        ("database.hostname", host()),
        ("database.port", pg.get_ports().first().copied().unwrap_or(5432).to_string()),
        ("database.user", pg.get_user().unwrap_or("postgres").to_owned()),
        ("database.password", password()),
        ("database.dbname", pg.get_dbname().unwrap_or("postgres").to_owned()),
        ("topic.prefix", "bench".to_owned()),
        ("slot.name", format!("{SCHEMA}_connector")),
        ("publication.name", SCHEMA.to_owned()),
        ("publication.autocreate.mode", "disabled".to_owned()),
        ("schema.include.list", SCHEMA.to_owned()),
        ("snapshot.mode", "never".to_owned()),
        ("max.batch.size", "4096".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let ConnectorFactory::Source(factory) = PLUGIN.factory else { unreachable!("a source") };
    let mut task = factory().create_task();
    let started = Instant::now();
    task.start(SourceTaskContext::new("bench", 0, Arc::new(MemoryOffsets::default())), props).await.expect("start");
    let mut events = 0u64;
    let mut bytes = 0usize;
    while events < rows {
        let batch = task.poll().await.expect("poll");
        events += batch.len() as u64;
        bytes += batch.iter().map(|r| r.topic.len()).sum::<usize>();
    }
    report("PostgresCdcSource poll (Debezium)", events, started.elapsed());
    assert!(bytes > 0);
    task.stop().await.expect("stop");
}

fn recvlogical(end: u64) {
    let pg = pg();
    let started = Instant::now();
    let status = Command::new("pg_recvlogical")
        .args([
            "-d",
            &url(),
            "-S",
            &format!("{SCHEMA}_recvlogical"),
            "--start",
            "-P",
            "pgoutput",
            "-o",
            "proto_version=1",
            "-o",
            &format!("publication_names={SCHEMA}"),
            "-E",
            &Lsn::from_u64(end).to_string(),
            "-f",
            "/dev/null",
            "--no-loop",
        ])
        .env("PGPASSWORD", password())
        .env("PGUSER", pg.get_user().unwrap_or("postgres"))
        .status();
    match status {
        Ok(s) if s.success() => println!(
            "{:<34} {:>9} (binary output) in {:>6.2}s (separate process; RSS not measured)",
            "pg_recvlogical pgoutput > /dev/null",
            "-",
            started.elapsed().as_secs_f64()
        ),
        other => println!("pg_recvlogical failed: {other:?}"),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("raw") => raw(args[2].parse().expect("lsn")).await,
        Some("connector") => connector(args[2].parse().expect("rows")).await,
        _ => {
            let rows: i64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500_000);
            let end = setup(rows).await;
            recvlogical(end);
            let exe = std::env::current_exe().expect("exe");
            for (mode, arg) in [("raw", end.to_string()), ("connector", rows.to_string())] {
                let status = Command::new(&exe).args([mode, &arg]).status().expect("run");
                assert!(status.success(), "{mode} failed");
            }
            let db = connect().await;
            for slot in ["recvlogical", "raw", "connector"] {
                let _ = db.execute("SELECT pg_drop_replication_slot($1)", &[&format!("{SCHEMA}_{slot}")]).await;
            }
            let _ = db
                .batch_execute(&format!("DROP PUBLICATION IF EXISTS {SCHEMA}; DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                .await;
        }
    }
}
