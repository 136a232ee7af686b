//! `S3SourceConnector`: the sink's objects back into their topics and partitions.
//!
//! A source partition is one Kafka partition's objects in one folder
//! (`{"folder", "topic", "partition"}`), read in start-offset order; its offset is the object
//! and the records of it produced (`{"lastFileRead", "fileOffset", "eof"}`), so a restart
//! resumes within an object. Streams are shared among tasks by a stable hash.

pub mod config;
pub mod objects;
pub mod task;

use std::sync::Arc;

use aqueduct_sdk::{
    async_trait, ConfigDef, Connector, ConnectorContext, ConnectorFactory, PluginDescriptor, Props, Result,
    SourceConnector, SourceTask,
};

pub use config::SourceConfig;
pub use task::S3SourceTask;

/// The S3 source connector.
#[derive(Default)]
pub struct S3SourceConnector {
    props: Props,
}

#[async_trait]
impl Connector for S3SourceConnector {
    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        SourceConfig::parse(&props)?;
        self.props = props;
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>> {
        let count = max_tasks.max(1);
        Ok((0..count)
            .map(|index| {
                let mut props = self.props.clone();
                props.insert(config::TASK_INDEX.to_owned(), index.to_string());
                props.insert(config::TASK_COUNT.to_owned(), count.to_string());
                props
            })
            .collect())
    }
}

impl SourceConnector for S3SourceConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(S3SourceTask::new())
    }
}

/// The plugin: `connector.class=io.confluent.connect.s3.source.S3SourceConnector` (or `S3SourceConnector`).
pub const PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "S3SourceConnector",
    aliases: &["io.confluent.connect.s3.source.S3SourceConnector"],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Source(|| Box::new(S3SourceConnector::default())),
};
