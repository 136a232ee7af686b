//! The CDC source against a real PostgreSQL (`scripts/services.sh up postgres`; URL from
//! `AQUEDUCT_TEST_POSTGRES`, default postgres://postgres:postgres@127.0.0.1:5432/postgres).
//!
//! Each test drives the task through the `SourceTask` trait with an in-memory offset store
//! standing in for the runtime: offsets of "acknowledged" records are stored, then `commit` is
//! called. Each test has its own schema, slot, publication and topic prefix, and drops them.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_connector_postgres::cdc::PLUGIN;
use aqueduct_sdk::serde_json::json;
use aqueduct_sdk::testing::{MemoryOffsets, RecordingProgress};
use aqueduct_sdk::{logical, ErrorKind, Props, RecordMetadata, SourceRecord, SourceTask, SourceTaskContext, Value};
use tokio::sync::Semaphore;
use tokio_postgres::NoTls;

/// At most this many tests hold replication slots at once (max_replication_slots is small).
static SLOTS: Semaphore = Semaphore::const_new(3);

fn url() -> String {
    std::env::var("AQUEDUCT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into())
}

async fn connect() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&url(), NoTls)
        .await
        .unwrap_or_else(|e| panic!("no PostgreSQL at {} ({e}); run scripts/services.sh up postgres", url()));
    tokio::spawn(conn);
    client
}

/// One test's names and server objects.
struct Fixture {
    name: String,
    db: tokio_postgres::Client,
    _permit: tokio::sync::SemaphorePermit<'static>,
}

