//! Acceptance of the main job, in both transports: `configs/mongo-to-postgres/` copies sample
//! customers (nested documents, arrays, dates, Decimal128) while live changes (inserts, `$set`,
//! nested `$set`/`$push`, `$unset`, deletes) stream in; the worker is killed with SIGKILL twice
//! (once mid-copy, once mid-changes) and restarted; at the end the table equals the collection
//! (count + checksum of every row, no duplicate rows) and a clean stop leaves nothing in flight.
//!
//! Sizes: 5,000 documents + 1,000 changes by default (CI); `AQUEDUCT_FULL=1` runs the full
//! 50,000 documents + 10,000 changes.

use std::time::{Duration, Instant};

use aqueduct_connector_mongodb::mongodb::bson::Document;
use aqueduct_connector_mongodb::mongodb::{Client, Collection};

use crate::common::{free_port, kafka, unique, Worker};
use crate::m2p::pipeline::{Pipeline, Transport};
use crate::m2p::{self, compare, data, tokio_postgres};

/// One runtime for the test's MongoDB and Postgres clients (they live on it).
fn rt() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Runtime::new().expect("runtime"))
}

/// Documents, changes, and how long each wait may take.
fn sizes() -> (u64, u64, Duration) {
    if std::env::var("AQUEDUCT_FULL").is_ok_and(|v| v == "1") {
        (50_000, 10_000, Duration::from_secs(900))
    } else {
        (5_000, 1_000, Duration::from_secs(240))
    }
}

struct Fixture {
    pipeline: Pipeline,
    transport: Transport,
    coll: Collection<Document>,
    pg: tokio_postgres::Client,
    dir: tempfile::TempDir,
    port: u16,
}

impl Fixture {
    fn start(&self, run: &str) -> Worker {
        let args = self.pipeline.write(self.transport, self.dir.path(), self.port).expect("configs");
        Worker::run(&args, &self.dir.path().join(run), self.port)
    }

    fn rows(&self) -> i64 {
        rt().block_on(m2p::pg_count(&self.pg, &self.pipeline.table)).unwrap_or(0)
    }

    /// Starts `n` changes of `round` in the background, `rate` per second.
    fn changes(&self, round: u64, n: u64, rate: u64) -> tokio::task::JoinHandle<anyhow::Result<data::Changes>> {
        let coll = self.coll.clone();
        rt().spawn(async move { data::apply_changes(&coll, 11, round, n, 4, rate).await })
    }
}

fn finish(changes: tokio::task::JoinHandle<anyhow::Result<data::Changes>>) -> data::Changes {
    rt().block_on(changes).expect("changes task").expect("changes")
}

fn acceptance(transport: Transport) {
    if transport == Transport::Kafka {
        kafka();
    }
    let (docs, changes, timeout) = sizes();
    let name = unique(&format!("acc_{}", transport.name())).replace('-', "_");
    let pipeline = Pipeline::new(&name);
    let client = rt().block_on(Client::with_uri_str(&pipeline.mongodb)).expect("mongodb client");
    let coll = client.database(&pipeline.db).collection::<Document>(&pipeline.collection);
    let pg = rt().block_on(m2p::pg_connect(&m2p::postgres_url())).expect("postgres");
    let t = Instant::now();
    rt().block_on(data::load(&coll, 11, docs, 4, |_| {})).expect("load");
    println!("[{}] loaded {docs} documents in {:.1} s", transport.name(), t.elapsed().as_secs_f64());
    let f = Fixture { pipeline, transport, coll, pg, dir: tempfile::tempdir().expect("tempdir"), port: free_port() };
    let started = Instant::now();

    // Run 1: half of the changes race the copy; SIGKILL a third of the way through the copy.
    let worker = f.start("run1");
    let first = f.changes(0, changes / 2, (changes / 10).max(50));
    worker.wait("a third of the copy", timeout, || (f.rows() >= docs as i64 / 3).then_some(()));
    println!("[{}] kill -9 at {} rows (copying)", transport.name(), f.rows());
    worker.kill9();

    // Run 2: the copy starts again and finishes; the other half of the changes streams in;
    // SIGKILL while they are still coming (the rest lands while the worker is down).
    let worker = f.start("run2");
    let first = finish(first);
    // At most 15% of the first changes delete a document: 95% of the rows means the copy is done
    // or nearly so.
    worker.wait("the copy", timeout, || (f.rows() >= docs as i64 * 95 / 100).then_some(()));
    let second = f.changes(1, changes - changes / 2, (changes / 10).max(50));
    std::thread::sleep(Duration::from_secs(3));
    println!("[{}] kill -9 at {} rows (streaming changes)", transport.name(), f.rows());
    worker.kill9();
    let second = finish(second);

    // Run 3: catches up; the table must equal the collection, and stay equal after a clean stop.
    let worker = f.start("run3");
    let deadline = Instant::now() + timeout;
    let report = loop {
        let report = rt().block_on(compare::compare(&f.coll, &f.pg, &f.pipeline.table)).expect("compare");
        if report.equal() {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "the table is not the collection after {timeout:?}: {report}\nworker log: {}",
            worker.log_path().display()
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "[{}] {docs} documents, {} and {}, two kill -9s: {report} after {secs:.1} s",
        transport.name(),
        first,
        second
    );
    assert_eq!(report.rows, report.distinct_ids, "duplicate rows");
    assert!(worker.terminate(Duration::from_secs(60)), "clean shutdown");
    // Nothing in flight: a clean restart leaves the table as it is (no stale change re-applied).
    let worker = f.start("run4");
    std::thread::sleep(Duration::from_secs(5));
    let after = rt().block_on(compare::compare(&f.coll, &f.pg, &f.pipeline.table)).expect("compare");
    assert!(after.equal(), "after a clean restart: {after}");
    assert!(worker.terminate(Duration::from_secs(60)), "clean shutdown");
    rt().block_on(async {
        let _ = client.database(&f.pipeline.db).drop().await;
        let _ = m2p::pg_drop(&f.pg, &f.pipeline.table).await;
    });
}

#[test]
fn mongo_to_postgres_acceptance_embedded() {
    acceptance(Transport::Embedded);
}

#[test]
fn mongo_to_postgres_acceptance_kafka() {
    acceptance(Transport::Kafka);
}
