//! Exactly-once Postgres CDC (KIP-618): a Debezium-style source streams a table while a writer
//! commits 1,000 small transactions into it (3,000 inserts, updates of older and of just-inserted
//! rows), and the worker is killed with SIGKILL three times mid-stream. A `read_committed`
//! consumer then sees every change event exactly once: the snapshot row or insert of each row,
//! and one update event per update the database applied. At least once, the same run shows
//! the duplicates that mode allows.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{json, Value};

use crate::common::{free_port, kafka, unique, Worker};
use crate::postgres::{parts, psql, try_psql, url};

/// Rows in the table before the connector starts: they arrive as snapshot (`r`) events.
const INITIAL: i64 = 100;
/// Writer transactions, of 1 to 5 inserts each (3,000 rows in all).
const TRANSACTIONS: i64 = 1_000;
const INSERTS: i64 = TRANSACTIONS * 3;

/// A change event as the consumer saw it: what it says and where it came from.
#[derive(Debug)]
struct Event {
    op: String,
    id: i64,
    /// The row's update counter in the after image: 0 when written, +1 per update.
    v: i64,
    tx_id: Option<i64>,
    lsn: Option<i64>,
    /// Kafka partition and offset.
    at: (i32, i64),
}

impl Event {
    /// What makes an event unique in this test: its operation, row and row version.
    fn key(&self) -> (String, i64, i64) {
        (self.op.clone(), self.id, self.v)
    }

    /// For failure messages: the event and where it sits in Kafka and in the WAL.
    fn describe(&self) -> String {
        let (partition, offset) = self.at;
        format!(
            "{} id={} v={} at partition {partition} offset {offset}, txId {:?}, lsn {:?}",
            self.op, self.id, self.v, self.tx_id, self.lsn
        )
    }
}

/// The writer's SQL, one psql session: transactions of 1-5 inserts; every third also updates an
/// older row the writer inserted, every seventh a row it just inserted (a change later in the
/// same transaction); 20 ms between transactions, so the stream lasts about 25 s. Snapshot rows
/// are never updated, so the snapshot racing the first transactions cannot blur the expectation.
fn writer_script(table: &str) -> String {
    let mut sql = String::new();
    let mut next = INITIAL + 1;
    for i in 0..TRANSACTIONS {
        let rows = 1 + i % 5;
        sql.push_str(&format!(
            "BEGIN; INSERT INTO {table} (id, v, note) SELECT g, 0, 'txn {i}' FROM generate_series({next}, {}) g;",
            next + rows - 1
        ));
        let written = next - INITIAL - 1;
        if i % 3 == 0 && written > 0 {
            let old = INITIAL + 1 + (i * 37) % written;
            sql.push_str(&format!(" UPDATE {table} SET v = v + 1 WHERE id = {old};"));
        }
        if i % 7 == 0 {
            sql.push_str(&format!(" UPDATE {table} SET v = v + 1, note = note || ' updated' WHERE id = {next};"));
        }
        sql.push_str(" COMMIT; SELECT pg_sleep(0.02);\n");
        next += rows;
    }
    sql
}

