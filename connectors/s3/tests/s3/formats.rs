//! Avro and Parquet objects read by third-party readers: objects written with the crate's
//! public format API are read by pyarrow and fastavro from the services venv
//! (`scripts/services.sh install s3` puts them in `$AQUEDUCT_CACHE/venv`), which must see typed
//! columns and the values that were written.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use aqueduct_connector_s3::format::{AvroCodec, Format, ParquetCodec};
use aqueduct_sdk::{logical, Schema, SchemaRef, SchemaType, Struct, Value};
use serde_json::{json, Value as Json};

const ROWS: i64 = 3;

fn address_schema() -> SchemaRef {
    Schema::struct_builder()
        .name("com.example.Address")
        .field("street", Schema::string())
        .field("zip", Schema::optional(SchemaType::Int32))
        .build()
}

fn schema() -> SchemaRef {
    Schema::struct_builder()
        .name("com.example.Order")
        .field("id", Schema::int64())
        .field("name", Schema::string())
        .field("small", Schema::primitive(SchemaType::Int8))
        .field("flag", Schema::primitive(SchemaType::Boolean))
        .field("ratio", Schema::primitive(SchemaType::Float64))
        .field("blob", Schema::primitive(SchemaType::Bytes))
        .field("note", Schema::optional(SchemaType::String))
        .field("price", logical::decimal(2).parameter("connect.decimal.precision", "10").build())
        .field("day", logical::date().build())
        .field("at", logical::time().build())
        .field("ts", logical::timestamp().build())
        .field("address", address_schema())
        .field("tags", Schema::array(Schema::string()).build())
        .field("attrs", Schema::map(Schema::string(), Schema::optional(SchemaType::Int64)).build())
        .field("fee", logical::decimal(2).default_value(Value::Bytes(logical::decimal_bytes(-100))).build())
        .field("retries", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(3)).build())
        .build()
}

fn row(schema: &SchemaRef, i: i64) -> Value {
    let address = Struct::new(address_schema())
        .put("street", format!("{i} Main St"))
        .and_then(|s| s.put("zip", if i == 1 { Value::Null } else { Value::Int32(75000 + i as i32) }))
        .expect("address");
    let values = vec![
        Value::Int64(i * 1_000_000_007),
        Value::from(format!("name-{i} é")),
        Value::Int8(-(i as i8)),
        Value::Boolean(i % 2 == 0),
        Value::Float64(i as f64 + 0.25),
        Value::Bytes(vec![0, i as u8, 255]),
        if i == 1 { Value::Null } else { Value::from(format!("note {i}")) },
        Value::Bytes(logical::decimal_bytes(-12345 + 1000 * i128::from(i))),
        Value::Int32(19_000 + i as i32),
        Value::Int32(3_600_000 + 1_500),
        Value::Int64(1_700_000_000_123 + i),
        Value::Struct(address),
        Value::Array((0..i).map(|t| Value::from(format!("t{t}"))).collect()),
        Value::Map(vec![(Value::from("a"), Value::Int64(i)), (Value::from("b"), Value::Null)]),
        Value::Bytes(logical::decimal_bytes(250)),
        if i == 1 { Value::Null } else { Value::Int32(i as i32) },
    ];
    Value::Struct(Struct::from_values(Arc::clone(schema), values).expect("row"))
}

/// What the readers must see for row `i`, normalised as the script below normalises.
fn expected(i: i64) -> Json {
    let price = logical::decimal_to_string(-12345 + 1000 * i128::from(i), 2);
    let day = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Days::new(19_000 + i as u64);
    json!({
        "id": i * 1_000_000_007,
        "name": format!("name-{i} é"),
        "small": -i,
        "flag": i % 2 == 0,
        "ratio": i as f64 + 0.25,
        "blob": format!("00{:02x}ff", i),
        "note": if i == 1 { Json::Null } else { json!(format!("note {i}")) },
        "price": price,
        "day": day.format("%Y-%m-%d").to_string(),
        "at": "01:00:01.500000",
        "ts": 1_700_000_000_123 + i,
        "address": {"street": format!("{i} Main St"), "zip": if i == 1 { Json::Null } else { json!(75000 + i) }},
        "tags": (0..i).map(|t| format!("t{t}")).collect::<Vec<_>>(),
        "attrs": {"a": i, "b": null},
        "fee": "2.50",
        "retries": if i == 1 { 3 } else { i },
    })
}

