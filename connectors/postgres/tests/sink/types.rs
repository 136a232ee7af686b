//! Every type round-trips: created columns, values read back, casts into existing column types.

use super::*;
use aqueduct_sdk::logical;
use serde_json::json;

#[tokio::test]
async fn every_type_round_trips() {
    let topic = unique("types");
    let inner = Schema::struct_builder()
        .name("inner")
        .field("a", Schema::int64())
        .field("b", Schema::optional(SchemaType::String))
        .build();
    let schema = Schema::struct_builder()
        .name("all")
        .field("i8", Schema::primitive(SchemaType::Int8))
        .field("i16", Schema::primitive(SchemaType::Int16))
        .field("i32", Schema::primitive(SchemaType::Int32))
        .field("i64", Schema::int64())
        .field("f32", Schema::primitive(SchemaType::Float32))
        .field("f64", Schema::primitive(SchemaType::Float64))
        .field("flag", Schema::primitive(SchemaType::Boolean))
        .field("s", Schema::string())
        .field("raw", Schema::primitive(SchemaType::Bytes))
        .field("amount", logical::decimal(2).build())
        .field("day", logical::date().build())
        .field("at", logical::time().build())
        .field("ts", logical::timestamp().build())
        .field("ints", Schema::array(Schema::primitive(SchemaType::Int32)).build())
        .field("words", Schema::array(Schema::optional(SchemaType::String)).build())
        .field("nested", Schema::array(Schema::array(Schema::int64()).build()).build())
        .field("obj", inner.clone())
        .field("dict", Schema::map(Schema::string(), Schema::int64()).build())
        .field("missing", Schema::optional(SchemaType::Int64))
        .build();
    let obj = Struct::new(inner).put("a", 5i64).expect("a");
    let row = Struct::new(schema.clone())
        .put("i8", Value::Int8(-8))
        .and_then(|s| s.put("i16", Value::Int16(1600)))
        .and_then(|s| s.put("i32", 32))
        .and_then(|s| s.put("i64", i64::MAX))
        .and_then(|s| s.put("f32", Value::Float32(1.5)))
        .and_then(|s| s.put("f64", 0.1))
        .and_then(|s| s.put("flag", true))
        .and_then(|s| s.put("s", "héllo, \"world\"\n"))
        .and_then(|s| s.put("raw", Value::Bytes(vec![0, 1, 254, 255])))
        .and_then(|s| s.put("amount", Value::Bytes(logical::decimal_bytes(-123_456))))
        .and_then(|s| s.put("day", 19_723))
        .and_then(|s| s.put("at", 45_296_789))
        .and_then(|s| s.put("ts", 1_704_067_200_123i64))
        .and_then(|s| s.put("ints", Value::Array(vec![Value::Int32(1), Value::Int32(-2)])))
        .and_then(|s| s.put("words", Value::Array(vec![Value::from("a,b"), Value::Null, Value::from("{c}")])))
        .and_then(|s| s.put("nested", Value::Array(vec![Value::Array(vec![Value::Int64(1)]), Value::Array(vec![])])))
        .and_then(|s| s.put("obj", Value::Struct(obj)))
        .and_then(|s| s.put("dict", Value::Map(vec![(Value::from("k"), Value::Int64(1))])))
        .expect("fields");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &[("auto.create", "true")]).await;
    write(&mut task, vec![record(&topic, 0, no_key(), (Some(schema), Value::Struct(row)))]).await.expect("put");
    let client = db().await;
    let types = rows(
        &client,
        &format!(
            "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute \
        WHERE attrelid = '\"{topic}\"'::regclass AND attnum > 0"
        ),
    )
    .await;
    assert_eq!(
        types[0][0].as_deref(),
        Some(
            "smallint,smallint,integer,bigint,real,double precision,boolean,text,bytea,numeric,date,\
time without time zone,timestamp with time zone,integer[],text[],jsonb,jsonb,jsonb,bigint"
        )
    );
    let got = rows(&client, &format!("SELECT i8::text, i16::text, i32::text, i64::text, f32::text, f64::text, flag::text, s, raw::text, \
        amount::text, day::text, at::text, ts::text, ints::text, words::text, nested::text, obj::text, dict::text, missing::text FROM \"{topic}\"")).await;
    assert_eq!(
        got,
        strs(&[&[
            Some("-8"),
            Some("1600"),
            Some("32"),
            Some("9223372036854775807"),
            Some("1.5"),
            Some("0.1"),
            Some("true"),
            Some("héllo, \"world\"\n"),
            Some("\\x0001feff"),
            Some("-1234.56"),
            Some("2024-01-01"),
            Some("12:34:56.789"),
            Some("2024-01-01 00:00:00.123+00"),
            Some("{1,-2}"),
            Some("{\"a,b\",NULL,\"{c}\"}"),
            Some("[[1], []]"),
            Some("{\"a\": 5, \"b\": null}"),
            Some("{\"k\": 1}"),
            None
        ]])
    );
}

