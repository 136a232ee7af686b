//! Elasticsearch sink through Kafka with the real binary, against osmem-server:
//! - keyed upserts and tombstones, the worker killed with SIGKILL mid-run and restarted: the
//!   index holds exactly the live documents with their merged fields;
//! - a document the index mapping refuses goes to the dead-letter topic with Kafka Connect's
//!   context headers, the task stays RUNNING and the next record is indexed;
//! - the server (a private osmem-server, so others' indices are untouched) killed mid-run and
//!   started again, empty as osmem keeps data in memory: see that test for what it proves.
//!
//! `AQUEDUCT_FULL=1` runs 200,000 records instead of 20,000 in the first test.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{json, Map, Value};

use crate::common::{free_port, kafka, reqwest, unique, wait_for, Worker};
use crate::topics::{create_topic, header_texts, produce, read_at_least, text};

fn es_url() -> String {
    std::env::var("AQUEDUCT_TEST_ELASTICSEARCH").unwrap_or_else(|_| "http://127.0.0.1:9200".into())
}

/// Every document of `index` (id -> source) on the server at `base`.
fn documents(base: &str, index: &str) -> BTreeMap<String, Value> {
    let _ = reqwest::send("POST", &format!("{base}/{index}/_refresh"), None);
    let body = json!({"size": 10000, "query": {"match_all": {}}}).to_string();
    let Some((200, found)) = reqwest::send("POST", &format!("{base}/{index}/_search"), Some(&body)) else {
        return BTreeMap::new();
    };
    found["hits"]["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| (h["_id"].as_str().unwrap_or_default().to_owned(), h["_source"].clone()))
        .collect()
}

fn count(base: &str, index: &str) -> u64 {
    let _ = reqwest::send("POST", &format!("{base}/{index}/_refresh"), None);
    reqwest::blocking_get(&format!("{base}/{index}/_count"))
        .filter(|(code, _)| *code == 200)
        .and_then(|(_, b)| b["count"].as_u64())
        .unwrap_or(0)
}

/// The committed offsets of the sink's consumer group, per partition.
fn committed(group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", kafka()).set("group.id", group).create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = consumer.committed_offsets(tpl, Duration::from_secs(10)).expect("committed offsets");
    (0..partitions)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o,
            _ => 0,
        })
        .collect()
}

