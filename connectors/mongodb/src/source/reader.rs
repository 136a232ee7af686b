//! One reader per watched scope (a collection, a database or the deployment): copies the
//! existing documents when asked, then follows the change stream, sending records to the task.
//!
//! Copy protocol (`startup.mode=copy_existing`, in [`copy`]): open a change stream and take its
//! resume token (the server's `postBatchResumeToken`) *before* reading any document; copy every
//! document (records carry that token and `copy: "true"` in their offset, except the copy's last
//! record, whose offset is the token alone: stored, it says the copy is complete); then stream
//! from the token. A change made during the copy is therefore in the copy, in the stream, or
//! both — never lost. A restart while the stored offset still carries `copy` copies again from
//! the start (like the MongoDB connector), then streams from the stored token — the one taken
//! before the first copy — so changes made since then (deletes included) still follow.
//!
//! Streaming: the resume point moves with every event and with every empty batch (the server's
//! `postBatchResumeToken`), from the moment the stream is opened, so reopening after a failure
//! continues where the stream was, never from a new "now". Heartbeats ([`heartbeat`]) carry that
//! point to the offset store when no record does. An `invalidate` event (the watched collection
//! dropped or renamed, its database dropped) ends the stream: no record is produced for it, and
//! the stream is reopened with `startAfter` its resume token.

mod copy;
pub mod heartbeat;

use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::{ConnectError, OffsetMap, Result, SourceRecord, SourceTaskContext};
use mongodb::bson::{Bson, Document, Timestamp};
use mongodb::change_stream::event::ResumeToken;
use mongodb::change_stream::ChangeStream;
use mongodb::Client;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::errors::{is_lost_resume_point, to_connect_error};
use crate::extjson;
use crate::source::config::{SourceConfig, StartupMode, OFFSET_PARTITION_NAME, PIPELINE};
use crate::source::reader::heartbeat::Heartbeat;
use crate::source::records::{offset, operation, RecordBuilder, COPY_FIELD, ID_FIELD};

/// What a reader sends to the task: a record, or a failure for `poll` to report.
pub type Item = Result<SourceRecord>;

/// What one reader watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One collection.
    Collection {
        /// Database name.
        db: String,
        /// Collection name.
        coll: String,
    },
    /// Every collection of a database.
    Database(String),
    /// Every database of the deployment.
    Deployment,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Collection { db, coll } => write!(f, "{db}.{coll}"),
            Target::Database(db) => write!(f, "{db}"),
            Target::Deployment => f.write_str("(all databases)"),
        }
    }
}

/// Where the change stream starts.
#[derive(Debug, Clone)]
enum Start {
    /// After a resume token.
    After(Document),
    /// At an operation time, or now.
    At(Option<Timestamp>),
}

/// Reads one scope; see the module documentation.
pub struct Reader {
    pub(crate) client: Client,
    pub(crate) config: Arc<SourceConfig>,
    pub(crate) target: Target,
    pub(crate) builder: RecordBuilder,
    pub(crate) tx: mpsc::Sender<Item>,
    pub(crate) connector: String,
    pub(crate) task: u32,
    /// The offset stored for this scope's partition when the task started.
    pub(crate) stored: Option<OffsetMap>,
    /// Where copy progress is shown in the task's status.
    pub(crate) context: SourceTaskContext,
}

/// Why a phase ended early.
enum Stop {
    /// The task is stopping (the channel closed).
    Closed,
    /// A failure, reported to `poll`; retriable ones are retried here too.
    Failed(ConnectError),
}

impl From<ConnectError> for Stop {
    fn from(e: ConnectError) -> Self {
        Stop::Failed(e)
    }
}

/// A copy still to do.
#[derive(Debug, Clone)]
enum Pending {
    /// Take a resume point, then copy.
    Fresh,
    /// Copy, then stream from this resume point, taken before the copy; `stored`: taken by an
    /// interrupted copy of an earlier run (checked with the server before copying again).
    From { token: Document, stored: bool },
}

/// The state a reader keeps across retries.
struct Progress {
    /// The copy still to do.
    copy: Option<Pending>,
    /// Where the stream (re)starts.
    start: Start,
    /// When to send a heartbeat.
    heartbeat: Heartbeat,
}

