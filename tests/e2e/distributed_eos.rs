//! Exactly-once sources in a group of workers: the previous generation of a reconfigured
//! source's tasks is fenced out before the new one starts (KIP-618's zombie fencing, with
//! Kafka Connect's `tasks-fencing-<name>` records), and the internal fencing request between
//! workers is signed with the session key the leader keeps in the config topic (KIP-507).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message};
use serde_json::{json, Value};

use crate::common::{free_port, kafka, unique, wait_for, Worker};
use crate::distributed::{group_keys, send_settled, tail, task_workers};
use crate::topics::read_partition;

/// The latest value of each key of the config topic.
fn config_records(topic: &str) -> BTreeMap<String, Value> {
    read_partition(topic, false)
        .iter()
        .map(|m| {
            let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
            (key, m.payload().and_then(|v| serde_json::from_slice(v).ok()).unwrap_or(Value::Null))
        })
        .collect()
}

/// `X-Connect-Authorization` for `body` under the group's current session key.
fn signature(session_key: &Value, body: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(session_key["key"].as_str().expect("key")).expect("base64 key");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("hmac key");
    mac.update(body);
    b64.encode(mac.finalize().into_bytes())
}

fn fence(url: &str, name: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let mut request =
            ::reqwest::Client::new().put(format!("{url}/connectors/{name}/fence")).timeout(Duration::from_secs(60));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let answer = request.send().await.expect("fence request");
        let code = answer.status().as_u16();
        (code, answer.json().await.unwrap_or(Value::Null))
    })
}

#[test]
fn a_reconfigured_exactly_once_source_fences_its_previous_task_generation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let group = unique("e2e-deos");
    let topic = unique("e2e-deos-data");
    let workers: Vec<Worker> = (0..2)
        .map(|i| {
            let mut keys = group_keys(&group, free_port());
            keys["exactly.once.source.support"] = json!("enabled");
            Worker::spawn_distributed(&dir.path().join(format!("w{i}")), keys)
        })
        .collect();
    let log = || workers.iter().map(tail).collect::<Vec<_>>().join("\n---\n");
    let name = "eos-source";
    let mut config = json!({
        "connector.class": "DatagenSource", "kafka.topic": topic, "iterations": 1_000_000, "max.interval": 20,
        "tasks.max": 3,
    });
    let (code, body) = send_settled("PUT", &format!("{}/connectors/{name}/config", workers[1].url), Some(&config));
    assert_eq!(code, 201, "{body}");
    let ids =
        wait_for("3 exactly-once tasks RUNNING", Duration::from_secs(90), || task_workers(&workers[0].url, name, 3));
    println!("tasks run on {ids:?}");
    let records = config_records(&format!("{group}-configs"));
    assert_eq!(records.get(&format!("tasks-fencing-{name}")), Some(&json!({"task-count": 3})), "{records:?}");
    let session_key = records.get("session-key").cloned().unwrap_or(Value::Null);
    assert_eq!(session_key["algorithm"], "HmacSHA256", "the leader wrote a session key: {records:?}");
    assert!(session_key["creation-timestamp"].as_i64().is_some(), "{session_key}");

    // The internal fencing request is refused unsigned (400) or signed with another key (403),
    // through any worker; signed with the group's key it is done (nothing pending: 204).
    for w in &workers {
        let (code, body) = fence(&w.url, name, &[]);
        assert_eq!(code, 400, "unsigned fence request on {}: {body}", w.url);
        let forged = [("X-Connect-Authorization", "AAAA"), ("X-Connect-Request-Signature-Algorithm", "HmacSHA256")];
        assert_eq!(fence(&w.url, name, &forged).0, 403, "forged signature on {}", w.url);
        let signed = signature(&session_key, b"");
        let headers =
            [("X-Connect-Authorization", signed.as_str()), ("X-Connect-Request-Signature-Algorithm", "HmacSHA256")];
        let (code, body) = fence(&w.url, name, &headers);
        assert_eq!(code, 204, "signed fence request on {}: {body}\n{}", w.url, log());
    }

    // A zombie of task 2 (a copy cut off from the group that still writes): a producer with
    // its transactional.id, in an open transaction.
    let zombie: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("transactional.id", format!("{group}-{name}-2"))
        .create()
        .expect("zombie producer");
    zombie.init_transactions(Duration::from_secs(30)).expect("zombie init_transactions");
    zombie.begin_transaction().expect("zombie begin");
    zombie.send(BaseRecord::to(&topic).key("zombie").payload("{}")).map_err(|(e, _)| e).expect("zombie send");
    zombie.flush(Duration::from_secs(10)).expect("zombie flush");

    // Down to one task: the leader fences tasks 0..3 of the old generation before task 0 starts.
    config["tasks.max"] = json!(1);
    let (code, body) = send_settled("PUT", &format!("{}/connectors/{name}/config", workers[0].url), Some(&config));
    assert_eq!(code, 200, "{body}");
    wait_for("1 task RUNNING after the reconfiguration", Duration::from_secs(90), || {
        task_workers(&workers[1].url, name, 1)
    });
    wait_for("the new task count record", Duration::from_secs(30), || {
        let records = config_records(&format!("{group}-configs"));
        (records.get(&format!("tasks-fencing-{name}")) == Some(&json!({"task-count": 1}))).then_some(())
    });
    let committed = zombie.commit_transaction(Duration::from_secs(30));
    assert!(
        committed.is_err(),
        "the zombie of task 2 committed after the reconfiguration: it was not fenced\n{}",
        log()
    );
    println!("the zombie was fenced: {committed:?}");
    for w in &workers {
        wait_for(&format!("task 0 RUNNING as {} sees it", w.url), Duration::from_secs(60), || {
            task_workers(&w.url, name, 1)
        });
    }
}
