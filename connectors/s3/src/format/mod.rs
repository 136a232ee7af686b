//! Object formats (`format.class`): how the records of one object are encoded, and read back.
//!
//! A [`RecordWriter`] encodes one object incrementally: every call appends the bytes it has
//! ready to `out`, so the sink can upload parts of a large object while it is still being
//! written, and an object's bytes are everything appended, `finish` last.

mod avro;
mod avro_default;
mod avro_schema;
mod bytearray;
mod compress;
mod json;
mod parquet;
mod parquet_read;
mod parquet_schema;

use aqueduct_sdk::{ConfigDef, ConfigType, ConfigValue, ConnectError, Importance, Result, SchemaRef, Validator, Value};

/// `format.class`.
pub const FORMAT_CLASS: &str = "format.class";
/// `s3.compression.type`: `none` or `gzip` (JSON and byte-array objects).
pub const COMPRESSION_TYPE: &str = "s3.compression.type";
/// `avro.codec`: `null`, `deflate`, `snappy` or `bzip2`.
pub const AVRO_CODEC: &str = "avro.codec";
/// `parquet.codec`: `none`, `snappy`, `gzip`, `brotli`, `lz4` or `zstd`.
pub const PARQUET_CODEC: &str = "parquet.codec";
/// `format.bytearray.separator`: written after each byte-array record.
pub const BYTEARRAY_SEPARATOR: &str = "format.bytearray.separator";
/// `format.bytearray.extension`: the byte-array object's extension.
pub const BYTEARRAY_EXTENSION: &str = "format.bytearray.extension";

const JSON_CLASS: &str = "io.confluent.connect.s3.format.json.JsonFormat";
const AVRO_CLASS: &str = "io.confluent.connect.s3.format.avro.AvroFormat";
const PARQUET_CLASS: &str = "io.confluent.connect.s3.format.parquet.ParquetFormat";
const BYTEARRAY_CLASS: &str = "io.confluent.connect.s3.format.bytearray.ByteArrayFormat";

/// Which encoding, with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    /// One JSON value per line (Kafka Connect's JsonConverter without schemas), optionally gzipped.
    Json {
        /// Whether the whole object is gzip-compressed (`.json.gz`).
        gzip: bool,
    },
    /// An Avro object container file with the records' value schema.
    Avro {
        /// The container's codec.
        codec: AvroCodec,
    },
    /// A Parquet file with the records' value schema as typed columns.
    Parquet {
        /// The column chunks' codec.
        codec: ParquetCodec,
    },
    /// The raw bytes of each value, each followed by a separator.
    ByteArray {
        /// Written after every record.
        separator: Vec<u8>,
        /// The object's extension, with its leading dot.
        extension: String,
        /// Whether the whole object is gzip-compressed.
        gzip: bool,
    },
}

/// Avro container codecs (`avro.codec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvroCodec {
    /// No compression.
    Null,
    /// Deflate.
    Deflate,
    /// Snappy.
    Snappy,
    /// Bzip2.
    Bzip2,
}

/// Parquet column codecs (`parquet.codec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParquetCodec {
    /// No compression.
    None,
    /// Snappy (the default).
    Snappy,
    /// Gzip.
    Gzip,
    /// Brotli.
    Brotli,
    /// LZ4.
    Lz4,
    /// Zstandard.
    Zstd,
}

/// A record read back from an object: its value and, for typed formats, the value schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRecord {
    /// The value schema (Avro, Parquet), or `None` (JSON, byte arrays).
    pub schema: Option<SchemaRef>,
    /// The value.
    pub value: Value,
}

/// Encodes the records of one object.
pub trait RecordWriter: Send {
    /// Encodes one value (with its schema, when the record has one), appending the bytes ready
    /// so far to `out`. A value the format cannot hold is a data error naming the reason.
    fn write(&mut self, schema: Option<&SchemaRef>, value: &Value, out: &mut Vec<u8>) -> Result<()>;
    /// Ends the object, appending its last bytes (footers, compression trailers) to `out`.
    fn finish(self: Box<Self>, out: &mut Vec<u8>) -> Result<()>;
}

/// The format keys, for a connector's [`ConfigDef`].
pub fn define(def: ConfigDef) -> ConfigDef {
    def.define(FORMAT_CLASS, ConfigType::String, None, Importance::High,
            "Object format: io.confluent.connect.s3.format.json.JsonFormat, avro.AvroFormat, parquet.ParquetFormat or bytearray.ByteArrayFormat.")
        .validator(Validator::Custom(check_class))
        .define(COMPRESSION_TYPE, ConfigType::String, Some("none"), Importance::Low,
            "Compression of JSON and byte-array objects: none or gzip.")
        .validator(Validator::one_of(&["none", "gzip"]))
        .define(AVRO_CODEC, ConfigType::String, Some("null"), Importance::Low,
            "Avro container codec: null, deflate, snappy or bzip2.")
        .validator(Validator::one_of(&["null", "deflate", "snappy", "bzip2"]))
        .define(PARQUET_CODEC, ConfigType::String, Some("snappy"), Importance::Low,
            "Parquet codec: none, snappy, gzip, brotli, lz4 or zstd.")
        .validator(Validator::one_of(&["none", "snappy", "gzip", "brotli", "lz4", "zstd"]))
        .define(BYTEARRAY_SEPARATOR, ConfigType::String, Some("\n"), Importance::Low,
            "Written after each record of a byte-array object (default: a line separator).")
        .define(BYTEARRAY_EXTENSION, ConfigType::String, Some(".bin"), Importance::Low,
            "Extension of byte-array objects.")
}

