//! The task against the real server: upserts and deletes converge in order, malformed
//! documents, offsets only for acknowledged writes, retries, back-pressure and the in-flight
//! bound, versioned replays, mappings from schemas.

use std::collections::BTreeMap;
use std::time::Duration;

use aqueduct_sdk::{Schema, SchemaType, SinkTask, Struct, TopicPartition, TopicPartitionOffsets, Value};
use elasticsearch::http::Method;
use serde_json::{json, Value as Json};

use crate::common::*;

/// Per key: upserts merging fields and tombstones, across 3 partitions, in bulks of one record
/// with 5 in flight, every other connection held 30 ms so later bulks overtake earlier ones:
/// every document must end as the records say, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upserts_and_tombstones_converge_in_order() {
    let relay = Relay::with_delay(Duration::from_millis(30)).await;
    let topic = unique("es-upsert");
    let ctx = context(&[]);
    let mut task = task(
        &relay.url,
        &[
            ("write.method", "upsert"),
            ("behavior.on.null.values", "delete"),
            ("batch.size", "1"),
            ("max.in.flight.requests", "5"),
            ("linger.ms", "0"),
        ],
        &ctx,
    )
    .await;
    let mut expected: BTreeMap<String, serde_json::Map<String, Json>> = BTreeMap::new();
    let mut records = Vec::new();
    let mut offsets = [0i64; 3];
    for i in 0..600i64 {
        let key = format!("k{}", i % 4);
        let partition = (i % 4 % 3) as i32;
        let offset = offsets[partition as usize];
        offsets[partition as usize] += 1;
        if i % 7 == 3 {
            expected.remove(&key);
            records.push(record(&topic, partition, offset, key.into(), Json::Null));
        } else {
            let field = format!("f{}", (i / 4) % 3);
            expected.entry(key.clone()).or_default().insert(field.clone(), json!(i));
            records.push(record(&topic, partition, offset, key.into(), json!({ field: i })));
        }
    }
    let given = next_offsets(&records);
    for chunk in records.chunks(50) {
        task.put(chunk).await.expect("put");
    }
    wait_committable(&mut task, &given, &given, Duration::from_secs(60)).await;
    let docs = documents(&topic.to_lowercase()).await;
    let want: BTreeMap<String, Json> = expected.into_iter().map(|(k, v)| (k, Json::Object(v))).collect();
    assert_eq!(docs, want);
    task.stop().await.expect("stop");
    delete_index(&topic).await;
}

