//! Object names as the sink writes them, read back: `<folder>/<topic>+<partition>+<offset><ext>`,
//! grouped into source partitions (a folder and a Kafka partition), each ordered by offset.

use std::collections::BTreeMap;

use aqueduct_sdk::{offset_map, OffsetMap};
use serde_json::json;

/// A source partition: the objects of one Kafka partition in one folder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stream {
    /// The folder (`<topics.dir>/<topic>/<encoded partition>`).
    pub folder: String,
    /// The topic records go back to.
    pub topic: String,
    /// The Kafka partition records go back to.
    pub partition: i32,
}

/// One object of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its key.
    pub key: String,
    /// The offset of its first record, from its name.
    pub start: i64,
}

impl Stream {
    /// The source partition stored with offsets: `{"folder", "topic", "partition"}`.
    pub fn source_partition(&self) -> OffsetMap {
        offset_map([("folder", json!(self.folder)), ("topic", json!(self.topic)), ("partition", json!(self.partition))])
    }

    /// A stable share number, so every task agrees which streams are its own.
    pub fn share(&self, count: u64) -> u64 {
        // FNV-1a: stable across processes and versions, unlike the std hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.folder.bytes().chain(self.topic.bytes()).chain(self.partition.to_le_bytes()) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash % count.max(1)
    }
}

/// Parses `key` as an object of the sink: `None` for other objects.
pub fn parse(key: &str, directory_delim: &str, file_delim: &str, extension: &str) -> Option<(Stream, Object)> {
    let (folder, file) = key.rsplit_once(directory_delim)?;
    let stem = file.strip_suffix(extension)?;
    let mut parts = stem.rsplitn(3, file_delim);
    let start: i64 = parts.next()?.parse().ok()?;
    let partition: i32 = parts.next()?.parse().ok()?;
    let topic = parts.next()?.to_owned();
    if topic.is_empty() || start < 0 || partition < 0 {
        return None;
    }
    Some((Stream { folder: folder.to_owned(), topic, partition }, Object { key: key.to_owned(), start }))
}

/// Groups keys into streams, objects ordered by start offset.
pub fn group<'k>(
    keys: impl IntoIterator<Item = &'k String>,
    directory_delim: &str,
    file_delim: &str,
    extension: &str,
) -> BTreeMap<Stream, Vec<Object>> {
    let mut streams: BTreeMap<Stream, Vec<Object>> = BTreeMap::new();
    for key in keys {
        if let Some((stream, object)) = parse(key, directory_delim, file_delim, extension) {
            streams.entry(stream).or_default().push(object);
        }
    }
    for objects in streams.values_mut() {
        objects.sort_by_key(|o| o.start);
        objects.dedup_by_key(|o| o.start);
    }
    streams
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sinks_names() {
        let (stream, object) =
            parse("topics/my+topic/region=eu/my+topic+3+0000000120.json", "/", "+", ".json").expect("parses");
        assert_eq!(
            stream,
            Stream { folder: "topics/my+topic/region=eu".into(), topic: "my+topic".into(), partition: 3 }
        );
        assert_eq!(object.start, 120);
        assert!(parse("topics/t/partition=0/t+0+0000000000.avro", "/", "+", ".json").is_none());
        assert!(parse("topics/t/partition=0/notes.json", "/", "+", ".json").is_none());
    }

    #[test]
    fn orders_objects_by_offset_not_by_name() {
        let keys: Vec<String> =
            ["t/p/t+0+100.json", "t/p/t+0+20.json", "t/p/t+1+5.json"].iter().map(|s| s.to_string()).collect();
        let streams = group(&keys, "/", "+", ".json");
        let starts: Vec<Vec<i64>> = streams.values().map(|o| o.iter().map(|o| o.start).collect()).collect();
        assert_eq!(starts, [vec![20, 100], vec![5]]);
    }
}
