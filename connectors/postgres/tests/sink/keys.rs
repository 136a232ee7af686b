//! Keys equal to the database but not as text (uuid letter case, numeric scale, citext) are one
//! row: a batch holding both never makes `ON CONFLICT` meet a row twice (SQLSTATE 21000). The
//! last image wins, key text included.

use super::*;

fn text_key(id: &str) -> (Option<SchemaRef>, Value) {
    let schema = Schema::struct_builder().name("key").field("id", Schema::string()).build();
    (Some(schema.clone()), Value::Struct(Struct::new(schema).put("id", id).expect("field")))
}

fn text_row(id: &str, name: &str) -> (Option<SchemaRef>, Value) {
    let schema = Schema::struct_builder()
        .name("row")
        .field("id", Schema::string())
        .field("name", Schema::optional(SchemaType::String))
        .build();
    let s = Struct::new(schema.clone()).put("id", id).and_then(|s| s.put("name", name)).expect("fields");
    (Some(schema), Value::Struct(s))
}

/// Upserts `(id, name)` pairs in one batch into a table whose key column has `key_type`.
async fn upsert_pairs(key_type: &str, mode: &str, pairs: &[(&str, &str)]) -> (String, aqueduct_sdk::Result<()>) {
    let topic = unique("keys");
    let client = db().await;
    client
        .batch_execute(&format!(
            "CREATE EXTENSION IF NOT EXISTS citext; CREATE TABLE \"{topic}\" (id {key_type} PRIMARY KEY, name text)"
        ))
        .await
        .expect("create table");
    if mode == "update" {
        for (id, _) in pairs {
            client
                .execute(
                    &format!("INSERT INTO \"{topic}\" VALUES ($1::text::{key_type}, 'old') ON CONFLICT DO NOTHING"),
                    &[id],
                )
                .await
                .expect("seed");
        }
    }
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &[("insert.mode", mode), ("pk.mode", "record_key")]).await;
    let records =
        pairs.iter().enumerate().map(|(i, (id, name))| record(&topic, i as i64, text_key(id), text_row(id, name)));
    let result = write(&mut task, records.collect()).await.map(|_| ());
    (topic, result)
}

async fn names(topic: &str) -> Vec<Vec<Option<String>>> {
    rows(&db().await, &format!("SELECT id::text, name FROM \"{topic}\" ORDER BY id")).await
}

#[tokio::test]
async fn keys_equal_in_the_database_but_not_as_text_are_one_row() {
    let upper = "6F1C1A3E-0000-4000-8000-00000000000A";
    let lower = "6f1c1a3e-0000-4000-8000-00000000000a";
    let (topic, result) = upsert_pairs(
        "uuid",
        "upsert",
        &[(upper, "first"), ("11111111-0000-4000-8000-000000000000", "other"), (lower, "second")],
    )
    .await;
    result.expect("uuid keys differing in case upsert");
    assert_eq!(
        names(&topic).await,
        strs(&[&[Some("11111111-0000-4000-8000-000000000000"), Some("other")], &[Some(lower), Some("second")]])
    );

    let (topic, result) =
        upsert_pairs("numeric", "upsert", &[("1.0", "one"), ("1.00", "one again"), ("2", "two")]).await;
    result.expect("numeric keys 1.0 and 1.00 upsert");
    assert_eq!(names(&topic).await, strs(&[&[Some("1.00"), Some("one again")], &[Some("2"), Some("two")]]));

    let (topic, result) = upsert_pairs("citext", "upsert", &[("Ann", "a"), ("ANN", "b")]).await;
    result.expect("citext keys upsert");
    assert_eq!(names(&topic).await, strs(&[&[Some("ANN"), Some("b")]]));

    // A key column under a nondeterministic collation: text differs, the unique index says equal;
    // the statement meets the row twice (21000) and the batch is replayed one row per statement,
    // in order (so the first key text stays, the last name wins).
    let collation = unique("ci");
    db().await
        .batch_execute(&format!(
            "CREATE COLLATION \"{collation}\" (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
        ))
        .await
        .expect("create collation");
    let (topic, result) =
        upsert_pairs(&format!("text COLLATE \"{collation}\""), "upsert", &[("Bob", "a"), ("BOB", "b"), ("x", "c")])
            .await;
    result.expect("case-insensitive text keys upsert");
    assert_eq!(names(&topic).await, strs(&[&[Some("Bob"), Some("b")], &[Some("x"), Some("c")]]));

    // Update mode: the last image wins, not an arbitrary one of the equal keys.
    let (topic, result) = upsert_pairs("uuid", "update", &[(lower, "x"), (upper, "y"), (lower, "z")]).await;
    result.expect("update");
    assert_eq!(names(&topic).await, strs(&[&[Some(lower), Some("z")]]));
}
