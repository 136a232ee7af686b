//! The dead-letter "topic" of embedded mode: a file of JSON lines
//! (`errors.deadletterqueue.file`), one per failed record.
//!
//! Each line holds `topic`, `partition`, `offset`, `key` and `value` (UTF-8 text, or
//! `key_base64`/`value_base64` when the bytes are not text; `null` when absent), and the
//! `__connect.errors.*` context Kafka Connect puts in headers, as fields.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use aqueduct_sdk::{ConnectError, Result};
use base64::Engine;
use serde_json::{json, Map, Value as Json};

/// An append-only JSON-lines file of failed records.
pub struct DeadLetterFile {
    path: PathBuf,
    file: Mutex<File>,
}

/// A failed record as the file shows it.
pub struct DeadLetter<'a> {
    /// Topic it was read from.
    pub topic: &'a str,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its key bytes.
    pub key: Option<&'a [u8]>,
    /// Its value bytes.
    pub value: Option<&'a [u8]>,
    /// Why it failed.
    pub error: &'a ConnectError,
}

impl DeadLetterFile {
    /// Opens (creating when missing) `path` for appending.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
            ConnectError::config(format!("cannot open errors.deadletterqueue.file {}", path.display())).with_source(e)
        })?;
        Ok(DeadLetterFile { path: path.to_owned(), file: Mutex::new(file) })
    }

    /// Appends one line and flushes it to the OS.
    pub fn write(&self, record: &DeadLetter<'_>) -> Result<()> {
        let mut line = line_of(record).to_string();
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(line.as_bytes()).and_then(|()| file.flush()).map_err(|e| {
            ConnectError::retriable(format!("writing to dead-letter file {}", self.path.display())).with_source(e)
        })
    }
}

/// The JSON object of one dead letter.
pub fn line_of(r: &DeadLetter<'_>) -> Json {
    let mut out = Map::new();
    out.insert("topic".into(), json!(r.topic));
    out.insert("partition".into(), json!(r.partition));
    out.insert("offset".into(), json!(r.offset));
    for (name, bytes) in [("key", r.key), ("value", r.value)] {
        match bytes.map(std::str::from_utf8) {
            None => {
                out.insert(name.into(), Json::Null);
            }
            Some(Ok(text)) => {
                out.insert(name.into(), json!(text));
            }
            Some(Err(_)) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(bytes.unwrap_or_default());
                out.insert(format!("{name}_base64"), json!(encoded));
            }
        }
    }
    out.insert("__connect.errors.topic".into(), json!(r.topic));
    out.insert("__connect.errors.partition".into(), json!(r.partition));
    out.insert("__connect.errors.offset".into(), json!(r.offset));
    out.insert("__connect.errors.exception.class.name".into(), json!(r.error.kind().code()));
    out.insert("__connect.errors.exception.message".into(), json!(r.error.to_string()));
    out.insert("__connect.errors.exception.stacktrace".into(), json!(r.error.trace()));
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_text_and_binary_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dlq.jsonl");
        let file = DeadLetterFile::open(&path).expect("open");
        let error = ConnectError::data("bad json");
        let bad = [0xff_u8, 0x00];
        file.write(&DeadLetter {
            topic: "t",
            partition: 1,
            offset: 7,
            key: Some(b"k"),
            value: Some(&bad),
            error: &error,
        })
        .expect("write");
        file.write(&DeadLetter { topic: "t", partition: 0, offset: 8, key: None, value: Some(b"{"), error: &error })
            .expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<Json> = text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["key"], "k");
        assert_eq!(lines[0]["value_base64"], "/wA=");
        assert_eq!(lines[0]["__connect.errors.offset"], 7);
        assert_eq!(lines[1]["key"], Json::Null);
        assert_eq!(lines[1]["value"], "{");
        assert!(lines[1]["__connect.errors.exception.message"].as_str().is_some_and(|m| m.contains("bad json")));
    }
}
