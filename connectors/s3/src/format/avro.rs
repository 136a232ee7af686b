//! `AvroFormat`: an Avro object container file holding the records' value schema, converted as
//! Confluent's `AvroData` does (see [`super::avro_schema`]), with the `avro.codec` codec.
//!
//! Streaming: values are encoded into the current block, and a block (count, size, compressed
//! data, sync marker) is appended to `out` once it holds [`BLOCK_BYTES`] of encoded data, as
//! Avro's Java `DataFileWriter` syncs every 64,000 bytes; memory is bounded by one block.
//! The header goes out with the first record. The sync marker is derived from the schema, so
//! rewriting an object after a crash gives the same bytes.
//!
//! The values are encoded here, in schema order and map entries in insertion order; the
//! `apache-avro` crate checks the schema is valid Avro and provides the codecs.

use std::hash::{Hash, Hasher};
use std::io::Read;
use std::str::FromStr;

use apache_avro::Codec;
use aqueduct_sdk::{ConnectError, Result, Schema, SchemaRef, SchemaType, Struct, Value};

use super::avro_schema::{self, Node};
use super::{AvroCodec, ReadRecord, RecordWriter};

/// Encoded bytes after which a block is compressed and appended to the output.
pub(super) const BLOCK_BYTES: usize = 64_000;
const MAGIC: &[u8; 4] = b"Obj\x01";

/// Writes an Avro container.
pub(super) struct AvroWriter {
    schema: SchemaRef,
    header: Option<Vec<u8>>,
    sync: [u8; 16],
    codec: Codec,
    block: Vec<u8>,
    count: i64,
}

impl AvroWriter {
    pub(super) fn new(schema: Option<&SchemaRef>, codec: AvroCodec) -> Result<AvroWriter> {
        let schema = schema.ok_or_else(schemaless)?;
        let avro = avro_schema::to_avro(schema)?;
        apache_avro::Schema::parse(&without_defaults(&avro))
            .map_err(|e| ConnectError::data(format!("the value schema is no valid Avro schema ({e}): {avro}")))?;
        let text = avro.to_string();
        let name = codec_name(codec);
        let codec = Codec::from_str(name)
            .map_err(|e| ConnectError::config(format!("{}: {name} is not available: {e:?}", super::AVRO_CODEC)))?;
        let mut header = MAGIC.to_vec();
        write_long(&mut header, 2);
        for (key, value) in [("avro.schema", text.as_bytes()), ("avro.codec", name.as_bytes())] {
            write_bytes(&mut header, key.as_bytes());
            write_bytes(&mut header, value);
        }
        write_long(&mut header, 0);
        let sync = marker(&text);
        header.extend_from_slice(&sync);
        Ok(AvroWriter {
            schema: SchemaRef::clone(schema),
            header: Some(header),
            sync,
            codec,
            block: Vec::new(),
            count: 0,
        })
    }

    fn flush_block(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if let Some(header) = self.header.take() {
            out.extend_from_slice(&header);
        }
        if self.count == 0 {
            return Ok(());
        }
        let mut data = std::mem::take(&mut self.block);
        self.codec
            .compress(&mut data)
            .map_err(|e| ConnectError::data(format!("Avro block cannot be compressed: {e}")))?;
        write_long(out, self.count);
        write_long(out, len(data.len()));
        out.extend_from_slice(&data);
        out.extend_from_slice(&self.sync);
        self.count = 0;
        Ok(())
    }
}

/// The schema without field defaults, for `apache-avro`'s check: it refuses the string default
/// of a decimal that the Avro specification (and Java's parser) take.
fn without_defaults(schema: &serde_json::Value) -> serde_json::Value {
    match schema {
        serde_json::Value::Object(obj) => serde_json::Value::Object(
            obj.iter().filter(|(k, _)| *k != "default").map(|(k, v)| (k.clone(), without_defaults(v))).collect(),
        ),
        serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(without_defaults).collect()),
        other => other.clone(),
    }
}

fn schemaless() -> ConnectError {
    ConnectError::data("AvroFormat needs records with a value schema; use JsonFormat for schemaless records")
}

fn codec_name(codec: AvroCodec) -> &'static str {
    match codec {
        AvroCodec::Null => "null",
        AvroCodec::Deflate => "deflate",
        AvroCodec::Snappy => "snappy",
        AvroCodec::Bzip2 => "bzip2",
    }
}

fn marker(schema: &str) -> [u8; 16] {
    let mut sync = [0u8; 16];
    for (i, half) in sync.chunks_mut(8).enumerate() {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (i, "aqueduct avro sync", schema).hash(&mut hasher);
        half.copy_from_slice(&hasher.finish().to_be_bytes());
    }
    sync
}

