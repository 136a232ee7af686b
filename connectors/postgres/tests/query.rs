//! The query source against a real PostgreSQL (`scripts/services.sh up postgres`; URL from
//! `AQUEDUCT_TEST_POSTGRES`, default postgres://postgres:postgres@127.0.0.1:5432/postgres).
//!
//! Each test drives the connector and its task through the SDK traits with an in-memory offset
//! store standing in for the runtime, in its own schema.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_connector_postgres::query::PLUGIN;
use aqueduct_sdk::serde_json::json;
use aqueduct_sdk::testing::{MemoryOffsets, QuietConnectorContext};
use aqueduct_sdk::{logical, ConnectorFactory, ErrorKind, Props, SourceRecord, SourceTask, SourceTaskContext, Value};
use tokio_postgres::NoTls;

fn url() -> String {
    std::env::var("AQUEDUCT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into())
}

struct Fixture {
    schema: String,
    db: tokio_postgres::Client,
}

impl Fixture {
    async fn new(tag: &str) -> Fixture {
        static N: AtomicU32 = AtomicU32::new(0);
        let schema = format!("aqq_{tag}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let (db, conn) = tokio_postgres::connect(&url(), NoTls)
            .await
            .unwrap_or_else(|e| panic!("no PostgreSQL at {} ({e}); run scripts/services.sh up postgres", url()));
        tokio::spawn(conn);
        db.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
            .await
            .expect("create schema");
        Fixture { schema, db }
    }

    async fn sql(&self, sql: &str) {
        self.db.batch_execute(&sql.replace("$S", &self.schema)).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn props(&self, extra: &[(&str, &str)]) -> Props {
        let mut props: Props = [
            ("name", self.schema.as_str()),
            ("connector.class", "io.confluent.connect.jdbc.JdbcSourceConnector"),
            ("topic.prefix", "pg-"),
            ("poll.interval.ms", "100"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        props.insert("connection.url".into(), format!("jdbc:{}", url().replacen("postgres://", "postgresql://", 1)));
        for (k, v) in extra {
            props.insert((*k).to_owned(), v.replace("$S", &self.schema));
        }
        props
    }

    /// Starts the connector and returns its task configurations.
    async fn task_configs(&self, props: Props, max_tasks: usize) -> aqueduct_sdk::Result<Vec<Props>> {
        let ConnectorFactory::Source(make) = PLUGIN.factory else { panic!("a source plugin") };
        let mut connector = make();
        connector.start(Arc::new(QuietConnectorContext::default()), props).await?;
        connector.task_configs(max_tasks)
    }

    async fn drop(self) {
        let _ = self.db.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema)).await;
    }
}

async fn start_task(props: Props, offsets: &Arc<MemoryOffsets>) -> aqueduct_sdk::Result<Box<dyn SourceTask>> {
    let ConnectorFactory::Source(make) = PLUGIN.factory else { panic!("a source plugin") };
    let mut task = make().create_task();
    task.start(SourceTaskContext::new("q", 0, offsets.clone()), props).await?;
    Ok(task)
}

/// Polls until `n` records arrived (storing their offsets) or 10 s passed.
async fn poll_n(task: &mut Box<dyn SourceTask>, offsets: &MemoryOffsets, n: usize) -> Vec<SourceRecord> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        for record in task.poll().await.expect("poll") {
            offsets.store(&record);
            out.push(record);
        }
    }
    out
}

/// Polls for `wait` and returns whatever arrived.
async fn poll_for(task: &mut Box<dyn SourceTask>, offsets: &MemoryOffsets, wait: Duration) -> Vec<SourceRecord> {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    while Instant::now() < deadline {
        for record in task.poll().await.expect("poll") {
            offsets.store(&record);
            out.push(record);
        }
    }
    out
}

fn field_i64(record: &SourceRecord, name: &str) -> i64 {
    record.value.field(name).and_then(Value::as_i64).unwrap_or_else(|| panic!("{name} in {:?}", record.value))
}

fn field_str<'a>(record: &'a SourceRecord, name: &str) -> &'a str {
    record.value.field(name).and_then(Value::as_str).unwrap_or_else(|| panic!("{name} in {:?}", record.value))
}

