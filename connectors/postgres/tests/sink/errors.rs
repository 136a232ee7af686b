//! Bad input: clear errors naming table and column, data errors to the errant-record reporter.

use super::*;

#[tokio::test]
async fn upsert_into_a_table_without_a_key_fails_naming_it() {
    let table = unique("nokey");
    let client = db().await;
    client.batch_execute(&format!("CREATE TABLE \"{table}\" (id BIGINT, name TEXT)")).await.expect("create");
    let ctx = Arc::new(RecordingSinkContext::tolerant());
    let mut task = task(&ctx, &[("insert.mode", "upsert"), ("pk.mode", "record_key")]).await;
    let err = write(&mut task, vec![record(&table, 0, key(1), user(1, "a"))]).await.expect_err("no unique key");
    assert_eq!(err.kind(), ErrorKind::Fatal);
    assert!(
        err.message().contains(&table) && err.message().contains("(id)") && err.message().contains("primary key"),
        "{err:?}"
    );
    reported(&ctx); // only data errors are reported
}

#[tokio::test]
async fn a_missing_table_without_auto_create_fails_naming_it() {
    let table = unique("absent");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &[]).await;
    let err = write(&mut task, vec![record(&table, 0, no_key(), user(1, "a"))]).await.expect_err("missing table");
    assert_eq!(err.kind(), ErrorKind::Fatal);
    assert!(err.message().contains(&table) && err.message().contains("auto.create"), "{err:?}");
}

#[tokio::test]
async fn bad_values_are_reported_per_record_and_good_rows_written() {
    let table = unique("badval");
    let client = db().await;
    client
        .batch_execute(&format!("CREATE TABLE \"{table}\" (id BIGINT PRIMARY KEY, name UUID)"))
        .await
        .expect("create");
    let good = "4e2b3a7c-0f5d-4a8e-9c1b-2d3e4f5a6b7c";
    let batch = || {
        vec![
            record(&table, 0, key(1), user(1, good)),
            record(&table, 1, key(2), user(2, "not-a-uuid")),
            record(&table, 2, key(3), (Some(Schema::string()), Value::from("not a row"))),
            record(&table, 3, key(4), user(4, good)),
        ]
    };
    // errors.tolerance=none (no reporter): a data error naming the table and column; nothing written.
    let strict = Arc::new(RecordingSinkContext::default());
    let mut task = task(&strict, &[("insert.mode", "upsert"), ("pk.mode", "record_key")]).await;
    let err = write(&mut task, batch()).await.expect_err("bad records");
    assert_eq!(err.kind(), ErrorKind::Data);
    assert!(err.message().contains("record") && err.message().contains("@2"), "{err:?}");
    // The task failed; the runtime would start a new one.
    let mut task = self::task(&strict, &[("insert.mode", "upsert"), ("pk.mode", "record_key")]).await;
    let err =
        write(&mut task, batch().into_iter().filter(|r| r.kafka_offset != 2).collect()).await.expect_err("bad uuid");
    assert_eq!(err.kind(), ErrorKind::Data);
    assert!(
        err.message().contains(&table)
            && err.message().contains("column 'name' (uuid)")
            && err.message().contains("@1"),
        "{err:?}"
    );
    assert!(err.trace().contains("invalid input syntax for type uuid"), "{err:?}");
    assert_eq!(rows(&client, &format!("SELECT count(*)::text FROM \"{table}\"")).await, strs(&[&[Some("0")]]));
    // errors.tolerance=all (a reporter): the bad records are reported, the others written.
    let tolerant = Arc::new(RecordingSinkContext::tolerant());
    let mut task = self::task(&tolerant, &[("insert.mode", "upsert"), ("pk.mode", "record_key")]).await;
    write(&mut task, batch()).await.expect("put");
    let reported: Vec<i64> = reported(&tolerant).iter().map(|(o, _)| *o).collect();
    assert_eq!(reported, vec![2, 1]);
    assert_eq!(
        rows(&client, &format!("SELECT id::text FROM \"{table}\" ORDER BY id")).await,
        strs(&[&[Some("1")], &[Some("4")]])
    );
}

#[tokio::test]
async fn insert_mode_copy_falls_back_to_row_by_row_on_a_bad_value() {
    let table = unique("badcopy");
    let client = db().await;
    client.batch_execute(&format!("CREATE TABLE \"{table}\" (id BIGINT, name UUID NOT NULL)")).await.expect("create");
    let good = "4e2b3a7c-0f5d-4a8e-9c1b-2d3e4f5a6b7c";
    let ctx = Arc::new(RecordingSinkContext::tolerant());
    let mut task = task(&ctx, &[]).await;
    let null_name = (Some(user_schema()), Value::Struct(Struct::new(user_schema()).put("id", 4i64).expect("id")));
    write(
        &mut task,
        vec![
            record(&table, 0, no_key(), user(1, good)),
            record(&table, 1, no_key(), user(2, "bad")),
            record(&table, 2, no_key(), user(3, good)),
            record(&table, 3, no_key(), null_name),
        ],
    )
    .await
    .expect("put");
    let reported = reported(&ctx);
    assert_eq!(reported.iter().map(|(o, _)| *o).collect::<Vec<_>>(), vec![1, 3]);
    assert!(reported[0].1.contains("column 'name' (uuid)"), "{reported:?}");
    assert!(reported[1].1.contains("null value in column \"name\""), "{reported:?}");
    assert_eq!(
        rows(&client, &format!("SELECT id::text FROM \"{table}\" ORDER BY id")).await,
        strs(&[&[Some("1")], &[Some("3")]])
    );
}

#[tokio::test]
async fn a_dropped_column_fails_clearly_or_is_added_back() {
    let topic = unique("dropped");
    let client = db().await;
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &[("auto.create", "true"), ("insert.mode", "upsert"), ("pk.mode", "record_key")]).await;
    write(&mut task, vec![record(&topic, 0, key(1), user(1, "a"))]).await.expect("put");
    client.batch_execute(&format!("ALTER TABLE \"{topic}\" DROP COLUMN name")).await.expect("drop");
    let err = write(&mut task, vec![record(&topic, 1, key(2), user(2, "b"))]).await.expect_err("column gone");
    assert_eq!(err.kind(), ErrorKind::Fatal);
    assert!(
        err.message().contains(&topic) && err.message().contains("'name'") && err.message().contains("auto.evolve"),
        "{err:?}"
    );
    let mut task =
        self::task(&ctx, &[("auto.evolve", "true"), ("insert.mode", "upsert"), ("pk.mode", "record_key")]).await;
    write(&mut task, vec![record(&topic, 1, key(2), user(2, "b"))]).await.expect("column added back");
    client.batch_execute(&format!("ALTER TABLE \"{topic}\" DROP COLUMN name")).await.expect("drop again");
    write(&mut task, vec![record(&topic, 2, key(3), user(3, "c"))]).await.expect("re-added under a running task");
    let got = rows(&client, &format!("SELECT id::text, name FROM \"{topic}\" ORDER BY id")).await;
    assert_eq!(got, strs(&[&[Some("1"), None], &[Some("2"), None], &[Some("3"), Some("c")]]));
}