/// A document the index mapping refuses: with `warn` it goes to the reporter and the next one
/// is indexed; with `fail` the task fails and its offset is never committable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_documents_follow_the_behavior() {
    for behavior in ["warn", "fail"] {
        let index = unique("es-malformed");
        let (status, body) = call(
            Method::Put,
            &format!("/{index}"),
            Some(json!({"mappings": {"dynamic": "strict", "properties": {"n": {"type": "integer"}}}})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let tp = TopicPartition::new(index.clone(), 0);
        let ctx = context(std::slice::from_ref(&tp));
        let mut task =
            task(&url(), &[("behavior.on.malformed.documents", behavior), ("schema.ignore", "true")], &ctx).await;
        let records = vec![
            record(&index, 0, 0, "a".into(), json!({"n": 1})),
            record(&index, 0, 1, "bad".into(), json!({"n": "not a number"})),
            record(&index, 0, 2, "c".into(), json!({"n": 3})),
        ];
        let given = next_offsets(&records);
        task.put(&records).await.expect("put");
        if behavior == "warn" {
            wait_committable(&mut task, &given, &given, Duration::from_secs(30)).await;
            let docs = documents(&index).await;
            assert_eq!(docs.keys().cloned().collect::<Vec<_>>(), vec!["a", "c"]);
            let reports = ctx.reported();
            assert_eq!(reports.len(), 1, "{reports:?}");
            assert_eq!(reports[0].0.kafka_offset, 1);
            assert!(reports[0].1.to_string().contains("mapper_parsing_exception"), "{}", reports[0].1);
        } else {
            let mut failed = None;
            for _ in 0..300 {
                match task.pre_commit(&given).await {
                    Ok(c) => assert!(c[&tp] <= 1, "the refused record's offset is never committable: {c:?}"),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let e = failed.expect("the task fails");
            assert!(e.to_string().contains("mapper_parsing_exception"), "{e}");
            assert!(task.put(&[record(&index, 0, 3, "d".into(), json!({"n": 4}))]).await.is_err());
            assert_eq!(ctx.reported().len(), 1, "dead-lettered before failing");
        }
        task.stop().await.expect("stop");
        delete_index(&index).await;
    }
}

/// While the server cannot be reached, bulks are retried and nothing is committable; once it
/// is back, every record lands and everything is committable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_only_for_acknowledged_writes_across_an_outage() {
    let relay = Relay::start().await;
    let topic = unique("es-outage");
    let tp = TopicPartition::new(topic.clone(), 0);
    let ctx = context(std::slice::from_ref(&tp));
    let mut task = task(
        &relay.url,
        &[
            ("key.ignore", "true"),
            ("max.retries", "30"),
            ("retry.backoff.ms", "20"),
            ("batch.size", "10"),
            ("max.buffered.records", "25"),
        ],
        &ctx,
    )
    .await;
    let first: Vec<_> = (0..10).map(|i| record(&topic, 0, i, Value::Null, json!({"i": i}))).collect();
    task.put(&first).await.expect("put");
    wait_committable(&mut task, &next_offsets(&first), &next_offsets(&first), Duration::from_secs(30)).await;
    relay.cut();
    let second: Vec<_> = (10..40).map(|i| record(&topic, 0, i, Value::Null, json!({"i": i}))).collect();
    task.put(&second).await.expect("put while down");
    let given = next_offsets(&second);
    for _ in 0..20 {
        let c = task.pre_commit(&given).await.expect("pre_commit");
        assert_eq!(c[&tp], 10, "nothing after the outage began is committable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ctx.pauses().len(), 1, "30 buffered > max.buffered.records=25: paused");
    assert!(ctx.resumes().is_empty());
    relay.restore();
    wait_committable(&mut task, &given, &given, Duration::from_secs(60)).await;
    assert_eq!(ctx.resumes().len(), 1, "resumed once the buffer drained");
    assert_eq!(documents(&topic).await.len(), 40);
    task.stop().await.expect("stop");
    delete_index(&topic).await;
}

/// Retries run out: the task fails, and the failed records stay uncommitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_fail_the_task() {
    let relay = Relay::start().await;
    let topic = unique("es-retries");
    let ctx = context(&[]);
    let mut task =
        task(&relay.url, &[("key.ignore", "true"), ("max.retries", "2"), ("retry.backoff.ms", "10")], &ctx).await;
    task.put(&[record(&topic, 0, 0, Value::Null, json!({"i": 0}))]).await.expect("index created");
    relay.cut();
    let records = vec![record(&topic, 0, 1, Value::Null, json!({"i": 1}))];
    task.put(&records).await.expect("queued");
    let mut error = None;
    for _ in 0..200 {
        match task.pre_commit(&next_offsets(&records)).await {
            Ok(c) => assert!(c.values().all(|o| *o <= 1), "{c:?}"),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e = error.expect("the task fails");
    assert!(e.to_string().contains("max.retries=2"), "{e}");
    task.stop().await.expect("stop");
    relay.restore();
    delete_index(&topic).await;
}

/// No more than max.in.flight.requests bulks at once (connections through the relay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_bulks_are_bounded() {
    let relay = Relay::start().await;
    let topic = unique("es-inflight");
    let ctx = context(&[]);
    let mut task = task(
        &relay.url,
        &[("key.ignore", "true"), ("batch.size", "5"), ("max.in.flight.requests", "2"), ("linger.ms", "0")],
        &ctx,
    )
    .await;
    let records: Vec<_> = (0..2000).map(|i| record(&topic, 0, i, Value::Null, json!({"i": i}))).collect();
    let given = next_offsets(&records);
    task.put(&records).await.expect("put");
    wait_committable(&mut task, &given, &given, Duration::from_secs(120)).await;
    let max = relay.max_waiting.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=2).contains(&max), "{max} bulks awaiting a response at once");
    assert_eq!(documents(&topic).await.len(), 2000);
    task.stop().await.expect("stop");
    delete_index(&topic).await;
}

/// Keyed inserts carry the offset as external version: a replay of older records (after a
/// crash) leaves the newer document, and its conflicts count as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioned_replays_keep_the_newest_document() {
    let topic = unique("es-versions");
    let ctx = context(&[]);
    let mut task = task(&url(), &[("behavior.on.null.values", "delete")], &ctx).await;
    let records = vec![
        record(&topic, 0, 0, Value::Int64(1), json!({"v": "old"})),
        record(&topic, 0, 1, Value::Int64(1), json!({"v": "new"})),
        record(&topic, 0, 2, Value::Int64(2), json!({"v": "x"})),
        record(&topic, 0, 3, Value::Int64(2), Json::Null),
        record(&topic, 0, 4, Value::Int64(3), Json::Null),
    ];
    let given = next_offsets(&records);
    task.put(&records).await.expect("put");
    wait_committable(&mut task, &given, &given, Duration::from_secs(30)).await;
    task.put(&records[..3]).await.expect("replay");
    task.flush(&given).await.expect("replay written");
    let docs = documents(&topic).await;
    assert_eq!(docs, BTreeMap::from([("1".to_owned(), json!({"v": "new"}))]), "doc 2 stays deleted, doc 1 new");
    assert!(ctx.reported().is_empty());
    task.stop().await.expect("stop");
    delete_index(&topic).await;
}

/// With schemas (schema.ignore=false) the index is created with Confluent's mapping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indices_get_mappings_from_schemas() {
    let topic = unique("ES-Schema");
    let schema = Schema::struct_builder()
        .field("id", Schema::int64())
        .field("name", Schema::optional(SchemaType::String))
        .field("at", aqueduct_sdk::logical::timestamp().build())
        .build();
    let value =
        Struct::new(schema.clone()).put("id", 7i64).and_then(|s| s.put("at", 1_700_000_000_000i64)).expect("struct");
    let mut r = record(&topic, 0, 0, "k".into(), Json::Null);
    r.value_schema = Some(schema);
    r.value = Value::Struct(value);
    let ctx = context(&[]);
    let mut task = task(&url(), &[], &ctx).await;
    let given = TopicPartitionOffsets::from([(r.topic_partition(), 1)]);
    task.put(&[r]).await.expect("put");
    wait_committable(&mut task, &given, &given, Duration::from_secs(30)).await;
    let index = topic.to_lowercase();
    let (_, mapping) = call(Method::Get, &format!("/{index}/_mapping"), None).await;
    let props = &mapping[&index]["mappings"]["properties"];
    assert_eq!(props["id"]["type"], "long", "{mapping}");
    assert_eq!(props["name"]["type"], "text");
    assert_eq!(props["at"]["type"], "date");
    assert_eq!(documents(&index).await["k"], json!({"id": 7, "name": null, "at": 1_700_000_000_000i64}));
    task.stop().await.expect("stop");
    delete_index(&index).await;
}

