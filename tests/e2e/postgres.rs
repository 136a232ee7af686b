//! PostgreSQL CDC source (Debezium format) -> Kafka -> PostgreSQL sink into a second database,
//! over 3 tables with inserts, updates (one changing a primary key), deletes and a truncate,
//! writes racing the snapshot and the stream, and the worker killed with SIGKILL twice: at the
//! end the target equals the source row for row.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message};
use serde_json::{json, Value};

use crate::common::{free_port, kafka, reqwest, unique, wait_for, Worker};

const INITIAL: i64 = 2_000;
const TABLES: [&str; 3] = ["customers", "orders", "products"];

pub(crate) fn url() -> String {
    std::env::var("AQUEDUCT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of another database on the same server.
fn url_of(db: &str) -> String {
    let base = url();
    let (server, _) = base.rsplit_once('/').expect("a URL with a database");
    format!("{server}/{db}")
}

/// (host, port, user, password, dbname) of a `postgres://user:pass@host:port/db` URL.
pub(crate) fn parts(url: &str) -> (String, String, String, String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (auth, rest) = rest.split_once('@').unwrap_or(("postgres:postgres", rest));
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (hostport, db) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    let db = db.split('?').next().unwrap_or(db);
    (host.into(), port.into(), user.into(), password.into(), db.into())
}

/// Runs SQL with psql; its unaligned output, or the error.
pub(crate) fn try_psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGTZ", "UTC")
        .output()
        .expect("psql (postgresql-client) is installed");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Runs SQL with psql; panics on errors.
pub(crate) fn psql(url: &str, sql: &str) -> String {
    try_psql(url, sql).unwrap_or_else(|e| panic!("psql failed on {sql}: {e}"))
}

/// The rows of a table in a comparable text form (the sink may pick other column types);
/// `None` while the table does not exist.
fn dump(url: &str, schema: &str, table: &str) -> Option<String> {
    try_psql(
        url,
        &format!(
            "SELECT id::bigint, name::text, price::numeric(12,2), at::timestamptz, day::date, ok::boolean, doc::jsonb, \
             uid::uuid FROM {schema}.{table} ORDER BY 1"
        ),
    )
    .ok()
}

/// One round of writes over the 3 tables: inserts, updates, a key change, deletes.
fn writes(schema: &str, round: i64) -> String {
    let mut sql = String::from("BEGIN;");
    for table in TABLES {
        let id = INITIAL + round * 10;
        sql.push_str(&format!(
            "INSERT INTO {schema}.{table} SELECT g, 'new ' || g, g * 1.25, now(), current_date, g % 2 = 0, \
             jsonb_build_object('round', {round}), gen_random_uuid() FROM generate_series({id}, {id} + 4) g;
             UPDATE {schema}.{table} SET name = 'updated {round}', price = price + 1 WHERE id % 97 = {round} % 97;
             DELETE FROM {schema}.{table} WHERE id = {round} * 3 + 1;"
        ));
    }
    // A primary key change (a delete and a create in Debezium's events).
    sql.push_str(&format!(
        "UPDATE {schema}.orders SET id = -id WHERE id = (SELECT max(id) FROM {schema}.orders WHERE id > 0 AND id < {INITIAL});
         COMMIT;"
    ));
    sql
}

fn writer(schema: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<i64> {
    std::thread::spawn(move || {
        let mut round = 1;
        while !stop.load(Ordering::Relaxed) {
            psql(&url(), &writes(&schema, round));
            round += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        round
    })
}

fn row_count(url: &str, schema: &str, table: &str) -> usize {
    try_psql(url, &format!("SELECT count(*) FROM {schema}.{table}"))
        .ok()
        .and_then(|o| o.trim().parse().ok())
        .unwrap_or(0)
}

/// The first message of `topic`, key and value as JSON.
fn first_message(topic: &str) -> (Value, Value) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("group.id", unique("e2e-pg-peek"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    wait_for(&format!("a message on {topic}"), Duration::from_secs(60), || {
        let message = consumer.poll(Duration::from_millis(500))?.ok()?;
        let parse = |b: Option<&[u8]>| b.and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        Some((parse(message.key()), parse(message.payload())))
    })
}

/// Checks the JSON converter's output looks like Debezium's with schemas enabled.
fn check_debezium_json(topic: &str, schema: &str) {
    let (key, value) = first_message(topic);
    assert_eq!(key["schema"]["name"], json!(format!("{topic}.Key")), "{key}");
    assert_eq!(key["payload"]["id"].as_i64().map(|id| id > 0), Some(true), "{key}");
    assert_eq!(value["schema"]["name"], json!(format!("{topic}.Envelope")), "{value}");
    let fields = value["schema"]["fields"].as_array().expect("envelope fields");
    let names: Vec<&str> = fields.iter().filter_map(|f| f["field"].as_str()).collect();
    assert_eq!(names, ["before", "after", "source", "op", "ts_ms"]);
    let row = &fields[1];
    assert_eq!(row["name"], json!(format!("{topic}.Value")));
    assert_eq!(row["optional"], json!(true));
    let field = |n: &str| row["fields"].as_array().and_then(|f| f.iter().find(|x| x["field"] == n)).cloned().expect(n);
    assert_eq!(field("id"), json!({"type": "int64", "optional": false, "field": "id"}));
    assert_eq!(field("at")["name"], json!("io.debezium.time.ZonedTimestamp"));
    assert_eq!(field("price")["name"], json!("org.apache.kafka.connect.data.Decimal"));
    assert_eq!(field("price")["parameters"]["scale"], json!("2"));
    assert_eq!(field("uid")["name"], json!("io.debezium.data.Uuid"));
    assert_eq!(fields[2]["name"], json!("io.debezium.connector.postgresql.Source"));
    let payload = &value["payload"];
    assert_eq!(payload["op"], json!("r"), "{payload}");
    assert_eq!(payload["source"]["connector"], json!("postgresql"));
    assert_eq!(payload["source"]["schema"], json!(schema));
    assert_eq!(payload["source"]["snapshot"], json!("true"));
    assert!(payload["after"]["at"].as_str().is_some_and(|t| t.ends_with('Z')), "{payload}");
}

#[test]
fn postgres_cdc_to_kafka_to_postgres_survives_kill_9_twice() {
    let schema = unique("e2e_pg").replace('-', "_");
    let target_db = format!("{schema}_target");
    let target = url_of(&target_db);
    let (host, port, user, password, dbname) = parts(&url());
    let mut setup = format!("CREATE SCHEMA {schema};");
    for table in TABLES {
        setup.push_str(&format!(
            "CREATE TABLE {schema}.{table} (id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2),
               at timestamptz, day date, ok boolean, doc jsonb, uid uuid);
             INSERT INTO {schema}.{table} SELECT g, 'row ' || g, g * 0.5, now(), current_date, true,
               '{{\"n\": 1}}', gen_random_uuid() FROM generate_series(1, {INITIAL}) g;"
        ));
    }
    psql(&url(), &setup);
    psql(&url(), &format!("CREATE DATABASE {target_db}"));
    psql(&target, &format!("CREATE SCHEMA {schema}"));

    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = schema.replace('_', "-");
    let (source, sink) = (format!("{prefix}-source"), format!("{prefix}-sink"));
    let worker_extra = json!({"offset.storage.topic": unique("e2e-offsets"), "rest.port": free_port()});
    let source_config = json!({"name": source, "config": {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": host, "database.port": port, "database.user": user,
        "database.password": password, "database.dbname": dbname,
        "topic.prefix": prefix, "slot.name": schema, "publication.name": schema,
        "publication.autocreate.mode": "filtered", "schema.include.list": schema,
        "snapshot.fetch.size": 500, "skipped.operations": "none", "heartbeat.interval.ms": 1000,
        "status.update.interval.ms": 1000,
    }});
    let topics: Vec<String> = TABLES.iter().map(|t| format!("{prefix}.{schema}.{t}")).collect();
    let sink_config = json!({"name": sink, "config": {
        "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
        "topics": topics.join(","), "connection.url": target, "connection.username": user,
        "connection.password": password, "insert.mode": "upsert", "primary.key.mode": "record_key",
        "delete.enabled": "true", "truncate.enabled": "true", "schema.evolution": "basic",
        "table.name.format": "${topic}",
    }});

    // Writes race the snapshot from the start.
    let stop = Arc::new(AtomicBool::new(false));
    let first_writer = writer(schema.clone(), stop.clone());
    let worker = Worker::start(&dir.path().join("run1"), worker_extra.clone(), std::slice::from_ref(&source_config));
    worker.wait_state(&source, "RUNNING");
    let topics_url = format!("{}/connectors/{source}/topics", worker.url);
    wait_for("the 3 table topics in use", Duration::from_secs(120), || {
        let (_, body) = reqwest::blocking_get(&topics_url)?;
        let list = body[&source]["topics"].as_array()?;
        topics.iter().all(|t| list.contains(&Value::String(t.clone()))).then_some(())
    });
    check_debezium_json(&topics[0], &schema);
    let (code, body) =
        reqwest::send("POST", &format!("{}/connectors", worker.url), Some(&sink_config.to_string())).expect("post");
    assert_eq!(code, 201, "{body}");
    worker.wait_state(&sink, "RUNNING");
    wait_for("rows in the target", Duration::from_secs(120), || {
        (row_count(&target, &schema, "orders") >= 500).then_some(())
    });
    worker.kill9();

    // Second run: killed again mid-stream.
    let worker =
        Worker::start(&dir.path().join("run2"), worker_extra.clone(), &[source_config.clone(), sink_config.clone()]);
    worker.wait_state(&source, "RUNNING");
    std::thread::sleep(Duration::from_secs(5));
    worker.kill9();

    // Third run: the writes stop, then a truncate and a few rows after it.
    let worker = Worker::start(&dir.path().join("run3"), worker_extra, &[source_config, sink_config]);
    worker.wait_state(&source, "RUNNING");
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let rounds = first_writer.join().expect("writer");
    assert!(rounds > 20, "too few concurrent writes ({rounds} rounds)");
    psql(
        &url(),
        &format!(
            "TRUNCATE {schema}.products; INSERT INTO {schema}.products VALUES (1, 'after truncate', 9.99, now(), \
             current_date, false, '[1, 2]', gen_random_uuid())"
        ),
    );

    for table in TABLES {
        let expected = dump(&url(), &schema, table).expect("source table");
        wait_for(&format!("{schema}.{table} in the target to equal the source"), Duration::from_secs(180), || {
            (dump(&target, &schema, table).as_ref() == Some(&expected)).then_some(())
        });
        println!("{table}: {} rows equal", expected.lines().count());
    }
    let log = worker.log();
    // Each run resumed where the stored offsets were: a snapshot is only ever resumed after the
    // stored key (never restarted), then the stream continues from the slot's position.
    assert!(!log.contains("resumed_at=None") || !log.contains("snapshot started"), "the snapshot restarted:\n{log}");
    assert!(log.contains("streaming changes"), "{log}");
    assert!(worker.terminate(Duration::from_secs(30)), "clean shutdown:\n{}", log);

    // Clean up: the slot (inactive once the worker is gone), the publication, the databases.
    wait_for("the slot to be released", Duration::from_secs(30), || {
        let active = psql(&url(), &format!("SELECT active FROM pg_replication_slots WHERE slot_name = '{schema}'"));
        (active.trim() != "t").then_some(())
    });
    psql(&url(), &format!("SELECT pg_drop_replication_slot('{schema}')"));
    psql(&url(), &format!("DROP PUBLICATION {schema}; DROP SCHEMA {schema} CASCADE"));
    psql(&url(), &format!("DROP DATABASE {target_db} WITH (FORCE)"));
}
