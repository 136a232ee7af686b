//! A record in an embedded topic, and how it picks its partition.

use aqueduct_sdk::{Header, SchemaRef, TimestampType, TopicPartition, Value};

/// What an embedded topic carries for one record: converted bytes (the default, so a sink sees
/// what it would see through Kafka) or, with `embedded.converters.skip=true`, the source
/// record's schemas and values as they are.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// Key, value and headers as the converters wrote them.
    Bytes {
        /// Converted key; `None` for null.
        key: Option<Vec<u8>>,
        /// Converted value; `None` for a tombstone.
        value: Option<Vec<u8>>,
        /// Header keys with their bytes (`None` for null).
        headers: Vec<(String, Option<Vec<u8>>)>,
    },
    /// The source record's data, not converted.
    Data {
        /// Key schema.
        key_schema: Option<SchemaRef>,
        /// Key.
        key: Value,
        /// Value schema.
        value_schema: Option<SchemaRef>,
        /// Value.
        value: Value,
        /// Headers.
        headers: Vec<Header>,
    },
}

/// One record of an embedded topic partition.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedRecord {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset within the partition, from 0 in this process.
    pub offset: i64,
    /// Milliseconds since the epoch: the source record's, else the time it was sent.
    pub timestamp: i64,
    /// The record's content.
    pub payload: Payload,
}

impl EmbeddedRecord {
    /// Its topic and partition.
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(&self.topic, self.partition)
    }
    /// Always `CreateTime`, as a producer sets it.
    pub fn timestamp_type(&self) -> TimestampType {
        TimestampType::CreateTime
    }
}

/// The partition Kafka's default partitioner picks for a keyed record: murmur2 of the key
/// bytes, made positive, modulo the partition count. Unkeyed records go round robin (`next`).
pub fn partition_for(key: Option<&[u8]>, partitions: i32, next: &mut u32) -> i32 {
    let n = partitions.max(1);
    match key {
        Some(key) => ((murmur2(key) & 0x7fff_ffff) % n as u32) as i32,
        None => {
            *next = next.wrapping_add(1);
            (*next % n as u32) as i32
        }
    }
}

/// Kafka's `Utils.murmur2` (seed 0x9747b28c).
pub fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21") as i32, -973932308);
        assert_eq!(murmur2(b"foobar") as i32, -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string") as i32, -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string") as i32, -1486304829);
        assert_eq!(murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") as i32, -58897971);
        assert_eq!(murmur2(b"abc") as i32, 479470107);
    }

    #[test]
    fn keyed_records_keep_their_partition() {
        let mut next = 0;
        let p = partition_for(Some(b"k1"), 6, &mut next);
        assert_eq!(partition_for(Some(b"k1"), 6, &mut next), p);
        let spread: std::collections::BTreeSet<i32> = (0..12).map(|_| partition_for(None, 3, &mut next)).collect();
        assert_eq!(spread.len(), 3);
    }
}