impl Fixture {
    async fn new(tag: &str) -> Fixture {
        static N: AtomicU32 = AtomicU32::new(0);
        let permit = SLOTS.acquire().await.expect("semaphore");
        let name = format!("aqcdc_{tag}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let db = connect().await;
        drop_stale_slots(&db).await;
        db.batch_execute(&format!("CREATE SCHEMA {name}")).await.expect("create schema");
        Fixture { name, db, _permit: permit }
    }

    fn props(&self, extra: &[(&str, &str)]) -> Props {
        let pg = tokio_postgres::Config::from_str(&url()).expect("AQUEDUCT_TEST_POSTGRES is a URL");
        let host = match pg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        let mut props: Props = [
            ("name", self.name.clone()),
            ("connector.class", "io.debezium.connector.postgresql.PostgresConnector".into()),
            ("database.hostname", host),
            ("database.port", pg.get_ports().first().copied().unwrap_or(5432).to_string()),
            ("database.user", pg.get_user().unwrap_or("postgres").to_owned()),
            ("database.password", String::from_utf8_lossy(pg.get_password().unwrap_or(b"")).into_owned()),
            ("database.dbname", pg.get_dbname().unwrap_or("postgres").to_owned()),
            ("topic.prefix", self.name.clone()),
            ("slot.name", self.name.clone()),
            ("publication.name", self.name.clone()),
            ("publication.autocreate.mode", "filtered".into()),
            ("schema.include.list", self.name.clone()),
            ("status.update.interval.ms", "200".into()),
            ("poll.interval.ms", "200".into()),
            ("skipped.operations", "none".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (k, v) in extra {
            props.insert((*k).to_owned(), (*v).to_owned());
        }
        props
    }

    async fn sql(&self, sql: &str) {
        self.db.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn confirmed_flush(&self) -> Option<u64> {
        let row = self
            .db
            .query_opt(
                "SELECT (confirmed_flush_lsn - '0/0'::pg_lsn)::text FROM pg_replication_slots WHERE slot_name = $1",
                &[&self.name],
            )
            .await
            .expect("slot query")?;
        row.get::<_, Option<String>>(0).and_then(|s| s.parse().ok())
    }

    async fn cleanup(self) {
        for _ in 0..100 {
            let r = self
                .db
                .execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active",
                    &[&self.name],
                )
                .await;
            let left = self
                .db
                .query_opt("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", &[&self.name])
                .await
                .ok()
                .flatten();
            if r.is_ok() && left.is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.db.batch_execute(&format!("DROP PUBLICATION IF EXISTS {}", self.name)).await;
        let _ = self.db.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)).await;
    }
}

/// Drops slots (inactive), publications and schemas left by test processes that died (their
/// names carry the PID).
async fn drop_stale_slots(db: &tokio_postgres::Client) {
    let dead = |name: &str| {
        let pid = name.split('_').rev().nth(1).and_then(|p| p.parse::<u32>().ok());
        pid.is_some_and(|p| p != std::process::id() && !std::path::Path::new(&format!("/proc/{p}")).exists())
    };
    let names = |sql: &'static str| async move {
        db.query(sql, &[])
            .await
            .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    for slot in
        names("SELECT slot_name::text FROM pg_replication_slots WHERE slot_name LIKE 'aqcdc\\_%' AND NOT active").await
    {
        if dead(&slot) {
            let _ = db.execute("SELECT pg_drop_replication_slot($1)", &[&slot]).await;
        }
    }
    for publication in names("SELECT pubname::text FROM pg_publication WHERE pubname LIKE 'aqcdc\\_%'").await {
        if dead(&publication) {
            let _ = db.batch_execute(&format!("DROP PUBLICATION IF EXISTS {publication}")).await;
        }
    }
    for schema in names("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'aqcdc\\_%'").await {
        if dead(&schema) {
            let _ = db.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
        }
    }
}

fn new_task() -> Box<dyn SourceTask> {
    PLUGIN.factory.new_source().expect("PostgresCdcSource is a source").create_task()
}

async fn start(props: Props, offsets: &Arc<MemoryOffsets>) -> aqueduct_sdk::Result<Box<dyn SourceTask>> {
    start_reporting(props, offsets, Arc::default()).await
}

/// [`start`], the task's progress reported to `progress`.
async fn start_reporting(
    props: Props,
    offsets: &Arc<MemoryOffsets>,
    progress: Arc<RecordingProgress>,
) -> aqueduct_sdk::Result<Box<dyn SourceTask>> {
    let mut task = new_task();
    let context = SourceTaskContext::new("cdc-test", 0, offsets.clone()).with_progress(progress);
    task.start(context, props).await?;
    Ok(task)
}

/// Polls until `done(all records so far)` or panics after `timeout`.
async fn poll_until(
    task: &mut Box<dyn SourceTask>,
    records: &mut Vec<SourceRecord>,
    timeout: Duration,
    done: impl Fn(&[SourceRecord]) -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !done(records) {
        assert!(Instant::now() < deadline, "timed out; {} records so far: {:#?}", records.len(), records.last());
        match task.poll().await {
            Ok(batch) => records.extend(batch),
            Err(e) if e.is_retriable() => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("poll failed: {e:?}"),
        }
    }
}

/// One successful poll (retrying retriable errors): opens the stream.
async fn poll_once(task: &mut Box<dyn SourceTask>, records: &mut Vec<SourceRecord>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match task.poll().await {
            Ok(batch) => return records.extend(batch),
            Err(e) if e.is_retriable() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("poll failed: {e:?}"),
        }
    }
}

/// What the runtime does once Kafka acknowledged `records` and the offsets were flushed.
async fn acknowledge(task: &mut Box<dyn SourceTask>, offsets: &MemoryOffsets, records: &[SourceRecord]) {
    for (i, r) in records.iter().enumerate() {
        let meta = RecordMetadata { topic: r.topic.clone(), partition: 0, offset: i as i64 };
        task.commit_record(r, &meta).await.expect("commit_record");
        offsets.store(r);
    }
    task.commit().await.expect("commit");
}

fn op(r: &SourceRecord) -> Option<&str> {
    r.value.field("op").and_then(Value::as_str)
}

fn image<'a>(r: &'a SourceRecord, which: &str) -> Option<&'a Value> {
    r.value.field(which).filter(|v| !v.is_null())
}

fn int_field(v: &Value, name: &str) -> Option<i64> {
    v.field(name).and_then(Value::as_i64)
}

fn ids(records: &[SourceRecord]) -> Vec<i64> {
    records.iter().filter_map(|r| image(r, "after")).filter_map(|a| int_field(a, "id")).collect()
}

fn source_str<'a>(r: &'a SourceRecord, name: &str) -> Option<&'a str> {
    r.value.field("source").and_then(|s| s.field(name)).and_then(Value::as_str)
}

