//! `FileStreamSink`: appends the value of every record to a file, one line per record.

use std::path::PathBuf;
use std::sync::Arc;

use aqueduct_sdk::{
    async_trait, ConfigDef, ConnectError, Connector, ConnectorContext, Props, Result, ResultExt, SinkConnector,
    SinkRecord, SinkTask, SinkTaskContext, TopicPartitionOffsets,
};
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncWriteExt, BufWriter};
use tracing::{debug, info};

use crate::config::{connector_name, sink_config_def, SinkConfig};
use crate::render::render_value;

/// Write buffer size.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// The `FileStreamSink` connector: validates the configuration and runs exactly one task.
#[derive(Debug, Default)]
pub struct FileStreamSinkConnector {
    props: Props,
}

impl FileStreamSinkConnector {
    /// A new, unstarted connector.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Connector for FileStreamSinkConnector {
    fn kafka_connect_task_class(&self, _kafka_connect_class: &str) -> Option<&'static str> {
        Some("org.apache.kafka.connect.file.FileStreamSinkTask")
    }

    fn config_def(&self) -> ConfigDef {
        sink_config_def()
    }

    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        let config = SinkConfig::parse(&props)?;
        info!(connector = %connector_name(&props), file = %config.file.display(), "starting FileStreamSink connector");
        self.props = props;
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>> {
        // Several writers appending to one file would interleave; one task is enough.
        Ok(vec![self.props.clone()])
    }
}

impl SinkConnector for FileStreamSinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(FileStreamSinkTask::new())
    }
}

/// The `FileStreamSink` task: appends one line per record and syncs the file on flush.
///
/// Values are rendered by [`render_value`]: strings as they are, other
/// values as text or JSON, a null value as `null`.
#[derive(Debug, Default)]
pub struct FileStreamSinkTask {
    connector: String,
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    /// Whether lines were written since the last sync.
    dirty: bool,
    /// Reused line buffer.
    buf: String,
}

impl FileStreamSinkTask {
    /// A new, unstarted task.
    pub fn new() -> Self {
        Self::default()
    }

    fn writer(&mut self) -> Result<&mut BufWriter<File>> {
        self.writer.as_mut().ok_or_else(|| ConnectError::fatal("FileStreamSink task used before start or after stop"))
    }

    /// Flushes buffered lines to the file and syncs it to disk.
    async fn flush_and_sync(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let path = self.path.clone();
        let writer = self.writer()?;
        writer.flush().await.retriable(|| format!("cannot write to {}", path.display()))?;
        writer.get_ref().sync_data().await.retriable(|| format!("cannot sync {}", path.display()))?;
        self.dirty = false;
        debug!(connector = %self.connector, file = %path.display(), "flushed and synced sink file");
        Ok(())
    }
}

#[async_trait]
impl SinkTask for FileStreamSinkTask {
    async fn start(&mut self, _context: Arc<dyn SinkTaskContext>, props: Props) -> Result<()> {
        let config = SinkConfig::parse(&props)?;
        self.connector = connector_name(&props);
        self.path = config.file;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .fatal(|| format!("cannot open sink file {} for appending", self.path.display()))?;
        self.writer = Some(BufWriter::with_capacity(WRITE_BUFFER_BYTES, file));
        self.dirty = false;
        info!(connector = %self.connector, file = %self.path.display(), "started FileStreamSink task");
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        for record in records {
            buf.push_str(&render_value(&record.value, record.value_schema.as_deref()));
            buf.push('\n');
        }
        let path = self.path.clone();
        self.dirty = true;
        // Each batch reaches the file (not yet the disk) before `put` returns, as Kafka
        // Connect's file sink does; `flush` makes it durable.
        let writer = self.writer()?;
        let result = match writer.write_all(buf.as_bytes()).await {
            Ok(()) => writer.flush().await,
            Err(e) => Err(e),
        };
        self.buf = buf;
        // A retried batch may append some lines twice: at-least-once, like Kafka Connect.
        result.retriable(|| format!("cannot write {} records to {}", records.len(), path.display()))?;
        debug!(connector = %self.connector, records = records.len(), "wrote records");
        Ok(())
    }

    async fn flush(&mut self, _offsets: &TopicPartitionOffsets) -> Result<()> {
        self.flush_and_sync().await
    }

    async fn stop(&mut self) -> Result<()> {
        if self.writer.is_some() {
            self.flush_and_sync().await?;
        }
        self.writer = None;
        info!(connector = %self.connector, file = %self.path.display(), "stopped FileStreamSink task");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aqueduct_sdk::testing::{QuietConnectorContext, RecordingSinkContext};
    use aqueduct_sdk::{logical, Schema, Struct, TopicPartition, TopicPartitionOffsets, Value};

    use super::*;

    /// A sink context with one partition and no dead-letter reporter.
    fn context() -> Arc<RecordingSinkContext> {
        let context = RecordingSinkContext::default();
        context.set_assignment(vec![TopicPartition::new("in", 0)]);
        Arc::new(context)
    }

    fn record(offset: i64, value: Value) -> SinkRecord {
        SinkRecord::new("in", 0, offset, None, value)
    }

    #[tokio::test]
    async fn appends_one_line_per_record_and_syncs_on_pre_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.txt");
        std::fs::write(&path, "existing\n").expect("write");
        let props = Props::from([("file".to_owned(), path.display().to_string())]);
        let mut task = FileStreamSinkTask::new();
        task.start(context(), props).await.expect("start");

        let schema = Schema::struct_builder().field("id", Schema::int64()).field("amount", logical::decimal(2).build());
        let schema = schema.build();
        let s = Struct::new(schema.clone())
            .put("id", 7i64)
            .and_then(|s| s.put("amount", Value::Bytes(logical::decimal_bytes(1234))))
            .expect("fields exist");
        let mut structured = record(4, Value::Struct(s));
        structured.value_schema = Some(schema);
        let records = vec![
            record(0, Value::from("hello")),
            record(1, Value::Int64(42)),
            record(2, Value::Null),
            record(3, Value::Boolean(false)),
            structured,
        ];
        task.put(&records).await.expect("put");

        let offsets = TopicPartitionOffsets::from([(TopicPartition::new("in", 0), 5)]);
        let committed = task.pre_commit(&offsets).await.expect("pre_commit");
        assert_eq!(committed, offsets);
        let text = std::fs::read_to_string(&path).expect("read back");
        assert_eq!(text, "existing\nhello\n42\nnull\nfalse\n{\"id\":7,\"amount\":12.34}\n");

        task.put(&[record(5, Value::from("last"))]).await.expect("put");
        task.stop().await.expect("stop");
        let text = std::fs::read_to_string(&path).expect("read back");
        assert!(text.ends_with("}\nlast\n"), "{text}");
        assert!(task.put(&[record(6, Value::from("late"))]).await.is_err(), "stopped");
    }

    #[tokio::test]
    async fn connector_runs_one_task_and_requires_a_file() {
        let mut connector = FileStreamSinkConnector::new();
        assert!(connector.start(Arc::new(QuietConnectorContext::default()), Props::new()).await.is_err());
        let props = Props::from([("file".to_owned(), "/tmp/x".to_owned()), ("topics".to_owned(), "a".to_owned())]);
        connector.start(Arc::new(QuietConnectorContext::default()), props.clone()).await.expect("start");
        assert_eq!(connector.task_configs(8).expect("configs"), vec![props]);
    }
}
