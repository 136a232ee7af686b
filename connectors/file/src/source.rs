//! `FileStreamSource`: produces one record per complete line of a file.

use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::serde_json::json;
use aqueduct_sdk::{
    async_trait, offset_map, ConfigDef, ConnectError, Connector, ConnectorContext, ExactlyOnceSupport, OffsetMap,
    Props, Result, ResultExt, Schema, SchemaRef, SourceConnector, SourceRecord, SourceTask, SourceTaskContext, Value,
};
use tokio::fs::File;
use tokio::io::{AsyncBufReadExt, AsyncSeekExt, BufReader};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::config::{connector_name, source_config_def, SourceConfig};

/// The source partition key holding the file name.
pub const FILENAME_FIELD: &str = "filename";
/// The source offset key holding the byte position just after the last line read.
pub const POSITION_FIELD: &str = "position";

/// Read buffer size: large enough that reading a file costs a few system calls per megabyte.
const READ_BUFFER_BYTES: usize = 256 * 1024;
/// How often an idle poll looks at the file again.
const RECHECK_INTERVAL: Duration = Duration::from_millis(100);
/// How long an idle poll waits for data before returning an empty batch.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// The `FileStreamSource` connector: validates the configuration and runs exactly one task.
#[derive(Debug, Default)]
pub struct FileStreamSourceConnector {
    props: Props,
}

impl FileStreamSourceConnector {
    /// A new, unstarted connector.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Connector for FileStreamSourceConnector {
    fn kafka_connect_task_class(&self, _kafka_connect_class: &str) -> Option<&'static str> {
        Some("org.apache.kafka.connect.file.FileStreamSourceTask")
    }

    fn config_def(&self) -> ConfigDef {
        source_config_def()
    }

    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        let config = SourceConfig::parse(&props)?;
        info!(connector = %connector_name(&props), file = %config.file.display(), topic = %config.topic,
            "starting FileStreamSource connector");
        self.props = props;
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>> {
        // One file, one reader: more tasks would produce every line several times.
        Ok(vec![self.props.clone()])
    }
}

impl SourceConnector for FileStreamSourceConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(FileStreamSourceTask::new())
    }

    /// Lines resume exactly from the stored byte position.
    fn exactly_once_support(&self, _props: &Props) -> Option<ExactlyOnceSupport> {
        Some(ExactlyOnceSupport::Supported)
    }
}

/// The `FileStreamSource` task: tails the file from the stored position, line by line.
///
/// Only complete (newline-terminated) lines are produced; a trailing partial line is kept
/// until its newline arrives, so every source offset points just after a full line.
#[derive(Debug)]
pub struct FileStreamSourceTask {
    connector: String,
    task_id: u32,
    path: PathBuf,
    topic: String,
    batch_size: usize,
    partition: OffsetMap,
    value_schema: SchemaRef,
    /// The open file, positioned at `position + line.len()`.
    reader: Option<BufReader<File>>,
    /// The byte position just after the last complete line produced.
    position: u64,
    /// The bytes read after `position`: the start of a line whose newline has not arrived yet.
    line: Vec<u8>,
    /// Whether the missing file was already reported, to warn once rather than every poll.
    missing_reported: bool,
    idle_wait: Duration,
}

impl Default for FileStreamSourceTask {
    fn default() -> Self {
        Self::new()
    }
}

impl FileStreamSourceTask {
    /// A new, unstarted task.
    pub fn new() -> Self {
        FileStreamSourceTask {
            connector: String::new(),
            task_id: 0,
            path: PathBuf::new(),
            topic: String::new(),
            batch_size: 1,
            partition: OffsetMap::new(),
            value_schema: Schema::string(),
            reader: None,
            position: 0,
            line: Vec::new(),
            missing_reported: false,
            idle_wait: IDLE_WAIT,
        }
    }

