//! `FileAppendSink`: each record's value as a JSON line of a file.

use std::sync::Arc;

use aqueduct_sdk::json::write_json;
use aqueduct_sdk::{
    async_trait, ConfigDef, ConfigType, ConnectError, Connector, ConnectorContext, ConnectorFactory,
    ErrantRecordReporter, Importance, PluginDescriptor, Props, Result, ResultExt, SinkConnector, SinkRecord, SinkTask,
    SinkTaskContext, TopicPartitionOffsets, Validator,
};
use tokio::fs::{File, OpenOptions};
use tokio::io::AsyncWriteExt;

/// The sink as a plugin.
pub const PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "FileAppendSink",
    aliases: &["com.example.aqueduct.FileAppendSinkConnector"],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Sink(|| Box::new(FileAppendConnector { props: Props::new() })),
};

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define("file", ConfigType::String, None, Importance::High, "The file to append to (created if missing).")
        .validator(Validator::NonEmpty)
        .define("panic.on.put", ConfigType::Boolean, Some("false"), Importance::Low, "Panic in put (for tests).")
}

struct FileAppendConnector {
    props: Props,
}

#[async_trait]
impl Connector for FileAppendConnector {
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        config_def().parse(&props)?;
        self.props = props;
        Ok(())
    }
    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>> {
        Ok(vec![self.props.clone()]) // one file, one writer
    }
}

impl SinkConnector for FileAppendConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(FileAppendTask { file: None, path: String::new(), panic: false, reporter: None })
    }
}

struct FileAppendTask {
    file: Option<File>,
    path: String,
    panic: bool,
    /// Where tombstones go (the dead-letter queue), when the connector configured one.
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
}

#[async_trait]
impl SinkTask for FileAppendTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>, props: Props) -> Result<()> {
        self.reporter = context.errant_record_reporter();
        let config = config_def().parse(&props)?;
        self.path = config.string("file").unwrap_or_default().to_owned();
        self.panic = config.boolean("panic.on.put").unwrap_or(false);
        let file = OpenOptions::new().create(true).append(true).open(&self.path).await;
        self.file = Some(file.fatal(|| format!("opening {}", self.path))?);
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        if self.panic && !records.is_empty() {
            panic!("FileAppendSink was told to panic (panic.on.put=true)");
        }
        let file = self.file.as_mut().ok_or_else(|| ConnectError::fatal("put before start"))?;
        let mut lines = String::new();
        for record in records {
            // A tombstone has no value to append: reported as errant when there is a
            // reporter (the dead-letter queue), else skipped.
            if record.value.is_null() {
                if let Some(reporter) = &self.reporter {
                    reporter.report(record, &ConnectError::data("a tombstone has no value to append")).await?;
                }
                continue;
            }
            write_json(&mut lines, record.value_schema.as_deref(), &record.value, false);
            lines.push('\n');
        }
        file.write_all(lines.as_bytes()).await.retriable(|| format!("appending to {}", self.path))
    }

    async fn flush(&mut self, _offsets: &TopicPartitionOffsets) -> Result<()> {
        if let Some(file) = self.file.as_mut() {
            file.flush().await.retriable(|| format!("flushing {}", self.path))?;
            file.sync_data().await.retriable(|| format!("syncing {}", self.path))?;
        }
        Ok(())
    }
}
