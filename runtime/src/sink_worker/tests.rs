//! The sink loop against librdkafka's mock cluster (no broker process): commits, redelivery,
//! pauses and lost partitions.

use std::sync::atomic::{AtomicI64, Ordering};

use aqueduct_sdk::{async_trait, Props};
use rdkafka::consumer::Consumer;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;

use super::*;
use crate::connector_config::{sink_def, ConnectorConfig};
use crate::converter::{SimpleHeaderConverter, StringConverter};
use crate::kafka::KafkaClients;
use crate::status::StatusCell;
use crate::task_context::ActiveTopics;
use crate::worker_config::WorkerConfig;

fn produce(bootstrap: &str, topic: &str, n: usize) {
    let producer: ThreadedProducer<DefaultProducerContext> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("producer");
    for i in 0..n {
        let payload = format!("r{i}");
        producer.send(BaseRecord::<(), _>::to(topic).payload(&payload).partition(0)).expect("queued");
    }
    producer.flush(Duration::from_secs(10)).expect("flushed");
}

fn worker_config(bootstrap: &str) -> WorkerConfig {
    WorkerConfig::from_props(Props::from([("bootstrap.servers".to_owned(), bootstrap.to_owned())]))
        .expect("worker config")
}

/// A task setup for connector `name` reading topic `t`, with extra connector keys.
fn setup(bootstrap: &str, name: &str, extra: &[(&str, &str)], initial: Target) -> (TaskSetup, watch::Sender<Target>) {
    let mut props: Props =
        [("name", name), ("connector.class", "X"), ("topics", "t")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
    props.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let (control, control_rx) = watch::channel(initial);
    let setup = TaskSetup {
        connector: ConnectorConfig::parse(&sink_def(), &props).expect("valid"),
        task_id: 0,
        worker_id: "127.0.0.1:8083".into(),
        task_props: props,
        key_converter: Arc::new(StringConverter),
        value_converter: Arc::new(StringConverter),
        header_converter: Arc::new(SimpleHeaderConverter),
        clients: KafkaClients::new(&worker_config(bootstrap)),
        status: StatusCell::new(State::Unassigned),
        control: control_rx,
        topics: ActiveTopics::default(),
        flush_interval: Duration::from_millis(200),
        flush_timeout: Duration::from_secs(1),
        transforms: Default::default(),
    };
    (setup, control)
}

/// Consumer settings that make the group notice a stalled member within seconds.
const SHORT_POLL_INTERVAL: [(&str, &str); 3] = [
    ("consumer.override.session.timeout.ms", "3000"),
    ("consumer.override.heartbeat.interval.ms", "500"),
    ("consumer.override.max.poll.interval.ms", "3000"),
];

fn committed(bootstrap: &str, group: &str) -> Option<Offset> {
    let probe: BaseConsumer =
        KafkaClients::new(&worker_config(bootstrap)).consumer_config(group, &Props::new()).create().expect("probe");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("t", 0);
    let committed = probe.committed_offsets(tpl, Duration::from_secs(10)).expect("committed offsets");
    committed.find_partition("t", 0).map(|e| e.offset())
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Keeps what it is given; reports durable only offsets below `durable_limit`.
struct HalfDurable {
    put: Arc<AtomicI64>,
    durable_limit: i64,
}

#[async_trait]
impl SinkTask for HalfDurable {
    async fn start(&mut self, _: Arc<dyn SinkTaskContext>, _: Props) -> Result<()> {
        Ok(())
    }
    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        self.put.fetch_add(records.len() as i64, Ordering::SeqCst);
        Ok(())
    }
    async fn pre_commit(&mut self, offsets: &TopicPartitionOffsets) -> Result<TopicPartitionOffsets> {
        Ok(offsets.iter().map(|(tp, o)| (tp.clone(), (*o).min(self.durable_limit))).collect())
    }
}

#[test]
fn commits_only_what_pre_commit_reports_durable() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, "t", 100);
    let (setup, control) = setup(&bootstrap, "half", &[], Target::Running);
    let put = Arc::new(AtomicI64::new(0));
    let task = Box::new(HalfDurable { put: put.clone(), durable_limit: 40 });
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let handle = rt.handle().clone();
    let thread = std::thread::spawn(move || run(setup, task, handle));

    wait_until("records delivered to put", Duration::from_secs(60), || put.load(Ordering::SeqCst) >= 100);
    std::thread::sleep(Duration::from_millis(600)); // a few commit intervals
    control.send(Target::Shutdown).expect("task listening");
    thread.join().expect("sink thread");
    assert_eq!(
        committed(&bootstrap, "connect-half"),
        Some(Offset::Offset(40)),
        "100 records put, 40 durable: commit must stop at 40"
    );
}

/// What a [`Scripted`] task saw, in order: `open`, `close`, `put <first offset>..<next>`
/// (accepted), `put failed`, `pre_commit`.
#[derive(Default)]
struct Seen {
    events: Vec<String>,
    /// Offsets of records in accepted puts.
    accepted: Vec<i64>,
}