#[tokio::test]
async fn snapshot_then_stream_loses_and_doubles_nothing_under_concurrent_inserts() {
    let f = Fixture::new("snap").await;
    let t = format!("{}.items", f.name);
    f.sql(&format!("CREATE TABLE {t} (id bigint PRIMARY KEY, v text NOT NULL)")).await;
    f.sql(&format!("INSERT INTO {t} SELECT g, 'row ' || g FROM generate_series(1, 20000) g")).await;

    // Insert concurrently from before the slot exists until after the snapshot ended.
    let stop = Arc::new(AtomicUsize::new(0));
    let inserted = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, inserted, t) = (stop.clone(), inserted.clone(), t.clone());
        tokio::spawn(async move {
            let db = connect().await;
            let mut next = 100_000i64;
            while stop.load(Ordering::Relaxed) == 0 {
                db.execute(&format!("INSERT INTO {t} VALUES ($1, 'concurrent')"), &[&next]).await.expect("insert");
                next += 1;
                inserted.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (offsets, progress) = (Arc::new(MemoryOffsets::default()), Arc::new(RecordingProgress::default()));
    let props = f.props(&[("snapshot.fetch.size", "700"), ("max.batch.size", "1000")]);
    let mut task = start_reporting(props, &offsets, progress.clone()).await.expect("start");
    let mut records = Vec::new();
    poll_until(&mut task, &mut records, Duration::from_secs(120), |rs| {
        rs.iter().any(|r| source_str(r, "snapshot") == Some("last"))
    })
    .await;
    let during = inserted.load(Ordering::Relaxed);
    let progress = progress.lines();
    assert!(progress.iter().any(|p| p.contains("snapshot of") && p.contains("completed")), "progress: {progress:?}");
    // Keep writing a little into the stream phase, then stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(1, Ordering::Relaxed);
    writer.await.expect("writer");
    let total = 20_000 + inserted.load(Ordering::Relaxed);
    poll_until(&mut task, &mut records, Duration::from_secs(60), |rs| ids(rs).len() >= total).await;
    // A little longer: anything doubled would show up now.
    for _ in 0..3 {
        records.extend(task.poll().await.expect("poll"));
    }

    let all = ids(&records);
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), distinct.len(), "an event was doubled");
    assert_eq!(distinct.len(), total, "an event was lost");
    let snapshot: Vec<&SourceRecord> = records.iter().filter(|r| op(r) == Some("r")).collect();
    let streamed: Vec<&SourceRecord> = records.iter().filter(|r| op(r) == Some("c")).collect();
    assert!(snapshot.len() >= 20_000 && !streamed.is_empty(), "{} read, {} streamed", snapshot.len(), streamed.len());
    let first_stream = records.iter().position(|r| op(r) == Some("c")).expect("streamed");
    assert!(records[..first_stream].iter().all(|r| op(r) == Some("r")), "stream events before the snapshot ended");
    assert_eq!(snapshot.iter().filter(|r| source_str(r, "snapshot") == Some("last")).count(), 1);
    assert!(snapshot.iter().all(|r| matches!(source_str(r, "snapshot"), Some("true" | "last"))));
    assert!(streamed.iter().all(|r| source_str(r, "snapshot") == Some("false")));
    println!(
        "snapshot {} rows, streamed {} rows, {during} inserted while snapshotting",
        snapshot.len(),
        streamed.len()
    );
    assert!(during > 0, "no insert happened during the snapshot; nothing was tested");
    task.stop().await.expect("stop");
    f.cleanup().await;
}