/// Runs the writer's script in one psql session on a thread.
fn writer(table: &str) -> JoinHandle<()> {
    let script = writer_script(table);
    std::thread::spawn(move || {
        let mut child = Command::new("psql")
            .args([url().as_str(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("psql (postgresql-client) is installed");
        child.stdin.take().expect("psql stdin").write_all(script.as_bytes()).expect("feed psql");
        let status = child.wait().expect("psql");
        assert!(status.success(), "the writer's psql failed: {status}");
    })
}

/// The events of every partition of `topic` a `read_committed` consumer sees (none while the
/// topic does not exist).
fn committed_events(topic: &str) -> Vec<Event> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("group.id", unique("e2e-eos-cdc-reader"))
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Vec::new();
    }
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        tpl.add_partition_offset(topic, *p, Offset::Beginning).expect("partition");
    }
    consumer.assign(&tpl).expect("assign");
    let mut remaining: BTreeSet<i32> = partitions.into_iter().collect();
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !remaining.is_empty() {
        assert!(Instant::now() < deadline, "timed out reading {topic} (partitions left: {remaining:?})");
        match consumer.poll(Duration::from_millis(500)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(p))) => {
                remaining.remove(&p);
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            Some(Ok(m)) => {
                let at = (m.partition(), m.offset());
                let value: Value = m
                    .payload()
                    .and_then(|v| serde_json::from_slice(v).ok())
                    .unwrap_or_else(|| panic!("a JSON envelope at {at:?} (no tombstones: nothing is deleted)"));
                let after = &value["after"];
                let (Some(op), Some(id), Some(v)) = (value["op"].as_str(), after["id"].as_i64(), after["v"].as_i64())
                else {
                    panic!("an event with op, after.id and after.v at {at:?}: {value}");
                };
                let source = &value["source"];
                events.push(Event {
                    op: op.to_owned(),
                    id,
                    v,
                    tx_id: source["txId"].as_i64(),
                    lsn: source["lsn"].as_i64(),
                    at,
                });
            }
        }
    }
    events
}

/// The end offsets of `topic` summed over its partitions (open transactions and markers
/// included), 0 while it does not exist: a cheap measure of progress.
fn high_watermark(topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", kafka()).create().expect("consumer");
    let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) else { return 0 };
    let partitions: Vec<i32> = metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    partitions
        .into_iter()
        .filter_map(|p| consumer.fetch_watermarks(topic, p, Duration::from_secs(5)).ok())
        .map(|(_, high)| high)
        .sum()
}

/// Rows in the table now.
fn rows(table: &str) -> i64 {
    try_psql(&url(), &format!("SELECT count(*) FROM {table}")).ok().and_then(|o| o.trim().parse().ok()).unwrap_or(0)
}

/// The events the table's final state implies: per row its snapshot (`r`, ids up to
/// [`INITIAL`]) or insert (`c`) event with v = 0, and an update (`u`) event for v = 1..=v.
fn expected_events(table: &str) -> BTreeSet<(String, i64, i64)> {
    let mut expected = BTreeSet::new();
    for line in psql(&url(), &format!("SELECT id, v FROM {table} ORDER BY id")).lines() {
        let (id, v) = line.split_once('|').expect("id|v");
        let (id, v): (i64, i64) = (id.parse().expect("id"), v.parse().expect("v"));
        expected.insert((if id <= INITIAL { "r" } else { "c" }.to_owned(), id, 0));
        for version in 1..=v {
            expected.insert(("u".to_owned(), id, version));
        }
    }
    expected
}

/// Drops the replication slot (once the dead worker's walsender let go of it), the
/// publication and the schema, also when the test fails.
struct Cleanup {
    schema: String,
    slot: String,
}

/// Whether the replication slot exists (true when the server cannot tell).
fn slot_exists(slot: &str) -> bool {
    let sql = format!("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}'");
    try_psql(&url(), &sql).map(|n| n.trim() != "0").unwrap_or(true)
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let drop_slot = format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{}'",
            self.slot
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while slot_exists(&self.slot) && Instant::now() < deadline {
            if try_psql(&url(), &drop_slot).is_err() {
                std::thread::sleep(Duration::from_millis(200)); // still active
            }
        }
        let _ = try_psql(
            &url(),
            &format!("DROP PUBLICATION IF EXISTS {}; DROP SCHEMA IF EXISTS {} CASCADE", self.slot, self.schema),
        );
    }
}

/// What a run left in the topic, and what the table says it should hold.
struct Outcome {
    expected: BTreeSet<(String, i64, i64)>,
    events: Vec<Event>,
}

