//! Transforms and errors into and out of PostgreSQL: a source chain (HoistField, Cast,
//! InsertField, RegexRouter) and a sink chain (ReplaceField, MaskField) into a Postgres table;
//! ExtractNewRecordState over the Postgres CDC source; and a poison record at each sink stage
//! (conversion, transform, put) going to the dead-letter topic with its context headers while
//! the task stays RUNNING and every other record reaches the table.

use std::collections::HashMap;
use std::fs;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message};
use serde_json::{json, Value};

use crate::common::{free_port, kafka, reqwest, unique, wait_for, Worker};
use crate::postgres::{parts, psql, try_psql, url};
use crate::topics::{header_texts, read_at_least};

/// One consumed message: value as text, headers by name.
struct Consumed {
    value: Option<String>,
    headers: HashMap<String, String>,
}

/// Every message of partition 0 of `topic` up to its end, once it holds at least `min`; a
/// timeout shows the end of `worker`'s log.
fn consume(worker: &Worker, topic: &str, min: usize) -> Vec<Consumed> {
    read_at_least(worker, topic, min)
        .iter()
        .map(|m| Consumed {
            value: m.payload().map(|p| String::from_utf8_lossy(p).into_owned()),
            headers: header_texts(m),
        })
        .collect()
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

/// Creates `topic` with one partition and produces `values` to it in order; their offsets.
fn produce(topic: &str, values: &[String]) -> Vec<i64> {
    block_on(async {
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", kafka()).create().expect("admin");
        let created = admin
            .create_topics(&[NewTopic::new(topic, 1, TopicReplication::Fixed(1))], &AdminOptions::new())
            .await
            .expect("create topic");
        assert!(created.iter().all(Result::is_ok), "{created:?}");
        let producer: FutureProducer =
            ClientConfig::new().set("bootstrap.servers", kafka()).create().expect("producer");
        let mut offsets = Vec::new();
        for v in values {
            let delivery = producer
                .send(FutureRecord::<(), _>::to(topic).payload(v.as_str()), Duration::from_secs(30))
                .await
                .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
            offsets.push(delivery.offset);
        }
        offsets
    })
}

/// A fresh schema name (also usable as a slot and publication name).
fn schema_name(prefix: &str) -> String {
    unique(prefix).replace('-', "_")
}

/// The Confluent JDBC sink keys for the test database, plus `extra`.
fn jdbc_sink(topics: &str, table: &str, extra: Value) -> Value {
    let (host, port, user, password, db) = parts(&url());
    let mut config = json!({
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "topics": topics,
        "connection.url": format!("jdbc:postgresql://{host}:{port}/{db}"), "connection.user": user,
        "connection.password": password, "table.name.format": table,
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        config[k] = v.clone();
    }
    config
}

fn put(worker: &Worker, name: &str, config: &Value) {
    let (code, body) =
        reqwest::send("PUT", &format!("{}/connectors/{name}/config", worker.url), Some(config.to_string().as_str()))
            .expect("answer");
    assert_eq!(code, 201, "{body}");
}

fn count(table: &str) -> usize {
    try_psql(&url(), &format!("SELECT count(*) FROM {table}")).ok().and_then(|o| o.trim().parse().ok()).unwrap_or(0)
}

const LINES: usize = 400;

#[test]
fn source_and_sink_transform_chains_into_postgres() {
    let schema = schema_name("e2e_smt_pg");
    psql(&url(), &format!("CREATE SCHEMA {schema}"));
    let table = format!("{schema}.numbers");
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("numbers.txt");
    fs::write(&input, (0..LINES).map(|i| (i * 7).to_string()).collect::<Vec<_>>().join("\n") + "\n").expect("input");
    let topic = unique("e2e-smt-pg");
    let worker = Worker::start(dir.path(), json!({"offset.storage.topic": unique("e2e-offsets")}), &[]);

    // Source: each line becomes {id: int64, origin: "file", raw_topic, pin}, routed to -out.
    put(
        &worker,
        "smt-pg-source",
        &json!({
            "connector.class": "FileStreamSource", "file": input, "topic": format!("{topic}-raw"),
            "transforms": "hoist,cast,stamp,tag,pin,route",
            "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value", "transforms.hoist.field": "id",
            "transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value", "transforms.cast.spec": "id:int64",
            "transforms.stamp.type": "org.apache.kafka.connect.transforms.InsertField$Value",
            "transforms.stamp.static.field": "origin", "transforms.stamp.static.value": "file",
            "transforms.tag.type": "org.apache.kafka.connect.transforms.InsertField$Value", "transforms.tag.topic.field": "raw_topic",
            "transforms.pin.type": "org.apache.kafka.connect.transforms.InsertField$Value",
            "transforms.pin.static.field": "pin", "transforms.pin.static.value": "1234",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": "(.*)-raw", "transforms.route.replacement": "$1-out",
        }),
    );
    // Sink: origin renamed, raw_topic dropped, pin masked; the table is created from the result.
    put(
        &worker,
        "smt-pg-sink",
        &jdbc_sink(
            &format!("{topic}-out"),
            &table,
            json!({
                "auto.create": "true", "insert.mode": "insert", "pk.mode": "none",
                "transforms": "rename,mask",
                "transforms.rename.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
                "transforms.rename.renames": "origin:source_kind", "transforms.rename.exclude": "raw_topic",
                "transforms.mask.type": "org.apache.kafka.connect.transforms.MaskField$Value",
                "transforms.mask.fields": "pin", "transforms.mask.replacement": "****",
            }),
        ),
    );
    worker.wait("every line in the table", Duration::from_secs(90), || (count(&table) >= LINES).then_some(()));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(&table), LINES, "each line once");
    let (_, table_name) = table.split_once('.').expect("schema.table");
    let columns = psql(
        &url(),
        &format!(
            "SELECT column_name || ':' || data_type FROM information_schema.columns \
             WHERE table_schema = '{schema}' AND table_name = '{table_name}' ORDER BY column_name"
        ),
    );
    assert_eq!(columns.lines().collect::<Vec<_>>(), ["id:bigint", "pin:text", "source_kind:text"], "{columns}");
    let summary = psql(
        &url(),
        &format!(
            "SELECT count(DISTINCT id), min(id), max(id), sum(id), string_agg(DISTINCT source_kind, ','), \
             string_agg(DISTINCT pin, ',') FROM {table}"
        ),
    );
    let max = (LINES - 1) * 7;
    let sum: usize = (0..LINES).map(|i| i * 7).sum();
    assert_eq!(summary.trim(), format!("{LINES}|0|{max}|{sum}|file|****"));
    // The topic between them holds the source chain's output, routed.
    let first = consume(&worker, &format!("{topic}-out"), 1);
    let value: Value = serde_json::from_str(first[0].value.as_deref().unwrap_or_default()).expect("JSON");
    assert_eq!(
        value["payload"],
        json!({"id": 0, "origin": "file", "raw_topic": format!("{topic}-raw"), "pin": "1234"}),
        "{value}"
    );
    worker.wait_state("smt-pg-source", "RUNNING");
    worker.wait_state("smt-pg-sink", "RUNNING");
    drop(worker);
    psql(&url(), &format!("DROP SCHEMA {schema} CASCADE"));
}

#[test]
fn extract_new_record_state_over_postgres_cdc() {
    let schema = schema_name("e2e_smt_cdc");
    psql(
        &url(),
        &format!(
            "CREATE SCHEMA {schema}; CREATE TABLE {schema}.items (id bigint PRIMARY KEY, name text NOT NULL, qty int);
             ALTER TABLE {schema}.items REPLICA IDENTITY FULL;
             INSERT INTO {schema}.items VALUES (1, 'one', 10), (2, 'two', 20);"
        ),
    );
    let (host, port, user, password, dbname) = parts(&url());
    let prefix = schema.replace('_', "-");
    let dir = tempfile::tempdir().expect("tempdir");
    let worker = Worker::start(dir.path(), json!({"offset.storage.topic": unique("e2e-offsets")}), &[]);
    put(
        &worker,
        "smt-cdc",
        &json!({
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "database.hostname": host, "database.port": port, "database.user": user,
            "database.password": password, "database.dbname": dbname,
            "topic.prefix": prefix, "slot.name": schema, "publication.name": schema,
            "publication.autocreate.mode": "filtered", "schema.include.list": schema,
            "status.update.interval.ms": 1000,
            "transforms": "unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.add.fields": "op,table", "transforms.unwrap.delete.tombstone.handling.mode": "rewrite",
        }),
    );
    worker.wait_state("smt-cdc", "RUNNING");
    let topic = format!("{prefix}.{schema}.items");
    // The snapshot's 2 rows, then changes streamed after it.
    consume(&worker, &topic, 2);
    psql(
        &url(),
        &format!(
            "INSERT INTO {schema}.items VALUES (3, 'three', 30); UPDATE {schema}.items SET qty = 21 WHERE id = 2;
             DELETE FROM {schema}.items WHERE id = 1;"
        ),
    );
    let events = consume(&worker, &topic, 5);
    let payloads: Vec<Value> = events
        .iter()
        .map(|e| {
            let v: Value = serde_json::from_str(e.value.as_deref().expect("no tombstone")).expect("JSON value");
            v["payload"].clone()
        })
        .collect();
    assert_eq!(payloads.len(), 5, "{payloads:?}");
    let flat = |id: i64, name: &str, qty: i64, op: &str, deleted: &str| json!({"id": id, "name": name, "qty": qty, "__op": op, "__table": "items", "__deleted": deleted});
    assert_eq!(payloads[0], flat(1, "one", 10, "r", "false"));
    assert_eq!(payloads[1], flat(2, "two", 20, "r", "false"));
    assert_eq!(payloads[2], flat(3, "three", 30, "c", "false"));
    assert_eq!(payloads[3], flat(2, "two", 21, "u", "false"));
    assert_eq!(payloads[4], flat(1, "one", 10, "d", "true"), "a delete arrives rewritten, not as a tombstone");
    let value: Value = serde_json::from_str(events[4].value.as_deref().unwrap_or_default()).expect("JSON");
    let fields: Vec<&str> =
        value["schema"]["fields"].as_array().expect("flat schema").iter().filter_map(|f| f["field"].as_str()).collect();
    assert_eq!(fields, ["id", "name", "qty", "__deleted", "__op", "__table"], "{value}");
    worker.wait_state("smt-cdc", "RUNNING");
    assert!(worker.terminate(Duration::from_secs(30)), "clean shutdown");
    wait_for("the slot to be released", Duration::from_secs(30), || {
        let active = psql(&url(), &format!("SELECT active FROM pg_replication_slots WHERE slot_name = '{schema}'"));
        (active.trim() != "t").then_some(())
    });
    psql(&url(), &format!("SELECT pg_drop_replication_slot('{schema}')"));
    psql(&url(), &format!("DROP PUBLICATION {schema}; DROP SCHEMA {schema} CASCADE"));
}

const RECORDS: i64 = 30;
/// Offsets of the poison records: not JSON, failing the sink's Cast, rejected by a CHECK.
const BAD_JSON: i64 = 5;
const BAD_CAST: i64 = 15;
const BAD_ROW: i64 = 25;

#[test]
fn a_poison_record_at_each_sink_stage_goes_to_the_dead_letter_topic() {
    let schema = schema_name("e2e_smt_dlq");
    let table = format!("{schema}.accounts");
    psql(
        &url(),
        &format!(
            "CREATE SCHEMA {schema}; CREATE TABLE {table} (id bigint PRIMARY KEY, \
             amount bigint NOT NULL CHECK (amount >= 0), name text NOT NULL)"
        ),
    );
    let topic = unique("e2e-smt-poison");
    let dlq = format!("{topic}-dlq");
    let values: Vec<String> = (0..RECORDS)
        .map(|i| match i {
            BAD_JSON => format!("{{\"id\": {i}, \"amount\": "),
            BAD_CAST => json!({"id": i, "amount": "ten", "name": format!("n{i}")}).to_string(),
            BAD_ROW => json!({"id": i, "amount": "-1", "name": format!("n{i}")}).to_string(),
            _ => json!({"id": i, "amount": (i * 10).to_string(), "name": format!("n{i}")}).to_string(),
        })
        .collect();
    let offsets = produce(&topic, &values);
    assert_eq!(offsets, (0..RECORDS).collect::<Vec<_>>());

    let dir = tempfile::tempdir().expect("tempdir");
    let worker = Worker::start(
        dir.path(),
        json!({"offset.storage.topic": unique("e2e-offsets"), "rest.port": free_port()}),
        &[],
    );
    put(
        &worker,
        "smt-poison",
        &jdbc_sink(
            &topic,
            &table,
            json!({
                "insert.mode": "insert", "pk.mode": "none",
                "key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
                "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
                "transforms": "cast", "transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value",
                "transforms.cast.spec": "amount:int64",
                "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true",
            }),
        ),
    );
    let expected = (RECORDS - 3) as usize;
    worker
        .wait("every good record in the table", Duration::from_secs(90), || (count(&table) >= expected).then_some(()));
    let dead = consume(&worker, &dlq, 3);
    assert_eq!(dead.len(), 3, "one dead letter per poison record");
    worker.wait_state("smt-poison", "RUNNING");
    let rows = psql(&url(), &format!("SELECT id FROM {table} ORDER BY id"));
    let want: Vec<String> =
        (0..RECORDS).filter(|i| ![BAD_JSON, BAD_CAST, BAD_ROW].contains(i)).map(|i| i.to_string()).collect();
    assert_eq!(rows.lines().collect::<Vec<_>>(), want);
    let sum: i64 = (0..RECORDS).filter(|i| ![BAD_JSON, BAD_CAST, BAD_ROW].contains(i)).map(|i| i * 10).sum();
    assert_eq!(psql(&url(), &format!("SELECT sum(amount) FROM {table}")).trim(), sum.to_string(), "amounts cast");

    // Each poison record once, in offset order, with its coordinates and why it failed.
    let expectations: [(i64, &str, &str, &[&str]); 3] = [
        (BAD_JSON, "VALUE_CONVERTER", "org.apache.kafka.connect.json.JsonConverter", &["serialization error"]),
        (BAD_CAST, "TRANSFORMATION", "org.apache.kafka.connect.transforms.Cast$Value", &["cast", "ten"]),
        (BAD_ROW, "TASK_PUT", "io.confluent.connect.jdbc.JdbcSinkConnector", &["amount", "check"]),
    ];
    for (letter, (offset, stage, class, words)) in dead.iter().zip(expectations) {
        let h = |k: &str| letter.headers.get(k).cloned().unwrap_or_default();
        let message = h("__connect.errors.exception.message");
        let context = format!("offset {offset}: {:?}", letter.headers);
        assert_eq!(h("__connect.errors.topic"), topic, "{context}");
        assert_eq!(h("__connect.errors.partition"), "0", "{context}");
        assert_eq!(h("__connect.errors.offset"), offset.to_string(), "{context}");
        assert_eq!(h("__connect.errors.stage"), stage, "{context}");
        assert_eq!(h("__connect.errors.class.name"), class, "{context}");
        assert_eq!(h("__connect.errors.connector.name"), "smt-poison", "{context}");
        assert!(!h("__connect.errors.exception.class.name").is_empty(), "{context}");
        assert!(words.iter().any(|w| message.contains(w)), "{context}");
    }
    // The unconvertible record is dead-lettered as consumed, byte for byte.
    assert_eq!(dead[0].value.as_deref(), Some(values[BAD_JSON as usize].as_str()));
    let row: Value = serde_json::from_str(dead[2].value.as_deref().unwrap_or_default()).expect("JSON dead letter");
    assert_eq!(row["id"], json!(BAD_ROW), "{row}");
    assert!(worker.terminate(Duration::from_secs(30)), "clean shutdown");
    psql(&url(), &format!("DROP SCHEMA {schema} CASCADE"));
}
