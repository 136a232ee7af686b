//! Avro and Parquet: round trips of a rich schema, refusals, streaming.

use std::sync::Arc;

use aqueduct_sdk::{logical, Schema, SchemaType, Struct};

use super::*;

fn address_schema() -> SchemaRef {
    Schema::struct_builder()
        .name("com.example.Address")
        .field("street", Schema::string())
        .field("zip", Schema::optional(SchemaType::Int32))
        .build()
}

/// Every primitive, optional fields, a nested struct, an array, a string-keyed map and the
/// logical types.
fn rich_schema() -> SchemaRef {
    Schema::struct_builder()
        .name("com.example.Order")
        .version(3)
        .doc("an order")
        .field("flag", Schema::primitive(SchemaType::Boolean))
        .field("i8", Schema::primitive(SchemaType::Int8))
        .field("i16", Schema::primitive(SchemaType::Int16))
        .field("i32", Schema::primitive(SchemaType::Int32))
        .field("i64", Schema::int64())
        .field("f32", Schema::primitive(SchemaType::Float32))
        .field("f64", Schema::primitive(SchemaType::Float64))
        .field("name", Schema::string())
        .field("blob", Schema::primitive(SchemaType::Bytes))
        .field("note", Schema::optional(SchemaType::String))
        .field("count", Schema::optional(SchemaType::Int64))
        .field("address", address_schema())
        .field("tags", Schema::array(Schema::string()).build())
        .field("attrs", Schema::map(Schema::string(), Schema::optional(SchemaType::Int64)).build())
        .field("price", logical::decimal(2).parameter("connect.decimal.precision", "10").build())
        .field("day", logical::date().build())
        .field("at", logical::time().build())
        .field("ts", logical::timestamp().build())
        .field("status", Schema::builder(SchemaType::String).default_value(Value::from("new")).build())
        .field("retries", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(3)).build())
        .field("fee", logical::decimal(2).default_value(Value::Bytes(logical::decimal_bytes(-100))).build())
        .field(
            "weights",
            Schema::array(Schema::primitive(SchemaType::Float64))
                .default_value(Value::Array(vec![Value::Float64(0.5)]))
                .build(),
        )
        .build()
}

fn rich_value(schema: &SchemaRef, i: i64) -> Value {
    let address = Struct::new(address_schema())
        .put("street", format!("{i} Main St"))
        .and_then(|s| s.put("zip", if i % 2 == 0 { Value::Int32(75001) } else { Value::Null }))
        .expect("address");
    let values = vec![
        Value::Boolean(i % 2 == 0),
        Value::Int8(-8),
        Value::Int16(-1600),
        Value::Int32(i32::MAX),
        Value::Int64(i * 1_000_000_007),
        Value::Float32(1.5),
        Value::Float64(-2.25),
        Value::from(format!("name-{i} é")),
        Value::Bytes(vec![0, 1, 2, 255]),
        if i % 2 == 0 { Value::from("note") } else { Value::Null },
        if i % 3 == 0 { Value::Null } else { Value::Int64(i) },
        Value::Struct(address),
        Value::Array(vec![Value::from("a"), Value::from("b")]),
        Value::Map(vec![(Value::from("z"), Value::Int64(1)), (Value::from("a"), Value::Null)]),
        Value::Bytes(logical::decimal_bytes(-12345 - i128::from(i))),
        Value::Int32(19_000 + i32::try_from(i).expect("small")),
        Value::Int32(3_600_000),
        Value::Int64(1_700_000_000_123 + i),
        Value::from("open"),
        Value::Int32(i32::try_from(i).expect("small")),
        Value::Bytes(logical::decimal_bytes(250)),
        Value::Array(vec![Value::Float64(2.0)]),
    ];
    Value::Struct(Struct::from_values(Arc::clone(schema), values).expect("struct"))
}

fn write_all(format: &Format, schema: &SchemaRef, values: &[Value]) -> Vec<u8> {
    let mut writer = format.writer(Some(schema)).expect("writer");
    let mut out = Vec::new();
    for v in values {
        writer.write(Some(schema), v, &mut out).expect("write");
    }
    writer.finish(&mut out).expect("finish");
    out
}