#[tokio::test]
async fn incrementing_picks_up_new_rows_and_resumes_without_duplicates() {
    let fx = Fixture::new("inc").await;
    fx.sql(
        "CREATE TABLE $S.orders (id serial PRIMARY KEY, name text, amount numeric(10,2), day date, \
         at timestamptz, data bytea, tag uuid);
         INSERT INTO $S.orders (name, amount, day, at, data, tag) VALUES
           ('a', 12.50, '2024-01-02', '2024-01-02 03:04:05.678+00', '\\x0102', '6f1c1a3e-0000-4000-8000-000000000001'),
           ('b', NULL, NULL, NULL, NULL, NULL);",
    )
    .await;
    let props = fx.props(&[
        ("mode", "incrementing"),
        ("incrementing.column.name", "id"),
        ("table.whitelist", "$S.orders"),
        ("batch.max.rows", "1"),
    ]);
    let tasks = fx.task_configs(props, 4).await.expect("connector starts");
    assert_eq!(tasks.len(), 1, "one table, one task");
    assert_eq!(tasks[0].get("tables").map(String::as_str), Some(format!("{}.orders", fx.schema).as_str()));

    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start_task(tasks[0].clone(), &offsets).await.expect("task starts");
    let records = poll_n(&mut task, &offsets, 2).await;
    assert_eq!(records.iter().map(|r| field_i64(r, "id")).collect::<Vec<_>>(), vec![1, 2]);
    let first = &records[0];
    assert_eq!(first.topic, "pg-orders");
    assert_eq!(first.source_partition.get("table"), Some(&json!(format!("{}.orders", fx.schema))));
    assert_eq!(first.source_offset.get("incrementing"), Some(&json!(1)));
    assert!(first.key.is_null());
    let schema = first.value_schema.as_ref().expect("value schema");
    assert_eq!(schema.name.as_deref(), Some("orders"));
    let amount = schema.field("amount").expect("amount").schema.clone();
    assert_eq!(logical::decimal_scale(&amount), Some(2));
    assert_eq!(first.value.field("amount"), Some(&Value::Bytes(logical::decimal_bytes(1250))));
    assert_eq!(first.value.field("day"), Some(&Value::Int32(19_724)));
    assert_eq!(first.value.field("at"), Some(&Value::Int64(1_704_164_645_678)));
    assert_eq!(first.value.field("data"), Some(&Value::Bytes(vec![1, 2])));
    assert_eq!(field_str(first, "tag"), "6f1c1a3e-0000-4000-8000-000000000001");
    assert_eq!(records[1].value.field("amount"), Some(&Value::Null));

    fx.sql("INSERT INTO $S.orders (name) VALUES ('c')").await;
    let more = poll_n(&mut task, &offsets, 1).await;
    assert_eq!(more.iter().map(|r| field_str(r, "name")).collect::<Vec<_>>(), vec!["c"]);
    task.stop().await.expect("stop");

    // A new task resumes from the stored offset: only rows after id 3.
    fx.sql("INSERT INTO $S.orders (name) VALUES ('d'), ('e')").await;
    let mut task = start_task(tasks[0].clone(), &offsets).await.expect("task restarts");
    let resumed = poll_for(&mut task, &offsets, Duration::from_millis(800)).await;
    assert_eq!(resumed.iter().map(|r| field_i64(r, "id")).collect::<Vec<_>>(), vec![4, 5]);
    task.stop().await.expect("stop");
    fx.drop().await;
}

