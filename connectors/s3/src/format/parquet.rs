//! `ParquetFormat`: a Parquet file whose columns are the fields of the records' struct value
//! schema, typed as [`super::parquet_schema`] maps them, compressed with `parquet.codec`.
//!
//! Memory bound: rows wait as values until [`BATCH_ROWS`] of them (or about [`BATCH_BYTES`]
//! of their data) are converted into one Arrow record batch and handed to the Parquet writer;
//! the writer closes its row group at [`ROW_GROUP_ROWS`] rows or once the row group's encoded
//! size reaches [`ROW_GROUP_BYTES`] (8 MiB), whichever comes first. After every batch the bytes
//! of closed row groups are appended to `out`, so an object holds at most one open row group
//! (~8 MiB encoded) plus one batch (~4 MiB of values and their Arrow arrays) in memory however
//! large it grows; `finish` closes the last row group and appends the footer.

use std::sync::Arc;

use aqueduct_sdk::{logical, ConnectError, Result, Schema, SchemaRef, SchemaType, Value};
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int16Array,
    Int32Array, Int64Array, Int8Array, ListArray, MapArray, RecordBatch, StringArray, StructArray,
    Time32MillisecondArray, TimestampMillisecondArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, SchemaRef as ArrowSchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

pub(super) use super::parquet_read::read;
use super::parquet_schema;
use super::{ParquetCodec, RecordWriter};

/// Rows converted into one Arrow record batch.
pub(super) const BATCH_ROWS: usize = 1_000;
/// Approximate value bytes after which the waiting rows are converted, whatever their count.
pub(super) const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Rows after which a row group is closed.
pub(super) const ROW_GROUP_ROWS: usize = 100_000;
/// Encoded bytes after which a row group is closed.
pub(super) const ROW_GROUP_BYTES: usize = 8 * 1024 * 1024;

/// Writes a Parquet file.
pub(super) struct ParquetWriter {
    schema: SchemaRef,
    arrow: ArrowSchemaRef,
    writer: ArrowWriter<Vec<u8>>,
    rows: Vec<Value>,
    /// Approximate bytes of `rows`.
    rows_bytes: usize,
    batch_rows: usize,
}

impl ParquetWriter {
    pub(super) fn new(schema: Option<&SchemaRef>, codec: ParquetCodec) -> Result<ParquetWriter> {
        ParquetWriter::with_bounds(schema, codec, BATCH_ROWS, ROW_GROUP_ROWS, ROW_GROUP_BYTES)
    }

    /// A writer with other bounds (tests use small ones).
    pub(super) fn with_bounds(
        schema: Option<&SchemaRef>,
        codec: ParquetCodec,
        batch_rows: usize,
        group_rows: usize,
        group_bytes: usize,
    ) -> Result<ParquetWriter> {
        let schema = schema.ok_or_else(|| {
            ConnectError::data("ParquetFormat needs records with a value schema; use JsonFormat for schemaless records")
        })?;
        let arrow = Arc::new(parquet_schema::to_arrow(schema)?);
        let props = WriterProperties::builder()
            .set_compression(compression(codec))
            .set_max_row_group_row_count(Some(group_rows.max(1)))
            .set_max_row_group_bytes(Some(group_bytes.max(1)))
            .build();
        let writer = ArrowWriter::try_new(Vec::new(), Arc::clone(&arrow), Some(props))
            .map_err(|e| ConnectError::data(format!("Parquet writer cannot be created: {e}")))?;
        Ok(ParquetWriter {
            schema: SchemaRef::clone(schema),
            arrow,
            writer,
            rows: Vec::new(),
            rows_bytes: 0,
            batch_rows: batch_rows.max(1),
        })
    }

    /// Converts the waiting rows into a batch, writes it, and appends closed row groups to `out`.
    fn write_batch(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if !self.rows.is_empty() {
            let rows: Vec<&Value> = self.rows.iter().collect();
            let columns = self
                .schema
                .fields
                .iter()
                .zip(self.arrow.fields())
                .map(|(field, arrow)| build(&field.schema, arrow.data_type(), &children(&rows, &field.name)))
                .collect::<Result<Vec<_>>>()?;
            let batch = RecordBatch::try_new(Arc::clone(&self.arrow), columns)
                .map_err(|e| ConnectError::data(format!("rows cannot be a Parquet batch: {e}")))?;
            self.rows.clear();
            self.rows_bytes = 0;
            self.writer.write(&batch).map_err(|e| ConnectError::data(format!("Parquet write failed: {e}")))?;
        }
        self.writer.sync().map_err(|e| ConnectError::data(format!("Parquet write failed: {e}")))?;
        out.append(self.writer.inner_mut());
        Ok(())
    }
}

fn compression(codec: ParquetCodec) -> Compression {
    match codec {
        ParquetCodec::None => Compression::UNCOMPRESSED,
        ParquetCodec::Snappy => Compression::SNAPPY,
        ParquetCodec::Gzip => Compression::GZIP(Default::default()),
        ParquetCodec::Brotli => Compression::BROTLI(Default::default()),
        ParquetCodec::Lz4 => Compression::LZ4,
        ParquetCodec::Zstd => Compression::ZSTD(Default::default()),
    }
}

