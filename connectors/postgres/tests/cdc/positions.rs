//! Where a restarted task resumes: a stored offset the slot has moved past (changes in between
//! are gone) fails the task unless told otherwise, and an interrupted snapshot resumes after the
//! tables it finished, whatever their names.

use super::*;

/// Runs a task until the slot confirmed the offset of one acknowledged change, then stops it.
async fn store_an_offset(f: &Fixture, props: &Props, offsets: &Arc<MemoryOffsets>, t: &str) {
    let mut task = start(props.clone(), offsets).await.expect("start");
    let mut records = Vec::new();
    poll_once(&mut task, &mut records).await;
    f.sql(&format!("INSERT INTO {t} VALUES (1)")).await;
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| !ids(rs).is_empty()).await;
    acknowledge(&mut task, offsets, &records).await;
    let stored = records.last().and_then(|r| r.source_offset["lsn_proc"].as_u64()).expect("lsn_proc");
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.confirmed_flush().await != Some(stored) {
        records.extend(task.poll().await.expect("poll"));
        assert!(Instant::now() < deadline, "the slot did not confirm {stored}");
    }
    task.stop().await.expect("stop");
}

#[tokio::test]
async fn a_stored_offset_behind_the_slot_fails_the_task_unless_overridden() {
    let f = Fixture::new("behind").await;
    let t = format!("{}.t", f.name);
    f.sql(&format!("CREATE TABLE {t} (id int PRIMARY KEY)")).await;
    let offsets = Arc::new(MemoryOffsets::default());
    let props = f.props(&[("snapshot.mode", "never")]);
    store_an_offset(&f, &props, &offsets, &t).await;
    // While the connector is down, changes happen and someone moves the slot past them.
    f.sql(&format!("INSERT INTO {t} VALUES (2), (3)")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.db.execute("SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())", &[&f.name]).await.is_err() {
        assert!(Instant::now() < deadline, "the slot stays active");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    f.sql(&format!("INSERT INTO {t} VALUES (4)")).await;

    let err = start(props.clone(), &offsets).await.err().expect("a stored offset behind the slot fails the task");
    assert!(!err.is_retriable(), "{err:?}");
    assert!(err.to_string().contains("stale.offset.handling.mode"), "names the override: {err}");
    assert!(err.to_string().contains(&f.name), "names the slot: {err}");

    // The override resumes at the slot's position: the changes in between are lost, as warned.
    let mut warned = props.clone();
    warned.insert("stale.offset.handling.mode".into(), "warn".into());
    let mut task = start(warned, &offsets).await.expect("starts with stale.offset.handling.mode=warn");
    let mut records = Vec::new();
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| ids(rs).contains(&4)).await;
    assert_eq!(ids(&records), vec![4]);
    task.stop().await.expect("stop");

    // snapshot.mode=when_needed takes a new snapshot instead (Debezium's meaning of it).
    let mut when_needed = props;
    when_needed.insert("snapshot.mode".into(), "when_needed".into());
    let mut task = start(when_needed, &offsets).await.expect("starts with snapshot.mode=when_needed");
    let mut records = Vec::new();
    poll_until(&mut task, &mut records, Duration::from_secs(20), |rs| {
        rs.iter().any(|r| source_str(r, "snapshot") == Some("last"))
    })
    .await;
    let mut read: Vec<i64> = ids(&records);
    read.sort_unstable();
    assert_eq!(read, vec![1, 2, 3, 4], "re-snapshotted");
    task.stop().await.expect("stop");
    f.cleanup().await;
}

#[tokio::test]
async fn an_interrupted_snapshot_does_not_read_finished_tables_again_whatever_their_names() {
    let f = Fixture::new("dots").await;
    // A schema whose name holds a dot: `<name>.d`.
    let dotted = format!("\"{}.d\"", f.name);
    f.sql(&format!(
        "CREATE SCHEMA {dotted};
         CREATE TABLE {dotted}.a (id int PRIMARY KEY); INSERT INTO {dotted}.a SELECT generate_series(1, 100);
         CREATE TABLE {dotted}.b (id int PRIMARY KEY); INSERT INTO {dotted}.b SELECT generate_series(1001, 1300);"
    ))
    .await;
    let include = format!("{}(\\.d)?", f.name);
    let props = f.props(&[
        ("schema.include.list", include.as_str()),
        ("snapshot.fetch.size", "100"),
        ("max.batch.size", "100"),
    ]);
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start(props.clone(), &offsets).await.expect("start");
    let mut first = Vec::new();
    poll_until(&mut task, &mut first, Duration::from_secs(30), |rs| {
        ids(rs).iter().filter(|&&id| id > 1000).count() >= 100
    })
    .await;
    assert!(ids(&first).contains(&100), "table a was read completely: {:?}", ids(&first).len());
    acknowledge(&mut task, &offsets, &first).await;
    drop(task); // crash while reading table b

    let mut task = start(props, &offsets).await.expect("restart");
    let mut second = Vec::new();
    poll_until(&mut task, &mut second, Duration::from_secs(30), |rs| {
        rs.iter().any(|r| source_str(r, "snapshot") == Some("last"))
    })
    .await;
    let again = ids(&second);
    assert!(again.iter().all(|&id| id > 1000), "table a, finished before the crash, was read again: {again:?}");
    assert_eq!(again.last(), Some(&1300));
    task.stop().await.expect("stop");
    f.sql(&format!("DROP SCHEMA {dotted} CASCADE")).await;
    f.cleanup().await;
}
