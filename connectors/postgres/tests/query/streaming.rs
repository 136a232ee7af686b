//! Bulk and timestamp modes read a table through a cursor, `batch.max.rows` rows per poll, and
//! never lose rows that share the last timestamp of a poll (or of a stored offset).

use std::collections::BTreeSet;

use super::*;

/// 1000 rows: ids 1..=100 at distinct times, 101..=700 at one time, 701..=1000 distinct again.
async fn events_table(fx: &Fixture) {
    fx.sql(
        "CREATE TABLE $S.ev (id int NOT NULL, at timestamptz NOT NULL);
         INSERT INTO $S.ev SELECT g, CASE
             WHEN g <= 100 THEN '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second'
             WHEN g <= 700 THEN '2024-01-02 00:00:00+00'
             ELSE '2024-01-03 00:00:00+00'::timestamptz + g * interval '1 second' END
           FROM generate_series(1, 1000) g;",
    )
    .await;
}

/// Polls (storing offsets) until `done(ids so far)` or 30 s passed; asserts every poll's size is
/// at most `max`.
async fn drain_until(
    task: &mut Box<dyn SourceTask>,
    offsets: &MemoryOffsets,
    max: usize,
    done: impl Fn(&[i64]) -> bool,
) -> Vec<i64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ids = Vec::new();
    while !done(&ids) && Instant::now() < deadline {
        let batch = task.poll().await.expect("poll");
        assert!(batch.len() <= max, "a poll returned {} records, batch.max.rows is {max}", batch.len());
        for record in &batch {
            offsets.store(record);
            ids.push(field_i64(record, "id"));
        }
    }
    ids
}

/// [`drain_until`] `until` records arrived.
async fn drain(task: &mut Box<dyn SourceTask>, offsets: &MemoryOffsets, max: usize, until: usize) -> Vec<i64> {
    drain_until(task, offsets, max, |ids| ids.len() >= until).await
}

async fn last_query(fx: &Fixture, app: &str) -> String {
    let row = fx
        .db
        .query_one("SELECT query FROM pg_stat_activity WHERE application_name = $1", &[&app])
        .await
        .expect("the task's session");
    row.get(0)
}

#[tokio::test]
async fn timestamp_mode_streams_batches_and_resumes_mid_timestamp_without_loss() {
    let fx = Fixture::new("tsstream").await;
    events_table(&fx).await;
    let app = format!("{}_app", fx.schema);
    let url = format!("jdbc:{}?ApplicationName={app}", url().replacen("postgres://", "postgresql://", 1));
    let props = fx.props(&[
        ("connection.url", url.as_str()),
        ("mode", "timestamp"),
        ("timestamp.column.name", "at"),
        ("tables", "$S.ev"),
        ("batch.max.rows", "50"),
    ]);

    // Read about 150 rows (the last ones share one timestamp with rows not read yet), then stop.
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start_task(props.clone(), &offsets).await.expect("task starts");
    let first = drain(&mut task, &offsets, 50, 150).await;
    assert!((150..700).contains(&first.len()), "stopped among the rows sharing one timestamp: {}", first.len());
    let query = last_query(&fx, &app).await;
    assert!(query.starts_with("FETCH"), "rows are fetched from a cursor, not all at once: {query}");
    task.stop().await.expect("stop");
    drop(task);

    // A restart from the stored offset reads every row not read before.
    let mut task = start_task(props.clone(), &offsets).await.expect("task restarts");
    let distinct = |ids: &[i64]| first.iter().chain(ids).copied().collect::<BTreeSet<i64>>();
    let second = drain_until(&mut task, &offsets, 50, |ids| distinct(ids).len() == 1000).await;
    let all = distinct(&second);
    assert_eq!(all.len(), 1000, "rows sharing the last stored timestamp were lost");
    task.stop().await.expect("stop");

    // One uninterrupted run: every row exactly once, at most batch.max.rows per poll.
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start_task(props, &offsets).await.expect("task starts");
    let mut ids = drain(&mut task, &offsets, 50, 1000).await;
    ids.extend(poll_for(&mut task, &offsets, Duration::from_millis(500)).await.iter().map(|r| field_i64(r, "id")));
    ids.sort_unstable();
    assert_eq!(ids, (1..=1000).collect::<Vec<_>>(), "each row exactly once");
    task.stop().await.expect("stop");
    fx.drop().await;
}

#[tokio::test]
async fn bulk_mode_streams_the_table_batch_max_rows_at_a_time() {
    let fx = Fixture::new("bulkstream").await;
    events_table(&fx).await;
    let app = format!("{}_app", fx.schema);
    let url = format!("jdbc:{}?ApplicationName={app}", url().replacen("postgres://", "postgresql://", 1));
    let props =
        fx.props(&[("connection.url", url.as_str()), ("mode", "bulk"), ("tables", "$S.ev"), ("batch.max.rows", "50")]);
    let offsets = Arc::new(MemoryOffsets::default());
    let mut task = start_task(props, &offsets).await.expect("task starts");
    let first = drain(&mut task, &offsets, 50, 50).await;
    assert_eq!(first.len(), 50);
    let query = last_query(&fx, &app).await;
    assert!(query.starts_with("FETCH"), "rows are fetched from a cursor, not all at once: {query}");
    let mut ids = first;
    ids.extend(drain(&mut task, &offsets, 50, 950).await);
    ids.sort_unstable();
    assert_eq!(ids, (1..=1000).collect::<Vec<_>>(), "one pass reads each row once");
    // The next pass reads the whole table again.
    let again = drain(&mut task, &offsets, 50, 1000).await;
    assert_eq!(again.len(), 1000);
    task.stop().await.expect("stop");
    fx.drop().await;
}
