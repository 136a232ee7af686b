//! The connector: validates the config and gives every task the same one (Kafka splits the
//! partitions between them).

use std::sync::Arc;

use aqueduct_sdk::{async_trait, ConfigDef, Connector, ConnectorContext, Props, Result, SinkConnector, SinkTask};
use tracing::info;

use crate::config::{config_def, SinkConfig};
use crate::task::ElasticsearchSinkTask;

/// `ElasticsearchSinkConnector`.
#[derive(Default)]
pub struct ElasticsearchSinkConnector {
    props: Props,
}

impl ElasticsearchSinkConnector {
    /// A new, unstarted connector.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Connector for ElasticsearchSinkConnector {
    fn config_def(&self) -> ConfigDef {
        config_def()
    }

    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        let config = SinkConfig::parse(&props)?;
        info!(connector = %config.name, urls = ?config.urls, "starting Elasticsearch sink connector");
        self.props = props;
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }
}

impl SinkConnector for ElasticsearchSinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(ElasticsearchSinkTask::new())
    }
}
