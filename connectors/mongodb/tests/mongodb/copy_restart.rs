//! Restarts around `startup.mode=copy_existing`: a finished copy is not repeated, and an
//! interrupted one streams from the resume point taken before the first copy.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::{OffsetReader, SourceRecord, SourceTask};
use mongodb::bson::{doc, Document};

use crate::common::*;

fn event(record: &SourceRecord) -> serde_json::Value {
    record.value.as_str().and_then(|v| serde_json::from_str(v).ok()).unwrap_or_default()
}

fn is_copy(record: &SourceRecord) -> bool {
    event(record)["_id"]["copyingData"] == true
}

/// The `_id`s of the delete events among `records`.
fn deleted(records: &[SourceRecord]) -> BTreeSet<i64> {
    records
        .iter()
        .filter(|r| event(r)["operationType"] == "delete")
        .filter_map(|r| event(r)["documentKey"]["_id"].as_i64())
        .collect()
}

/// The task configuration of a copy of `db.c`.
async fn copy_config(db: &str) -> aqueduct_sdk::Props {
    let connector = props(&[
        ("connection.uri", &uri()),
        ("database", db),
        ("collection", "c"),
        ("startup.mode", "copy_existing"),
        ("output.json.formatter", "relaxed"),
        ("startup.mode.copy.existing.queue.size", "8"),
        ("poll.max.batch.size", "10"),
        ("poll.await.time.ms", "200"),
    ]);
    task_configs(connector, 1).await.expect("configs").remove(0)
}

#[tokio::test]
async fn a_finished_copy_is_not_repeated_and_the_deletes_after_it_arrive() {
    let client = client().await;
    let db = unique("copied");
    let coll = client.database(&db).collection::<Document>("c");
    coll.insert_many((0..50).map(|i| doc! {"_id": i, "v": i})).await.expect("insert");
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = source_task(copy_config(&db).await, offsets.clone()).await.expect("start");
    let copied = poll_n(&mut task, 50, Duration::from_secs(30)).await;
    assert!(copied.iter().all(is_copy), "the copy");
    acknowledge(&mut task, &offsets, &copied).await;
    // Deletes just after the copy; the task dies (kill -9) before their offsets are stored.
    coll.delete_many(doc! {"_id": {"$lt": 10}}).await.expect("delete");
    tokio::time::sleep(Duration::from_millis(500)).await;
    task.stop().await.expect("stop");

    let mut task = source_task(copy_config(&db).await, offsets.clone()).await.expect("restart");
    let (records, _) = poll_until(&mut task, Duration::from_secs(30), |r| r.len() >= 10).await;
    let copies = records.iter().filter(|r| is_copy(r)).count();
    assert_eq!(copies, 0, "no copy again after a finished one: {} records", records.len());
    assert_eq!(deleted(&records), (0..10).collect(), "the deletes made after the copy");
    let stored = offsets.offset(&copied[0].source_partition).expect("stored offset");
    assert!(!stored.contains_key("copy"), "the offset of the copy's last record marks it finished: {stored:?}");
    task.stop().await.expect("stop");
}

#[tokio::test]
async fn an_interrupted_copy_copies_again_then_streams_from_the_first_resume_point() {
    let client = client().await;
    let db = unique("halfcopied");
    let coll = client.database(&db).collection::<Document>("c");
    coll.insert_many((0..300).map(|i| doc! {"_id": i, "v": i})).await.expect("insert");
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = source_task(copy_config(&db).await, offsets.clone()).await.expect("start");
    let first = poll_n(&mut task, 20, Duration::from_secs(30)).await;
    assert!(first.iter().all(is_copy), "copying");
    acknowledge(&mut task, &offsets, &first).await;
    coll.delete_many(doc! {"_id": {"$gte": 5, "$lt": 15}}).await.expect("delete during the copy");
    task.stop().await.expect("stop mid-copy");

    let mut task = source_task(copy_config(&db).await, offsets.clone()).await.expect("restart");
    let expected: BTreeSet<i64> = (5..15).collect();
    let (records, _) = poll_until(&mut task, Duration::from_secs(60), |r| deleted(r) == expected).await;
    let copies = records.iter().filter(|r| is_copy(r)).count();
    assert_eq!(copies, 290, "copied again from the start, as the MongoDB connector does");
    acknowledge(&mut task, &offsets, &records).await;
    task.stop().await.expect("stop");
}

#[tokio::test]
async fn a_copy_killed_before_any_copied_offset_was_stored_still_streams_the_deletes_made_since() {
    let client = client().await;
    let db = unique("unstoredcopy");
    let coll = client.database(&db).collection::<Document>("c");
    coll.insert_many((0..300).map(|i| doc! {"_id": i, "v": i})).await.expect("insert");
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = source_task(copy_config(&db).await, offsets.clone()).await.expect("start");
    // A sink may have written these already; none of their offsets is stored (kill -9).
    let first = poll_n(&mut task, 20, Duration::from_secs(30)).await;
    assert!(first.iter().all(is_copy), "copying");
    coll.delete_many(doc! {"_id": {"$lt": 10}}).await.expect("delete during the copy");
    task.stop().await.expect("stop mid-copy");
    let stored = offsets.offset(&first[0].source_partition);
    assert!(stored.as_ref().is_some_and(|s| s.contains_key("copy")), "the copy's resume point is stored: {stored:?}");

    // The next attempt copies again and streams from the first attempt's resume point, so the
    // rows written for documents deleted in between are deleted too.
    let mut task = source_task(copy_config(&db).await, offsets.clone()).await.expect("restart");
    let expected: BTreeSet<i64> = (0..10).collect();
    let (records, _) = poll_until(&mut task, Duration::from_secs(60), |r| deleted(r) == expected).await;
    assert_eq!(records.iter().filter(|r| is_copy(r)).count(), 290, "copied again");
    task.stop().await.expect("stop");
}
