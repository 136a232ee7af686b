//! A connector's own offsets topic (`offsets.storage.topic` in its config, KIP-618) in front
//! of the worker's store: writes go to the connector's topic; a partition it has no offset
//! for is read from the worker's store (where offsets of an earlier configuration live).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use aqueduct_sdk::OffsetMap;
use async_trait::async_trait;

use super::store::{partition_key, LoggedOffset, OffsetStore};
use super::TopicOffsetStore;

/// The connector's topic store, with the worker's store as fallback for reads.
pub struct LayeredOffsetStore {
    primary: TopicOffsetStore,
    fallback: Arc<dyn OffsetStore>,
}

impl LayeredOffsetStore {
    /// Reads from `primary`, then `fallback`; writes to `primary`.
    pub fn new(primary: TopicOffsetStore, fallback: Arc<dyn OffsetStore>) -> Self {
        LayeredOffsetStore { primary, fallback }
    }
}

#[async_trait]
impl OffsetStore for LayeredOffsetStore {
    fn get(&self, connector: &str, partition: &OffsetMap) -> Option<OffsetMap> {
        self.primary.get(connector, partition).or_else(|| self.fallback.get(connector, partition))
    }
    fn all(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)> {
        let mut merged: BTreeMap<String, (OffsetMap, OffsetMap)> = BTreeMap::new();
        for (partition, offset) in self.fallback.all(connector).into_iter().chain(self.primary.all(connector)) {
            merged.insert(partition_key(&partition), (partition, offset));
        }
        merged.into_values().collect()
    }
    /// Writes to the connector's topic; deletions go to the worker's store too, so a deleted
    /// offset is not read back from there.
    async fn write(&self, connector: &str, offsets: Vec<(OffsetMap, Option<OffsetMap>)>) -> Result<()> {
        let deletions: Vec<_> = offsets.iter().filter(|(_, o)| o.is_none()).cloned().collect();
        self.primary.write(connector, offsets).await?;
        if !deletions.is_empty() {
            self.fallback.write(connector, deletions).await?;
        }
        Ok(())
    }
    fn topic(&self) -> Option<&str> {
        self.primary.topic()
    }
    fn committed(&self, connector: &str, offsets: Vec<LoggedOffset>) {
        self.primary.committed(connector, offsets);
    }
    async fn refresh(&self) -> Result<()> {
        self.primary.refresh().await?;
        self.fallback.refresh().await
    }
}