    /// Opens the file at `position`; `false` when it does not exist (yet).
    async fn open(&mut self) -> Result<bool> {
        let mut file = match File::open(&self.path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !self.missing_reported {
                    warn!(connector = %self.connector, task = self.task_id, file = %self.path.display(),
                        "source file does not exist yet; waiting for it to appear");
                    self.missing_reported = true;
                }
                return Ok(false);
            }
            Err(e) => {
                return Err(e).fatal(|| format!("cannot open source file {}", self.path.display()));
            }
        };
        if self.position > 0 {
            let len = file
                .metadata()
                .await
                .retriable(|| format!("cannot read the metadata of {}", self.path.display()))?
                .len();
            if len < self.position {
                warn!(connector = %self.connector, task = self.task_id, file = %self.path.display(),
                    position = self.position, len,
                    "stored position is beyond the end of the file (truncated or replaced?); \
                     waiting for the file to grow past it");
            }
            file.seek(SeekFrom::Start(self.position))
                .await
                .retriable(|| format!("cannot seek to position {} in {}", self.position, self.path.display()))?;
        }
        info!(connector = %self.connector, task = self.task_id, file = %self.path.display(),
            position = self.position, "reading source file");
        self.reader = Some(BufReader::with_capacity(READ_BUFFER_BYTES, file));
        self.line.clear();
        self.missing_reported = false;
        Ok(true)
    }

    /// Reads up to about `batch_size` complete lines that are already in the file. A line ends
    /// at `\n`, `\r\n` or a lone `\r`, as in Kafka Connect's FileStreamSource.
    async fn read_lines(&mut self) -> Result<Vec<SourceRecord>> {
        let Some(mut reader) = self.reader.take() else {
            return Ok(Vec::new());
        };
        let mut records = Vec::new();
        while records.len() < self.batch_size {
            let at_end = match reader.read_until(b'\n', &mut self.line).await {
                Ok(_) => self.line.last() != Some(&b'\n'),
                Err(e) => {
                    // Reopen at the last complete line on the next poll.
                    self.line.clear();
                    return Err(e)
                        .retriable(|| format!("cannot read {} after position {}", self.path.display(), self.position));
                }
            };
            while let Some((line, consumed)) = next_line(&self.line) {
                self.position += consumed as u64;
                let text = decode_line(line);
                self.line.drain(..consumed);
                records.push(self.record(text));
            }
            if at_end {
                // End of file, possibly in the middle of a line: keep the partial bytes for later.
                break;
            }
        }
        self.reader = Some(reader);
        Ok(records)
    }

    fn record(&self, text: String) -> SourceRecord {
        let offset = offset_map([(POSITION_FIELD, json!(self.position))]);
        SourceRecord::new(self.partition.clone(), offset, self.topic.clone(), Value::String(text))
            .with_value_schema(self.value_schema.clone())
    }
}

/// The first complete line in `buf` (without its terminator) and the bytes it takes up with it:
/// up to `\n`, `\r\n`, or a lone `\r` followed by another byte (a `\r` at the very end may
/// still be the start of `\r\n`).
fn next_line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let end = buf.iter().position(|&b| b == b'\n' || b == b'\r')?;
    match (buf[end], buf.get(end + 1)) {
        (b'\n', _) => Some((&buf[..end], end + 1)),
        (_, Some(b'\n')) => Some((&buf[..end], end + 2)),
        (_, Some(_)) => Some((&buf[..end], end + 1)),
        (_, None) => None,
    }
}