fn assert_round_trip(format: &Format) {
    let schema = rich_schema();
    let values: Vec<Value> = (0..7).map(|i| rich_value(&schema, i)).collect();
    let read = format.read(&write_all(format, &schema, &values)).expect("read");
    assert_eq!(read.len(), values.len());
    for (record, value) in read.iter().zip(&values) {
        assert_eq!(record.schema.as_deref(), Some(&*schema), "{format:?}: the Connect schema comes back");
        assert_eq!(&record.value, value, "{format:?}");
    }
}

#[test]
fn avro_round_trips_a_rich_schema_with_every_codec() {
    for codec in [AvroCodec::Null, AvroCodec::Deflate, AvroCodec::Snappy, AvroCodec::Bzip2] {
        assert_round_trip(&Format::Avro { codec });
    }
}

#[test]
fn avro_schema_is_confluents() {
    let avro = super::avro_schema::to_avro(&rich_schema()).expect("schema");
    assert_eq!(avro["type"], "record");
    assert_eq!(avro["name"], "Order");
    assert_eq!(avro["namespace"], "com.example");
    assert_eq!(avro["connect.name"], "com.example.Order");
    assert_eq!(avro["connect.version"], 3);
    let field = |name: &str| {
        avro["fields"].as_array().and_then(|f| f.iter().find(|f| f["name"] == name)).cloned().expect("field")
    };
    assert_eq!(field("i8")["type"], serde_json::json!({"type": "int", "connect.type": "int8"}));
    assert_eq!(field("note")["type"], serde_json::json!(["null", "string"]));
    assert_eq!(field("note")["default"], serde_json::Value::Null);
    let price = field("price")["type"].clone();
    assert_eq!((price["type"].as_str(), price["logicalType"].as_str()), (Some("bytes"), Some("decimal")));
    assert_eq!((price["scale"].as_i64(), price["precision"].as_i64()), (Some(2), Some(10)));
    assert_eq!(price["connect.name"], logical::DECIMAL);
    assert_eq!(field("day")["type"]["logicalType"], "date");
    assert_eq!(field("at")["type"]["logicalType"], "time-millis");
    assert_eq!(field("ts")["type"]["logicalType"], "timestamp-millis");
    assert_eq!(field("attrs")["type"]["type"], "map");
    assert_eq!(field("status")["default"], "new");
    assert_eq!(field("status")["type"]["connect.default"], "new");
    assert_eq!(field("retries")["type"][1], "null", "an optional field with a default is [T, \"null\"]");
    assert_eq!(field("retries")["default"], 3);
    assert_eq!(field("fee")["default"], "\u{9c}", "bytes defaults are ISO-8859-1 strings");
    assert_eq!(field("weights")["default"], serde_json::json!([0.5]));

    let unnamed = Schema::struct_builder()
        .field("inner", Schema::struct_builder().field("x", Schema::int64()).build())
        .field("m", Schema::map(Schema::int64(), Schema::string()).build())
        .build();
    let avro = super::avro_schema::to_avro(&unnamed).expect("schema");
    assert_eq!(
        (avro["name"].as_str(), avro["namespace"].as_str()),
        (Some("ConnectDefault"), Some("io.confluent.connect.avro"))
    );
    assert_eq!(avro["fields"][0]["type"]["name"], "ConnectDefault2");
    assert_eq!(avro["fields"][1]["type"]["items"]["name"], "MapEntry");
    let decimal = super::avro_schema::to_avro(&logical::decimal(3).build()).expect("schema");
    assert_eq!(decimal["precision"], 64, "Confluent's default precision");
}

#[test]
fn avro_round_trips_maps_with_non_string_keys_and_optional_top_level() {
    let schema = Schema::struct_builder()
        .field("m", Schema::map(Schema::int64(), Schema::string()).build())
        .field("inner", Schema::struct_builder().field("x", Schema::int64()).optional().build())
        .optional()
        .build();
    let inner_schema = Arc::clone(&schema.fields[1].schema);
    let value = Value::Struct(
        Struct::new(Arc::clone(&schema))
            .put("m", Value::Map(vec![(Value::Int64(2), Value::from("two")), (Value::Int64(1), Value::from("one"))]))
            .and_then(|s| s.put("inner", Value::Struct(Struct::new(inner_schema).put("x", 5i64).expect("x"))))
            .expect("struct"),
    );
    let format = Format::Avro { codec: AvroCodec::Null };
    let read = format.read(&write_all(&format, &schema, &[value.clone(), Value::Null])).expect("read");
    assert_eq!(read.iter().map(|r| r.value.clone()).collect::<Vec<_>>(), vec![value, Value::Null]);
    assert_eq!(read[0].schema.as_deref(), Some(&*schema));
}

