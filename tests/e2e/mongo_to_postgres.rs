//! The Mongo -> Postgres pipeline: MongoDB change streams (copy_existing, Debezium format) ->
//! Kafka -> PostgreSQL sink (upsert by key, deletes, auto.create/evolve), with inserts, `$set`,
//! `$unset` and deletes, and the worker killed with SIGKILL mid-stream: at the end the table
//! equals the collection row for row.

use std::time::Duration;

use aqueduct_connector_mongodb::mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use aqueduct_connector_mongodb::mongodb::Client;
use serde_json::json;

use crate::common::{free_port, unique, Worker};
use crate::postgres::{psql, try_psql};

fn mongodb_uri() -> String {
    std::env::var("AQUEDUCT_TEST_MONGODB").unwrap_or_else(|_| "mongodb://127.0.0.1:27017/?replicaSet=secantus".into())
}

fn postgres_url() -> String {
    std::env::var("AQUEDUCT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into())
}

/// Runs a future on one runtime shared by the test (the MongoDB client lives on it).
fn block_on<T>(f: impl std::future::IntoFuture<Output = T>) -> T {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Runtime::new().expect("runtime")).block_on(f.into_future())
}

fn customer(i: i32) -> Document {
    doc! {"_id": ObjectId::new(), "name": format!("c{i}"), "age": i, "vip": i % 3 == 0, "address": {"city": "x", "n": i}}
}

/// The collection as `id|name|age|vip` lines (vip empty when absent), sorted like the table dump.
fn expected(client: &Client, db: &str) -> String {
    block_on(async {
        use futures::TryStreamExt;
        let docs: Vec<Document> = client
            .database(db)
            .collection::<Document>("customers")
            .find(doc! {})
            .await
            .expect("find")
            .try_collect()
            .await
            .expect("documents");
        let mut lines: Vec<String> = docs
            .iter()
            .map(|d| {
                let id = d.get_object_id("_id").map(|o| o.to_hex()).unwrap_or_default();
                let vip = match d.get("vip") {
                    Some(Bson::Boolean(true)) => "t",
                    Some(Bson::Boolean(false)) => "f",
                    _ => "",
                };
                format!("{id}|{}|{}|{vip}", d.get_str("name").unwrap_or_default(), d.get_i32("age").unwrap_or_default())
            })
            .collect();
        lines.sort();
        lines.join("\n")
    })
}

fn dump(url: &str, table: &str) -> String {
    try_psql(url, &format!("SELECT id, name, age, vip FROM public.{table} ORDER BY id"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[test]
fn mongo_to_postgres_pipeline_survives_kill_9() {
    let (uri, pg) = (mongodb_uri(), postgres_url());
    let db = unique("m2p").replace('-', "_");
    let table = format!("{db}_customers");
    let prefix = unique("m2p");
    let client = block_on(Client::with_uri_str(&uri)).expect("mongodb client");
    let customers = client.database(&db).collection::<Document>("customers");
    block_on(customers.insert_many((0..300).map(customer))).expect("initial documents");

    let source = json!({"name": format!("{prefix}-source"), "config": {
        "connector.class": "com.mongodb.kafka.connect.MongoSourceConnector",
        "connection.uri": uri, "database": db, "collection": "customers",
        "startup.mode": "copy_existing", "output.format": "debezium", "topic.prefix": prefix,
    }});
    let sink = json!({"name": format!("{prefix}-sink"), "config": {
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
        "connection.url": "jdbc:postgresql://127.0.0.1:5432/postgres",
        "connection.user": "postgres", "connection.password": "postgres",
        "topics": format!("{prefix}.{db}.customers"), "table.name.format": format!("public.{table}"),
        "insert.mode": "upsert", "pk.mode": "record_key", "delete.enabled": true,
        "auto.create": true, "auto.evolve": true,
    }});
    let extra = json!({"offset.storage.topic": unique("e2e-offsets"), "rest.port": free_port()});
    let dir = tempfile::tempdir().expect("tempdir");

    let worker = Worker::start(&dir.path().join("run1"), extra.clone(), &[source.clone(), sink.clone()]);
    worker.wait("the copy to reach Postgres", Duration::from_secs(120), || {
        (dump(&pg, &table).lines().count() >= 300).then_some(())
    });
    // Changes streamed while the worker runs, then a kill -9 right behind them.
    block_on(async {
        let ids: Vec<ObjectId> = {
            use futures::TryStreamExt;
            let docs: Vec<Document> = customers.find(doc! {}).await.expect("find").try_collect().await.expect("docs");
            docs.iter().filter_map(|d| d.get_object_id("_id").ok()).collect()
        };
        for (n, id) in ids.iter().enumerate().take(120) {
            match n % 4 {
                0 => customers.update_one(doc! {"_id": id}, doc! {"$set": {"age": 1000 + n as i32}}).await.map(|_| ()),
                1 => customers.update_one(doc! {"_id": id}, doc! {"$unset": {"vip": ""}}).await.map(|_| ()),
                2 => customers.delete_one(doc! {"_id": id}).await.map(|_| ()),
                _ => customers.insert_one(customer(300 + n as i32)).await.map(|_| ()),
            }
            .expect("change");
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    worker.kill9();
    // Restart with the same configs and REST port: the sink rejoins as the same static member.
    block_on(customers.insert_many((400..450).map(customer))).expect("documents written while down");

    let worker = Worker::start(&dir.path().join("run2"), extra, &[source, sink]);
    let want = expected(&client, &db);
    worker.wait("the table to equal the collection", Duration::from_secs(180), || {
        (dump(&pg, &table) == want).then_some(())
    });
    let rows = psql(&pg, &format!("SELECT count(*), count(vip) FROM public.{table}"));
    println!("mongo -> postgres: {} (rows, rows with vip)", rows.trim());
    assert!(worker.terminate(Duration::from_secs(30)), "clean shutdown");
}