impl Reader {
    /// Runs until the task stops or a non-retriable failure; failures are sent to the task.
    pub async fn run(self) {
        let mut progress = match self.initial() {
            Ok(p) => p,
            Err(e) => {
                let _ = self.tx.send(Err(e)).await;
                return;
            }
        };
        let mut failures = 0u32;
        loop {
            let result = match progress.copy {
                Some(_) => self.copy(&mut progress).await,
                None => self.stream(&mut progress).await,
            };
            match result {
                Ok(()) => failures = 0,
                Err(Stop::Closed) => return,
                Err(Stop::Failed(e)) if e.is_retriable() => {
                    let delay = Duration::from_millis(500u64 << failures.min(6)).min(Duration::from_secs(30));
                    warn!(connector = %self.connector, task = self.task, namespace = %self.target, error = %e, ?delay,
                        "MongoDB read failed; retrying");
                    failures += 1;
                    if self.tx.send(Err(e)).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(delay).await;
                }
                Err(Stop::Failed(e)) => {
                    let _ = self.tx.send(Err(e)).await;
                    return;
                }
            }
        }
    }

    /// Decides from the stored offset and `startup.mode` whether to resume, copy or start fresh.
    fn initial(&self) -> Result<Progress> {
        let copy_mode = self.config.startup == StartupMode::CopyExisting;
        let fresh = match &self.config.startup {
            StartupMode::Timestamp(t) => Start::At(*t),
            _ => Start::At(None),
        };
        let progress = |copy, start| Progress {
            copy,
            start,
            heartbeat: Heartbeat::new(&self.config, self.builder.partition().clone()),
        };
        let Some(stored) = &self.stored else {
            return Ok(progress(copy_mode.then_some(Pending::Fresh), fresh));
        };
        if stored.contains_key(COPY_FIELD) && !copy_mode {
            return Ok(progress(None, fresh));
        }
        let token = stored
            .get(ID_FIELD)
            .and_then(|v| v.as_str())
            .ok_or_else(|| self.bad_offset("it has no resume token"))
            .and_then(|text| extjson::parse_document(text).map_err(|e| self.bad_offset(&e)))?;
        if stored.contains_key(COPY_FIELD) {
            info!(connector = %self.connector, task = self.task, namespace = %self.target,
                "the previous copy of existing documents did not finish; copying again from the start, then \
                 streaming from the resume token taken before the first copy");
            let copy = Pending::From { token: token.clone(), stored: true };
            return Ok(progress(Some(copy), Start::After(token)));
        }
        info!(connector = %self.connector, task = self.task, namespace = %self.target,
            "resuming the change stream after the stored resume token");
        Ok(progress(None, Start::After(token)))
    }

    fn bad_offset(&self, why: &str) -> ConnectError {
        ConnectError::fatal(format!(
            "the stored offset of {} is not usable ({why}); set {OFFSET_PARTITION_NAME} to a new name to start afresh",
            self.target
        ))
    }

    async fn send(&self, record: SourceRecord) -> std::result::Result<(), Stop> {
        self.tx.send(Ok(record)).await.map_err(|_| Stop::Closed)
    }

    async fn open(&self, start: &Start) -> std::result::Result<ChangeStream<Document>, ConnectError> {
        let c = &self.config;
        let database;
        let collection;
        let watch = match &self.target {
            Target::Collection { db, coll } => {
                collection = self.client.database(db).collection::<Document>(coll);
                collection.watch()
            }
            Target::Database(db) => {
                database = self.client.database(db);
                database.watch()
            }
            Target::Deployment => self.client.watch(),
        };
        let mut watch = watch.pipeline(c.pipeline.clone()).max_await_time(c.await_time);
        if let Some(full) = &c.full_document {
            watch = watch.full_document(full.clone());
        }
        if let Some(before) = &c.full_document_before_change {
            watch = watch.full_document_before_change(before.clone());
        }
        if let Some(size) = c.batch_size {
            watch = watch.batch_size(size);
        }
        watch = match start {
            Start::After(token) => watch.start_after(resume_token(token)?),
            Start::At(Some(ts)) => watch.start_at_operation_time(*ts),
            Start::At(None) => watch,
        };
        match watch.await {
            Ok(stream) => Ok(stream.with_type::<Document>()),
            Err(e) => Err(self.stream_error(e, matches!(start, Start::After(_)))),
        }
    }