#[tokio::test]
async fn insert_update_delete_truncate_make_debezium_envelopes() {
    let f = Fixture::new("crud").await;
    let t = format!("{}.users", f.name);
    f.sql(&format!("CREATE TABLE {t} (id int PRIMARY KEY, email text NOT NULL, age int)")).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start(f.props(&[("snapshot.mode", "no_data")]), &offsets).await.expect("start");
    let mut records = Vec::new();
    poll_once(&mut task, &mut records).await;
    f.sql(&format!(
        "INSERT INTO {t} VALUES (1, 'a@x', 30), (2, 'b@x', NULL);
         UPDATE {t} SET age = 31 WHERE id = 1;
         DELETE FROM {t} WHERE id = 2;
         UPDATE {t} SET id = 10 WHERE id = 1;
         ALTER TABLE {t} REPLICA IDENTITY FULL;
         UPDATE {t} SET email = 'c@x' WHERE id = 10;
         TRUNCATE {t};"
    ))
    .await;
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| rs.iter().any(|r| op(r) == Some("t"))).await;
    let kinds: Vec<&str> = records.iter().map(|r| op(r).unwrap_or("tombstone")).collect();
    assert_eq!(kinds, ["c", "c", "u", "d", "tombstone", "d", "tombstone", "c", "u", "t"], "{records:#?}");

    let topic = format!("{}.{}.users", f.name, f.name);
    assert!(records.iter().all(|r| r.topic == topic));
    let insert = &records[0];
    assert_eq!(insert.key_schema.as_ref().and_then(|s| s.name.as_deref()), Some(format!("{topic}.Key").as_str()));
    assert_eq!(
        insert.value_schema.as_ref().and_then(|s| s.name.as_deref()),
        Some(format!("{topic}.Envelope").as_str())
    );
    assert_eq!(int_field(&insert.key, "id"), Some(1));
    let after = image(insert, "after").expect("after");
    assert_eq!(
        (int_field(after, "id"), after.field("email").and_then(Value::as_str), int_field(after, "age")),
        (Some(1), Some("a@x"), Some(30))
    );
    assert!(image(insert, "before").is_none());
    let source = insert.value.field("source").expect("source");
    assert_eq!(source.field("connector").and_then(Value::as_str), Some("postgresql"));
    assert_eq!(source.field("name").and_then(Value::as_str), Some(f.name.as_str()));
    assert_eq!(source.field("db").and_then(Value::as_str), Some("postgres"));
    assert_eq!(source.field("schema").and_then(Value::as_str), Some(f.name.as_str()));
    assert_eq!(source.field("table").and_then(Value::as_str), Some("users"));
    assert_eq!(source.field("snapshot").and_then(Value::as_str), Some("false"));
    assert!(source.field("txId").and_then(Value::as_i64).is_some());
    assert!(source.field("lsn").and_then(Value::as_i64).is_some_and(|l| l > 0));
    assert!(insert.value.field("ts_ms").and_then(Value::as_i64).is_some_and(|t| t > 1_600_000_000_000));
    assert_eq!(image(&records[1], "after").and_then(|a| a.field("age")), Some(&Value::Null));

    // Default replica identity: an update has no before image.
    assert!(image(&records[2], "before").is_none());
    assert_eq!(image(&records[2], "after").and_then(|a| int_field(a, "age")), Some(31));
    // Delete: before holds the key (other NOT NULL columns get Debezium's fallback), then a tombstone.
    let before = image(&records[3], "before").expect("before");
    assert_eq!(int_field(before, "id"), Some(2));
    assert!(image(&records[3], "after").is_none());
    assert_eq!((records[4].value.clone(), records[4].value_schema.clone()), (Value::Null, None));
    assert_eq!(records[4].key, records[3].key);
    // A key change: delete of the old key + tombstone, create with the new key.
    assert_eq!(int_field(&records[5].key, "id"), Some(1));
    assert_eq!(int_field(&records[7].key, "id"), Some(10));
    // Replica identity full: the whole before image.
    let before = image(&records[8], "before").expect("full before");
    assert_eq!(before.field("email").and_then(Value::as_str), Some("a@x"));
    assert_eq!(image(&records[8], "after").and_then(|a| a.field("email")).and_then(Value::as_str), Some("c@x"));
    // Truncate: no key, no images.
    assert_eq!(
        (records[9].key.clone(), image(&records[9], "before").is_none(), image(&records[9], "after").is_none()),
        (Value::Null, true, true)
    );

    // Offsets: all in the {"server": prefix} partition, LSNs never going back.
    assert!(records.iter().all(|r| r.source_partition == aqueduct_sdk::offset_map([("server", json!(f.name))])));
    let lsns: Vec<u64> = records.iter().map(|r| r.source_offset["lsn_proc"].as_u64().expect("lsn_proc")).collect();
    assert!(lsns.windows(2).all(|w| w[0] <= w[1]), "{lsns:?}");
    task.stop().await.expect("stop");
    f.cleanup().await;
}

