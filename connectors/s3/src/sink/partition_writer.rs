//! The objects of one Kafka partition: records go into one open object per encoded partition
//! (folder); at `flush.size` records, a record-time span of `rotate.interval.ms`, a scheduled
//! rotation or a schema change, every open object is finished and uploaded, and only then does
//! the partition's committable offset move past their records.
//!
//! Exactly once: an object is named by the offset of its first record, and rotation (but the
//! scheduled kind) depends on the records alone, so after a crash the task, consuming again
//! from the committed offset, rewrites the same objects with the same contents.

use std::collections::BTreeMap;
use std::sync::Arc;

use aqueduct_sdk::{ConnectError, Result, SchemaRef, SinkRecord, TopicPartition};
use tracing::{debug, info};

use super::config::SinkConfig;
use crate::format::RecordWriter;
use crate::partitioner::next_boundary;
use crate::storage::{Store, Upload};

/// An object being written.
struct OpenObject {
    upload: Upload,
    writer: Box<dyn RecordWriter>,
    schema: Option<SchemaRef>,
}

/// Why the open objects are committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rotation {
    Size,
    Interval,
    Schedule,
    Schema,
}

/// The state of one assigned Kafka partition.
pub struct PartitionWriter {
    tp: TopicPartition,
    config: Arc<SinkConfig>,
    open: BTreeMap<String, OpenObject>,
    /// Finished objects not all uploaded yet, and the offset committable once they are.
    sealed: Vec<Upload>,
    sealed_next: i64,
    /// Records in the open objects.
    records: u64,
    /// Record time of the first record in the open objects.
    base_time: Option<i64>,
    /// Wall-clock time of the next scheduled rotation, while objects are open.
    next_scheduled: Option<i64>,
    /// The highest offset taken (written or skipped).
    last_offset: Option<i64>,
    /// The next offset whose records are all in committed objects (or were skipped).
    committed: Option<i64>,
}

impl PartitionWriter {
    /// A partition with nothing written yet.
    pub fn new(tp: TopicPartition, config: Arc<SinkConfig>) -> PartitionWriter {
        PartitionWriter {
            tp,
            config,
            open: BTreeMap::new(),
            sealed: Vec::new(),
            sealed_next: 0,
            records: 0,
            base_time: None,
            next_scheduled: None,
            last_offset: None,
            committed: None,
        }
    }

    /// Whether this record was taken already (a redelivery after a retriable failure).
    pub fn has(&self, record: &SinkRecord) -> bool {
        self.last_offset.is_some_and(|last| record.kafka_offset <= last)
    }

    /// Writes one record. A data error (the partitioner or format cannot take the record)
    /// leaves everything as it was; a failed upload of objects this record rotated leaves the
    /// record unwritten, to be given again.
    pub async fn write(&mut self, store: &Store, record: &SinkRecord, now_ms: i64) -> Result<()> {
        self.upload_sealed(store).await?;
        let encoded = self.config.partitioner.encode(record, now_ms, &self.config.storage.directory_delim)?;
        let time = self.config.partitioner.record_time(record, now_ms);
        if let Some(rotation) = self.rotation(&encoded, record.value_schema.as_ref(), time, now_ms) {
            self.seal(rotation)?;
            self.upload_sealed(store).await?;
        }
        let created = !self.open.contains_key(&encoded);
        if created {
            let key = self.config.object_key(&self.tp.topic, self.tp.partition, &encoded, record.kafka_offset);
            let writer = self.config.format.writer(record.value_schema.as_ref())?;
            let upload = Upload::new(key, self.config.part_size);
            self.open.insert(encoded.clone(), OpenObject { upload, writer, schema: record.value_schema.clone() });
        }
        let Some(object) = self.open.get_mut(&encoded) else { return Ok(()) };
        if let Err(e) = object.writer.write(record.value_schema.as_ref(), &record.value, object.upload.buffer()) {
            if created {
                self.open.remove(&encoded);
            }
            return Err(e);
        }
        if self.records == 0 {
            self.base_time = time;
            self.next_scheduled = self
                .config
                .rotate_schedule_interval_ms
                .map(|every| next_boundary(now_ms, every, self.config.partitioner.zone()));
        }
        self.records += 1;
        self.last_offset = Some(record.kafka_offset);
        if self.records >= self.config.flush_size {
            self.seal(Rotation::Size)?;
            self.upload_sealed(store).await?;
        }
        Ok(())
    }