/// A sink task whose `put` fails retriably until `fail_until`, or blocks once for `stall`.
struct Scripted {
    seen: Arc<Mutex<Seen>>,
    fail_until: Instant,
    stall: Option<Duration>,
}

impl Scripted {
    fn new(fail_for: Duration, stall: Option<Duration>) -> (Self, Arc<Mutex<Seen>>) {
        let seen = Arc::new(Mutex::new(Seen::default()));
        (Scripted { seen: seen.clone(), fail_until: Instant::now() + fail_for, stall }, seen)
    }
    fn log(&self, event: String) {
        self.seen.lock().expect("seen").events.push(event);
    }
}

#[async_trait]
impl SinkTask for Scripted {
    async fn start(&mut self, _: Arc<dyn SinkTaskContext>, _: Props) -> Result<()> {
        Ok(())
    }
    async fn open(&mut self, _: &[TopicPartition]) -> Result<()> {
        self.log("open".into());
        Ok(())
    }
    async fn close(&mut self, _: &[TopicPartition]) -> Result<()> {
        self.log("close".into());
        Ok(())
    }
    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        if Instant::now() < self.fail_until {
            self.log("put failed".into());
            return Err(ConnectError::retriable("the sink is down"));
        }
        if let Some(stall) = self.stall.take() {
            std::thread::sleep(stall); // longer than max.poll.interval.ms
        }
        let (first, last) = (records[0].kafka_offset, records[records.len() - 1].kafka_offset);
        let mut seen = self.seen.lock().expect("seen");
        seen.events.push(format!("put {first}..{}", last + 1));
        seen.accepted.extend(records.iter().map(|r| r.kafka_offset));
        Ok(())
    }
    async fn pre_commit(&mut self, offsets: &TopicPartitionOffsets) -> Result<TopicPartitionOffsets> {
        self.log("pre_commit".into());
        Ok(offsets.clone())
    }
}

fn start(setup: TaskSetup, task: Scripted) -> (tokio::runtime::Runtime, std::thread::JoinHandle<()>) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let handle = rt.handle().clone();
    let thread = std::thread::spawn(move || run(setup, Box::new(task), handle));
    (rt, thread)
}

fn events(seen: &Mutex<Seen>) -> Vec<String> {
    seen.lock().expect("seen").events.clone()
}

#[test]
fn retriable_put_failures_keep_the_group_and_redeliver_the_batch() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, "t", 100);
    let mut extra = SHORT_POLL_INTERVAL.to_vec();
    extra.push(("errors.retry.delay.max.ms", "300"));
    let (setup, control) = setup(&bootstrap, "retry", &extra, Target::Running);
    // Failing for longer than max.poll.interval.ms: a loop that stops polling leaves the group.
    let (task, seen) = Scripted::new(Duration::from_secs(20), None);
    let (_rt, thread) = start(setup, task);

    wait_until("all 100 records accepted", Duration::from_secs(90), || {
        seen.lock().expect("seen").accepted.len() >= 100
    });
    std::thread::sleep(Duration::from_millis(600));
    control.send(Target::Shutdown).expect("task listening");
    thread.join().expect("sink thread");

    let seen = seen.lock().expect("seen");
    let before_stop: Vec<&String> = seen.events.iter().take(seen.events.len() - 1).collect();
    assert!(seen.events.iter().filter(|e| *e == "put failed").count() > 3, "{:?}", seen.events);
    assert_eq!(seen.events.iter().filter(|e| *e == "open").count(), 1, "group membership lost: {:?}", seen.events);
    assert!(!before_stop.iter().any(|e| *e == "close"), "partitions taken away during retries: {:?}", seen.events);
    let mut accepted = seen.accepted.clone();
    accepted.dedup();
    assert_eq!(accepted, (0..100).collect::<Vec<_>>(), "each record accepted once, in order");
    assert_eq!(committed(&bootstrap, "connect-retry"), Some(Offset::Offset(100)));
}

#[test]
fn retries_end_after_errors_retry_timeout() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, "t", 10);
    let extra = [("errors.retry.timeout", "1500"), ("errors.retry.delay.max.ms", "200")];
    let (setup, _control) = setup(&bootstrap, "timeout", &extra, Target::Running);
    let status = setup.status.clone();
    let (task, seen) = Scripted::new(Duration::from_secs(3600), None);
    let (_rt, thread) = start(setup, task);

    wait_until("the task to fail", Duration::from_secs(60), || status.get().state == State::Failed);
    thread.join().expect("sink thread");
    let trace = status.get().trace.unwrap_or_default();
    assert!(trace.contains("errors.retry.timeout=1500"), "{trace}");
    assert!(events(&seen).iter().any(|e| e == "put failed"));
}