#[tokio::test]
async fn timestamp_incrementing_picks_up_updates() {
    let fx = Fixture::new("tsinc").await;
    fx.sql(
        "CREATE TABLE $S.items (id int PRIMARY KEY, name text, updated timestamp NOT NULL);
         INSERT INTO $S.items VALUES (1, 'one', '2024-01-01 00:00:00'), (2, 'two', '2024-01-01 00:00:00'),
           (3, 'three', '2024-01-01 00:00:01');",
    )
    .await;
    let props = fx.props(&[
        ("mode", "timestamp+incrementing"),
        ("incrementing.column.name", "id"),
        ("timestamp.column.name", "updated"),
        ("table.include.list", "$S.items"),
        ("batch.max.rows", "2"),
    ]);
    let tasks = fx.task_configs(props, 1).await.expect("connector starts");
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start_task(tasks[0].clone(), &offsets).await.expect("task starts");
    let records = poll_n(&mut task, &offsets, 3).await;
    assert_eq!(records.iter().map(|r| field_i64(r, "id")).collect::<Vec<_>>(), vec![1, 2, 3]);
    let last = &records[2].source_offset;
    assert_eq!(last.get("timestamp"), Some(&json!(1_704_067_201_000_i64)));
    assert_eq!(last.get("timestamp_nanos"), Some(&json!(0)));
    assert_eq!(last.get("incrementing"), Some(&json!(3)));

    fx.sql("UPDATE $S.items SET name = 'ONE', updated = '2024-01-02 00:00:00.123456' WHERE id = 1").await;
    let updated = poll_n(&mut task, &offsets, 1).await;
    assert_eq!(updated.len(), 1);
    assert_eq!(field_str(&updated[0], "name"), "ONE");
    assert_eq!(updated[0].source_offset.get("timestamp_nanos"), Some(&json!(123_456_000)));
    let quiet = poll_for(&mut task, &offsets, Duration::from_millis(500)).await;
    assert!(quiet.is_empty(), "no duplicates: {quiet:?}");
    task.stop().await.expect("stop");

    // Resuming keeps the sub-millisecond position: the updated row is not read again.
    let mut task = start_task(tasks[0].clone(), &offsets).await.expect("task restarts");
    let again = poll_for(&mut task, &offsets, Duration::from_millis(500)).await;
    assert!(again.is_empty(), "resumed without duplicates: {again:?}");
    task.stop().await.expect("stop");
    fx.drop().await;
}

#[tokio::test]
async fn bulk_rereads_every_row_and_splits_tables_across_tasks() {
    let fx = Fixture::new("bulk").await;
    fx.sql(
        "CREATE TABLE $S.t1 (k int, v text); CREATE TABLE $S.t2 (k int); CREATE TABLE $S.t3 (k int);
         INSERT INTO $S.t1 VALUES (1, 'x'), (2, 'y');",
    )
    .await;
    let tasks = fx
        .task_configs(fx.props(&[("mode", "bulk"), ("table.whitelist", "$S.t1,$S.t2,$S.t3")]), 2)
        .await
        .expect("connector starts");
    let assigned: Vec<&str> = tasks.iter().map(|t| t.get("tables").map(String::as_str).unwrap_or("")).collect();
    assert_eq!(assigned, vec![format!("{0}.t1,{0}.t3", fx.schema), format!("{0}.t2", fx.schema)]);

    let only_t1 = fx.props(&[("mode", "bulk"), ("tables", "$S.t1")]);
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start_task(only_t1, &offsets).await.expect("task starts");
    let first = poll_n(&mut task, &offsets, 2).await;
    assert_eq!(first.len(), 2);
    fx.sql("INSERT INTO $S.t1 VALUES (3, 'z')").await;
    let second = poll_n(&mut task, &offsets, 3).await;
    assert_eq!(second.iter().map(|r| field_i64(r, "k")).collect::<Vec<_>>(), vec![1, 2, 3], "whole table again");
    task.stop().await.expect("stop");
    fx.drop().await;
}