impl RecordWriter for AvroWriter {
    fn write(&mut self, schema: Option<&SchemaRef>, value: &Value, out: &mut Vec<u8>) -> Result<()> {
        let schema = schema.ok_or_else(schemaless)?;
        if !SchemaRef::ptr_eq(schema, &self.schema) && **schema != *self.schema {
            return Err(ConnectError::data(
                "a record's value schema differs from the schema of the Avro object being written",
            ));
        }
        let start = self.block.len();
        if let Err(e) = encode(&self.schema, value, &mut self.block) {
            self.block.truncate(start);
            return Err(e);
        }
        self.count += 1;
        if self.block.len() >= BLOCK_BYTES {
            self.flush_block(out)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, out: &mut Vec<u8>) -> Result<()> {
        self.flush_block(out)
    }
}

fn len(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn write_long(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, len(bytes.len()));
    out.extend_from_slice(bytes);
}

fn mismatch(schema: &Schema, value: &Value) -> ConnectError {
    ConnectError::data(format!(
        "a {} value does not match its {}{} schema",
        value.schema_type().map_or("null", |t| t.name()),
        if schema.optional { "optional " } else { "" },
        schema.schema_type.name()
    ))
}

/// Encodes a value of a Connect schema as Avro binary, in the shape [`avro_schema::to_avro`] gives.
fn encode(schema: &Schema, value: &Value, out: &mut Vec<u8>) -> Result<()> {
    if schema.optional {
        // The union is ["null", T], or [T, "null"] when the schema has a default.
        let null_branch = i64::from(avro_schema::has_default(schema));
        if value.is_null() {
            write_long(out, null_branch);
            return Ok(());
        }
        write_long(out, 1 - null_branch);
    }
    match (schema.schema_type, value) {
        (SchemaType::Boolean, Value::Boolean(b)) => out.push(u8::from(*b)),
        (SchemaType::Int8, Value::Int8(v)) => write_long(out, i64::from(*v)),
        (SchemaType::Int16, Value::Int16(v)) => write_long(out, i64::from(*v)),
        (SchemaType::Int32, Value::Int32(v)) => write_long(out, i64::from(*v)),
        (SchemaType::Int64, Value::Int64(v)) => write_long(out, *v),
        (SchemaType::Float32, Value::Float32(v)) => out.extend_from_slice(&v.to_le_bytes()),
        (SchemaType::Float64, Value::Float64(v)) => out.extend_from_slice(&v.to_le_bytes()),
        (SchemaType::String, Value::String(s)) => write_bytes(out, s.as_bytes()),
        (SchemaType::Bytes, Value::Bytes(b)) => write_bytes(out, b),
        (SchemaType::Array, Value::Array(items)) => {
            let item_schema = schema.value_schema.as_deref().ok_or_else(|| mismatch(schema, value))?;
            if !items.is_empty() {
                write_long(out, len(items.len()));
                for item in items {
                    encode(item_schema, item, out)?;
                }
            }
            write_long(out, 0);
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (Some(keys), Some(values)) = (schema.key_schema.as_deref(), schema.value_schema.as_deref()) else {
                return Err(mismatch(schema, value));
            };
            let avro_map = keys.schema_type == SchemaType::String && !keys.optional;
            if !entries.is_empty() {
                write_long(out, len(entries.len()));
                for (k, v) in entries {
                    if avro_map {
                        let key = k.as_str().ok_or_else(|| ConnectError::data("a map key is not a string"))?;
                        write_bytes(out, key.as_bytes());
                    } else {
                        encode(keys, k, out)?;
                    }
                    encode(values, v, out)?;
                }
            }
            write_long(out, 0);
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            for field in &schema.fields {
                let v = s.get_or_default(&field.name).unwrap_or(&Value::Null);
                encode(&field.schema, v, out)
                    .map_err(|e| ConnectError::data(format!("field '{}': {}", field.name, e.message())))?;
            }
        }
        _ => return Err(mismatch(schema, value)),
    }
    Ok(())
}

/// Reads an Avro container: its schema as a Connect schema, and every value.
pub(super) fn read(bytes: &[u8]) -> Result<Vec<ReadRecord>> {
    let mut input = Input(bytes);
    if input.take(4)? != MAGIC {
        return Err(ConnectError::data("not an Avro object container file (no Obj\\x01 magic)"));
    }
    let (mut schema_text, mut codec_name) = (None, "null".to_owned());
    loop {
        let count = input.long()?;
        if count == 0 {
            break;
        }
        if count < 0 {
            input.long()?;
        }
        for _ in 0..count.unsigned_abs() {
            let key = input.string()?;
            let value = input.bytes()?.to_vec();
            match key.as_str() {
                "avro.schema" => schema_text = Some(value),
                "avro.codec" => codec_name = String::from_utf8_lossy(&value).into_owned(),
                _ => {}
            }
        }
    }
    let sync = input.take(16)?.to_vec();
    let schema_text = schema_text.ok_or_else(|| ConnectError::data("Avro file without avro.schema"))?;
    let avro: serde_json::Value = serde_json::from_slice(&schema_text)
        .map_err(|e| ConnectError::data(format!("avro.schema is not JSON: {e}")))?;
    let (schema, node) = avro_schema::to_connect(&avro)?;
    let codec = Codec::from_str(&codec_name)
        .map_err(|_| ConnectError::data(format!("Avro codec '{codec_name}' is not supported")))?;
    let mut records = Vec::new();
    while !input.0.is_empty() {
        let count = input.long()?;
        let size = usize::try_from(input.long()?).map_err(|_| ConnectError::data("negative Avro block size"))?;
        let mut data = input.take(size)?.to_vec();
        codec
            .decompress(&mut data)
            .map_err(|e| ConnectError::data(format!("Avro block cannot be decompressed: {e}")))?;
        let mut block = Input(&data);
        for _ in 0..count {
            let value = decode(&node, &schema, &mut block)?;
            records.push(ReadRecord { schema: Some(SchemaRef::clone(&schema)), value });
        }
        if input.take(16)? != sync.as_slice() {
            return Err(ConnectError::data("Avro block does not end with the file's sync marker"));
        }
    }
    Ok(records)
}

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(ConnectError::data("Avro data ends early"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn long(&mut self) -> Result<i64> {
        let mut z: u64 = 0;
        for shift in (0..64).step_by(7) {
            let mut byte = [0u8];
            self.0.read_exact(&mut byte).map_err(|_| ConnectError::data("Avro data ends early"))?;
            z |= u64::from(byte[0] & 0x7f) << shift;
            if byte[0] & 0x80 == 0 {
                return Ok((z >> 1) as i64 ^ -((z & 1) as i64));
            }
        }
        Err(ConnectError::data("Avro varint is too long"))
    }
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = usize::try_from(self.long()?).map_err(|_| ConnectError::data("negative Avro length"))?;
        self.take(n)
    }
    fn string(&mut self) -> Result<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| ConnectError::data("Avro string is not UTF-8"))
    }
    fn int(&mut self) -> Result<i32> {
        i32::try_from(self.long()?).map_err(|_| ConnectError::data("Avro int out of range"))
    }
    /// Items of an array or map: blocks of `count` items (a negative count is followed by a size).
    fn blocks(&mut self, mut item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        loop {
            let count = self.long()?;
            if count == 0 {
                return Ok(());
            }
            if count < 0 {
                self.long()?;
            }
            for _ in 0..count.unsigned_abs() {
                item(self)?;
            }
        }
    }
}