/// Reads every `*.parquet` with pyarrow and `*.avro` with fastavro in the directory; prints, per
/// file, the column types and the rows with values normalised to JSON.
const READER: &str = r#"
import datetime, decimal, io, json, os, sys
import fastavro, pyarrow.parquet as pq

def norm(v):
    if isinstance(v, decimal.Decimal): return str(v)
    if isinstance(v, datetime.datetime):
        return (v - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(milliseconds=1)
    if isinstance(v, datetime.date): return v.isoformat()
    if isinstance(v, datetime.time): return v.isoformat(timespec="microseconds")
    if isinstance(v, bytes): return v.hex()
    if isinstance(v, dict): return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list) and v and all(isinstance(x, tuple) for x in v): return {k: norm(x) for k, x in v}
    if isinstance(v, list): return [norm(x) for x in v]
    return v

def defaults(schema, row):
    # A record written without the defaulted fields, read with the file's schema: fastavro fills
    # in the defaults the file's schema declares.
    fields = [f for f in schema["fields"] if f["name"] not in ("fee", "retries")]
    writer = dict(schema, fields=fields)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, writer, {f["name"]: row[f["name"]] for f in fields})
    buf.seek(0)
    r = fastavro.schemaless_reader(buf, writer, schema)
    return {"fee": norm(r["fee"]), "retries": r["retries"]}

out = {}
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    path = os.path.join(d, name)
    if name.endswith(".parquet"):
        table = pq.read_table(path)
        out[name] = {"types": {f.name: str(f.type) for f in table.schema},
                     "rows": [norm(r) for r in table.to_pylist()]}
    elif name.endswith(".avro"):
        with open(path, "rb") as f:
            reader = fastavro.reader(f)
            rows = list(reader)
            schema = reader.writer_schema
            out[name] = {"codec": reader.codec,
                         "types": {fl["name"]: fl["type"] for fl in schema["fields"]},
                         "defaults": defaults(schema, rows[0]),
                         "pytypes": {k: type(v).__name__ for k, v in rows[0].items()},
                         "rows": [norm(r) for r in rows]}
print(json.dumps(out))
"#;

fn python() -> String {
    let cache = std::env::var("AQUEDUCT_CACHE").unwrap_or_else(|_| "/var/cache/aqueduct".to_owned());
    format!("{cache}/venv/bin/python")
}

fn write_object(dir: &Path, file: &str, format: &Format, schema: &SchemaRef) {
    let mut writer = format.writer(Some(schema)).expect("writer");
    let mut out = Vec::new();
    for i in 0..ROWS {
        writer.write(Some(schema), &row(schema, i), &mut out).expect("write");
    }
    writer.finish(&mut out).expect("finish");
    std::fs::write(dir.join(file), out).expect("object written");
}

fn read_with_python(dir: &Path) -> Json {
    let output = Command::new(python()).arg("-c").arg(READER).arg(dir).output().unwrap_or_else(|e| {
        panic!("{} cannot run ({e}): run scripts/services.sh install s3", python());
    });
    assert!(
        output.status.success(),
        "the pyarrow/fastavro reader failed (scripts/services.sh install s3 installs them):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the reader prints JSON")
}

