use std::sync::Arc;

use aqueduct_sdk::{Schema, Struct};

use super::*;

fn roundtrip(format: &Format, values: &[Value]) -> Vec<Value> {
    let mut writer = format.writer(None).expect("writer");
    let mut out = Vec::new();
    for v in values {
        writer.write(None, v, &mut out).expect("write");
    }
    writer.finish(&mut out).expect("finish");
    format.read(&out).expect("read").into_iter().map(|r| r.value).collect()
}

#[test]
fn json_lines_round_trip_plain_and_gzipped() {
    let values = vec![
        Value::Map(vec![(Value::from("id"), Value::Int64(1)), (Value::from("name"), Value::from("a\nb"))]),
        Value::Int64(7),
        Value::from("text"),
    ];
    for gzip in [false, true] {
        assert_eq!(roundtrip(&Format::Json { gzip }, &values), values, "gzip={gzip}");
    }
}

#[test]
fn json_writes_a_struct_as_the_converter_does() {
    let schema = Schema::struct_builder().field("id", Schema::int64()).field("name", Schema::string()).build();
    let value = Value::Struct(
        Struct::new(Arc::clone(&schema)).put("id", 3i64).and_then(|s| s.put("name", "x")).expect("struct"),
    );
    let mut writer = Format::Json { gzip: false }.writer(Some(&schema)).expect("writer");
    let mut out = Vec::new();
    writer.write(Some(&schema), &value, &mut out).expect("write");
    writer.finish(&mut out).expect("finish");
    assert_eq!(String::from_utf8(out).expect("utf8"), "{\"id\":3,\"name\":\"x\"}\n");
}

#[test]
fn gzip_output_is_streamed_as_records_arrive() {
    let mut writer = Format::Json { gzip: true }.writer(None).expect("writer");
    let mut out = Vec::new();
    let line = Value::from("x".repeat(1000));
    for _ in 0..2000 {
        writer.write(None, &line, &mut out).expect("write");
    }
    assert!(!out.is_empty(), "compressed bytes are handed out before the object ends");
    writer.finish(&mut out).expect("finish");
    assert_eq!(Format::Json { gzip: true }.read(&out).expect("read").len(), 2000);
}

#[test]
fn byte_arrays_round_trip_with_a_custom_separator() {
    let format = Format::ByteArray { separator: b"||".to_vec(), extension: ".bin".into(), gzip: false };
    let values = vec![Value::Bytes(b"one".to_vec()), Value::Bytes(b"".to_vec()), Value::Bytes(b"thr|ee".to_vec())];
    assert_eq!(roundtrip(&format, &values), values);
}

#[test]
fn byte_array_format_refuses_a_struct() {
    let schema = Schema::struct_builder().field("id", Schema::int64()).build();
    let value = Value::Struct(Struct::new(Arc::clone(&schema)).put("id", 1i64).expect("struct"));
    let format = Format::ByteArray { separator: b"\n".to_vec(), extension: ".bin".into(), gzip: false };
    let err = format.writer(None).expect("writer").write(Some(&schema), &value, &mut Vec::new()).expect_err("refused");
    assert!(err.to_string().contains("bytes values"), "{err}");
}

#[test]
fn extensions_are_confluents() {
    assert_eq!(Format::Json { gzip: false }.extension(), ".json");
    assert_eq!(Format::Json { gzip: true }.extension(), ".json.gz");
    assert_eq!(Format::Avro { codec: AvroCodec::Null }.extension(), ".avro");
    assert_eq!(Format::Parquet { codec: ParquetCodec::Snappy }.extension(), ".snappy.parquet");
    assert_eq!(Format::Parquet { codec: ParquetCodec::None }.extension(), ".parquet");
}
