//! PostgresSink against a real PostgreSQL (`AQUEDUCT_TEST_POSTGRES`, default
//! postgres://postgres:postgres@127.0.0.1:5432/postgres), driven through the `SinkTask` trait.
//! Every test uses its own tables, so they run in parallel.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aqueduct_connector_postgres::sink::{PostgresSinkConnector, PostgresSinkTask, PLUGIN};
use aqueduct_sdk::testing::{QuietConnectorContext, RecordingSinkContext};
use aqueduct_sdk::{
    Connector, ErrorKind, Props, Schema, SchemaRef, SchemaType, SinkRecord, SinkTask, Struct, TopicPartition,
    TopicPartitionOffsets, Value,
};
use tokio_postgres::{Client, NoTls};

fn url() -> String {
    std::env::var("AQUEDUCT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A name no other test (or earlier run) uses.
fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

async fn db() -> Client {
    let (client, connection) = tokio_postgres::connect(&url(), NoTls).await.expect("connect to PostgreSQL");
    tokio::spawn(connection);
    client
}

/// Rows of a query, every column cast to text by the query.
async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .iter()
        .map(|r| (0..r.len()).map(|i| r.get::<_, Option<String>>(i)).collect())
        .collect()
}

fn strs(rows: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
    rows.iter().map(|r| r.iter().map(|c| c.map(str::to_owned)).collect()).collect()
}

/// The offsets and error texts of the records reported to `context`'s errant-record reporter;
/// only data errors are reported.
fn reported(context: &RecordingSinkContext) -> Vec<(i64, String)> {
    let reported = context.reported();
    for (record, error) in &reported {
        assert_eq!(
            error.kind(),
            ErrorKind::Data,
            "only data errors are reported: {}@{}: {error:?}",
            record.topic,
            record.kafka_offset
        );
    }
    reported.into_iter().map(|(record, error)| (record.kafka_offset, error.to_string())).collect()
}

fn props(pairs: &[(&str, &str)]) -> Props {
    let mut p: Props = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    p.entry("connection.url".into()).or_insert_with(url);
    p.entry("name".into()).or_insert_with(|| "sink-test".into());
    p
}

async fn task(ctx: &Arc<RecordingSinkContext>, pairs: &[(&str, &str)]) -> PostgresSinkTask {
    let mut task = PostgresSinkTask::new();
    task.start(ctx.clone(), props(pairs)).await.expect("start");
    task
}

fn record(topic: &str, offset: i64, key: (Option<SchemaRef>, Value), value: (Option<SchemaRef>, Value)) -> SinkRecord {
    SinkRecord::new(topic, 0, offset, value.0, value.1).with_key(key.0, key.1)
}

fn user_schema() -> SchemaRef {
    Schema::struct_builder()
        .name("user")
        .field("id", Schema::int64())
        .field("name", Schema::optional(SchemaType::String))
        .build()
}

fn key_schema() -> SchemaRef {
    Schema::struct_builder().name("key").field("id", Schema::int64()).build()
}

fn key(id: i64) -> (Option<SchemaRef>, Value) {
    let schema = key_schema();
    (Some(schema.clone()), Value::Struct(Struct::new(schema).put("id", id).expect("field")))
}

fn user(id: i64, name: &str) -> (Option<SchemaRef>, Value) {
    let schema = user_schema();
    let s = Struct::new(schema.clone()).put("id", id).and_then(|s| s.put("name", name)).expect("fields");
    (Some(schema), Value::Struct(s))
}

fn no_key() -> (Option<SchemaRef>, Value) {
    (None, Value::Null)
}

/// What the runtime does with a batch: `put`, then `pre_commit` with the offsets after it.
async fn write(task: &mut PostgresSinkTask, records: Vec<SinkRecord>) -> aqueduct_sdk::Result<TopicPartitionOffsets> {
    let mut offsets = TopicPartitionOffsets::new();
    for r in &records {
        offsets.insert(r.topic_partition(), r.kafka_offset + 1);
    }
    task.put(&records).await?;
    let durable = task.pre_commit(&offsets).await?;
    assert_eq!(durable, offsets, "pre_commit returns what it made durable");
    Ok(durable)
}

const UPSERT: &[(&str, &str)] =
    &[("auto.create", "true"), ("insert.mode", "upsert"), ("pk.mode", "record_key"), ("delete.enabled", "true")];

#[path = "sink/delivery.rs"]
mod delivery;
#[path = "sink/errors.rs"]
mod errors;
#[path = "sink/fencing.rs"]
mod fencing;
#[path = "sink/keys.rs"]
mod keys;
#[path = "sink/modes.rs"]
mod modes;
#[path = "sink/toast.rs"]
mod toast;
#[path = "sink/types.rs"]
mod types;

#[tokio::test]
async fn the_connector_answers_to_jdbc_class_names_and_validates_like_confluent() {
    for name in [
        "PostgresSink",
        "io.confluent.connect.jdbc.JdbcSinkConnector",
        "io.debezium.connector.jdbc.JdbcSinkConnector",
        "JdbcSinkConnector",
    ] {
        assert!(PLUGIN.answers_to(name), "{name}");
    }
    assert_eq!(PLUGIN.factory.kind(), "sink");
    let bad = props(&[("delete.enabled", "true"), ("pk.mode", "record_value")]);
    let validation = PLUGIN.factory.validate(&bad);
    let errors: Vec<&String> = validation.iter().flat_map(|v| &v.errors).collect();
    assert_eq!(errors.len(), 1, "{validation:?}");
    assert!(errors[0].contains("Primary key mode must be 'record_key' when delete support is enabled"));
    let mut connector = PostgresSinkConnector::default();
    assert!(connector.start(Arc::new(QuietConnectorContext::default()), bad).await.is_err());
    let good = props(&[("topics", "a,b")]);
    connector.start(Arc::new(QuietConnectorContext::default()), good.clone()).await.expect("start");
    assert_eq!(connector.task_configs(3).expect("configs"), vec![good.clone(), good.clone(), good]);
}

#[test]
fn example_configs_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/postgres-sink");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("configs/postgres-sink") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let config = json["config"].as_object().expect("a config object");
        let class = config["connector.class"].as_str().expect("connector.class");
        assert!(PLUGIN.answers_to(class), "{}: {class}", path.display());
        let props: Props = config.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect();
        let errors: Vec<String> = PLUGIN.factory.validate(&props).into_iter().flat_map(|v| v.errors).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        seen += 1;
    }
    assert!(seen >= 2, "example configs found: {seen}");
}
