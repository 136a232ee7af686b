//! `S3SinkConnector`: Kafka partitions into objects, as Confluent's S3 sink names and rotates
//! them, committed exactly once (see [`partition_writer`]).

pub mod config;
pub mod partition_writer;
pub mod task;

use std::sync::Arc;

use aqueduct_sdk::{
    async_trait, ConfigDef, Connector, ConnectorContext, ConnectorFactory, PluginDescriptor, Props, Result,
    SinkConnector, SinkTask,
};

pub use config::SinkConfig;
pub use task::S3SinkTask;

/// The S3 sink connector.
#[derive(Default)]
pub struct S3SinkConnector {
    props: Props,
}

#[async_trait]
impl Connector for S3SinkConnector {
    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        SinkConfig::parse(&props)?;
        self.props = props;
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }
}

impl SinkConnector for S3SinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(S3SinkTask::new())
    }
}

/// The plugin: `connector.class=io.confluent.connect.s3.S3SinkConnector` (or `S3SinkConnector`).
pub const PLUGIN: PluginDescriptor = PluginDescriptor {
    class: "S3SinkConnector",
    aliases: &["io.confluent.connect.s3.S3SinkConnector"],
    version: env!("CARGO_PKG_VERSION"),
    factory: ConnectorFactory::Sink(|| Box::new(S3SinkConnector::default())),
};