/// Records that cannot be converted: reported, then dropped with drop.invalid.message, or the
/// put fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_records_are_reported_then_dropped_or_fatal() {
    let topic = unique("es-invalid");
    let ctx = context(&[]);
    let mut task = task(&url(), &[("drop.invalid.message", "true")], &ctx).await;
    let records = vec![
        record(&topic, 0, 0, Value::Null, json!({"a": 1})), // no key for the id
        record(&topic, 0, 1, "k".into(), json!({"a": 2})),
    ];
    let given = next_offsets(&records);
    task.put(&records).await.expect("dropped");
    wait_committable(&mut task, &given, &given, Duration::from_secs(30)).await;
    assert_eq!(ctx.reported().len(), 1);
    task.stop().await.expect("stop");
    let mut strict = crate::common::task(&url(), &[], &ctx).await;
    assert!(strict.put(&records).await.is_err(), "drop.invalid.message=false fails");
    strict.stop().await.expect("stop");
    delete_index(&topic).await;
}

/// Closing a partition drops its queued writes at once (they are consumed again by the next
/// owner) and waits only for those in flight; other partitions' writes go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_drops_queued_writes_and_keeps_the_rest() {
    let topic = unique("es-close");
    let (a, b) = (TopicPartition::new(topic.clone(), 0), TopicPartition::new(topic.clone(), 1));
    let ctx = context(&[a.clone(), b.clone()]);
    let mut task =
        task(&url(), &[("key.ignore", "true"), ("linger.ms", "3000"), ("flush.timeout.ms", "60000")], &ctx).await;
    let records: Vec<_> =
        (0..10).map(|i| record(&topic, (i % 2) as i32, i / 2, Value::Null, json!({"i": i}))).collect();
    let given = next_offsets(&records);
    task.put(&records).await.expect("put");
    let started = std::time::Instant::now();
    task.close(std::slice::from_ref(&a)).await.expect("close");
    assert!(started.elapsed() < Duration::from_secs(2), "close waited {:?} for queued writes", started.elapsed());
    let only_b = TopicPartitionOffsets::from([(b.clone(), given[&b])]);
    wait_committable(&mut task, &only_b, &only_b, Duration::from_secs(30)).await;
    let docs = documents(&topic).await;
    assert_eq!(docs.len(), 5, "only partition 1's records were written: {docs:?}");
    assert!(docs.keys().all(|id| id.contains("+1+")), "{docs:?}");
    task.stop().await.expect("stop");
    delete_index(&topic).await;
}

/// Data streams: the task creates `<type>-<dataset>-<topic>` through `PUT _data_stream`.
/// osmem-server has no data streams and says so (after an index template like Elasticsearch's
/// built-in `logs-*-*` one is put); the task must fail with that answer rather than write to a
/// plain index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_streams_are_created_through_the_data_stream_api() {
    let topic = unique("es-stream");
    let template = format!("/_index_template/{topic}");
    let (status, body) = call(
        Method::Put,
        &template,
        Some(json!({"index_patterns": [format!("logs-app-{topic}*")], "data_stream": {}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let ctx = context(&[]);
    let mut task =
        task(&url(), &[("data.stream.type", "logs"), ("data.stream.dataset", "app"), ("max.retries", "0")], &ctx).await;
    let err =
        task.put(&[record(&topic, 0, 0, "k".into(), json!({"m": 1}))]).await.expect_err("osmem has no data streams");
    let stream = format!("logs-app-{topic}");
    assert!(err.to_string().contains(&format!("creating data stream {stream}")), "{err}");
    assert!(err.to_string().contains("data streams are not supported"), "{err}");
    let (status, _) = call(Method::Head, &format!("/{stream}"), None).await;
    assert_eq!(status, 404, "no plain index was created in its place");
    task.stop().await.expect("stop");
    call(Method::Delete, &template, None).await;
}
