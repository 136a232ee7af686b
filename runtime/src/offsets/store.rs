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
    /// Takes note of offsets a committed transaction wrote to [`OffsetStore::topic`], each with
    /// where it landed in the topic.
    fn committed(&self, _connector: &str, _offsets: Vec<LoggedOffset>) {}
    /// Reads offsets written elsewhere since the store was opened, up to the topic's end once
    /// no transaction is open below it (exactly-once tasks call it after fencing their
    /// predecessors, whose open transaction would hide later offsets).
    async fn refresh(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Where a record sits in an offsets topic: (Kafka partition, offset).
pub type LogPosition = (i32, i64);

/// A source partition's offset (`None`: deleted) and where it was written in the topic.
pub type LoggedOffset = (OffsetMap, Option<OffsetMap>, LogPosition);

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

#[derive(Debug)]
struct Entry {
    partition: OffsetMap,
    /// `None`: deleted (kept while its position matters).
    offset: Option<OffsetMap>,
    /// Where the value was written in an offsets topic, when known.
    at: Option<LogPosition>,
}

/// (connector, partition key) -> entry.
type Entries = BTreeMap<(String, String), Entry>;

/// The latest offset of every (connector, partition), as read from or written to a store.
/// Values from an offsets topic carry their position there, so that reading the topic again
/// never replaces a value by an older one.
#[derive(Debug, Default, Clone)]
pub struct OffsetCache {
    entries: Arc<Mutex<Entries>>,
}

impl OffsetCache {
    /// Applies one stored entry; a `None` offset removes it.
    pub fn apply(&self, connector: &str, partition: &OffsetMap, offset: Option<OffsetMap>) {
        let key = (connector.to_owned(), partition_key(partition));
        let mut entries = self.lock();
        match offset {
            Some(offset) => entries.insert(key, Entry { partition: partition.clone(), offset: Some(offset), at: None }),
            None => entries.remove(&key),
        };
    }
    /// Applies an entry found at `at` in an offsets topic, unless the cache holds a value
    /// written after it (a later position in the same topic partition).
    pub fn apply_at(&self, connector: &str, partition: &OffsetMap, offset: Option<OffsetMap>, at: LogPosition) {
        let key = (connector.to_owned(), partition_key(partition));
        let mut entries = self.lock();
        let newer_known = entries.get(&key).and_then(|e| e.at).is_some_and(|(p, o)| p == at.0 && o >= at.1);
        if !newer_known {
            entries.insert(key, Entry { partition: partition.clone(), offset, at: Some(at) });
        }
    }
    /// The offset of one partition.
    pub fn get(&self, connector: &str, partition: &OffsetMap) -> Option<OffsetMap> {
        self.lock().get(&(connector.to_owned(), partition_key(partition))).and_then(|e| e.offset.clone())
    }
    /// Every entry of a connector.
    pub fn all(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)> {
        self.lock()
            .iter()
            .filter(|((c, _), _)| c == connector)
            .filter_map(|(_, e)| Some((e.partition.clone(), e.offset.clone()?)))
            .collect()
    }
    /// Every entry: (connector, partition, offset).
    pub fn snapshot(&self) -> Vec<(String, OffsetMap, OffsetMap)> {
        self.lock().iter().filter_map(|((c, _), e)| Some((c.clone(), e.partition.clone(), e.offset.clone()?))).collect()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
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

    #[test]
    fn positioned_values_never_go_back() {
        let p: OffsetMap = serde_json::from_value(json!({"p": 1})).expect("object");
        let at = |n: i64| -> OffsetMap { serde_json::from_value(json!({"n": n})).expect("object") };
        let cache = OffsetCache::default();
        cache.apply_at("c", &p, Some(at(2)), (0, 20));
        cache.apply_at("c", &p, Some(at(1)), (0, 10)); // read again from the start
        assert_eq!(cache.get("c", &p), Some(at(2)));
        cache.apply_at("c", &p, None, (0, 30));
        cache.apply_at("c", &p, Some(at(2)), (0, 20));
        assert_eq!(cache.get("c", &p), None, "a deletion is not undone by an older record");
        cache.apply_at("c", &p, Some(at(3)), (0, 40));
        assert_eq!(cache.get("c", &p), Some(at(3)));
    }
}
