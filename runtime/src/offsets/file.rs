//! Offsets in a local JSON file (`offset.storage.file.filename`), for standalone workers.

use std::path::PathBuf;

use anyhow::{Context, Result};
use aqueduct_sdk::OffsetMap;
use async_trait::async_trait;
use serde_json::{json, Value as Json};
use tokio::io::AsyncWriteExt;

use super::store::{entry_key, parse_entry_key, OffsetCache, OffsetStore};

/// Keeps every connector's offsets in one file, rewritten atomically on each flush.
pub struct FileOffsetStore {
    path: PathBuf,
    cache: OffsetCache,
    write_lock: tokio::sync::Mutex<()>,
}

impl FileOffsetStore {
    /// Opens the store, loading the file if it exists.
    pub async fn open(path: PathBuf) -> Result<Self> {
        let cache = OffsetCache::default();
        match tokio::fs::read(&path).await {
            Ok(bytes) => {
                let doc: Json = serde_json::from_slice(&bytes)
                    .with_context(|| format!("parsing offsets file {}", path.display()))?;
                for entry in doc.as_array().into_iter().flatten() {
                    if let (Some((connector, partition)), Some(Json::Object(offset))) =
                        (entry.get("key").and_then(parse_entry_key), entry.get("value"))
                    {
                        cache.apply(&connector, &partition, Some(offset.clone()));
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading offsets file {}", path.display())),
        }
        Ok(FileOffsetStore { path, cache, write_lock: tokio::sync::Mutex::new(()) })
    }

    /// Atomically replaces the file with `snapshot`: a temporary file, fsync, rename.
    async fn persist(&self, snapshot: Vec<(String, OffsetMap, OffsetMap)>) -> Result<()> {
        let entries: Vec<Json> =
            snapshot.into_iter().map(|(c, p, o)| json!({"key": entry_key(&c, &p), "value": Json::Object(o)})).collect();
        let bytes = serde_json::to_vec_pretty(&entries)?;
        let tmp = self.path.with_extension("tmp");
        let mut file = tokio::fs::File::create(&tmp).await.with_context(|| format!("creating {}", tmp.display()))?;
        file.write_all(&bytes).await?;
        file.sync_all().await?;
        tokio::fs::rename(&tmp, &self.path).await.with_context(|| format!("replacing {}", self.path.display()))?;
        Ok(())
    }
}

#[async_trait]
impl OffsetStore for FileOffsetStore {
    fn get(&self, connector: &str, partition: &OffsetMap) -> Option<OffsetMap> {
        self.cache.get(connector, partition)
    }
    fn all(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)> {
        self.cache.all(connector)
    }
    async fn write(&self, connector: &str, offsets: Vec<(OffsetMap, Option<OffsetMap>)>) -> Result<()> {
        let _guard = self.write_lock.lock().await;
        // Readers see the new offsets only once they are on disk.
        let staged = OffsetCache::default();
        for (c, partition, offset) in self.cache.snapshot() {
            staged.apply(&c, &partition, Some(offset));
        }
        for (partition, offset) in &offsets {
            staged.apply(connector, partition, offset.clone());
        }
        self.persist(staged.snapshot()).await?;
        for (partition, offset) in offsets {
            self.cache.apply(connector, &partition, offset);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::offset_map;

    #[tokio::test]
    async fn survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("offsets.json");
        let p = offset_map([("file", json!("/x"))]);
        let store = FileOffsetStore::open(path.clone()).await.expect("open");
        store.write("c", vec![(p.clone(), Some(offset_map([("position", json!(42))])))]).await.expect("write");
        let reopened = FileOffsetStore::open(path).await.expect("reopen");
        assert_eq!(reopened.get("c", &p), Some(offset_map([("position", json!(42))])));
        assert_eq!(reopened.get("other", &p), None);
    }

    #[tokio::test]
    async fn a_failed_write_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileOffsetStore::open(dir.path().join("missing-dir/offsets.json")).await.expect("open");
        let p = offset_map([("file", json!("/x"))]);
        let written = store.write("c", vec![(p.clone(), Some(offset_map([("position", json!(42))])))]).await;
        assert!(written.is_err(), "the directory does not exist");
        assert_eq!(store.get("c", &p), None, "an offset that is not on disk must not be visible");
    }
}