    /// Maps a change stream error, naming the recovery for a lost resume point.
    fn stream_error(&self, e: mongodb::error::Error, resuming: bool) -> ConnectError {
        if resuming && is_lost_resume_point(&e) {
            return ConnectError::fatal(format!(
                "cannot resume the change stream of {} from the stored resume token: it is invalid or no longer \
                 in the oplog (change events since then are lost to this connector). To start again, set \
                 {OFFSET_PARTITION_NAME} to a new name (with startup.mode=copy_existing to copy the current \
                 documents first), or set errors.tolerance=all to restart from now automatically",
                self.target
            ))
            .with_source(e);
        }
        if let Some((code, _)) = crate::errors::server_error(&e) {
            // Unknown stages, bad operators, stages not allowed in a change stream.
            if matches!(code, 20 | 9 | 15 | 168 | 40324 | 40323 | 31249 | 16436 | 40415 | 17276) {
                return ConnectError::config(format!(
                    "the server rejected the change stream of {} (check {PIPELINE})",
                    self.target
                ))
                .with_source(e);
            }
        }
        to_connect_error(e, || format!("reading the change stream of {}", self.target))
    }

    /// Follows the change stream from `progress.start`, updating it after every event sent.
    async fn stream(&self, progress: &mut Progress) -> std::result::Result<(), Stop> {
        let mut stream = match self.open(&progress.start).await {
            Ok(s) => s,
            Err(e) if self.config.tolerate_errors && e.message().contains(OFFSET_PARTITION_NAME) => {
                warn!(connector = %self.connector, task = self.task, namespace = %self.target, error = %e,
                    "resume token lost; restarting the change stream from now because errors.tolerance=all \
                     (events in between are lost)");
                progress.start = Start::At(None);
                self.open(&progress.start).await?
            }
            Err(e) => return Err(e.into()),
        };
        self.keep_resume_point(&stream, progress);
        info!(connector = %self.connector, task = self.task, namespace = %self.target, "streaming changes");
        loop {
            let event = stream.next_if_any().await.map_err(|e| self.stream_error(e, true))?;
            match event {
                None => {
                    if self.tx.is_closed() {
                        return Err(Stop::Closed);
                    }
                    self.keep_resume_point(&stream, progress);
                    if !stream.is_alive() {
                        info!(connector = %self.connector, task = self.task, namespace = %self.target,
                            "change stream closed by the server; reopening");
                        return Ok(());
                    }
                }
                Some(event) => {
                    let token = match event.get("_id") {
                        Some(Bson::Document(t)) => t.clone(),
                        _ => {
                            return Err(ConnectError::config(format!(
                                "a change event of {} has no _id (resume token); {PIPELINE} must not remove it",
                                self.target
                            ))
                            .into())
                        }
                    };
                    if operation(&event) == "invalidate" {
                        info!(connector = %self.connector, task = self.task, namespace = %self.target,
                            "change stream invalidated (the collection was dropped or renamed, or its database \
                             dropped); reopening it after the invalidate event");
                        progress.start = Start::After(token);
                        return Ok(());
                    }
                    let records = self.builder.records(&event, offset(&token, false), false)?;
                    if !records.is_empty() {
                        progress.heartbeat.sent(&token);
                    }
                    for record in records {
                        self.send(record).await?;
                    }
                    progress.start = Start::After(token);
                }
            }
            if let Start::After(token) = &progress.start {
                if let Some(heartbeat) = progress.heartbeat.due(token) {
                    info!(connector = %self.connector, task = self.task, namespace = %self.target,
                        "sending a heartbeat with the latest resume token");
                    self.send(heartbeat).await?;
                }
            }
        }
    }

    /// Keeps the stream's resume token (after its last event, or the server's
    /// `postBatchResumeToken`) as the point to reopen from.
    fn keep_resume_point(&self, stream: &ChangeStream<Document>, progress: &mut Progress) {
        match stream.resume_token().map(|t| mongodb::bson::to_document(&t)) {
            Some(Ok(token)) => progress.start = Start::After(token),
            Some(Err(e)) => warn!(connector = %self.connector, task = self.task, namespace = %self.target,
                error = %e, "the server's resume token is not a document; keeping the previous resume point"),
            None => {}
        }
    }
}

/// A resume token document as the driver's type.
fn resume_token(token: &Document) -> std::result::Result<ResumeToken, ConnectError> {
    mongodb::bson::from_document(token.clone())
        .map_err(|e| ConnectError::fatal("the stored resume token is not a document").with_source(e))
}