#[tokio::test]
async fn common_types_map_like_debezium_in_snapshot_and_stream() {
    let f = Fixture::new("types").await;
    let t = format!("{}.types", f.name);
    f.sql(&format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, i2 smallint, i8 bigint, n numeric(10,2), nv numeric, txt text,
           vc varchar(20), b boolean, tz timestamptz, ts timestamp, d date, tm time, u uuid, j jsonb,
           by bytea, ia int[], ta text[], f8 float8, iv interval, bit1 bit(1))"
    ))
    .await;
    let row = "'-3', 9007199254740993, 12345.67, -1.5, 'héllo', 'vc', true, '2024-01-02 03:04:05.123456+02',
        '2024-01-02 03:04:05.5', '2024-01-02', '12:34:56.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        '{\"a\": [1, 2]}', '\\x00ff', '{1,2,NULL}', '{\"a b\",c}', 0.1, '1 day 2 hours', B'1'";
    f.sql(&format!("INSERT INTO {t} VALUES (1, {row})")).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start(f.props(&[]), &offsets).await.expect("start");
    let mut records = Vec::new();
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| !rs.is_empty()).await;
    f.sql(&format!("INSERT INTO {t} VALUES (2, {row})")).await;
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| rs.len() >= 2).await;
    assert_eq!((op(&records[0]), op(&records[1])), (Some("r"), Some("c")));

    for r in &records {
        let a = image(r, "after").expect("after");
        let field = |n: &str| a.field(n).cloned().unwrap_or_else(|| panic!("no field {n}"));
        assert_eq!(field("i2"), Value::Int16(-3));
        assert_eq!(field("i8"), Value::Int64(9_007_199_254_740_993));
        assert_eq!(field("n"), Value::Bytes(logical::decimal_bytes(1_234_567)));
        assert_eq!(field("nv").field("scale"), Some(&Value::Int32(1)));
        assert_eq!(field("nv").field("value"), Some(&Value::Bytes(logical::decimal_bytes(-15))));
        assert_eq!(field("txt"), Value::String("héllo".into()));
        assert_eq!(field("vc"), Value::String("vc".into()));
        assert_eq!(field("b"), Value::Boolean(true));
        assert_eq!(field("tz"), Value::String("2024-01-02T01:04:05.123456Z".into()));
        assert_eq!(field("ts"), Value::Int64(1_704_164_645_500_000));
        assert_eq!(field("d"), Value::Int32(19_724));
        assert_eq!(field("tm"), Value::Int64(45_296_789_000));
        assert_eq!(field("u"), Value::String("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()));
        assert_eq!(field("j"), Value::String("{\"a\": [1, 2]}".into()));
        assert_eq!(field("by"), Value::Bytes(vec![0, 255]));
        assert_eq!(field("ia"), Value::Array(vec![Value::Int32(1), Value::Int32(2), Value::Null]));
        assert_eq!(field("ta"), Value::Array(vec![Value::String("a b".into()), Value::String("c".into())]));
        assert_eq!(field("f8"), Value::Float64(0.1));
        assert_eq!(field("iv"), Value::Int64(93_600_000_000));
        assert_eq!(field("bit1"), Value::Boolean(true));

        let schema =
            r.value_schema.as_ref().and_then(|s| s.field("after")).map(|f| f.schema.clone()).expect("after schema");
        let name = |n: &str| schema.field(n).and_then(|f| f.schema.name.clone());
        assert_eq!(name("tz").as_deref(), Some("io.debezium.time.ZonedTimestamp"));
        assert_eq!(name("ts").as_deref(), Some("io.debezium.time.MicroTimestamp"));
        assert_eq!(name("d").as_deref(), Some("io.debezium.time.Date"));
        assert_eq!(name("tm").as_deref(), Some("io.debezium.time.MicroTime"));
        assert_eq!(name("u").as_deref(), Some("io.debezium.data.Uuid"));
        assert_eq!(name("j").as_deref(), Some("io.debezium.data.Json"));
        assert_eq!(name("n").as_deref(), Some(logical::DECIMAL));
        assert_eq!(name("nv").as_deref(), Some("io.debezium.data.VariableScaleDecimal"));
        assert_eq!(name("iv").as_deref(), Some("io.debezium.time.MicroDuration"));
        assert_eq!(schema.field("n").and_then(|f| logical::decimal_scale(&f.schema)), Some(2));
        assert!(schema.field("ia").and_then(|f| f.schema.value_schema.as_ref()).is_some_and(|s| s.optional));
    }
    // Both paths give the same row schema.
    let after_schema =
        |r: &SourceRecord| r.value_schema.as_ref().and_then(|s| s.field("after")).map(|f| f.schema.clone());
    assert_eq!(after_schema(&records[0]), after_schema(&records[1]));
    task.stop().await.expect("stop");
    f.cleanup().await;
}

#[tokio::test]
async fn schema_changes_and_unchanged_toast_values() {
    let f = Fixture::new("ddl").await;
    let t = format!("{}.docs", f.name);
    f.sql(&format!("CREATE TABLE {t} (id int PRIMARY KEY, body text, n int)")).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start(f.props(&[("snapshot.mode", "never")]), &offsets).await.expect("start");
    let mut records = Vec::new();
    poll_once(&mut task, &mut records).await;
    // A large, incompressible body is stored out of line (TOAST).
    f.sql(&format!(
        "INSERT INTO {t} VALUES (1, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 500) g), 0);
         UPDATE {t} SET n = 1 WHERE id = 1;
         ALTER TABLE {t} ADD COLUMN tag text NOT NULL DEFAULT 'none';
         INSERT INTO {t} (id, body, n, tag) VALUES (2, 'short', 2, 'new');
         ALTER TABLE {t} REPLICA IDENTITY FULL;
         UPDATE {t} SET n = 3 WHERE id = 1;"
    ))
    .await;
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| rs.len() >= 4).await;
    let body =
        |r: &SourceRecord| image(r, "after").and_then(|a| a.field("body")).and_then(Value::as_str).map(str::to_owned);
    assert_eq!(body(&records[0]).map(|b| b.len()), Some(16_000));
    assert_eq!(body(&records[1]).as_deref(), Some("__debezium_unavailable_value"), "unchanged TOAST value");
    assert_eq!(body(&records[3]).map(|b| b.len()), Some(16_000), "replica identity full fills unchanged TOAST values");
    // The added column is in the schema and the values from then on.
    let has_tag = |r: &SourceRecord| {
        r.value_schema.as_ref().and_then(|s| s.field("after")).is_some_and(|f| f.schema.field("tag").is_some())
    };
    assert!(!has_tag(&records[0]) && has_tag(&records[2]) && has_tag(&records[3]));
    assert_eq!(image(&records[2], "after").and_then(|a| a.field("tag")).and_then(Value::as_str), Some("new"));
    let tag_schema =
        records[2].value_schema.as_ref().and_then(|s| s.field("after")).and_then(|f| f.schema.field("tag").cloned());
    assert!(tag_schema.is_some_and(|f| !f.schema.optional), "NOT NULL column is required");
    task.stop().await.expect("stop");
    f.cleanup().await;
}

