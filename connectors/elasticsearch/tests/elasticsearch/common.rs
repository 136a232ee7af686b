//! Shared helpers: the server, unique index names, tasks started on a recording context
//! (`aqueduct_sdk::testing`), and a TCP relay to the server that can be cut (a real network
//! failure in front of the real server).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aqueduct_connector_elasticsearch::ElasticsearchSinkTask;
pub use aqueduct_sdk::testing::RecordingSinkContext;
use aqueduct_sdk::{Props, SinkRecord, SinkTask, TopicPartition, TopicPartitionOffsets, Value};
use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::Method;
use elasticsearch::Elasticsearch;
use serde_json::Value as Json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The server (`AQUEDUCT_TEST_ELASTICSEARCH`, default the osmem-server of `scripts/services.sh up elasticsearch`).
pub fn url() -> String {
    std::env::var("AQUEDUCT_TEST_ELASTICSEARCH").unwrap_or_else(|_| "http://127.0.0.1:9200".to_owned())
}

/// An index name unique to this run.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{prefix}-{}-{}-{}", std::process::id(), nanos % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

/// Properties from pairs.
pub fn props(pairs: &[(&str, &str)]) -> Props {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// A schemaless record.
pub fn record(topic: &str, partition: i32, offset: i64, key: Value, value: Json) -> SinkRecord {
    SinkRecord::new(topic, partition, offset, None, Value::from_json(value))
        .with_key(None, key)
        .with_timestamp(1_700_000_000_000 + offset)
}

/// A context assigned `assignment`, with a reporter that keeps reports (`errors.tolerance=all`).
pub fn context(assignment: &[TopicPartition]) -> Arc<RecordingSinkContext> {
    let context = RecordingSinkContext::tolerant();
    context.set_assignment(assignment.to_vec());
    Arc::new(context)
}

/// A started task writing to `url` with `pairs` (plus connection.url unless given).
pub async fn task(url: &str, pairs: &[(&str, &str)], context: &Arc<RecordingSinkContext>) -> ElasticsearchSinkTask {
    let mut p = props(pairs);
    p.entry("connection.url".into()).or_insert_with(|| url.to_owned());
    p.entry("name".into()).or_insert_with(|| "es-test".into());
    let mut t = ElasticsearchSinkTask::new();
    t.start(context.clone(), p).await.expect("start");
    t
}

/// The next offsets after `records`, per partition, as the runtime gives them to pre_commit.
pub fn next_offsets(records: &[SinkRecord]) -> TopicPartitionOffsets {
    let mut out = TopicPartitionOffsets::new();
    for r in records {
        let e = out.entry(r.topic_partition()).or_insert(0);
        *e = (*e).max(r.kafka_offset + 1);
    }
    out
}

/// Calls pre_commit until it reports `want` (or fails after `timeout`).
pub async fn wait_committable(
    task: &mut ElasticsearchSinkTask,
    given: &TopicPartitionOffsets,
    want: &TopicPartitionOffsets,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let got = task.pre_commit(given).await.expect("pre_commit");
        if &got == want {
            return;
        }
        assert!(Instant::now() < deadline, "committable {got:?}, wanted {want:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client for checking the server's state.
pub fn es() -> Elasticsearch {
    let transport = elasticsearch::http::transport::Transport::single_node(&url()).expect("transport");
    Elasticsearch::new(transport)
}

/// Sends a request; returns status and JSON body.
pub async fn call(method: Method, path: &str, body: Option<Json>) -> (u16, Json) {
    let body = body.map(|b| b.to_string().into_bytes());
    let response = es().send(method, path, HeaderMap::new(), None::<&()>, body, None).await.expect("request");
    let status = response.status_code().as_u16();
    let bytes = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Json::Null))
}

/// Every document of `index`: id -> source.
pub async fn documents(index: &str) -> BTreeMap<String, Json> {
    call(Method::Post, &format!("/{index}/_refresh"), None).await;
    let (status, body) = call(
        Method::Post,
        &format!("/{index}/_search"),
        Some(serde_json::json!({"size": 10000, "query": {"match_all": {}}})),
    )
    .await;
    if status == 404 {
        return BTreeMap::new();
    }
    assert_eq!(status, 200, "{body}");
    body["hits"]["hits"]
        .as_array()
        .map(|hits| {
            hits.iter().map(|h| (h["_id"].as_str().unwrap_or_default().to_owned(), h["_source"].clone())).collect()
        })
        .unwrap_or_default()
}

/// Deletes an index (ignoring a missing one).
pub async fn delete_index(index: &str) {
    call(Method::Delete, &format!("/{index}"), None).await;
}

/// A TCP relay to the server that can be cut and restored. It counts requests awaiting their
/// response (a request's first bytes until the response's first bytes) and can hold each
/// chunk a client sends on every other connection for a while (to let later bulks overtake).
pub struct Relay {
    pub url: String,
    up: Arc<AtomicBool>,
    /// Most requests awaiting a response at once.
    pub max_waiting: Arc<AtomicUsize>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

async fn pump_requests(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    awaiting: Arc<AtomicBool>,
    waiting: Arc<AtomicUsize>,
    max_waiting: Arc<AtomicUsize>,
    delay: Duration,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        if !awaiting.swap(true, Ordering::SeqCst) {
            let now = waiting.fetch_add(1, Ordering::SeqCst) + 1;
            max_waiting.fetch_max(now, Ordering::SeqCst);
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

async fn pump_responses(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    awaiting: Arc<AtomicBool>,
    waiting: Arc<AtomicUsize>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        if awaiting.swap(false, Ordering::SeqCst) {
            waiting.fetch_sub(1, Ordering::SeqCst);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

impl Relay {
    pub async fn start() -> Relay {
        Relay::with_delay(Duration::ZERO).await
    }

    /// A relay holding client chunks `delay` on every other connection.
    pub async fn with_delay(delay: Duration) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let target = url().trim_start_matches("http://").trim_end_matches('/').to_owned();
        let up = Arc::new(AtomicBool::new(true));
        let waiting = Arc::new(AtomicUsize::new(0));
        let max_waiting = Arc::new(AtomicUsize::new(0));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (u, w, m, c) = (up.clone(), waiting.clone(), max_waiting.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            let mut n = 0u32;
            while let Ok((inbound, _)) = listener.accept().await {
                if !u.load(Ordering::SeqCst) {
                    drop(inbound); // cut: the connection closes at once
                    continue;
                }
                n += 1;
                let this_delay = if n % 2 == 1 { delay } else { Duration::ZERO };
                let (target, w, m) = (target.clone(), w.clone(), m.clone());
                let handle = tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(&target).await else { return };
                    let (ci, co) = inbound.into_split();
                    let (si, so) = outbound.into_split();
                    let awaiting = Arc::new(AtomicBool::new(false));
                    let requests = pump_requests(ci, so, awaiting.clone(), w.clone(), m, this_delay);
                    let responses = pump_responses(si, co, awaiting.clone(), w.clone());
                    tokio::select! { _ = requests => {}, _ = responses => {} }
                    if awaiting.load(Ordering::SeqCst) {
                        w.fetch_sub(1, Ordering::SeqCst);
                    }
                });
                c.lock().expect("lock").push(handle);
            }
        });
        Relay { url: format!("http://{addr}"), up, max_waiting, conns, accept }
    }

    /// Cuts every connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().expect("lock").drain(..) {
            c.abort();
        }
    }

    /// Relays again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