fn sink_config(topic: &str, url: &str, extra: Value) -> Value {
    let mut config = json!({
        "connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
        "topics": topic, "connection.url": url,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "schema.ignore": "true", "linger.ms": "5",
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        config[k] = v.clone();
    }
    config
}

#[test]
fn upserts_and_tombstones_survive_kill_9() {
    let full = std::env::var("AQUEDUCT_FULL").is_ok_and(|v| v == "1");
    let total: usize = if full { 200_000 } else { 20_000 };
    let keys = 2_000;
    let topic = unique("e2e-es-upsert");
    create_topic(&topic, 3);
    // Key k lives on partition k % 3; the upsert of round r (every key once per round) sets field
    // r<r> and seq, so a lost upsert shows unless a later tombstone wipes its document; every
    // 9th record is a tombstone.
    let mut expected: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut records = Vec::with_capacity(total);
    for i in 0..total {
        let k = (i * 7919) % keys;
        let key = format!("key-{k}");
        if i % 9 == 4 {
            expected.remove(&key);
            records.push(((k % 3) as i32, key, None));
        } else {
            let field = format!("r{}", i / keys);
            expected.entry(key.clone()).or_default().insert(field.clone(), json!(i));
            records.push(((k % 3) as i32, key, Some(json!({ field: i, "seq": i }).to_string())));
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let name = unique("es-upsert");
    let index = topic.to_lowercase();
    let connector = json!({"name": name, "config": sink_config(&topic, &es_url(), json!({
        "write.method": "upsert", "behavior.on.null.values": "delete", "tasks.max": "2",
        "batch.size": "2000", "linger.ms": "1000", "max.in.flight.requests": "4", "max.retries": "10",
    }))});
    let port = free_port();
    let worker = Worker::start(dir.path(), json!({"rest.port": port}), std::slice::from_ref(&connector));
    let started = Instant::now();
    // Records flow in slices while the worker runs; SIGKILL once a quarter is committed (the
    // producer still going, records lingering in the writer's queue or in flight: linger.ms is
    // longer than offset.flush.interval.ms, so committing what was only queued would lose them),
    // restart at once while the rest flows in.
    let producer = {
        let (topic, records) = (topic.clone(), records.clone());
        std::thread::spawn(move || {
            for slice in records.chunks(records.len() / 40) {
                produce(&topic, slice);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let group = format!("connect-{name}");
    worker.wait("a quarter committed", Duration::from_secs(120), || {
        (committed(&group, &topic, 3).iter().sum::<i64>() >= (total / 4) as i64).then_some(())
    });
    worker.kill9();
    let at_kill = committed(&group, &topic, 3).iter().sum::<i64>();
    assert!(!producer.is_finished(), "killed mid-run, while records still arrive");
    let worker = Worker::start(dir.path(), json!({"rest.port": port}), std::slice::from_ref(&connector));
    producer.join().expect("producer");
    let want: BTreeMap<String, Value> = {
        let mut seq: BTreeMap<String, usize> = BTreeMap::new();
        for (i, (_, key, value)) in records.iter().enumerate() {
            if value.is_some() {
                seq.insert(key.clone(), i);
            } else {
                seq.remove(key);
            }
        }
        expected
            .into_iter()
            .map(|(k, mut fields)| {
                fields.insert("seq".into(), json!(seq[&k]));
                (k, Value::Object(fields))
            })
            .collect()
    };
    let limit = Duration::from_secs(if full { 900 } else { 120 });
    let mut last = BTreeMap::new();
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        last = documents(&es_url(), &index);
        if last == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let wrong: Vec<_> = want.iter().filter(|(k, v)| last.get(*k) != Some(v)).take(5).collect();
    let extra: Vec<_> = last.keys().filter(|k| !want.contains_key(*k)).take(5).collect();
    assert!(
        last == want,
        "{} documents, {} expected; wrong or missing e.g. {wrong:?}; not deleted e.g. {extra:?}; log {}",
        last.len(),
        want.len(),
        worker.log_path().display()
    );
    worker.wait_state(&name, "RUNNING");
    eprintln!(
        "{total} records, {} live documents, {at_kill} committed at the kill, equal {:.1} s after the first start",
        want.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(worker.terminate(Duration::from_secs(20)), "clean shutdown");
    let _ = reqwest::send("DELETE", &format!("{}/{index}", es_url()), None);
}

#[test]
fn a_document_the_mapping_refuses_goes_to_the_dead_letter_topic() {
    let topic = unique("e2e-es-dlq");
    let index = topic.to_lowercase();
    let dlq = format!("{topic}-dlq");
    create_topic(&topic, 1);
    let mapping =
        json!({"mappings": {"dynamic": "strict", "properties": {"n": {"type": "integer"}, "s": {"type": "keyword"}}}});
    let (code, body) =
        reqwest::send("PUT", &format!("{}/{index}", es_url()), Some(&mapping.to_string())).expect("create index");
    assert_eq!(code, 200, "{body}");
    let rec = |k: &str, v: Value| (0, k.to_owned(), Some(v.to_string()));
    produce(
        &topic,
        &[rec("a", json!({"n": 1, "s": "x"})), rec("bad", json!({"n": "not a number"})), rec("c", json!({"n": 3}))],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let name = unique("es-dlq");
    let connector = json!({"name": name, "config": sink_config(&topic, &es_url(), json!({
        "behavior.on.malformed.documents": "warn", "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": dlq, "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true",
    }))});
    let worker = Worker::start(dir.path(), json!({}), &[connector]);
    worker.wait("a and c indexed", Duration::from_secs(60), || {
        let docs = documents(&es_url(), &index);
        (docs.len() == 2 && docs.contains_key("a") && docs.contains_key("c")).then_some(())
    });
    let letters = dead_letters(&worker, &dlq, 1);
    assert_eq!(letters.len(), 1, "{letters:?}");
    let (value, headers) = &letters[0];
    assert_eq!(value, &json!({"n": "not a number"}).to_string(), "dead-lettered as consumed");
    let h = |k: &str| headers.get(k).cloned().unwrap_or_default();
    assert_eq!(h("__connect.errors.topic"), topic);
    assert_eq!(h("__connect.errors.offset"), "1");
    assert_eq!(h("__connect.errors.stage"), "TASK_PUT");
    assert_eq!(h("__connect.errors.connector.name"), name);
    assert!(h("__connect.errors.exception.message").contains("mapper_parsing_exception"), "{headers:?}");
    worker.wait_state(&name, "RUNNING");
    produce(&topic, &[rec("d", json!({"n": 4}))]);
    worker.wait("the next record indexed", Duration::from_secs(60), || {
        documents(&es_url(), &index).get("d").filter(|d| **d == json!({"n": 4})).map(|_| ())
    });
    worker.wait_state(&name, "RUNNING");
    let group = format!("connect-{name}");
    worker.wait("offsets committed past every record", Duration::from_secs(30), || {
        (committed(&group, &topic, 1) == vec![4]).then_some(())
    });
    assert!(worker.terminate(Duration::from_secs(20)), "clean shutdown");
    let _ = reqwest::send("DELETE", &format!("{}/{index}", es_url()), None);
}

fn dead_letters(worker: &Worker, topic: &str, min: usize) -> Vec<(String, BTreeMap<String, String>)> {
    read_at_least(worker, topic, min).iter().map(|m| (text(m), header_texts(m))).collect()
}

/// A private osmem-server on its own port, killed and started again by the test.
struct Osmem {
    port: u16,
    child: Option<Child>,
}

impl Osmem {
    fn binary() -> PathBuf {
        let cache = std::env::var("AQUEDUCT_CACHE").unwrap_or_else(|_| "/var/cache/aqueduct".into());
        let python = format!("{cache}/venv/bin/python");
        let out = Command::new(&python)
            .args(["-c", "import osmem_server, os; print(os.path.dirname(osmem_server.__file__))"])
            .output()
            .unwrap_or_else(|e| panic!("{python}: {e}; run scripts/services.sh up elasticsearch"));
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin/osmem-server")
    }

    fn start(port: u16) -> Osmem {
        let child = Command::new(Self::binary())
            .args(["-addr", &format!("127.0.0.1:{port}"), "-no-stdin-watch"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start osmem-server");
        let osmem = Osmem { port, child: Some(child) };
        wait_for("osmem-server", Duration::from_secs(30), || {
            reqwest::blocking_get(&format!("{}/_cluster/health", osmem.url())).filter(|(c, _)| *c == 200).map(|_| ())
        });
        osmem
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Osmem {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The server dies mid-run and comes back empty (osmem keeps data in memory; a real cluster
/// would keep what it acknowledged). Proves: while it is down the bulks fail and are retried
/// with backoff, the task stays RUNNING and the group's committed offset does not move past a
/// record the server had not acknowledged; once it is back, every record at or after the
/// committed offset of that moment (all those produced during the outage included) is in the
/// index, and the committed offset reaches the end. Records acknowledged before the crash and
/// committed are gone with osmem's memory: that loss is the server's, not the sink's.
#[test]
fn the_server_restarted_mid_run_loses_nothing_unacknowledged() {
    let mut osmem = Osmem::start(free_port());
    let topic = unique("e2e-es-restart");
    let index = topic.to_lowercase();
    create_topic(&topic, 1);
    let batch = |from: usize, to: usize| -> Vec<(i32, String, Option<String>)> {
        (from..to).map(|i| (0, format!("k{i}"), Some(json!({"i": i}).to_string()))).collect()
    };
    let (n1, n2) = (2_000, 2_000);
    produce(&topic, &batch(0, n1));
    let dir = tempfile::tempdir().expect("tempdir");
    let name = unique("es-restart");
    let group = format!("connect-{name}");
    let connector = json!({"name": name, "config": sink_config(&topic, &osmem.url(), json!({
        "key.ignore": "true", "max.retries": "12", "retry.backoff.ms": "100", "batch.size": "200",
    }))});
    let worker = Worker::start(dir.path(), json!({}), &[connector]);
    worker.wait("the first records indexed and committed", Duration::from_secs(60), || {
        (count(&osmem.url(), &index) == n1 as u64 && committed(&group, &topic, 1) == vec![n1 as i64]).then_some(())
    });
    osmem.kill9();
    produce(&topic, &batch(n1, n1 + n2));
    std::thread::sleep(Duration::from_secs(4));
    let during = committed(&group, &topic, 1)[0];
    assert_eq!(during, n1 as i64, "nothing the server did not acknowledge is committed");
    worker.wait_state(&name, "RUNNING");
    assert!(worker.log().contains("bulk failed; retrying"), "bulks are retried while the server is down");
    let port = osmem.port;
    drop(osmem);
    let osmem = Osmem::start(port);
    let at_restart = committed(&group, &topic, 1)[0];
    worker.wait("every uncommitted record indexed and the offset at the end", Duration::from_secs(120), || {
        let ok = committed(&group, &topic, 1) == vec![(n1 + n2) as i64]
            && count(&osmem.url(), &index) >= (n1 + n2) as u64 - at_restart as u64;
        ok.then_some(())
    });
    let docs = documents(&osmem.url(), &index);
    let missing: Vec<i64> =
        (at_restart..(n1 + n2) as i64).filter(|o| !docs.contains_key(&format!("{topic}+0+{o}"))).collect();
    assert!(
        missing.is_empty(),
        "records at or after the committed offset {at_restart} missing: {:?}",
        &missing[..missing.len().min(10)]
    );
    worker.wait_state(&name, "RUNNING");
    eprintln!(
        "committed {during} during the outage, {at_restart} at the restart; {} documents after recovery",
        docs.len()
    );
    assert!(worker.terminate(Duration::from_secs(20)), "clean shutdown");
}