fn check_class(value: &ConfigValue) -> std::result::Result<(), String> {
    match value {
        ConfigValue::String(class) => class_known(class),
        _ => Ok(()),
    }
}

fn class_known(value: &str) -> std::result::Result<(), String> {
    short_class(value).map(|_| ()).ok_or_else(|| {
        format!("unknown format '{value}': use {JSON_CLASS}, {AVRO_CLASS}, {PARQUET_CLASS} or {BYTEARRAY_CLASS}")
    })
}

/// The format's short name, for Confluent's class names and the bare simple names.
fn short_class(class: &str) -> Option<&'static str> {
    let simple = class.trim().rsplit('.').next().unwrap_or_default();
    ["JsonFormat", "AvroFormat", "ParquetFormat", "ByteArrayFormat"].into_iter().find(|c| *c == simple)
}

impl Format {
    /// The format a validated configuration names.
    pub fn from_config(config: &aqueduct_sdk::Config) -> Result<Format> {
        let key = |k: &str| config.string(k).unwrap_or_default().to_owned();
        let class = key(FORMAT_CLASS);
        let gzip = key(COMPRESSION_TYPE) == "gzip";
        Ok(match short_class(&class) {
            Some("JsonFormat") => Format::Json { gzip },
            Some("AvroFormat") => Format::Avro {
                codec: match key(AVRO_CODEC).as_str() {
                    "deflate" => AvroCodec::Deflate,
                    "snappy" => AvroCodec::Snappy,
                    "bzip2" => AvroCodec::Bzip2,
                    _ => AvroCodec::Null,
                },
            },
            Some("ParquetFormat") => Format::Parquet {
                codec: match key(PARQUET_CODEC).as_str() {
                    "none" => ParquetCodec::None,
                    "gzip" => ParquetCodec::Gzip,
                    "brotli" => ParquetCodec::Brotli,
                    "lz4" => ParquetCodec::Lz4,
                    "zstd" => ParquetCodec::Zstd,
                    _ => ParquetCodec::Snappy,
                },
            },
            Some("ByteArrayFormat") => Format::ByteArray {
                // Read untrimmed: the default, a line separator, is whitespace.
                separator: config
                    .originals()
                    .get(BYTEARRAY_SEPARATOR)
                    .filter(|s| !s.is_empty())
                    .map_or_else(|| b"\n".to_vec(), |s| s.as_bytes().to_vec()),
                extension: key(BYTEARRAY_EXTENSION),
                gzip,
            },
            _ => {
                return Err(ConnectError::config(format!(
                    "{FORMAT_CLASS}: {}",
                    class_known(&class).err().unwrap_or_default()
                )))
            }
        })
    }

    /// The object name's extension, with its leading dot (Confluent's: `.json`, `.json.gz`,
    /// `.avro`, `.snappy.parquet`, `.bin`).
    pub fn extension(&self) -> String {
        match self {
            Format::Json { gzip } => if *gzip { ".json.gz" } else { ".json" }.to_owned(),
            Format::Avro { .. } => ".avro".to_owned(),
            Format::Parquet { codec } => format!("{}.parquet", parquet::codec_extension(*codec)),
            Format::ByteArray { extension, gzip, .. } => {
                if *gzip {
                    format!("{extension}.gz")
                } else {
                    extension.clone()
                }
            }
        }
    }

    /// A writer for a new object whose records have this value schema (`None`: schemaless).
    pub fn writer(&self, schema: Option<&SchemaRef>) -> Result<Box<dyn RecordWriter>> {
        Ok(match self {
            Format::Json { gzip } => Box::new(json::JsonWriter::new(*gzip)),
            Format::Avro { codec } => Box::new(avro::AvroWriter::new(schema, *codec)?),
            Format::Parquet { codec } => Box::new(parquet::ParquetWriter::new(schema, *codec)?),
            Format::ByteArray { separator, gzip, .. } => {
                Box::new(bytearray::ByteArrayWriter::new(separator.clone(), *gzip))
            }
        })
    }

    /// Reads every record of an object written in this format.
    pub fn read(&self, bytes: &[u8]) -> Result<Vec<ReadRecord>> {
        match self {
            Format::Json { gzip } => json::read(bytes, *gzip),
            Format::Avro { .. } => avro::read(bytes),
            Format::Parquet { .. } => parquet::read(bytes),
            Format::ByteArray { separator, gzip, .. } => bytearray::read(bytes, separator, *gzip),
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod typed_tests;
