//! Reading a Parquet file back: its Arrow schema as a Connect struct schema
//! ([`super::parquet_schema::to_connect`]) and each row as a struct value.

use aqueduct_sdk::{logical, ConnectError, Result, SchemaRef, Struct, Value};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type,
    UInt8Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::parquet_schema;
use super::ReadRecord;

/// Reads a Parquet file: its columns as a Connect struct schema, and every row.
pub(super) fn read(bytes: &[u8]) -> Result<Vec<ReadRecord>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(bytes))
        .map_err(|e| ConnectError::data(format!("not a readable Parquet file: {e}")))?;
    let schema = parquet_schema::to_connect(builder.schema())?;
    let reader = builder.build().map_err(|e| ConnectError::data(format!("Parquet file cannot be read: {e}")))?;
    let mut records = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| ConnectError::data(format!("Parquet file cannot be read: {e}")))?;
        for row in 0..batch.num_rows() {
            let values = schema
                .fields
                .iter()
                .zip(batch.columns())
                .map(|(f, column)| value_at(&f.schema, column.as_ref(), row))
                .collect::<Result<Vec<_>>>()?;
            let value = Value::Struct(Struct::from_values(SchemaRef::clone(&schema), values)?);
            records.push(ReadRecord { schema: Some(SchemaRef::clone(&schema)), value });
        }
    }
    Ok(records)
}

fn out_of_range(what: &str) -> ConnectError {
    ConnectError::data(format!("a Parquet {what} value is out of range for its Connect type"))
}

/// The value at `row` of a column, as the Connect type [`parquet_schema::to_connect`] gives it.
fn value_at(schema: &SchemaRef, array: &dyn Array, row: usize) -> Result<Value> {
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    let child = |s: &Option<SchemaRef>| s.clone().ok_or_else(|| ConnectError::data("Parquet schema lost a child"));
    Ok(match array.data_type() {
        DataType::Boolean => Value::Boolean(array.as_boolean().value(row)),
        DataType::Int8 => Value::Int8(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => Value::Int16(array.as_primitive::<Int16Type>().value(row)),
        DataType::UInt8 => Value::Int16(i16::from(array.as_primitive::<UInt8Type>().value(row))),
        DataType::Int32 => Value::Int32(array.as_primitive::<Int32Type>().value(row)),
        DataType::UInt16 => Value::Int32(i32::from(array.as_primitive::<UInt16Type>().value(row))),
        DataType::Int64 => Value::Int64(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt32 => Value::Int64(i64::from(array.as_primitive::<UInt32Type>().value(row))),
        DataType::UInt64 => Value::Int64(
            i64::try_from(array.as_primitive::<UInt64Type>().value(row)).map_err(|_| out_of_range("uint64"))?,
        ),
        DataType::Float32 => Value::Float32(array.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => Value::Float64(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_owned()),
        DataType::Utf8View => Value::String(array.as_string_view().value(row).to_owned()),
        DataType::Binary => Value::Bytes(array.as_binary::<i32>().value(row).to_vec()),
        DataType::LargeBinary => Value::Bytes(array.as_binary::<i64>().value(row).to_vec()),
        DataType::BinaryView => Value::Bytes(array.as_binary_view().value(row).to_vec()),
        DataType::FixedSizeBinary(_) => Value::Bytes(array.as_fixed_size_binary().value(row).to_vec()),
        DataType::Decimal128(_, _) => {
            Value::Bytes(logical::decimal_bytes(array.as_primitive::<Decimal128Type>().value(row)))
        }
        DataType::Date32 => Value::Int32(array.as_primitive::<Date32Type>().value(row)),
        DataType::Date64 => Value::Int32(
            i32::try_from(array.as_primitive::<Date64Type>().value(row).div_euclid(86_400_000))
                .map_err(|_| out_of_range("date64"))?,
        ),
        DataType::Time32(unit) => {
            let ms = match unit {
                TimeUnit::Second => array.as_primitive::<Time32SecondType>().value(row).checked_mul(1000),
                _ => Some(array.as_primitive::<Time32MillisecondType>().value(row)),
            };
            Value::Int32(ms.ok_or_else(|| out_of_range("time"))?)
        }
        DataType::Time64(unit) => {
            let ms = match unit {
                TimeUnit::Nanosecond => array.as_primitive::<Time64NanosecondType>().value(row) / 1_000_000,
                _ => array.as_primitive::<Time64MicrosecondType>().value(row) / 1_000,
            };
            Value::Int32(i32::try_from(ms).map_err(|_| out_of_range("time"))?)
        }
        DataType::Timestamp(unit, _) => Value::Int64(match unit {
            TimeUnit::Second => array
                .as_primitive::<TimestampSecondType>()
                .value(row)
                .checked_mul(1000)
                .ok_or_else(|| out_of_range("timestamp"))?,
            TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(row),
            TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(row).div_euclid(1_000),
            TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row).div_euclid(1_000_000),
        }),
        DataType::Struct(_) => {
            let s = array.as_struct();
            let values = schema
                .fields
                .iter()
                .zip(s.columns())
                .map(|(f, column)| value_at(&f.schema, column.as_ref(), row))
                .collect::<Result<Vec<_>>>()?;
            Value::Struct(Struct::from_values(SchemaRef::clone(schema), values)?)
        }
        DataType::List(_) => list_items(&child(&schema.value_schema)?, &array.as_list::<i32>().value(row))?,
        DataType::LargeList(_) => list_items(&child(&schema.value_schema)?, &array.as_list::<i64>().value(row))?,
        DataType::Map(_, _) => {
            let (key_schema, value_schema) = (child(&schema.key_schema)?, child(&schema.value_schema)?);
            let entries = array.as_map().value(row);
            let (keys, vals) = (entries.column(0), entries.column(1));
            let mut map = Vec::with_capacity(entries.len());
            for i in 0..entries.len() {
                map.push((value_at(&key_schema, keys.as_ref(), i)?, value_at(&value_schema, vals.as_ref(), i)?));
            }
            Value::Map(map)
        }
        other => return Err(ConnectError::data(format!("Parquet column type {other} has no Connect type"))),
    })
}

fn list_items(item_schema: &SchemaRef, items: &ArrayRef) -> Result<Value> {
    (0..items.len()).map(|i| value_at(item_schema, items.as_ref(), i)).collect::<Result<Vec<_>>>().map(Value::Array)
}
