//! Unchanged TOAST values: Debezium's placeholder (`__debezium_unavailable_value`) never
//! overwrites a stored value and never lands in a new row.

use super::*;
use aqueduct_sdk::debezium::{envelope, envelope_schema, Op};

const PLACEHOLDER: &str = "__debezium_unavailable_value";

fn doc_schema() -> SchemaRef {
    let json = Schema::builder(SchemaType::String).name("io.debezium.data.Json").optional().build();
    Schema::struct_builder()
        .name("doc")
        .field("id", Schema::int64())
        .field("n", Schema::optional(SchemaType::Int32))
        .field("body", Schema::optional(SchemaType::String))
        .field("data", Schema::optional(SchemaType::Bytes))
        .field("doc", json)
        .field("tags", Schema::array(Schema::optional(SchemaType::String)).optional().build())
        .build()
}

/// A row image; `None` for a column stands for "unchanged TOAST value" (the placeholder, in the
/// form the CDC source gives it for that type).
fn doc(id: i64, n: i32, body: Option<&str>, data: Option<&[u8]>, json: Option<&str>, tags: Option<&[&str]>) -> Value {
    let text = |v: Option<&str>| Value::from(v.unwrap_or(PLACEHOLDER));
    let bytes = Value::Bytes(data.map_or_else(|| PLACEHOLDER.as_bytes().to_vec(), <[u8]>::to_vec));
    let tags = Value::Array(
        tags.map_or_else(|| vec![Value::from(PLACEHOLDER)], |t| t.iter().map(|s| Value::from(*s)).collect()),
    );
    let s = Struct::new(doc_schema())
        .put("id", id)
        .and_then(|s| s.put("n", n))
        .and_then(|s| s.put("body", text(body)))
        .and_then(|s| s.put("data", bytes))
        .and_then(|s| s.put("doc", text(json)))
        .and_then(|s| s.put("tags", tags))
        .expect("fields");
    Value::Struct(s)
}

struct Events {
    schema: SchemaRef,
    source: Value,
}

impl Events {
    fn new() -> Events {
        let source_schema = Schema::struct_builder()
            .name("io.debezium.connector.postgresql.Source")
            .field("table", Schema::string())
            .build();
        let schema = envelope_schema("pg.public.docs", &doc_schema(), &source_schema);
        let source = Value::Struct(Struct::new(source_schema).put("table", "docs").expect("field"));
        Events { schema, source }
    }

    fn event(&self, op: Op, after: Value) -> (Option<SchemaRef>, Value) {
        let value = envelope(&self.schema, op, None, Some(after), self.source.clone(), 0).expect("envelope");
        (Some(self.schema.clone()), value)
    }
}

async fn create_docs_table(table: &str) {
    db().await
        .batch_execute(&format!(
            "CREATE TABLE \"{table}\" (id bigint PRIMARY KEY, n int, body text, data bytea, doc jsonb, tags text[])"
        ))
        .await
        .expect("create table");
}

const DOC_ROWS: &str = "SELECT id::text, n::text, body, encode(data, 'escape'), doc::text, tags::text";

#[tokio::test]
async fn unavailable_toast_placeholders_leave_stored_values_alone() {
    let topic = unique("toast");
    create_docs_table(&topic).await;
    let events = Events::new();
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task =
        task(&ctx, &[("insert.mode", "upsert"), ("pk.mode", "record_key"), ("delete.enabled", "true")]).await;
    let full = |id: i64, n: i32| doc(id, n, Some("big body"), Some(b"blob"), Some(r#"{"a": 1}"#), Some(&["x", "y"]));
    write(
        &mut task,
        vec![
            record(&topic, 0, key(1), events.event(Op::Create, full(1, 0))),
            record(&topic, 1, key(2), events.event(Op::Create, full(2, 0))),
        ],
    )
    .await
    .expect("first batch");
    // One batch, rows differing in which columns are unavailable, the same key several times.
    write(
        &mut task,
        vec![
            record(&topic, 2, key(1), events.event(Op::Update, doc(1, 1, None, None, None, None))),
            record(&topic, 3, key(2), events.event(Op::Update, doc(2, 2, Some("new body"), None, None, None))),
            record(&topic, 4, key(1), events.event(Op::Update, doc(1, 11, Some("changed"), None, None, None))),
            record(&topic, 5, key(3), events.event(Op::Create, doc(3, 3, None, Some(b"b3"), None, Some(&["z"])))),
            record(&topic, 6, key(2), events.event(Op::Update, doc(2, 22, None, None, None, None))),
        ],
    )
    .await
    .expect("second batch");
    let client = db().await;
    let got = rows(&client, &format!("{DOC_ROWS} FROM \"{topic}\" ORDER BY id")).await;
    let json = r#"{"a": 1}"#;
    assert_eq!(
        got,
        strs(&[
            &[Some("1"), Some("11"), Some("changed"), Some("blob"), Some(json), Some("{x,y}")],
            &[Some("2"), Some("22"), Some("new body"), Some("blob"), Some(json), Some("{x,y}")],
            &[Some("3"), Some("3"), None, Some("b3"), None, Some("{z}")],
        ])
    );
    task.stop().await.expect("stop");
}

#[tokio::test]
async fn insert_and_update_modes_leave_out_unavailable_columns_and_the_placeholder_is_configurable() {
    let topic = unique("toast_modes");
    create_docs_table(&topic).await;
    let events = Events::new();
    let ctx = Arc::new(RecordingSinkContext::default());
    // insert mode (COPY): the unavailable columns of a new row stay NULL.
    let mut task = task(&ctx, &[]).await;
    write(&mut task, vec![record(&topic, 0, no_key(), (None, doc(1, 0, None, Some(b"d"), None, None)))])
        .await
        .expect("insert");
    // update mode with another placeholder: only available columns are set.
    let mut task = self::task(
        &ctx,
        &[("insert.mode", "update"), ("pk.mode", "record_key"), ("unavailable.value.placeholder", "~~toast~~")],
    )
    .await;
    let custom = Value::Struct(
        Struct::new(doc_schema())
            .put("id", 1i64)
            .and_then(|s| s.put("n", 5))
            .and_then(|s| s.put("body", "~~toast~~"))
            .and_then(|s| s.put("data", Value::Bytes(b"~~toast~~".to_vec())))
            .and_then(|s| s.put("doc", r#"{"b": 2}"#))
            .and_then(|s| s.put("tags", Value::Array(vec![Value::from("~~toast~~")])))
            .expect("fields"),
    );
    write(&mut task, vec![record(&topic, 1, key(1), events.event(Op::Update, custom))]).await.expect("update");
    let client = db().await;
    let got = rows(&client, &format!("{DOC_ROWS} FROM \"{topic}\" ORDER BY id")).await;
    assert_eq!(got, strs(&[&[Some("1"), Some("5"), None, Some("d"), Some(r#"{"b": 2}"#), None]]));
    task.stop().await.expect("stop");
}