#[test]
fn lost_partitions_are_closed_without_a_commit() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, "t", 20);
    let (mut setup, control) = setup(&bootstrap, "lost", &SHORT_POLL_INTERVAL, Target::Running);
    setup.flush_interval = Duration::from_secs(3600); // no periodic commit in between
                                                      // The first put blocks past max.poll.interval.ms: the consumer is thrown out of the group.
    let (task, seen) = Scripted::new(Duration::ZERO, Some(Duration::from_secs(6)));
    let (_rt, thread) = start(setup, task);

    wait_until("the partitions assigned again", Duration::from_secs(90), || {
        events(&seen).iter().filter(|e| *e == "open").count() >= 2
    });
    wait_until("the records redelivered", Duration::from_secs(30), || {
        events(&seen).iter().filter(|e| e.starts_with("put 0..")).count() >= 2
    });
    control.send(Target::Shutdown).expect("task listening");
    thread.join().expect("sink thread");
    let events = events(&seen);
    let close = events.iter().position(|e| e == "close").expect("lost partitions closed");
    assert_eq!(
        events[..close],
        ["open".to_owned(), "put 0..20".to_owned()],
        "no pre_commit before closing lost partitions"
    );
}

#[test]
fn a_task_started_paused_holds_its_partitions() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, "t", 10);
    let (setup, control) = setup(&bootstrap, "paused", &[], Target::Paused);
    let status = setup.status.clone();
    let (task, seen) = Scripted::new(Duration::ZERO, None);
    let (_rt, thread) = start(setup, task);

    wait_until("the partitions assigned", Duration::from_secs(60), || events(&seen).contains(&"open".to_owned()));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(events(&seen), ["open"], "a PAUSED task must not put");
    assert_eq!(status.get().state, State::Paused);

    control.send(Target::Running).expect("task listening");
    wait_until("records after resume", Duration::from_secs(30), || seen.lock().expect("seen").accepted.len() >= 10);
    assert_eq!(status.get().state, State::Running);
    control.send(Target::Shutdown).expect("task listening");
    thread.join().expect("sink thread");
}

#[test]
fn a_dead_letter_topic_that_cannot_be_created_yet_is_retried() {
    // The mock cluster does not create topics: every attempt fails, as with a broker that is
    // still starting. The task must keep trying (and answer shutdown), not fail.
    let cluster = MockCluster::new(1).expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, "t", 10);
    let extra = [
        ("errors.tolerance", "all"),
        ("errors.deadletterqueue.topic.name", "dlq"),
        ("errors.retry.delay.max.ms", "200"),
    ];
    let (mut setup, control) = setup(&bootstrap, "dlq", &extra, Target::Running);
    setup.value_converter = Arc::from(crate::converter::build("JsonConverter", &Props::new()).expect("converter"));
    let status = setup.status.clone();
    let (task, _seen) = Scripted::new(Duration::ZERO, None);
    let (_rt, thread) = start(setup, task);

    std::thread::sleep(Duration::from_secs(4));
    assert_ne!(status.get().state, State::Failed, "{:?}", status.get().trace);
    control.send(Target::Shutdown).expect("task listening");
    thread.join().expect("sink thread");
    assert_ne!(status.get().state, State::Failed, "{:?}", status.get().trace);
}

#[test]
fn headers_are_converted_by_the_header_converter_and_a_failure_names_its_stage() {
    use crate::embedded::{EmbeddedRecord, Payload};
    use aqueduct_sdk::{SchemaType, Value};
    let record = |headers: Vec<(&str, Option<&[u8]>)>| EmbeddedRecord {
        topic: "t".into(),
        partition: 0,
        offset: 7,
        timestamp: 1,
        payload: Payload::Bytes {
            key: None,
            value: Some(b"v".to_vec()),
            headers: headers.into_iter().map(|(k, v)| (k.to_owned(), v.map(<[u8]>::to_vec))).collect(),
        },
    };
    let (setup, _control) = setup("127.0.0.1:9", "headers", &[], Target::Running);
    let message = record(vec![("n", Some(b"5")), ("flag", Some(b"true")), ("text", Some(b"a b")), ("none", None)]);
    let converted = incoming::convert(&setup, &message).map_err(|(_, e)| e).expect("converted");
    let typed: Vec<(&str, Option<SchemaType>, &Value)> = converted
        .headers
        .iter()
        .map(|h| (h.key.as_str(), h.schema.as_ref().map(|s| s.schema_type), &h.value))
        .collect();
    assert_eq!(
        typed,
        [
            ("n", Some(SchemaType::Int8), &Value::Int8(5)),
            ("flag", Some(SchemaType::Boolean), &Value::Boolean(true)),
            ("text", Some(SchemaType::String), &Value::from("a b")),
            ("none", None, &Value::Null),
        ]
    );
    // The JSON converter as header converter: a header that is not its JSON fails the
    // HEADER_CONVERTER stage, naming the header.
    let mut setup = setup;
    setup.header_converter = Arc::new(crate::converter::JsonConverter::new(false));
    let (stage, error) = incoming::convert(&setup, &record(vec![("bad", Some(b"{not json"))])).expect_err("refused");
    assert_eq!(stage, Stage::HeaderConverter);
    assert!(error.to_string().starts_with("header bad: "), "{error}");
}