#[tokio::test]
async fn debezium_semantic_types_round_trip() {
    let topic = unique("dbz_types");
    let named = |t: SchemaType, name: &str| Schema::builder(t).name(name).version(1).build();
    let vsd = Schema::struct_builder()
        .name("io.debezium.data.VariableScaleDecimal")
        .field("scale", Schema::primitive(SchemaType::Int32))
        .field("value", Schema::primitive(SchemaType::Bytes))
        .build();
    let schema = Schema::struct_builder()
        .name("server.public.t.Value")
        .field("id", named(SchemaType::String, "io.debezium.data.Uuid"))
        .field("doc", named(SchemaType::String, "io.debezium.data.Json"))
        .field("zoned", named(SchemaType::String, "io.debezium.time.ZonedTimestamp"))
        .field("local", named(SchemaType::Int64, "io.debezium.time.MicroTimestamp"))
        .field("local_ms", named(SchemaType::Int64, "io.debezium.time.Timestamp"))
        .field("day", named(SchemaType::Int32, "io.debezium.time.Date"))
        .field("at", named(SchemaType::Int64, "io.debezium.time.MicroTime"))
        .field("took", named(SchemaType::Int64, "io.debezium.time.MicroDuration"))
        .field("price", logical::decimal(2).parameter("connect.decimal.precision", "8").build())
        .field("ratio", vsd.clone())
        .build();
    let ratio =
        Struct::new(vsd).put("scale", 3).and_then(|s| s.put("value", Value::Bytes(logical::decimal_bytes(12_345))));
    let row = Struct::new(schema.clone())
        .put("id", "4e2b3a7c-0f5d-4a8e-9c1b-2d3e4f5a6b7c")
        .and_then(|s| s.put("doc", "{\"a\":[1,{\"b\":null}]}"))
        .and_then(|s| s.put("zoned", "2024-01-01T10:00:00.5+02:00"))
        .and_then(|s| s.put("local", 1_704_067_200_123_456i64))
        .and_then(|s| s.put("local_ms", -1i64))
        .and_then(|s| s.put("day", 19_723))
        .and_then(|s| s.put("at", 45_296_789_012i64))
        .and_then(|s| s.put("took", 90_061_500_000i64))
        .and_then(|s| s.put("price", Value::Bytes(logical::decimal_bytes(123_456))))
        .and_then(|s| s.put("ratio", Value::Struct(ratio.expect("ratio"))))
        .expect("fields");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &[("auto.create", "true")]).await;
    write(&mut task, vec![record(&topic, 0, no_key(), (Some(schema), Value::Struct(row)))]).await.expect("put");
    let client = db().await;
    let types = rows(
        &client,
        &format!(
            "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute \
        WHERE attrelid = '\"{topic}\"'::regclass AND attnum > 0"
        ),
    )
    .await;
    assert_eq!(
        types[0][0].as_deref(),
        Some(
            "uuid,jsonb,timestamp with time zone,timestamp without time zone,\
timestamp without time zone,date,time without time zone,interval,numeric(8,2),numeric"
        )
    );
    let got = rows(
        &client,
        &format!(
            "SELECT id::text, doc::text, zoned::text, local::text, local_ms::text, day::text, at::text, \
        took::text, price::text, ratio::text FROM \"{topic}\""
        ),
    )
    .await;
    assert_eq!(
        got,
        strs(&[&[
            Some("4e2b3a7c-0f5d-4a8e-9c1b-2d3e4f5a6b7c"),
            Some("{\"a\": [1, {\"b\": null}]}"),
            Some("2024-01-01 08:00:00.5+00"),
            Some("2024-01-01 00:00:00.123456"),
            Some("1969-12-31 23:59:59.999"),
            Some("2024-01-01"),
            Some("12:34:56.789012"),
            Some("25:01:01.5"),
            Some("1234.56"),
            Some("12.345")
        ]])
    );
}

#[tokio::test]
async fn strings_are_cast_to_existing_column_types() {
    let table = unique("typed");
    let client = db().await;
    client.batch_execute(&format!(
        "CREATE TYPE \"{table}_mood\" AS ENUM ('ok', 'sad'); CREATE TABLE \"{table}\" (id UUID PRIMARY KEY, at TIMESTAMPTZ, doc JSONB, \
         amount NUMERIC(10,2), n INTEGER, mood \"{table}_mood\", tags TEXT[])"
    )).await.expect("create");
    let ctx = Arc::new(RecordingSinkContext::default());
    let mut task = task(&ctx, &[("insert.mode", "upsert"), ("pk.mode", "record_value"), ("pk.fields", "id")]).await;
    let v = json!({"id": "4e2b3a7c-0f5d-4a8e-9c1b-2d3e4f5a6b7c", "at": "2024-05-06T07:08:09.5+02:00", "doc": "{\"a\": [1, 2]}",
        "amount": "12.345", "n": "17", "mood": "sad", "tags": ["x"]});
    write(&mut task, vec![record(&table, 0, no_key(), (None, Value::from_json(v)))]).await.expect("put");
    let got = rows(
        &client,
        &format!(
            "SELECT id::text, at::text, doc::text, amount::text, n::text, mood::text, tags::text FROM \"{table}\""
        ),
    )
    .await;
    assert_eq!(
        got,
        strs(&[&[
            Some("4e2b3a7c-0f5d-4a8e-9c1b-2d3e4f5a6b7c"),
            Some("2024-05-06 05:08:09.5+00"),
            Some("{\"a\": [1, 2]}"),
            Some("12.35"),
            Some("17"),
            Some("sad"),
            Some("{x}")
        ]])
    );
}