#[test]
fn avro_refuses_schemaless_records_and_mismatched_values() {
    let format = Format::Avro { codec: AvroCodec::Null };
    let err = format.writer(None).err().expect("schemaless refused");
    assert_eq!(err.kind(), aqueduct_sdk::ErrorKind::Data);
    assert!(err.to_string().contains("JsonFormat"), "{err}");

    let schema = rich_schema();
    let mut writer = format.writer(Some(&schema)).expect("writer");
    let err = writer.write(None, &Value::from("x"), &mut Vec::new()).expect_err("refused");
    assert!(err.to_string().contains("value schema"), "{err}");
    let err = writer.write(Some(&schema), &Value::from("x"), &mut Vec::new()).expect_err("refused");
    assert!(err.to_string().contains("does not match"), "{err}");
    let other = Schema::struct_builder().field("id", Schema::int64()).build();
    let err = writer.write(Some(&other), &Value::Null, &mut Vec::new()).expect_err("refused");
    assert!(err.to_string().contains("differs"), "{err}");
}

#[test]
fn avro_blocks_are_streamed_before_finish() {
    let schema = rich_schema();
    let format = Format::Avro { codec: AvroCodec::Null };
    let mut writer = format.writer(Some(&schema)).expect("writer");
    let mut out = Vec::new();
    writer.write(Some(&schema), &rich_value(&schema, 0), &mut out).expect("write");
    let header = out.len();
    let n = 5_000;
    for i in 1..n {
        writer.write(Some(&schema), &rich_value(&schema, i), &mut out).expect("write");
    }
    let before_finish = out.len();
    assert!(
        before_finish > header + 4 * super::avro::BLOCK_BYTES,
        "blocks are handed out while writing ({before_finish} bytes)"
    );
    writer.finish(&mut out).expect("finish");
    assert!(out.len() > before_finish, "finish appends the last block");
    let read = format.read(&out).expect("read");
    assert_eq!(read.len(), usize::try_from(n).expect("n"));
    assert_eq!(read[4_999].value, rich_value(&schema, 4_999));
}

#[test]
fn parquet_round_trips_a_rich_schema_with_every_codec() {
    for codec in [
        ParquetCodec::None,
        ParquetCodec::Snappy,
        ParquetCodec::Gzip,
        ParquetCodec::Brotli,
        ParquetCodec::Lz4,
        ParquetCodec::Zstd,
    ] {
        assert_round_trip(&Format::Parquet { codec });
    }
}

#[test]
fn parquet_columns_are_typed() {
    let arrow = super::parquet_schema::to_arrow(&rich_schema()).expect("schema");
    let ty = |name: &str| arrow.field_with_name(name).expect("field").data_type().to_string();
    assert_eq!(ty("i8"), "Int8");
    assert_eq!(ty("i64"), "Int64");
    assert_eq!(ty("name"), "Utf8");
    assert_eq!(ty("price"), "Decimal128(10, 2)");
    assert_eq!(ty("day"), "Date32");
    assert_eq!(ty("at"), "Time32(ms)");
    assert_eq!(ty("ts"), "Timestamp(ms, \"UTC\")");
    assert!(ty("address").starts_with("Struct("), "{}", ty("address"));
    assert!(ty("tags").starts_with("List("), "{}", ty("tags"));
    assert!(ty("attrs").starts_with("Map("), "{}", ty("attrs"));
    assert!(arrow.field_with_name("note").expect("note").is_nullable());
    assert!(!arrow.field_with_name("name").expect("name").is_nullable());
}