/// A line's text, invalid UTF-8 replaced.
fn decode_line(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[async_trait]
impl SourceTask for FileStreamSourceTask {
    async fn start(&mut self, context: SourceTaskContext, props: Props) -> Result<()> {
        let config = SourceConfig::parse(&props)?;
        self.connector = context.connector().to_owned();
        self.task_id = context.task_id();
        self.path = config.file;
        self.topic = config.topic;
        self.batch_size = config.batch_size;
        self.partition = offset_map([(FILENAME_FIELD, json!(self.path.to_string_lossy()))]);
        self.reader = None;
        self.line.clear();
        self.position = match context.offset(&self.partition) {
            None => 0,
            Some(offset) => match offset.get(POSITION_FIELD) {
                Some(position) => position.as_u64().ok_or_else(|| {
                    ConnectError::fatal(format!(
                        "stored offset of {} has an invalid {POSITION_FIELD}: {position}",
                        self.path.display()
                    ))
                })?,
                None => {
                    warn!(connector = %self.connector, task = self.task_id, offset = ?offset,
                        "stored offset has no position; reading from the start of the file");
                    0
                }
            },
        };
        info!(connector = %self.connector, task = self.task_id, file = %self.path.display(), topic = %self.topic,
            position = self.position, "started FileStreamSource task");
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let deadline = Instant::now() + self.idle_wait;
        loop {
            if self.reader.is_some() || self.open().await? {
                let records = self.read_lines().await?;
                if !records.is_empty() {
                    debug!(connector = %self.connector, task = self.task_id, records = records.len(),
                        position = self.position, "read lines");
                    return Ok(records);
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            tokio::time::sleep(RECHECK_INTERVAL.min(deadline - now)).await;
        }
    }

    async fn stop(&mut self) -> Result<()> {
        self.reader = None;
        info!(connector = %self.connector, task = self.task_id, file = %self.path.display(),
            position = self.position, "stopped FileStreamSource task");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use aqueduct_sdk::testing::{MemoryOffsets, QuietConnectorContext};

    use super::*;

    fn props(file: &std::path::Path, batch: usize) -> Props {
        Props::from([
            ("file".to_owned(), file.display().to_string()),
            ("topic".to_owned(), "lines".to_owned()),
            ("batch.size".to_owned(), batch.to_string()),
        ])
    }

    async fn started(file: &std::path::Path, batch: usize, offsets: Arc<MemoryOffsets>) -> FileStreamSourceTask {
        let mut task = FileStreamSourceTask::new();
        task.idle_wait = Duration::from_millis(200);
        task.start(SourceTaskContext::new("file-source", 0, offsets), props(file, batch)).await.expect("start");
        task
    }

    fn append(path: &std::path::Path, data: &str) {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open for append");
        f.write_all(data.as_bytes()).expect("append");
    }

    fn lines_and_positions(records: &[SourceRecord]) -> Vec<(String, u64)> {
        records
            .iter()
            .map(|r| {
                let position = r.source_offset[POSITION_FIELD].as_u64().expect("integer position");
                (r.value.as_str().expect("string value").to_owned(), position)
            })
            .collect()
    }

    #[tokio::test]
    async fn reads_lines_with_positions_and_holds_partial_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.txt");
        append(&path, "alpha\nbeta\r\ngamma\n");
        let mut task = started(&path, 2, Arc::new(MemoryOffsets::default())).await;

        let first = task.poll().await.expect("poll");
        assert_eq!(lines_and_positions(&first), [("alpha".to_owned(), 6), ("beta".to_owned(), 12)]);
        let r = &first[0];
        assert_eq!(r.topic, "lines");
        assert_eq!(r.source_partition[FILENAME_FIELD], json!(path.display().to_string()));
        assert_eq!(r.key, Value::Null);
        assert!(r.key_schema.is_none());
        assert_eq!(r.value_schema.as_deref(), Some(&*Schema::string()));

        let second = task.poll().await.expect("poll");
        assert_eq!(lines_and_positions(&second), [("gamma".to_owned(), 18)]);

        // A partial line is not produced until its newline arrives.
        append(&path, "del");
        assert!(task.poll().await.expect("poll").is_empty());
        append(&path, "ta");
        assert!(task.poll().await.expect("poll").is_empty());
        append(&path, "\nepsilon");
        let third = task.poll().await.expect("poll");
        assert_eq!(lines_and_positions(&third), [("delta".to_owned(), 24)]);
        append(&path, "\n");
        let fourth = task.poll().await.expect("poll");
        assert_eq!(lines_and_positions(&fourth), [("epsilon".to_owned(), 32)]);
        task.stop().await.expect("stop");

        // Restarting from a stored offset gives exactly the remaining lines.
        let partition = first[0].source_partition.clone();
        let stored = offset_map([(POSITION_FIELD, json!(12))]);
        let offsets = Arc::new(MemoryOffsets::default());
        offsets.set(&partition, stored);
        let mut task = started(&path, 100, offsets).await;
        let rest = task.poll().await.expect("poll");
        assert_eq!(
            lines_and_positions(&rest),
            [("gamma".to_owned(), 18), ("delta".to_owned(), 24), ("epsilon".to_owned(), 32)]
        );
        assert!(task.poll().await.expect("poll").is_empty());
    }

    #[tokio::test]
    async fn a_lone_carriage_return_ends_a_line_as_in_kafka_connect() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.txt");
        append(&path, "a\rb\r\nc\nd\r");
        let mut task = started(&path, 100, Arc::new(MemoryOffsets::default())).await;
        let first = task.poll().await.expect("poll");
        assert_eq!(lines_and_positions(&first), [("a".to_owned(), 2), ("b".to_owned(), 5), ("c".to_owned(), 7)]);
        // "d\r" may still become "d\r\n": it waits for the next byte.
        append(&path, "e\r");
        let second = task.poll().await.expect("poll");
        assert_eq!(lines_and_positions(&second), [("d".to_owned(), 9)]);
        append(&path, "\n");
        let third = task.poll().await.expect("poll");
        assert_eq!(lines_and_positions(&third), [("e".to_owned(), 12)]);
    }

    #[tokio::test]
    async fn waits_for_a_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("later.txt");
        let mut task = started(&path, 10, Arc::new(MemoryOffsets::default())).await;
        assert!(task.poll().await.expect("a missing file is not an error").is_empty());
        append(&path, "one\n");
        assert_eq!(lines_and_positions(&task.poll().await.expect("poll")), [("one".to_owned(), 4)]);
    }

    #[tokio::test]
    async fn rejects_an_invalid_stored_position() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.txt");
        let partition = offset_map([(FILENAME_FIELD, json!(path.display().to_string()))]);
        let offsets = Arc::new(MemoryOffsets::default());
        offsets.set(&partition, offset_map([(POSITION_FIELD, json!("x"))]));
        let mut task = FileStreamSourceTask::new();
        let ctx = SourceTaskContext::new("file-source", 0, offsets);
        assert!(task.start(ctx, props(&path, 10)).await.is_err());
    }

    #[tokio::test]
    async fn reads_many_lines_quickly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.txt");
        let mut data = String::new();
        for i in 0..100_000 {
            data.push_str(&format!("line number {i}\n"));
        }
        append(&path, &data);
        let mut task = started(&path, 2000, Arc::new(MemoryOffsets::default())).await;
        let started_at = std::time::Instant::now();
        let mut count = 0;
        let mut last = 0;
        while count < 100_000 {
            let batch = task.poll().await.expect("poll");
            assert!(!batch.is_empty() && batch.len() <= 2000);
            count += batch.len();
            last = batch.last().and_then(|r| r.source_offset[POSITION_FIELD].as_u64()).expect("position");
        }
        let elapsed = started_at.elapsed();
        eprintln!("read 100k lines in {elapsed:?}");
        assert_eq!(count, 100_000);
        assert_eq!(last, data.len() as u64);
        // Generous bound: debug builds on a loaded machine. Release takes a few tens of milliseconds.
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    }

    #[tokio::test]
    async fn connector_runs_one_task() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut connector = FileStreamSourceConnector::new();
        let props = props(&dir.path().join("x"), 5);
        connector.start(Arc::new(QuietConnectorContext::default()), props.clone()).await.expect("start");
        assert_eq!(connector.task_configs(4).expect("configs"), vec![props]);
        let bad = Props::from([("topic".to_owned(), "t".to_owned())]);
        assert!(connector.start(Arc::new(QuietConnectorContext::default()), bad.clone()).await.is_err());
        assert!(connector.validate(&bad).iter().any(|v| v.name == "file" && !v.errors.is_empty()));
    }
}