fn temp_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aqueduct-s3-formats-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn parquet_and_avro_objects_are_read_by_pyarrow_and_fastavro_with_typed_columns() {
    let schema = schema();
    let dir = temp_dir("third-party-readers");
    let parquet_codecs = [
        ("none", ParquetCodec::None),
        ("snappy", ParquetCodec::Snappy),
        ("gzip", ParquetCodec::Gzip),
        ("brotli", ParquetCodec::Brotli),
        ("lz4", ParquetCodec::Lz4),
        ("zstd", ParquetCodec::Zstd),
    ];
    for (name, codec) in parquet_codecs {
        write_object(&dir, &format!("{name}.parquet"), &Format::Parquet { codec }, &schema);
    }
    let avro_codecs = [
        ("null", AvroCodec::Null),
        ("deflate", AvroCodec::Deflate),
        ("snappy", AvroCodec::Snappy),
        ("bzip2", AvroCodec::Bzip2),
    ];
    for (name, codec) in avro_codecs {
        write_object(&dir, &format!("{name}.avro"), &Format::Avro { codec }, &schema);
    }
    let read = read_with_python(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let rows: Vec<Json> = (0..ROWS).map(expected).collect();

    for (name, _) in parquet_codecs {
        let file = &read[format!("{name}.parquet")];
        let types = &file["types"];
        let ty = |col: &str| types[col].as_str().unwrap_or_default().to_owned();
        assert_eq!(ty("id"), "int64", "{name}: {types}");
        assert_eq!(ty("name"), "string", "{name}: {types}");
        assert_eq!(ty("small"), "int8", "{name}: {types}");
        assert_eq!(ty("flag"), "bool", "{name}: {types}");
        assert_eq!(ty("ratio"), "double", "{name}: {types}");
        assert_eq!(ty("blob"), "binary", "{name}: {types}");
        assert_eq!(ty("price"), "decimal128(10, 2)", "{name}: {types}");
        assert_eq!(ty("day"), "date32[day]", "{name}: {types}");
        assert_eq!(ty("at"), "time32[ms]", "{name}: {types}");
        assert_eq!(ty("ts"), "timestamp[ms, tz=UTC]", "{name}: {types}");
        assert!(ty("address").starts_with("struct<street: string not null, zip: int32>"), "{name}: {types}");
        assert!(ty("tags").starts_with("list<"), "{name}: {types}");
        assert!(ty("attrs").starts_with("map<string, int64"), "{name}: {types}");
        assert_eq!(file["rows"].as_array(), Some(&rows), "{name}.parquet rows as pyarrow reads them");
    }

    for (name, _) in avro_codecs {
        let file = &read[format!("{name}.avro")];
        assert_eq!(file["codec"], name, "{name}.avro: {file}");
        let types = &file["types"];
        assert_eq!(types["id"], "long", "{name}: {types}");
        assert_eq!(types["name"], "string", "{name}: {types}");
        assert_eq!(types["small"]["connect.type"], "int8", "{name}: {types}");
        assert_eq!(types["note"], json!(["null", "string"]), "{name}: {types}");
        assert_eq!(types["price"]["logicalType"], "decimal", "{name}: {types}");
        assert_eq!((types["price"]["precision"].as_i64(), types["price"]["scale"].as_i64()), (Some(10), Some(2)));
        assert_eq!(types["day"]["logicalType"], "date", "{name}: {types}");
        assert_eq!(types["ts"]["logicalType"], "timestamp-millis", "{name}: {types}");
        assert_eq!(types["address"]["type"], "record", "{name}: {types}");
        assert_eq!(types["tags"]["type"], "array", "{name}: {types}");
        assert_eq!(types["attrs"]["type"], "map", "{name}: {types}");
        assert_eq!(types["retries"][1], "null", "{name}: [T, \"null\"] for a default: {types}");
        // fastavro hands a bytes default back as its JSON string (ISO-8859-1 code points of the
        // unscaled -100: 0x9c) without the decimal conversion.
        assert_eq!(file["defaults"]["fee"], "\u{9c}", "{name}: fastavro resolves the decimal default");
        assert_eq!(file["defaults"]["retries"], 3, "{name}");
        let pytypes = &file["pytypes"];
        assert_eq!(
            [&pytypes["price"], &pytypes["day"], &pytypes["at"], &pytypes["ts"]],
            [&json!("Decimal"), &json!("date"), &json!("time"), &json!("datetime")],
            "{name}.avro: fastavro decodes the logical types"
        );
        assert_eq!(file["rows"].as_array(), Some(&rows), "{name}.avro rows as fastavro reads them");
    }
}

/// Writes `foreign.avro` with fastavro (an enum, a fixed, a `[T, "null"]` union, a named type
/// used twice, a map) and `foreign.parquet` with pyarrow (types this crate never writes).
const WRITER: &str = r#"
import datetime, decimal, os, sys
import fastavro, pyarrow as pa, pyarrow.parquet as pq

d = sys.argv[1]
schema = {"type": "record", "name": "Row", "namespace": "x.y", "fields": [
    {"name": "id", "type": "long"},
    {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
    {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
    {"name": "maybe", "type": ["string", "null"]},
    {"name": "small", "type": {"type": "int", "connect.type": "int16"}},
    {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 3}},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "home", "type": {"type": "record", "name": "Addr", "fields": [{"name": "city", "type": "string"}]}},
    {"name": "work", "type": ["null", "Addr"]},
    {"name": "scores", "type": {"type": "map", "values": "double"}},
]}
utc = datetime.timezone.utc
rows = [{"id": i, "color": ["RED", "GREEN"][i % 2], "hash": bytes([i, 1, 2, 3]),
         "maybe": None if i else "here", "small": -300 + i, "price": decimal.Decimal("-1.250") + i,
         "ts": datetime.datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=utc), "home": {"city": f"c{i}"},
         "work": {"city": "w"} if i else None, "scores": {"m": 1.5, "e": float(i)}} for i in range(2)]
