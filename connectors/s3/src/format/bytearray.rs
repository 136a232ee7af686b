//! `ByteArrayFormat`: each value's raw bytes followed by `format.bytearray.separator`.

use aqueduct_sdk::{ConnectError, Result, SchemaRef, Value};

use super::compress::{decoded, Output};
use super::{ReadRecord, RecordWriter};

/// Writes raw values with a separator.
pub(super) struct ByteArrayWriter {
    output: Output,
    separator: Vec<u8>,
}

impl ByteArrayWriter {
    pub(super) fn new(separator: Vec<u8>, gzip: bool) -> ByteArrayWriter {
        ByteArrayWriter { output: Output::new(gzip), separator }
    }
}

impl RecordWriter for ByteArrayWriter {
    fn write(&mut self, _schema: Option<&SchemaRef>, value: &Value, out: &mut Vec<u8>) -> Result<()> {
        let bytes = match value {
            Value::Bytes(bytes) => bytes.as_slice(),
            Value::String(text) => text.as_bytes(),
            other => {
                return Err(ConnectError::data(format!(
                    "ByteArrayFormat writes bytes values (ByteArrayConverter); got {}",
                    other.schema_type().map_or("null", |t| t.name())
                )))
            }
        };
        self.output.write(bytes, out)?;
        self.output.write(&self.separator, out)
    }

    fn finish(self: Box<Self>, out: &mut Vec<u8>) -> Result<()> {
        self.output.finish(out)
    }
}

/// Splits an object at the separator; the empty tail after the last separator is not a record.
pub(super) fn read(bytes: &[u8], separator: &[u8], gzip: bool) -> Result<Vec<ReadRecord>> {
    let data = decoded(bytes, gzip)?;
    if separator.is_empty() {
        return Ok(vec![ReadRecord { schema: None, value: Value::Bytes(data) }]);
    }
    let mut records = Vec::new();
    let mut rest = data.as_slice();
    while !rest.is_empty() {
        let end = rest.windows(separator.len()).position(|w| w == separator).unwrap_or(rest.len());
        records.push(ReadRecord { schema: None, value: Value::Bytes(rest[..end].to_vec()) });
        rest = rest.get(end + separator.len()..).unwrap_or_default();
    }
    Ok(records)
}