#[tokio::test]
async fn restart_resumes_from_the_stored_offset_mid_transaction_without_loss_or_duplicates() {
    let f = Fixture::new("resume").await;
    let t = format!("{}.events", f.name);
    f.sql(&format!("CREATE TABLE {t} (id int PRIMARY KEY)")).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let props = f.props(&[("snapshot.mode", "never"), ("max.batch.size", "100")]);
    let mut task = start(props.clone(), &offsets).await.expect("start");
    let mut records = Vec::new();
    poll_once(&mut task, &mut records).await;
    // One big transaction (a multi-row insert shares LSNs), then small ones.
    f.sql(&format!("INSERT INTO {t} SELECT generate_series(1, 1000)")).await;
    for i in 1001..=1010 {
        f.sql(&format!("INSERT INTO {t} VALUES ({i})")).await;
    }
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| rs.len() >= 600).await;
    // Kafka acknowledged the first 437 records (in the middle of the big transaction); crash.
    let acked = &records[..437];
    acknowledge(&mut task, &offsets, acked).await;
    drop(task);
    f.sql(&format!("INSERT INTO {t} SELECT generate_series(1011, 1100)")).await;

    let mut task = start(props, &offsets).await.expect("restart");
    let mut again = Vec::new();
    poll_until(&mut task, &mut again, Duration::from_secs(30), |rs| ids(rs).contains(&1100)).await;
    let mut all: Vec<i64> = ids(acked);
    all.extend(ids(&again));
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(distinct.len(), 1100, "a change was lost");
    assert_eq!(all.len(), 1100, "{} duplicates after the restart", all.len() - 1100);
    assert_eq!(ids(&again).first(), Some(&438), "resumed right after the stored offset");
    task.stop().await.expect("stop");
    f.cleanup().await;
}

#[tokio::test]
async fn only_commit_advances_the_confirmed_flush_lsn() {
    let f = Fixture::new("flush").await;
    let t = format!("{}.t", f.name);
    f.sql(&format!("CREATE TABLE {t} (id int PRIMARY KEY)")).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start(f.props(&[("snapshot.mode", "never")]), &offsets).await.expect("start");
    let mut records = Vec::new();
    poll_once(&mut task, &mut records).await;
    let initial = f.confirmed_flush().await.expect("slot");
    f.sql(&format!("INSERT INTO {t} SELECT generate_series(1, 50)")).await;
    f.sql(&format!("INSERT INTO {t} VALUES (51)")).await;
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| rs.len() >= 51).await;
    // Polled, not acknowledged: a few status intervals later the slot has not moved.
    for _ in 0..5 {
        records.extend(task.poll().await.expect("poll"));
    }
    assert_eq!(f.confirmed_flush().await, Some(initial), "poll alone moved the slot");
    // Acknowledge the first transaction only.
    acknowledge(&mut task, &offsets, &records[..50]).await;
    let first_end = records[49].source_offset["lsn_proc"].as_u64().expect("lsn_proc");
    assert!(first_end > initial);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        records.extend(task.poll().await.expect("poll"));
        if f.confirmed_flush().await == Some(first_end) {
            break;
        }
        assert!(Instant::now() < deadline, "commit did not confirm {first_end}: {:?}", f.confirmed_flush().await);
    }
    acknowledge(&mut task, &offsets, &records[50..51]).await;
    let second_end = records[50].source_offset["lsn_proc"].as_u64().expect("lsn_proc");
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.confirmed_flush().await != Some(second_end) {
        records.extend(task.poll().await.expect("poll"));
        assert!(Instant::now() < deadline, "commit did not confirm {second_end}");
    }
    task.stop().await.expect("stop");
    f.cleanup().await;
}