with open(os.path.join(d, "foreign.avro"), "wb") as f:
    fastavro.writer(f, schema, rows, codec="deflate")
table = pa.table({
    "a": pa.array([1, None], pa.int32()),
    "b": pa.array([200, 7], pa.uint8()),
    "c": pa.array([1_700_000_000_123_456, 5], pa.timestamp("us", tz="UTC")),
    "d": pa.array(["x", "é"], pa.large_string()),
    "e": pa.array([[1, 2], []], pa.list_(pa.int64())),
    "f": pa.array([{"x": "s"}, None], pa.struct([("x", pa.string())])),
    "g": pa.array([decimal.Decimal("123.45"), decimal.Decimal("-0.01")], pa.decimal128(5, 2)),
    "h": pa.array([datetime.date(2024, 2, 29), datetime.date(1969, 12, 31)], pa.date32()),
    "i": pa.array([b"\x00\xff", b""], pa.binary()),
})
pq.write_table(table, os.path.join(d, "foreign.parquet"), compression="zstd")
"#;

fn field_type(schema: &SchemaRef, name: &str) -> SchemaRef {
    Arc::clone(&schema.field(name).unwrap_or_else(|| panic!("field {name}")).schema)
}

fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    value.field(name).unwrap_or_else(|| panic!("field {name} in {value:?}"))
}

