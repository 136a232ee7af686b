//! `JsonFormat`: one JSON value per line, as Kafka Connect's JsonConverter writes a value
//! without schemas (Decimals as base64 bytes, like the converter's default).

use aqueduct_sdk::json::write_json;
use aqueduct_sdk::{ConnectError, Result, SchemaRef, Value};

use super::compress::{decoded, Output};
use super::{ReadRecord, RecordWriter};

/// Writes JSON lines.
pub(super) struct JsonWriter {
    output: Output,
    line: String,
}

impl JsonWriter {
    pub(super) fn new(gzip: bool) -> JsonWriter {
        JsonWriter { output: Output::new(gzip), line: String::new() }
    }
}

impl RecordWriter for JsonWriter {
    fn write(&mut self, schema: Option<&SchemaRef>, value: &Value, out: &mut Vec<u8>) -> Result<()> {
        self.line.clear();
        write_json(&mut self.line, schema.map(|s| &**s), value, false);
        self.line.push('\n');
        self.output.write(self.line.as_bytes(), out)
    }

    fn finish(self: Box<Self>, out: &mut Vec<u8>) -> Result<()> {
        self.output.finish(out)
    }
}

/// Reads JSON lines back as schemaless values (objects become string-keyed maps).
pub(super) fn read(bytes: &[u8], gzip: bool) -> Result<Vec<ReadRecord>> {
    let text = decoded(bytes, gzip)?;
    text.split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(n, line)| {
            let json = serde_json::from_slice(line)
                .map_err(|e| ConnectError::data(format!("line {} is not JSON: {e}", n + 1)))?;
            Ok(ReadRecord { schema: None, value: Value::from_json(json) })
        })
        .collect()
}