#[tokio::test]
async fn heartbeats_advance_the_slot_while_captured_tables_are_idle() {
    let f = Fixture::new("beat").await;
    f.sql(&format!(
        "CREATE TABLE {n}.captured (id int PRIMARY KEY); CREATE TABLE {n}.other (id int PRIMARY KEY)",
        n = f.name
    ))
    .await;
    let offsets = Arc::new(MemoryOffsets::default());
    let props = f.props(&[
        ("snapshot.mode", "never"),
        ("publication.autocreate.mode", "all_tables"),
        ("table.include.list", &format!("{}\\.captured", f.name)),
        ("heartbeat.interval.ms", "300"),
    ]);
    let mut task = start(props, &offsets).await.expect("start");
    let mut records = Vec::new();
    poll_once(&mut task, &mut records).await;
    let initial = f.confirmed_flush().await.expect("slot");
    f.sql(&format!("INSERT INTO {}.other SELECT generate_series(1, 10)", f.name)).await;
    let after_insert: u64 = {
        let row = f.db.query_one("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text", &[]).await.expect("lsn");
        row.get::<_, String>(0).parse().expect("number")
    };
    let topic = format!("__debezium-heartbeat.{}", f.name);
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| {
        rs.iter().any(|r| r.topic == topic && r.source_offset["lsn_proc"].as_u64().is_some_and(|l| l >= after_insert))
    })
    .await;
    assert!(records.iter().all(|r| r.topic == topic), "the other table is not captured");
    let beat = records.last().expect("heartbeat");
    assert_eq!(beat.key.field("serverName").and_then(Value::as_str), Some(f.name.as_str()));
    assert!(beat.value.field("ts_ms").and_then(Value::as_i64).is_some());
    acknowledge(&mut task, &offsets, &records).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.confirmed_flush().await.is_none_or(|l| l < after_insert) {
        task.poll().await.expect("poll");
        assert!(Instant::now() < deadline, "the slot stayed at {initial}");
    }
    task.stop().await.expect("stop");
    f.cleanup().await;
}

#[tokio::test]
async fn reconnects_after_the_server_drops_the_stream() {
    let f = Fixture::new("reconn").await;
    let t = format!("{}.t", f.name);
    f.sql(&format!("CREATE TABLE {t} (id int PRIMARY KEY)")).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task =
        start(f.props(&[("snapshot.mode", "never"), ("max.batch.size", "50")]), &offsets).await.expect("start");
    let mut records = Vec::new();
    poll_once(&mut task, &mut records).await;
    // A transaction larger than the client's event buffer, so it is cut in the middle.
    f.sql(&format!("INSERT INTO {t} SELECT generate_series(1, 30000)")).await;
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| rs.len() >= 100).await;
    f.db.execute("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1", &[&f.name])
        .await
        .expect("terminate");
    f.sql(&format!("INSERT INTO {t} SELECT generate_series(30001, 30100)")).await;
    poll_until(&mut task, &mut records, Duration::from_secs(60), |rs| ids(rs).contains(&30100)).await;
    let all = ids(&records);
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!((distinct.len(), all.len()), (30100, 30100), "lost or doubled across the reconnect");
    task.stop().await.expect("stop");
    f.cleanup().await;
}

#[tokio::test]
async fn bad_settings_fail_the_task_with_a_clear_error() {
    let f = Fixture::new("bad").await;
    f.sql(&format!("CREATE TABLE {}.t (id int PRIMARY KEY)", f.name)).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let fail = |props: Props| {
        let offsets = offsets.clone();
        async move {
            match start(props, &offsets).await {
                Ok(mut task) => {
                    let e = task.poll().await.expect_err("the task should fail");
                    let _ = task.stop().await;
                    e
                }
                Err(e) => e,
            }
        }
    };

    let e = fail(f.props(&[("plugin.name", "wal2json")])).await;
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("plugin.name"), "{e}");

    let e = fail(f.props(&[("publication.autocreate.mode", "disabled")])).await;
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains(&f.name) && e.to_string().contains("publication.autocreate.mode"), "{e}");

    let role = format!("{}_norepl", f.name);
    f.sql(&format!("CREATE ROLE {role} LOGIN PASSWORD 'pw' NOREPLICATION")).await;
    let e = fail(f.props(&[("database.user", &role), ("database.password", "pw")])).await;
    f.sql(&format!("DROP ROLE {role}")).await;
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("REPLICATION") && e.to_string().contains("database.user"), "{e}");

    let e = fail(f.props(&[("database.password", "wrong")])).await;
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");

    // A slot streamed by another task: the second one fails naming the slot.
    let mut holder = start(f.props(&[("snapshot.mode", "never")]), &offsets).await.expect("start");
    let mut records = Vec::new();
    poll_once(&mut holder, &mut records).await;
    let e = fail(f.props(&[("snapshot.mode", "never"), ("slot.max.retries", "0")])).await;
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains(&format!("'{}' (slot.name)", f.name)) && e.to_string().contains("in use"), "{e}");
    holder.stop().await.expect("stop");
    f.cleanup().await;
}