#[test]
fn avro_and_parquet_files_of_fastavro_and_pyarrow_are_read_as_connect_records() {
    let dir = temp_dir("third-party-writers");
    let output = Command::new(python()).arg("-c").arg(WRITER).arg(&dir).output().expect("python runs");
    assert!(output.status.success(), "fastavro/pyarrow writer failed: {}", String::from_utf8_lossy(&output.stderr));

    let avro = std::fs::read(dir.join("foreign.avro")).expect("avro file");
    let records = Format::Avro { codec: AvroCodec::Null }.read(&avro).expect("fastavro's file reads");
    assert_eq!(records.len(), 2);
    let schema = records[0].schema.clone().expect("schema");
    assert_eq!(schema.name.as_deref(), Some("x.y.Row"));
    assert_eq!(field_type(&schema, "color").schema_type, SchemaType::String);
    assert_eq!(field_type(&schema, "hash").schema_type, SchemaType::Bytes);
    assert!(field_type(&schema, "maybe").optional);
    assert_eq!(field_type(&schema, "small").schema_type, SchemaType::Int16);
    let price = field_type(&schema, "price");
    assert_eq!(logical::decimal_scale(&price), Some(3));
    assert_eq!(price.parameters.get("connect.decimal.precision").map(String::as_str), Some("9"));
    assert_eq!(field_type(&schema, "ts").name.as_deref(), Some(logical::TIMESTAMP));
    assert_eq!(field_type(&schema, "work").name.as_deref(), Some("x.y.Addr"), "a named type used again");
    let (first, second) = (&records[0].value, &records[1].value);
    assert_eq!(field(first, "color"), &Value::from("RED"));
    assert_eq!(field(second, "color"), &Value::from("GREEN"));
    assert_eq!(field(second, "hash"), &Value::Bytes(vec![1, 1, 2, 3]));
    assert_eq!((field(first, "maybe"), field(second, "maybe")), (&Value::from("here"), &Value::Null));
    assert_eq!(field(second, "small"), &Value::Int16(-299));
    assert_eq!(field(first, "price"), &Value::Bytes(logical::decimal_bytes(-1250)));
    assert_eq!(field(first, "ts"), &Value::Int64(1_704_164_645_006));
    assert_eq!(field(field(second, "home"), "city"), &Value::from("c1"));
    assert_eq!(field(first, "work"), &Value::Null);
    assert_eq!(field(field(second, "work"), "city"), &Value::from("w"));
    assert_eq!(
        field(second, "scores"),
        &Value::Map(vec![(Value::from("m"), Value::Float64(1.5)), (Value::from("e"), Value::Float64(1.0))])
    );

    let parquet = std::fs::read(dir.join("foreign.parquet")).expect("parquet file");
    let _ = std::fs::remove_dir_all(&dir);
    let records = Format::Parquet { codec: ParquetCodec::Snappy }.read(&parquet).expect("pyarrow's file reads");
    assert_eq!(records.len(), 2);
    let schema = records[0].schema.clone().expect("schema");
    let types: Vec<SchemaType> = schema.fields.iter().map(|f| f.schema.schema_type).collect();
    let expected_types = ["int32", "int16", "int64", "string", "array", "struct", "bytes", "int32", "bytes"];
    assert_eq!(types.iter().map(|t| t.name()).collect::<Vec<_>>(), expected_types);
    assert_eq!(field_type(&schema, "c").name.as_deref(), Some(logical::TIMESTAMP));
    assert_eq!(logical::decimal_scale(&field_type(&schema, "g")), Some(2));
    assert_eq!(field_type(&schema, "h").name.as_deref(), Some(logical::DATE));
    let (first, second) = (&records[0].value, &records[1].value);
    assert_eq!((field(first, "a"), field(second, "a")), (&Value::Int32(1), &Value::Null));
    assert_eq!(field(first, "b"), &Value::Int16(200));
    assert_eq!(field(first, "c"), &Value::Int64(1_700_000_000_123), "microseconds as milliseconds");
    assert_eq!(field(second, "d"), &Value::from("é"));
    assert_eq!(field(first, "e"), &Value::Array(vec![Value::Int64(1), Value::Int64(2)]));
    assert_eq!(field(field(first, "f"), "x"), &Value::from("s"));
    assert_eq!(field(second, "f"), &Value::Null);
    assert_eq!(field(second, "g"), &Value::Bytes(logical::decimal_bytes(-1)));
    assert_eq!(field(first, "h"), &Value::Int32(19_782));
    assert_eq!(field(second, "h"), &Value::Int32(-1));
    assert_eq!(field(first, "i"), &Value::Bytes(vec![0, 255]));
}