#[test]
fn parquet_refuses_schemaless_records_non_structs_and_bad_values() {
    let format = Format::Parquet { codec: ParquetCodec::Snappy };
    let err = format.writer(None).err().expect("schemaless refused");
    assert!(err.to_string().contains("value schema"), "{err}");
    let err = format.writer(Some(&Schema::int64())).err().expect("int64 refused");
    assert_eq!(err.kind(), aqueduct_sdk::ErrorKind::Data);
    assert!(err.to_string().contains("struct values"), "{err}");
    let wide = Schema::struct_builder()
        .field("d", logical::decimal(2).parameter("connect.decimal.precision", "60").build())
        .build();
    assert!(format.writer(Some(&wide)).err().expect("too wide").to_string().contains("Decimal128"));

    let schema = rich_schema();
    let mut writer = format.writer(Some(&schema)).expect("writer");
    let err = writer.write(Some(&schema), &Value::Null, &mut Vec::new()).expect_err("refused");
    assert!(err.to_string().contains("null"), "{err}");
    let mut missing = rich_value(&schema, 1);
    if let Value::Struct(s) = &missing {
        missing = Value::Struct(s.clone().put("name", Value::Null).expect("name"));
    }
    let err = writer.write(Some(&schema), &missing, &mut Vec::new()).expect_err("refused");
    assert!(err.to_string().contains("value.name is required"), "{err}");
}

fn row_groups(bytes: &[u8]) -> usize {
    ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(bytes))
        .expect("parquet")
        .metadata()
        .num_row_groups()
}

#[test]
fn parquet_row_groups_are_streamed_at_the_row_bound() {
    let schema = rich_schema();
    let mut writer: Box<dyn RecordWriter> = Box::new(
        super::parquet::ParquetWriter::with_bounds(Some(&schema), ParquetCodec::Snappy, 100, 500, usize::MAX)
            .expect("writer"),
    );
    let mut out = Vec::new();
    for i in 0..2_000 {
        writer.write(Some(&schema), &rich_value(&schema, i), &mut out).expect("write");
    }
    assert!(!out.is_empty(), "closed row groups are handed out before finish");
    writer.finish(&mut out).expect("finish");
    assert_eq!(row_groups(&out), 4);
    let read = Format::Parquet { codec: ParquetCodec::Snappy }.read(&out).expect("read");
    assert_eq!(read.len(), 2_000);
    assert_eq!(read[1_999].value, rich_value(&schema, 1_999));
}

#[test]
fn parquet_row_groups_close_at_the_byte_bound() {
    let schema = Schema::struct_builder().field("id", Schema::int64()).field("text", Schema::string()).build();
    let format = Format::Parquet { codec: ParquetCodec::None };
    let mut writer = format.writer(Some(&schema)).expect("writer");
    let mut out = Vec::new();
    let pad = "x".repeat(10_000);
    let rows: i64 = 2_000;
    for i in 0..rows {
        let value = Struct::new(Arc::clone(&schema))
            .put("id", i)
            .and_then(|s| s.put("text", format!("{i}{pad}")))
            .expect("row");
        writer.write(Some(&schema), &Value::Struct(value), &mut out).expect("write");
    }
    let before_finish = out.len();
    assert!(
        before_finish >= super::parquet::ROW_GROUP_BYTES,
        "row groups of {} bytes go out as they close ({before_finish} bytes before finish)",
        super::parquet::ROW_GROUP_BYTES
    );
    writer.finish(&mut out).expect("finish");
    assert!(row_groups(&out) >= 2, "{} row groups", row_groups(&out));
    assert_eq!(format.read(&out).expect("read").len(), 2_000);
}

#[test]
fn parquet_waiting_rows_are_converted_at_the_batch_byte_bound() {
    let schema = Schema::struct_builder().field("text", Schema::string()).build();
    // No row count would convert the batch: only the waiting rows' size does.
    let mut writer: Box<dyn RecordWriter> = Box::new(
        super::parquet::ParquetWriter::with_bounds(Some(&schema), ParquetCodec::None, usize::MAX, usize::MAX, 1024)
            .expect("writer"),
    );
    let mut out = Vec::new();
    let text = "y".repeat(super::parquet::BATCH_BYTES / 4);
    for _ in 0..5 {
        let value = Struct::new(Arc::clone(&schema)).put("text", text.clone()).expect("row");
        writer.write(Some(&schema), &Value::Struct(value), &mut out).expect("write");
    }
    assert!(out.len() > super::parquet::BATCH_BYTES / 2, "a batch went out before finish ({} bytes)", out.len());
    writer.finish(&mut out).expect("finish");
    assert_eq!(Format::Parquet { codec: ParquetCodec::None }.read(&out).expect("read").len(), 5);
}
