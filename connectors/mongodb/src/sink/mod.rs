//! The MongoDB sink: bulk writes with the MongoDB connector's strategies and CDC handlers.

pub mod bulk;
pub mod config;
pub mod task;
pub mod write_model;

use std::sync::Arc;

use aqueduct_sdk::{async_trait, ConfigDef, Connector, ConnectorContext, Props, Result, SinkConnector, SinkTask};
use tracing::info;

use config::{sink_config_def, SinkConfig};
pub use task::MongoSinkTask;

/// `MongoSink`: every task gets the same configuration; Kafka splits the partitions.
#[derive(Default)]
pub struct MongoSinkConnector {
    props: Props,
}

impl MongoSinkConnector {
    /// A new, unstarted connector.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Connector for MongoSinkConnector {
    fn kafka_connect_task_class(&self, _kafka_connect_class: &str) -> Option<&'static str> {
        Some("com.mongodb.kafka.connect.sink.MongoSinkTask")
    }

    fn config_def(&self) -> ConfigDef {
        sink_config_def()
    }

    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        let config = SinkConfig::parse(&props)?;
        info!(connector = %props.get("name").cloned().unwrap_or_default(), database = %config.database,
            collection = %config.collection, "starting MongoDB sink connector");
        self.props = props;
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }
}

impl SinkConnector for MongoSinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(MongoSinkTask::new())
    }
}
