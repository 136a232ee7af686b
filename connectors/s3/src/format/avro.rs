//! `AvroFormat`: an Avro object container file (written by the formats work in progress).

use aqueduct_sdk::{ConnectError, Result, SchemaRef, Value};

use super::{AvroCodec, ReadRecord, RecordWriter};

/// Writes an Avro container.
pub(super) struct AvroWriter;

impl AvroWriter {
    pub(super) fn new(_schema: Option<&SchemaRef>, _codec: AvroCodec) -> Result<AvroWriter> {
        Err(ConnectError::config("AvroFormat is not available yet"))
    }
}

impl RecordWriter for AvroWriter {
    fn write(&mut self, _schema: Option<&SchemaRef>, _value: &Value, _out: &mut Vec<u8>) -> Result<()> {
        Err(ConnectError::config("AvroFormat is not available yet"))
    }
    fn finish(self: Box<Self>, _out: &mut Vec<u8>) -> Result<()> {
        Ok(())
    }
}

/// Reads an Avro container.
pub(super) fn read(_bytes: &[u8]) -> Result<Vec<ReadRecord>> {
    Err(ConnectError::config("AvroFormat is not available yet"))
}