/// Applies change events in order to a map of id -> row (what a sink does).
fn apply(state: &mut HashMap<i64, Value>, records: &[SourceRecord]) {
    for r in records {
        match op(r) {
            Some("r" | "c" | "u") => {
                let after = image(r, "after").expect("after").clone();
                state.insert(int_field(&after, "id").expect("id"), after);
            }
            Some("d") => {
                state.remove(&int_field(&r.key, "id").expect("key"));
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn an_interrupted_snapshot_resumes_after_the_last_stored_key_and_converges() {
    let f = Fixture::new("snapresume").await;
    let t = format!("{}.t", f.name);
    f.sql(&format!("CREATE TABLE {t} (id int PRIMARY KEY, v int NOT NULL)")).await;
    f.sql(&format!("INSERT INTO {t} SELECT g, 0 FROM generate_series(1, 3000) g")).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let props = f.props(&[("snapshot.fetch.size", "250"), ("max.batch.size", "250")]);
    let mut task = start(props.clone(), &offsets).await.expect("start");
    let mut first = Vec::new();
    poll_until(&mut task, &mut first, Duration::from_secs(30), |rs| rs.len() >= 1000).await;
    acknowledge(&mut task, &offsets, &first[..800]).await;
    drop(task); // crash in the middle of the snapshot
    assert_eq!(first[799].source_offset["snapshot_key"], json!(["800"]));
    // Changes while the connector is down, before and after the stored key.
    f.sql(&format!("UPDATE {t} SET v = 1 WHERE id IN (5, 900, 2999); DELETE FROM {t} WHERE id IN (6, 1500); INSERT INTO {t} VALUES (3001, 1)")).await;

    let mut task = start(props, &offsets).await.expect("restart");
    let mut second = Vec::new();
    poll_until(&mut task, &mut second, Duration::from_secs(60), |rs| {
        rs.iter().any(|r| source_str(r, "snapshot") == Some("last")) && rs.iter().any(|r| op(r) == Some("c"))
    })
    .await;
    for _ in 0..3 {
        second.extend(task.poll().await.expect("poll"));
    }
    let read_again: Vec<i64> = second
        .iter()
        .filter(|r| op(r) == Some("r"))
        .filter_map(|r| image(r, "after"))
        .filter_map(|a| int_field(a, "id"))
        .collect();
    assert_eq!(read_again.first(), Some(&801), "the snapshot resumed after the stored key");
    assert!(!read_again.contains(&800));
    let mut state = HashMap::new();
    apply(&mut state, &first[..800]);
    apply(&mut state, &second);
    let rows = f.db.query(&format!("SELECT id, v FROM {t}"), &[]).await.expect("rows");
    let expected: HashMap<i64, i64> =
        rows.iter().map(|r| (i64::from(r.get::<_, i32>(0)), i64::from(r.get::<_, i32>(1)))).collect();
    let got: HashMap<i64, i64> = state.iter().map(|(id, row)| (*id, int_field(row, "v").expect("v"))).collect();
    assert_eq!(got, expected, "the events do not converge to the table");
    task.stop().await.expect("stop");
    f.cleanup().await;
}

#[tokio::test]
async fn initial_only_snapshots_without_a_slot_and_stops() {
    let f = Fixture::new("only").await;
    let t = format!("{}.t", f.name);
    f.sql(&format!("CREATE TABLE {t} (id int PRIMARY KEY); INSERT INTO {t} SELECT generate_series(1, 10)")).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start(f.props(&[("snapshot.mode", "initial_only")]), &offsets).await.expect("start");
    let mut records = Vec::new();
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| rs.len() >= 10).await;
    f.sql(&format!("INSERT INTO {t} VALUES (11)")).await;
    records.extend(task.poll().await.expect("poll"));
    assert_eq!(ids(&records), (1..=10).collect::<Vec<_>>());
    assert_eq!(source_str(&records[9], "snapshot"), Some("last"));
    assert_eq!(records[9].source_offset["last_snapshot_record"], json!(true));
    assert_eq!(f.confirmed_flush().await, None, "initial_only creates no slot");
    task.stop().await.expect("stop");
    f.cleanup().await;
}

#[path = "cdc/positions.rs"]
mod positions;
