//! The source task: lists the bucket every `s3.poll.interval.ms`, reads its streams' objects in
//! offset order, one object at a time, and resumes from the stored `{lastFileRead, fileOffset, eof}`.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use aqueduct_sdk::{async_trait, offset_map, ConnectError, Props, Result, SourceRecord, SourceTask, SourceTaskContext};
use serde_json::json;
use tracing::{debug, info};

use super::config::SourceConfig;
use super::objects::{self, Object, Stream};
use crate::storage::Store;

/// `lastFileRead`: the key of the object the offset is in.
pub const LAST_FILE_READ: &str = "lastFileRead";
/// `fileOffset`: records of that object already produced.
pub const FILE_OFFSET: &str = "fileOffset";
/// `eof`: whether that object is done.
pub const EOF: &str = "eof";

/// Where a stream stands.
#[derive(Debug, Clone, PartialEq)]
struct Position {
    /// Start offset of the object last read from.
    start: i64,
    /// Records of it produced.
    done: u64,
    /// Whether it was read to the end.
    eof: bool,
}

/// The S3 source task.
#[derive(Default)]
pub struct S3SourceTask {
    running: Option<Running>,
}

struct Running {
    config: SourceConfig,
    context: SourceTaskContext,
    store: Store,
    /// Where each of this task's streams stands (ahead of the stored offsets).
    positions: BTreeMap<Stream, Option<Position>>,
    /// Objects listed and not read yet, per stream.
    listed: BTreeMap<Stream, Vec<Object>>,
    /// Records of the object being produced.
    queue: VecDeque<SourceRecord>,
    next_listing: Instant,
}

impl S3SourceTask {
    /// A new, unstarted task.
    pub fn new() -> Self {
        Self::default()
    }
}

fn position(stored: &aqueduct_sdk::OffsetMap, config: &SourceConfig) -> Option<Position> {
    let key = stored.get(LAST_FILE_READ)?.as_str()?;
    let (_, object) =
        objects::parse(key, &config.storage.directory_delim, &config.storage.file_delim, &config.format.extension())?;
    Some(Position {
        start: object.start,
        done: stored.get(FILE_OFFSET).and_then(serde_json::Value::as_u64).unwrap_or(0),
        eof: stored.get(EOF).and_then(serde_json::Value::as_bool).unwrap_or(false),
    })
}

impl Running {
    /// Lists the bucket and keeps the objects of this task's streams not read yet.
    async fn list(&mut self) -> Result<()> {
        let storage = &self.config.storage;
        let prefix = if storage.topics_dir.is_empty() {
            String::new()
        } else {
            format!("{}{}", storage.topics_dir, storage.directory_delim)
        };
        let listing = self.store.list(&prefix, None, None).await?;
        let extension = self.config.format.extension();
        let streams = objects::group(&listing.objects, &storage.directory_delim, &storage.file_delim, &extension);
        for (stream, objects) in streams {
            if stream.share(self.config.task_count) != self.config.task_index {
                continue;
            }
            let context = &self.context;
            let config = &self.config;
            let at = self
                .positions
                .entry(stream.clone())
                .or_insert_with(|| context.offset(&stream.source_partition()).and_then(|o| position(&o, config)))
                .clone();
            let pending: Vec<Object> = objects
                .into_iter()
                .filter(|o| match &at {
                    None => true,
                    Some(p) if p.eof => o.start > p.start,
                    Some(p) => o.start >= p.start,
                })
                .collect();
            if !pending.is_empty() {
                debug!(connector = %self.config.connector, folder = %stream.folder, partition = stream.partition, objects = pending.len(), "objects to read");
                self.listed.insert(stream, pending);
            }
        }
        Ok(())
    }

    /// Reads the next listed object into the queue; false when none is left.
    async fn read_next(&mut self) -> Result<bool> {
        let Some((stream, objects)) = self.listed.iter_mut().next() else { return Ok(false) };
        let stream = stream.clone();
        let object = objects.remove(0);
        if objects.is_empty() {
            self.listed.remove(&stream);
        }
        let bytes = self.store.get(&object.key).await?;
        let records = self.config.format.read(&bytes).map_err(|e| {
            ConnectError::new(e.kind(), format!("object s3://{}/{}: {}", self.store.bucket(), object.key, e.message()))
        })?;
        let skip = match self.positions.get(&stream).cloned().flatten() {
            Some(p) if p.start == object.start => p.done as usize,
            _ => 0,
        };
        let total = records.len();
        let partition = stream.source_partition();
        for (i, record) in records.into_iter().enumerate().skip(skip) {
            let offset = offset_map([
                (LAST_FILE_READ, json!(object.key)),
                (FILE_OFFSET, json!(i + 1)),
                (EOF, json!(i + 1 == total)),
            ]);
            let mut out = SourceRecord::new(partition.clone(), offset, stream.topic.clone(), record.value);
            out.kafka_partition = Some(stream.partition);
            out.value_schema = record.schema;
            self.queue.push_back(out);
        }
        info!(connector = %self.config.connector, key = %object.key, records = total - skip.min(total), "reading object");
        self.positions.insert(stream, Some(Position { start: object.start, done: total as u64, eof: true }));
        Ok(true)
    }
}

#[async_trait]
impl SourceTask for S3SourceTask {
    async fn start(&mut self, context: SourceTaskContext, props: Props) -> Result<()> {
        let config = SourceConfig::parse(&props)?;
        let store = Store::new(&config.storage).await;
        store.check_bucket().await?;
        info!(connector = %config.connector, bucket = store.bucket(), task = config.task_index, tasks = config.task_count,
            "started S3 source task");
        self.running = Some(Running {
            config,
            context,
            store,
            positions: BTreeMap::new(),
            listed: BTreeMap::new(),
            queue: VecDeque::new(),
            next_listing: Instant::now(),
        });
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let running = self.running.as_mut().ok_or_else(|| ConnectError::fatal("S3 source task polled before start"))?;
        if running.queue.is_empty() && running.listed.is_empty() {
            let now = Instant::now();
            if now < running.next_listing {
                tokio::time::sleep((running.next_listing - now).min(Duration::from_secs(1))).await;
                return Ok(Vec::new());
            }
            running.list().await?;
            running.next_listing = Instant::now() + Duration::from_millis(running.config.poll_interval_ms);
        }
        while running.queue.is_empty() {
            if !running.read_next().await? {
                return Ok(Vec::new());
            }
        }
        let n = running.queue.len().min(running.config.batch_max_size);
        Ok(running.queue.drain(..n).collect())
    }
}