    /// A record not written (an ignored tombstone, or one reported to the dead-letter queue).
    pub fn skip(&mut self, record: &SinkRecord) {
        self.last_offset = Some(record.kafka_offset);
    }

    /// Uploads full parts of the open objects, so none buffers more than `s3.part.size`.
    pub async fn send_parts(&mut self, store: &Store) -> Result<()> {
        for object in self.open.values_mut() {
            object.upload.send_parts(store).await?;
        }
        Ok(())
    }

    /// Runs a due scheduled rotation and finishes pending uploads; returns the offset safe to
    /// commit, if any.
    pub async fn committable(&mut self, store: &Store, now_ms: i64) -> Result<Option<i64>> {
        if self.records > 0 && self.next_scheduled.is_some_and(|at| now_ms >= at) {
            self.seal(Rotation::Schedule)?;
        }
        self.upload_sealed(store).await?;
        if self.open.is_empty() {
            // Nothing buffered: skipped records at the end are committable too.
            if let Some(last) = self.last_offset {
                self.committed = Some(self.committed.map_or(last + 1, |c| c.max(last + 1)));
            }
        }
        Ok(self.committed)
    }

    /// Abandons the open objects (the partition was taken away or the task stops).
    pub async fn abort(self, store: &Store) {
        for object in self.open.into_values() {
            object.upload.abort(store).await;
        }
        for upload in self.sealed {
            upload.abort(store).await;
        }
    }

    fn rotation(&self, encoded: &str, schema: Option<&SchemaRef>, time: Option<i64>, now_ms: i64) -> Option<Rotation> {
        if self.records == 0 {
            return None;
        }
        if let Some(object) = self.open.get(encoded) {
            let same = match (&object.schema, schema) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
                (None, None) => true,
                _ => false,
            };
            if !same {
                return Some(Rotation::Schema);
            }
        }
        if let (Some(every), Some(base), Some(time)) = (self.config.rotate_interval_ms, self.base_time, time) {
            if time - base >= every {
                return Some(Rotation::Interval);
            }
        }
        if self.next_scheduled.is_some_and(|at| now_ms >= at) {
            return Some(Rotation::Schedule);
        }
        None
    }

    /// Finishes every open object; they become visible once [`Self::upload_sealed`] succeeds.
    /// A writer that cannot finish fails the task: nothing of the partition is committed, so
    /// the restarted task writes the objects again.
    fn seal(&mut self, rotation: Rotation) -> Result<()> {
        let Some(last) = self.last_offset else { return Ok(()) };
        for (_, mut object) in std::mem::take(&mut self.open) {
            object.writer.finish(object.upload.buffer()).map_err(|e| {
                ConnectError::fatal(format!("finishing object {} failed: {e}", object.upload.key())).with_source(e)
            })?;
            self.sealed.push(object.upload);
        }
        debug!(partition = %self.tp, ?rotation, records = self.records, objects = self.sealed.len(), "rotating");
        self.sealed_next = last + 1;
        self.records = 0;
        self.base_time = None;
        self.next_scheduled = None;
        Ok(())
    }

    /// Uploads finished objects, first to last; the committable offset moves when all are up.
    async fn upload_sealed(&mut self, store: &Store) -> Result<()> {
        while let Some(upload) = self.sealed.first_mut() {
            upload.complete(store).await?;
            let done = self.sealed.remove(0);
            info!(partition = %self.tp, key = done.key(), "object committed");
        }
        if self.sealed_next > self.committed.unwrap_or(0) {
            self.committed = Some(self.sealed_next);
        }
        Ok(())
    }
}
