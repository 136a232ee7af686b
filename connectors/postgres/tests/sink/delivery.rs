//! Delivery: buffering and commits, exactly once through the offsets table, reconnects.

use super::*;

#[tokio::test]
async fn exactly_once_rewinds_to_offsets_stored_with_the_rows() {
    let topic = unique("eos");
    let offsets_table = unique("offsets");
    let settings = [("auto.create", "true"), ("offsets.storage.table", offsets_table.as_str()), ("name", "eos-sink")];
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &settings).await;
    let p0 = TopicPartition::new(&topic, 0);
    let p1 = TopicPartition::new(&topic, 1);
    task.open(&[p0.clone(), p1.clone()]).await.expect("open");
    assert!(ctx.rewinds().is_empty(), "nothing stored yet");
    let mut in_p1 = record(&topic, 40, no_key(), user(9, "p1"));
    in_p1.kafka_partition = 1;
    write(&mut task, (0..5).map(|i| record(&topic, i, no_key(), user(i, "x"))).chain([in_p1]).collect())
        .await
        .expect("put");
    // The runtime never commits consumer offsets: the task is killed and restarted.
    drop(task);
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = self::task(&ctx, &settings).await;
    task.open(&[p0.clone(), p1.clone()]).await.expect("open");
    let rewinds = ctx.rewinds();
    assert_eq!(rewinds, vec![TopicPartitionOffsets::from([(p0, 5), (p1, 41)])]);
    // Records the consumer still delivers from before the rewound position are not written twice.
    write(&mut task, (3..7).map(|i| record(&topic, i, no_key(), user(i, "x"))).collect()).await.expect("put");
    let client = db().await;
    let got = rows(&client, &format!("SELECT string_agg(id::text, ',' ORDER BY id) FROM \"{topic}\"")).await;
    assert_eq!(got, strs(&[&[Some("0,1,2,3,4,5,6,9")]]));
    let stored = rows(
        &client,
        &format!(
            "SELECT (topic = '{topic}')::text, \"partition\"::text, next_offset::text FROM \"{offsets_table}\" \
        WHERE connector = 'eos-sink' ORDER BY 2"
        ),
    )
    .await;
    assert_eq!(stored, strs(&[&[Some("true"), Some("0"), Some("7")], &[Some("true"), Some("1"), Some("41")]]));
}

async fn kill_backend(client: &Client, app: &str) {
    let sql = format!("SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE application_name = '{app}'");
    assert_eq!(rows(client, &sql).await, strs(&[&[Some("true")]]));
}

#[tokio::test]
async fn a_lost_connection_is_retriable_and_the_task_reconnects() {
    let topic = unique("reconnect");
    let app = unique("app");
    let url = format!("{}?application_name={app}", url());
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &[("connection.url", url.as_str()), ("auto.create", "true"), ("batch.size", "2")]).await;
    write(&mut task, vec![record(&topic, 0, no_key(), user(1, "a"))]).await.expect("put");
    let client = db().await;

    // Lost while flushing in pre_commit: the runtime skips that commit and asks again later.
    kill_backend(&client, &app).await;
    task.put(&[record(&topic, 1, no_key(), user(2, "b"))]).await.expect("buffered");
    let offsets = TopicPartitionOffsets::from([(TopicPartition::new(&topic, 0), 2)]);
    let err = task.pre_commit(&offsets).await.expect_err("connection lost");
    assert!(err.is_retriable(), "{err:?}");
    assert_eq!(task.pre_commit(&offsets).await.expect("reconnected"), offsets);

    // Lost while writing in put (batch.size reached): the runtime gives the same batch again.
    kill_backend(&client, &app).await;
    let batch = vec![record(&topic, 2, no_key(), user(3, "c")), record(&topic, 3, no_key(), user(4, "d"))];
    let err = task.put(&batch).await.expect_err("connection lost");
    assert!(err.is_retriable(), "{err:?}");
    task.put(&batch).await.expect("the retried batch is written after reconnecting");
    let got = rows(&client, &format!("SELECT string_agg(id::text, ',' ORDER BY id) FROM \"{topic}\"")).await;
    assert_eq!(got, strs(&[&[Some("1,2,3,4")]]), "each record exactly once");
}

/// Rows in `table`, 0 when it does not exist yet.
async fn count(client: &Client, table: &str) -> i64 {
    let exists = rows(client, &format!("SELECT (to_regclass('\"{table}\"') IS NOT NULL)::text")).await;
    if exists != strs(&[&[Some("true")]]) {
        return 0;
    }
    let n = rows(client, &format!("SELECT count(*)::text FROM \"{table}\"")).await;
    n[0][0].as_deref().and_then(|n| n.parse().ok()).unwrap_or(-1)
}

#[tokio::test]
async fn put_buffers_until_batch_size_or_pre_commit() {
    let topic = unique("buffered");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &[("auto.create", "true"), ("batch.size", "3")]).await;
    let client = db().await;
    task.put(&(0..2).map(|i| record(&topic, i, no_key(), user(i, "x"))).collect::<Vec<_>>()).await.expect("put");
    assert_eq!(count(&client, &topic).await, 0, "buffered");
    assert!(ctx.commit_requests() > 0, "a small put asks for an early commit");
    task.put(&(2..4).map(|i| record(&topic, i, no_key(), user(i, "x"))).collect::<Vec<_>>()).await.expect("put");
    assert_eq!(count(&client, &topic).await, 4, "batch.size reached: written by put");
    task.put(&[record(&topic, 4, no_key(), user(4, "x"))]).await.expect("put");
    assert_eq!(count(&client, &topic).await, 4);
    let p0 = TopicPartition::new(&topic, 0);
    task.pre_commit(&TopicPartitionOffsets::from([(p0.clone(), 5)])).await.expect("pre_commit");
    assert_eq!(count(&client, &topic).await, 5, "pre_commit writes the rest");
    task.put(&[record(&topic, 5, no_key(), user(5, "x"))]).await.expect("put");
    task.close(std::slice::from_ref(&p0)).await.expect("close drops the partition's buffer");
    task.pre_commit(&TopicPartitionOffsets::new()).await.expect("pre_commit");
    assert_eq!(count(&client, &topic).await, 5);
}