impl RecordWriter for ParquetWriter {
    fn write(&mut self, schema: Option<&SchemaRef>, value: &Value, out: &mut Vec<u8>) -> Result<()> {
        let schema = schema.ok_or_else(|| {
            ConnectError::data("ParquetFormat needs records with a value schema; use JsonFormat for schemaless records")
        })?;
        if !SchemaRef::ptr_eq(schema, &self.schema) && **schema != *self.schema {
            return Err(ConnectError::data(
                "a record's value schema differs from the schema of the Parquet object being written",
            ));
        }
        if value.is_null() {
            return Err(ConnectError::data("ParquetFormat cannot write a null value (a tombstone) as a row"));
        }
        check(&self.schema, value, "value")?;
        self.rows_bytes += approx_size(value);
        self.rows.push(value.clone());
        if self.rows.len() >= self.batch_rows || self.rows_bytes >= BATCH_BYTES {
            self.write_batch(out)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, out: &mut Vec<u8>) -> Result<()> {
        self.write_batch(out)?;
        self.writer.finish().map_err(|e| ConnectError::data(format!("Parquet footer cannot be written: {e}")))?;
        out.append(self.writer.inner_mut());
        Ok(())
    }
}

/// About how many bytes a value holds (its data, not the enum's own size).
fn approx_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 8,
        Value::Bytes(b) => b.len() + 8,
        Value::Array(items) => items.iter().map(approx_size).sum::<usize>() + 8,
        Value::Map(entries) => entries.iter().map(|(k, v)| approx_size(k) + approx_size(v)).sum::<usize>() + 8,
        Value::Struct(s) => s.values().iter().map(approx_size).sum::<usize>() + 8,
        _ => 8,
    }
}

/// Checks a value fits its schema, so building columns cannot fail halfway.
fn check(schema: &Schema, value: &Value, path: &str) -> Result<()> {
    let fits = match (schema.schema_type, value) {
        (_, Value::Null) => {
            return if schema.optional {
                Ok(())
            } else {
                Err(ConnectError::data(format!("{path} is required but null")))
            }
        }
        (SchemaType::Bytes, Value::Bytes(b)) if schema.name.as_deref() == Some(logical::DECIMAL) => {
            if logical::decimal_unscaled(b).is_none() {
                return Err(ConnectError::data(format!("{path}: the decimal does not fit Parquet's Decimal128")));
            }
            true
        }
        (SchemaType::Array, Value::Array(items)) => {
            let item = schema.value_schema.as_deref().ok_or_else(|| ConnectError::data("array without items"))?;
            for (i, v) in items.iter().enumerate() {
                check(item, v, &format!("{path}[{i}]"))?;
            }
            true
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (Some(k), Some(v)) = (schema.key_schema.as_deref(), schema.value_schema.as_deref()) else {
                return Err(ConnectError::data("map schema without key or value schema"));
            };
            for (key, value) in entries {
                if key.is_null() {
                    return Err(ConnectError::data(format!("{path}: Parquet map keys cannot be null")));
                }
                check(k, key, &format!("{path} key"))?;
                check(v, value, &format!("{path} value"))?;
            }
            true
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            for field in &schema.fields {
                check(
                    &field.schema,
                    s.get_or_default(&field.name).unwrap_or(&Value::Null),
                    &format!("{path}.{}", field.name),
                )?;
            }
            true
        }
        (t, v) => t.is_primitive() && v.schema_type() == Some(t),
    };
    if fits {
        Ok(())
    } else {
        Err(ConnectError::data(format!(
            "{path} is {} but its schema says {}",
            value.schema_type().map_or("null", |t| t.name()),
            schema.schema_type.name()
        )))
    }
}

/// The values of a struct field in each of `rows` (null where the struct is null).
fn children<'a>(rows: &[&'a Value], name: &str) -> Vec<&'a Value> {
    rows.iter()
        .map(|row| match row {
            Value::Struct(s) => s.get_or_default(name).unwrap_or(&Value::Null),
            _ => &Value::Null,
        })
        .collect()
}

fn validity(values: &[&Value]) -> Option<NullBuffer> {
    values.iter().any(|v| v.is_null()).then(|| NullBuffer::from_iter(values.iter().map(|v| !v.is_null())))
}

fn arrow_error(e: arrow_schema::ArrowError) -> ConnectError {
    ConnectError::data(format!("rows cannot be Parquet columns: {e}"))
}