fn decode(node: &Node, schema: &SchemaRef, input: &mut Input<'_>) -> Result<Value> {
    let narrow = |v: i32| -> Result<Value> {
        Ok(match schema.schema_type {
            SchemaType::Int8 => Value::Int8(i8::try_from(v).map_err(|_| ConnectError::data("int8 out of range"))?),
            SchemaType::Int16 => Value::Int16(i16::try_from(v).map_err(|_| ConnectError::data("int16 out of range"))?),
            _ => Value::Int32(v),
        })
    };
    let child = |s: &Option<SchemaRef>| s.clone().ok_or_else(|| ConnectError::data("Avro schema lost a child"));
    Ok(match node {
        Node::Boolean => Value::Boolean(input.take(1)?[0] != 0),
        Node::Int => narrow(input.int()?)?,
        Node::Long => Value::Int64(input.long()?),
        Node::Float => Value::Float32(f32::from_le_bytes(fixed(input.take(4)?)?)),
        Node::Double => Value::Float64(f64::from_le_bytes(fixed(input.take(8)?)?)),
        Node::Bytes => Value::Bytes(input.bytes()?.to_vec()),
        Node::String => Value::String(input.string()?),
        Node::Fixed(size) => Value::Bytes(input.take(*size)?.to_vec()),
        Node::Enum(symbols) => {
            let i = usize::try_from(input.long()?).ok();
            let symbol =
                i.and_then(|i| symbols.get(i)).ok_or_else(|| ConnectError::data("Avro enum index out of range"))?;
            Value::String(symbol.clone())
        }
        Node::Optional(null, inner) => {
            let branch = input.long()?;
            if usize::try_from(branch).ok() == Some(*null) {
                Value::Null
            } else {
                decode(inner, schema, input)?
            }
        }
        Node::Array(item) => {
            let item_schema = child(&schema.value_schema)?;
            let mut items = Vec::new();
            input.blocks(|input| {
                items.push(decode(item, &item_schema, input)?);
                Ok(())
            })?;
            Value::Array(items)
        }
        Node::Map(value) => {
            let value_schema = child(&schema.value_schema)?;
            let mut entries = Vec::new();
            input.blocks(|input| {
                let key = Value::String(input.string()?);
                entries.push((key, decode(value, &value_schema, input)?));
                Ok(())
            })?;
            Value::Map(entries)
        }
        Node::Entries(key, value) => {
            let (key_schema, value_schema) = (child(&schema.key_schema)?, child(&schema.value_schema)?);
            let mut entries = Vec::new();
            input.blocks(|input| {
                let k = decode(key, &key_schema, input)?;
                entries.push((k, decode(value, &value_schema, input)?));
                Ok(())
            })?;
            Value::Map(entries)
        }
        Node::Record(fields) => {
            let mut values = Vec::with_capacity(fields.len());
            for (node, field) in fields.iter().zip(&schema.fields) {
                values.push(decode(node, &field.schema, input)?);
            }
            Value::Struct(Struct::from_values(SchemaRef::clone(schema), values)?)
        }
    })
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| ConnectError::data("Avro data ends early"))
}
