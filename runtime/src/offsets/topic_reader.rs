//! Reading an offsets topic into the cache: from the beginning to its end, committed records
//! only (`read_committed`, so transactional writes of exactly-once tasks count once committed).
//!
//! "The end" is where a `read_committed` consumer stops: the last stable offset. A transaction
//! left open by a crashed task hides every record after it until it is aborted (its task's
//! successor does that when it starts) or times out. [`ReadUntil::Stable`] waits for that, so
//! everything acknowledged before the read began is seen.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use serde_json::Value as Json;

use super::store::{parse_entry_key, OffsetCache};

/// How far to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadUntil {
    /// To the last stable offset now, whatever is still open above it.
    LastStable,
    /// To the high watermark seen when the read began, waiting at most this long for the
    /// transactions below it to end.
    Stable(Duration),
}

/// A consumer context that does not log the end-of-partition events this reader asks for.
pub struct QuietEof;

impl ClientContext for QuietEof {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(error, KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)) {
            tracing::error!(%error, reason, "offset reader error");
        }
    }
}

impl ConsumerContext for QuietEof {}

/// Reads every partition of `topic` from the beginning; returns the records read.
/// `uncommitted` (an `isolation.level=read_uncommitted` consumer) tells the high watermarks.
pub fn read_to_end(
    consumer: &BaseConsumer<QuietEof>,
    uncommitted: &BaseConsumer<QuietEof>,
    topic: &str,
    cache: &OffsetCache,
    until: ReadUntil,
) -> Result<usize> {
    let timeout = Duration::from_secs(30);
    let metadata = consumer.fetch_metadata(Some(topic), timeout).with_context(|| format!("metadata of {topic}"))?;
    let partitions: Vec<i32> = metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    if partitions.is_empty() {
        bail!("offset topic {topic} has no partitions");
    }
    let mut assignment = TopicPartitionList::new();
    let mut remaining = HashMap::new();
    for p in partitions {
        // For a read_committed consumer the end offset is the last stable offset.
        let (low, mut end) =
            consumer.fetch_watermarks(topic, p, timeout).with_context(|| format!("end offset of {topic}-{p}"))?;
        if let ReadUntil::Stable(wait) = until {
            let (_, high) = uncommitted
                .fetch_watermarks(topic, p, timeout)
                .with_context(|| format!("high watermark of {topic}-{p}"))?;
            let deadline = Instant::now() + wait;
            while end < high {
                if Instant::now() > deadline {
                    bail!("a transaction on {topic}-{p} stayed open for {wait:?}; the offsets written after it cannot be read yet");
                }
                std::thread::sleep(Duration::from_millis(100));
                end = consumer.fetch_watermarks(topic, p, timeout)?.1;
            }
        }
        if end > low {
            assignment.add_partition_offset(topic, p, Offset::Beginning)?;
            remaining.insert(p, end);
        }
    }
    if remaining.is_empty() {
        return Ok(0);
    }
    consumer.assign(&assignment).context("assigning offset topic")?;
    let mut count = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !remaining.is_empty() {
        if Instant::now() > deadline {
            bail!("timed out reading offset topic {topic}; partitions left: {:?}", remaining.keys());
        }
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            // Past the end with nothing more to deliver: the last offsets below the end can be
            // transaction markers, which are never delivered, and the end-of-partition event
            // does not always come back through poll (librdkafka may raise it as a client error
            // when the end is a last stable offset below open transactions).
            let positions = consumer.position().context("reading the offset topic's position")?;
            remaining.retain(|p, end| {
                !matches!(positions.find_partition(topic, *p).map(|e| e.offset()), Some(Offset::Offset(at)) if at >= *end)
            });
            continue;
        };
        let message = match message {
            Ok(message) => message,
            Err(KafkaError::PartitionEOF(p)) => {
                remaining.remove(&p);
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("reading {topic}")),
        };
        count += 1;
        if let Some(key) = message.key() {
            match serde_json::from_slice::<Json>(key).ok().as_ref().and_then(parse_entry_key) {
                Some((connector, partition)) => {
                    let offset = match message.payload().map(serde_json::from_slice::<Json>) {
                        Some(Ok(Json::Object(o))) => Some(o),
                        _ => None,
                    };
                    cache.apply_at(&connector, &partition, offset, (message.partition(), message.offset()));
                }
                None => tracing::warn!(topic, offset = message.offset(), "ignoring offset record with an unknown key"),
            }
        }
        if remaining.get(&message.partition()).is_some_and(|end| message.offset() + 1 >= *end) {
            remaining.remove(&message.partition());
        }
    }
    Ok(count)
}