/// One column (of `data_type`, as [`parquet_schema::data_type`] gives for `schema`) of checked values.
fn build(schema: &Schema, data_type: &DataType, values: &[&Value]) -> Result<ArrayRef> {
    Ok(match data_type {
        DataType::Boolean => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Boolean(b) => Some(*b),
                    _ => None,
                })
                .collect::<BooleanArray>(),
        ),
        DataType::Int8 => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Int8(n) => Some(*n),
                    _ => None,
                })
                .collect::<Int8Array>(),
        ),
        DataType::Int16 => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Int16(n) => Some(*n),
                    _ => None,
                })
                .collect::<Int16Array>(),
        ),
        DataType::Int32 => Arc::new(values.iter().map(|v| int32(v)).collect::<Int32Array>()),
        DataType::Date32 => Arc::new(values.iter().map(|v| int32(v)).collect::<Date32Array>()),
        DataType::Time32(_) => Arc::new(values.iter().map(|v| int32(v)).collect::<Time32MillisecondArray>()),
        DataType::Int64 => Arc::new(values.iter().map(|v| int64(v)).collect::<Int64Array>()),
        DataType::Timestamp(_, tz) => Arc::new(
            values.iter().map(|v| int64(v)).collect::<TimestampMillisecondArray>().with_timezone_opt(tz.clone()),
        ),
        DataType::Float32 => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Float32(n) => Some(*n),
                    _ => None,
                })
                .collect::<Float32Array>(),
        ),
        DataType::Float64 => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Float64(n) => Some(*n),
                    _ => None,
                })
                .collect::<Float64Array>(),
        ),
        DataType::Utf8 => Arc::new(values.iter().map(|v| v.as_str()).collect::<StringArray>()),
        DataType::Binary => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Bytes(b) => Some(b.as_slice()),
                    _ => None,
                })
                .collect::<BinaryArray>(),
        ),
        DataType::Decimal128(precision, scale) => Arc::new(
            values
                .iter()
                .map(|v| match v {
                    Value::Bytes(b) => logical::decimal_unscaled(b),
                    _ => None,
                })
                .collect::<Decimal128Array>()
                .with_precision_and_scale(*precision, *scale)
                .map_err(arrow_error)?,
        ),
        DataType::Struct(fields) => {
            let children = schema
                .fields
                .iter()
                .zip(fields.iter())
                .map(|(f, arrow)| build(&f.schema, arrow.data_type(), &children(values, &f.name)))
                .collect::<Result<Vec<_>>>()?;
            Arc::new(StructArray::try_new(fields.clone(), children, validity(values)).map_err(arrow_error)?)
        }
        DataType::List(item) => {
            let item_schema =
                schema.value_schema.as_deref().ok_or_else(|| ConnectError::data("array without items"))?;
            let mut lengths = Vec::with_capacity(values.len());
            let mut items = Vec::new();
            for v in values {
                let list = match v {
                    Value::Array(list) => list.as_slice(),
                    _ => &[],
                };
                lengths.push(list.len());
                items.extend(list.iter());
            }
            let child = build(item_schema, item.data_type(), &items)?;
            Arc::new(
                ListArray::try_new(Arc::clone(item), OffsetBuffer::from_lengths(lengths), child, validity(values))
                    .map_err(arrow_error)?,
            )
        }
        DataType::Map(entries, sorted) => {
            let (Some(key_schema), Some(value_schema), DataType::Struct(kv)) =
                (schema.key_schema.as_deref(), schema.value_schema.as_deref(), entries.data_type())
            else {
                return Err(ConnectError::data("map schema without key or value schema"));
            };
            let mut lengths = Vec::with_capacity(values.len());
            let (mut keys, mut vals) = (Vec::new(), Vec::new());
            for v in values {
                let map = match v {
                    Value::Map(map) => map.as_slice(),
                    _ => &[],
                };
                lengths.push(map.len());
                for (k, v) in map {
                    keys.push(k);
                    vals.push(v);
                }
            }
            let key_column = build(key_schema, kv[0].data_type(), &keys)?;
            let value_column = build(value_schema, kv[1].data_type(), &vals)?;
            let entry_array =
                StructArray::try_new(kv.clone(), vec![key_column, value_column], None).map_err(arrow_error)?;
            Arc::new(
                MapArray::try_new(
                    Arc::clone(entries),
                    OffsetBuffer::from_lengths(lengths),
                    entry_array,
                    validity(values),
                    *sorted,
                )
                .map_err(arrow_error)?,
            )
        }
        other => return Err(ConnectError::data(format!("no Parquet column for {other}"))),
    })
}

fn int32(v: &Value) -> Option<i32> {
    match v {
        Value::Int32(n) => Some(*n),
        _ => None,
    }
}

fn int64(v: &Value) -> Option<i64> {
    match v {
        Value::Int64(n) => Some(*n),
        _ => None,
    }
}

/// The codec's part of the extension (Parquet's own: `.snappy`, `.gz`, ...).
pub(super) fn codec_extension(codec: ParquetCodec) -> &'static str {
    match codec {
        ParquetCodec::None => "",
        ParquetCodec::Snappy => ".snappy",
        ParquetCodec::Gzip => ".gz",
        ParquetCodec::Brotli => ".br",
        ParquetCodec::Lz4 => ".lz4",
        ParquetCodec::Zstd => ".zstd",
    }
}