#[tokio::test]
async fn custom_query_is_filtered_incrementally() {
    let fx = Fixture::new("query").await;
    fx.sql("CREATE TABLE $S.e (id bigint NOT NULL, kind text); INSERT INTO $S.e VALUES (1, 'a'), (2, 'b'), (3, 'a');")
        .await;
    let props = fx.props(&[
        ("mode", "incrementing"),
        ("incrementing.column.name", "id"),
        ("query", "SELECT id, kind FROM $S.e WHERE kind = 'a'"),
        ("topic.prefix", "only-a"),
    ]);
    let tasks = fx.task_configs(props, 3).await.expect("connector starts");
    assert_eq!(tasks.len(), 1);
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start_task(tasks[0].clone(), &offsets).await.expect("task starts");
    let records = poll_for(&mut task, &offsets, Duration::from_millis(500)).await;
    assert_eq!(records.iter().map(|r| field_i64(r, "id")).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(records[0].topic, "only-a");
    assert_eq!(records[0].source_partition.get("query"), Some(&json!("query")));
    task.stop().await.expect("stop");
    fx.drop().await;
}

#[tokio::test]
async fn bad_settings_fail_naming_the_culprit() {
    let fx = Fixture::new("bad").await;
    fx.sql("CREATE TABLE $S.t (id int NOT NULL, ts timestamptz)").await;
    let offsets = Arc::new(MemoryOffsets::default());

    let bad_column = fx.props(&[("mode", "incrementing"), ("incrementing.column.name", "nope"), ("tables", "$S.t")]);
    let err = start_task(bad_column, &offsets).await.err().expect("missing column fails");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("'nope'") && err.to_string().contains(".t"), "{err}");

    let bad_ts = fx.props(&[("mode", "timestamp"), ("timestamp.column.name", "missing_ts"), ("tables", "$S.t")]);
    let err = start_task(bad_ts, &offsets).await.err().expect("missing timestamp column fails");
    assert!(err.to_string().contains("missing_ts"), "{err}");

    let nullable = fx.props(&[("mode", "timestamp"), ("timestamp.column.name", "ts"), ("tables", "$S.t")]);
    let err = start_task(nullable, &offsets).await.err().expect("nullable timestamp fails");
    assert!(err.to_string().contains("nullable"), "{err}");

    let unknown = fx.props(&[("mode", "bulk"), ("table.whitelist", "$S.ghost")]);
    let err = fx.task_configs(unknown, 1).await.expect_err("unknown table fails");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("ghost"), "{err}");

    let unknown_task = fx.props(&[("mode", "bulk"), ("tables", "$S.ghost")]);
    let err = start_task(unknown_task, &offsets).await.err().expect("unknown table fails in the task");
    assert!(err.to_string().contains("ghost"), "{err}");

    let err = fx.task_configs(fx.props(&[("mode", "sometimes")]), 1).await.expect_err("bad mode fails");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("sometimes"), "{err}");
    fx.drop().await;
}

#[tokio::test]
async fn timestamp_mode_reads_rows_sharing_a_timestamp_past_the_batch_size() {
    let fx = Fixture::new("ts").await;
    fx.sql(
        "CREATE TABLE $S.logs (msg text, at timestamptz NOT NULL);
         INSERT INTO $S.logs VALUES ('a', '2024-05-01 00:00:00+00'), ('b', '2024-05-01 00:00:00+00'),
           ('c', '2024-05-01 00:00:00+00');",
    )
    .await;
    let props = fx.props(&[
        ("mode", "timestamp"),
        ("timestamp.column.name", "at"),
        ("tables", "$S.logs"),
        ("batch.max.rows", "1"),
    ]);
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start_task(props, &offsets).await.expect("task starts");
    let records = poll_n(&mut task, &offsets, 3).await;
    let mut names: Vec<&str> = records.iter().map(|r| field_str(r, "msg")).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["a", "b", "c"]);
    assert!(records.iter().all(|r| r.source_offset.get("incrementing").is_none()));
    fx.sql("INSERT INTO $S.logs VALUES ('d', '2024-05-02 00:00:00+00')").await;
    let more = poll_for(&mut task, &offsets, Duration::from_millis(500)).await;
    assert_eq!(more.iter().map(|r| field_str(r, "msg")).collect::<Vec<_>>(), vec!["d"]);
    task.stop().await.expect("stop");
    fx.drop().await;
}

#[path = "query/streaming.rs"]
mod streaming;
