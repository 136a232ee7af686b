//! The offset store interface and its in-memory view, shared by the file and topic stores.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aqueduct_sdk::{OffsetMap, OffsetReader};
use async_trait::async_trait;
use serde_json::Value as Json;

/// Where source offsets are kept. Keys and values use Kafka Connect's layout:
/// key `["<connector>", {<source partition>}]`, value `{<source offset>}` or null (deleted).
#[async_trait]
pub trait OffsetStore: Send + Sync {
    /// The stored offset of a connector's source partition.
    fn get(&self, connector: &str, partition: &OffsetMap) -> Option<OffsetMap>;
    /// Every stored (partition, offset) of a connector.
    fn all(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)>;
    /// Durably writes offsets (`None` deletes); returns once the store acknowledged them all.
    async fn write(&self, connector: &str, offsets: Vec<(OffsetMap, Option<OffsetMap>)>) -> anyhow::Result<()>;
    /// The Kafka topic this store writes to, when it is one: exactly-once source tasks write
    /// their offsets there themselves, inside their transactions.
    fn topic(&self) -> Option<&str> {
        None
    }
    /// Takes note of offsets a committed transaction wrote to [`OffsetStore::topic`].
    fn committed(&self, _connector: &str, _offsets: Vec<(OffsetMap, Option<OffsetMap>)>) {}
}

/// The canonical text of a source partition: JSON with object keys sorted.
pub fn partition_key(partition: &OffsetMap) -> String {
    canonical(&Json::Object(partition.clone())).to_string()
}

fn canonical(json: &Json) -> Json {
    match json {
        Json::Object(map) => {
            let sorted: BTreeMap<&String, Json> = map.iter().map(|(k, v)| (k, canonical(v))).collect();
            Json::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Json::Array(items) => Json::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The key of an entry as stored: `["connector", {partition}]`.
pub fn entry_key(connector: &str, partition: &OffsetMap) -> Json {
    Json::Array(vec![Json::String(connector.to_owned()), canonical(&Json::Object(partition.clone()))])
}

/// Splits a stored key back into connector and partition.
pub fn parse_entry_key(key: &Json) -> Option<(String, OffsetMap)> {
    match key.as_array()?.as_slice() {
        [Json::String(connector), Json::Object(partition)] => Some((connector.clone(), partition.clone())),
        _ => None,
    }
}

/// (connector, partition key) -> (partition, offset).
type Entries = BTreeMap<(String, String), (OffsetMap, OffsetMap)>;

/// The latest offset of every (connector, partition), as read from or written to a store.
#[derive(Debug, Default, Clone)]
pub struct OffsetCache {
    entries: Arc<Mutex<Entries>>,
}

impl OffsetCache {
    /// Applies one stored entry; a `None` offset removes it.
    pub fn apply(&self, connector: &str, partition: &OffsetMap, offset: Option<OffsetMap>) {
        let key = (connector.to_owned(), partition_key(partition));
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match offset {
            Some(offset) => entries.insert(key, (partition.clone(), offset)),
            None => entries.remove(&key),
        };
    }
    /// The offset of one partition.
    pub fn get(&self, connector: &str, partition: &OffsetMap) -> Option<OffsetMap> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(&(connector.to_owned(), partition_key(partition))).map(|(_, o)| o.clone())
    }
    /// Every entry of a connector.
    pub fn all(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.iter().filter(|((c, _), _)| c == connector).map(|(_, v)| v.clone()).collect()
    }
    /// Every entry: (connector, partition, offset).
    pub fn snapshot(&self) -> Vec<(String, OffsetMap, OffsetMap)> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.iter().map(|((c, _), (p, o))| (c.clone(), p.clone(), o.clone())).collect()
    }
}

/// An [`OffsetReader`] for one connector, handed to its source tasks.
pub struct StoreReader {
    store: Arc<dyn OffsetStore>,
    connector: String,
}

impl StoreReader {
    /// Reads `connector`'s offsets from `store`.
    pub fn new(store: Arc<dyn OffsetStore>, connector: &str) -> Self {
        StoreReader { store, connector: connector.to_owned() }
    }
}

impl OffsetReader for StoreReader {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        self.store.get(&self.connector, partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_canonical() {
        let a: OffsetMap = serde_json::from_value(json!({"b": 1, "a": {"y": 2, "x": 1}})).expect("object");
        assert_eq!(partition_key(&a), r#"{"a":{"x":1,"y":2},"b":1}"#);
        let key = entry_key("c", &a);
        assert_eq!(parse_entry_key(&key).map(|(c, _)| c), Some("c".to_owned()));
        let cache = OffsetCache::default();
        cache.apply("c", &a, Some(a.clone()));
        assert_eq!(cache.get("c", &a), Some(a.clone()));
        cache.apply("c", &a, None);
        assert!(cache.all("c").is_empty());
    }
}
