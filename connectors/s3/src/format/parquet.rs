//! `ParquetFormat`: a Parquet file (written by the formats work in progress).

use aqueduct_sdk::{ConnectError, Result, SchemaRef, Value};

use super::{ParquetCodec, ReadRecord, RecordWriter};

/// Writes a Parquet file.
pub(super) struct ParquetWriter;

impl ParquetWriter {
    pub(super) fn new(_schema: Option<&SchemaRef>, _codec: ParquetCodec) -> Result<ParquetWriter> {
        Err(ConnectError::config("ParquetFormat is not available yet"))
    }
}

impl RecordWriter for ParquetWriter {
    fn write(&mut self, _schema: Option<&SchemaRef>, _value: &Value, _out: &mut Vec<u8>) -> Result<()> {
        Err(ConnectError::config("ParquetFormat is not available yet"))
    }
    fn finish(self: Box<Self>, _out: &mut Vec<u8>) -> Result<()> {
        Ok(())
    }
}

/// Reads a Parquet file.
pub(super) fn read(_bytes: &[u8]) -> Result<Vec<ReadRecord>> {
    Err(ConnectError::config("ParquetFormat is not available yet"))
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