impl Outcome {
    /// Each event key with the events that carry it.
    fn by_key(&self) -> BTreeMap<(String, i64, i64), Vec<&Event>> {
        let mut by_key: BTreeMap<_, Vec<&Event>> = BTreeMap::new();
        for e in &self.events {
            by_key.entry(e.key()).or_default().push(e);
        }
        by_key
    }

    fn missing(&self) -> Vec<&(String, i64, i64)> {
        let by_key = self.by_key();
        self.expected.iter().filter(|k| !by_key.contains_key(*k)).collect()
    }

    fn duplicates(&self) -> usize {
        self.events.len() - self.by_key().len()
    }
}

/// Streams the writer's transactions through the CDC source, killing the worker with SIGKILL
/// once each quarter of the rows is written, then lets the fourth run catch up and stop cleanly.
/// `boundary` is the `transaction.boundary` with exactly-once support, `None` for at least once.
fn cdc_killed_three_times(boundary: Option<&str>) -> Outcome {
    let exactly_once = boundary.is_some();
    let schema = unique("e2e_eos_cdc").replace('-', "_");
    let table = format!("{schema}.t");
    let cleanup = Cleanup { schema: schema.clone(), slot: schema.clone() };
    psql(
        &url(),
        &format!(
            "CREATE SCHEMA {schema}; CREATE TABLE {table} (id bigint PRIMARY KEY, v int NOT NULL, note text);
             INSERT INTO {table} SELECT g, 0, 'initial' FROM generate_series(1, {INITIAL}) g;"
        ),
    );
    let (host, port, user, password, dbname) = parts(&url());
    let prefix = schema.replace('_', "-");
    let topic = format!("{prefix}.{schema}.t");
    let dir = tempfile::tempdir().expect("tempdir");
    let worker_extra = json!({
        "offset.storage.topic": unique("e2e-offsets"),
        // The same port, so the same worker id and transactional.id after each restart.
        "rest.port": free_port(),
        "exactly.once.source.support": if exactly_once { "enabled" } else { "disabled" },
        "offset.flush.interval.ms": 2000,
        "key.converter.schemas.enable": false,
        "value.converter.schemas.enable": false,
    });
    let connector = json!({"name": format!("{prefix}-source"), "config": {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": host, "database.port": port, "database.user": user,
        "database.password": password, "database.dbname": dbname,
        "topic.prefix": prefix, "slot.name": cleanup.slot, "publication.name": cleanup.slot,
        "publication.autocreate.mode": "filtered", "table.include.list": table,
        "heartbeat.interval.ms": 1000, "status.update.interval.ms": 1000,
        "exactly.once.support": if exactly_once { "required" } else { "requested" },
        "transaction.boundary": boundary.unwrap_or("poll"), "transaction.boundary.interval.ms": 200,
    }});
    let connectors = [connector];
    let started = Instant::now();
    let mut writing = None;
    for run in 1..=3 {
        let worker = Worker::start(&dir.path().join(format!("run{run}")), worker_extra.clone(), &connectors);
        let writer = writing.get_or_insert_with(|| {
            // Writes start once the snapshot is in Kafka: rows written before the slot exists
            // would be snapshot rows, and the expectation would depend on the timing.
            worker.wait("the snapshot committed", Duration::from_secs(60), || {
                (committed_events(&topic).len() as i64 >= INITIAL).then_some(())
            });
            println!("snapshot committed at {:?}", started.elapsed());
            writer(&table)
        });
        let produced = high_watermark(&topic);
        let goal = INITIAL + INSERTS * run / 4;
        worker.wait(&format!("{goal} rows written and new events"), Duration::from_secs(60), || {
            (rows(&table) >= goal && high_watermark(&topic) > produced).then_some(())
        });
        assert!(!writer.is_finished(), "the writer finished before kill {run}: nothing was tested");
        worker.kill9();
        let seen = committed_events(&topic).len();
        println!(
            "run {run}: killed at {:?} with {} rows written, {seen} events committed",
            started.elapsed(),
            rows(&table)
        );
    }
    let worker = Worker::start(&dir.path().join("run4"), worker_extra, &connectors);
    writing.take().expect("writer").join().expect("the writer");
    let expected = expected_events(&table);
    println!("writer done at {:?}: {} events expected", started.elapsed(), expected.len());
    let caught_up = Instant::now() + Duration::from_secs(30);
    loop {
        let outcome = Outcome { expected: expected.clone(), events: committed_events(&topic) };
        if outcome.missing().is_empty() || Instant::now() > caught_up {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let log = worker.log();
    assert!(worker.terminate(Duration::from_secs(30)), "clean shutdown; the log:\n{log}");
    let outcome = Outcome { expected, events: committed_events(&topic) };
    println!(
        "all read at {:?}: {} events, {} distinct, {} duplicates, {} missing",
        started.elapsed(),
        outcome.events.len(),
        outcome.by_key().len(),
        outcome.duplicates(),
        outcome.missing().len()
    );
    drop(cleanup);
    assert!(!slot_exists(&schema), "the replication slot {schema} is dropped");
    outcome
}

/// Every change once: nothing lost, nothing twice, nothing else; one source position per
/// streamed event; the ids add up.
fn assert_exactly_once(outcome: &Outcome) {
    let missing = outcome.missing();
    assert!(missing.is_empty(), "{} events lost, first: {:?}", missing.len(), &missing[..missing.len().min(10)]);
    let duplicated: Vec<String> =
        outcome.by_key().into_values().filter(|e| e.len() > 1).flatten().take(20).map(Event::describe).collect();
    assert!(duplicated.is_empty(), "events seen more than once (first 20 copies):\n{}", duplicated.join("\n"));
    let unexpected: Vec<String> =
        outcome.events.iter().filter(|e| !outcome.expected.contains(&e.key())).take(10).map(Event::describe).collect();
    assert!(unexpected.is_empty(), "events the table does not explain:\n{}", unexpected.join("\n"));
    assert_eq!(outcome.events.len(), outcome.expected.len(), "one event per change");
    // Streamed changes are distinct WAL records: no (transaction, LSN) carries two of them.
    let positions: BTreeSet<_> =
        outcome.events.iter().filter(|e| e.op != "r").map(|e| (e.tx_id, e.lsn, e.id)).collect();
    let streamed = outcome.events.iter().filter(|e| e.op != "r").count();
    assert_eq!(positions.len(), streamed, "every streamed event has its own source position");
    assert!(outcome.events.iter().all(|e| e.op == "r" || (e.tx_id.is_some() && e.lsn.is_some())), "txId and lsn");
    let ids: i64 = outcome.events.iter().filter(|e| e.op != "u").map(|e| e.id).sum();
    let rows = INITIAL + INSERTS;
    assert_eq!(ids, rows * (rows + 1) / 2, "checksum of the ids of snapshot and insert events");
    let updates = outcome.events.iter().filter(|e| e.op == "u").count();
    println!("exactly once: {rows} rows, {updates} updates, each event once");
}

#[test]
fn exactly_once_cdc_source_with_a_transaction_per_poll_survives_three_kill_9s() {
    assert_exactly_once(&cdc_killed_three_times(Some("poll")));
}

#[test]
fn exactly_once_cdc_source_with_interval_transactions_survives_three_kill_9s() {
    // 200 ms transactions span polls, and so cut the database's transactions anywhere.
    assert_exactly_once(&cdc_killed_three_times(Some("interval")));
}

#[test]
fn at_least_once_cdc_source_duplicates_after_kill_9() {
    let outcome = cdc_killed_three_times(None);
    let missing = outcome.missing();
    assert!(missing.is_empty(), "{} events lost, first: {:?}", missing.len(), &missing[..missing.len().min(10)]);
    let duplicates = outcome.duplicates();
    println!("at least once: {duplicates} duplicates after three kill -9s");
    assert!(duplicates > 0, "a kill -9 between offset flushes re-sends events");
}
