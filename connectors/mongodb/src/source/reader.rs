//! One reader per watched scope (a collection, a database or the deployment): copies the
//! existing documents when asked, then follows the change stream, sending records to the task.
//!
//! Copy protocol (`startup.mode=copy_existing`): open a change stream and take its resume token
//! (the server's `postBatchResumeToken`) *before* reading any document; copy every document
//! (records carry that token and `copy: "true"` in their offset); then stream from the token.
//! A change made during the copy is therefore in the copy, in the stream, or both — never lost.
//! A restart while an offset still carries `copy` copies again from the start (like the MongoDB
//! connector): duplicates, no loss.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aqueduct_sdk::{ConnectError, OffsetMap, Result, SourceRecord, SourceTaskContext};
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document, Timestamp};
use mongodb::change_stream::event::ResumeToken;
use mongodb::change_stream::ChangeStream;
use mongodb::Client;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::errors::{is_lost_resume_point, to_connect_error};
use crate::extjson;
use crate::source::config::{SourceConfig, StartupMode, OFFSET_PARTITION_NAME, PIPELINE};
use crate::source::records::{offset, RecordBuilder, COPY_FIELD, ID_FIELD};

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

/// The state a reader keeps across retries.
struct Progress {
    /// The copy still to do, with the resume token taken before it (once taken).
    copy: Option<Option<Document>>,
    /// Where the stream (re)starts.
    start: Start,
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
        let Some(stored) = &self.stored else {
            return Ok(Progress { copy: copy_mode.then_some(None), start: fresh });
        };
        if stored.contains_key(COPY_FIELD) {
            if copy_mode {
                info!(connector = %self.connector, task = self.task, namespace = %self.target,
                    "the previous copy of existing documents did not finish; copying again from the start");
            }
            return Ok(Progress { copy: copy_mode.then_some(None), start: fresh });
        }
        let token = stored
            .get(ID_FIELD)
            .and_then(|v| v.as_str())
            .ok_or_else(|| self.bad_offset("it has no resume token"))
            .and_then(|text| extjson::parse_document(text).map_err(|e| self.bad_offset(&e)))?;
        info!(connector = %self.connector, task = self.task, namespace = %self.target,
            "resuming the change stream after the stored resume token");
        Ok(Progress { copy: None, start: Start::After(token) })
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
        info!(connector = %self.connector, task = self.task, namespace = %self.target, "streaming changes");
        loop {
            let event = stream.next_if_any().await.map_err(|e| self.stream_error(e, true))?;
            let Some(event) = event else {
                if self.tx.is_closed() {
                    return Err(Stop::Closed);
                }
                if !stream.is_alive() {
                    // Invalidated (collection dropped or renamed): wait and watch again.
                    info!(connector = %self.connector, task = self.task, namespace = %self.target,
                        "change stream closed by the server; reopening");
                    return Ok(());
                }
                continue;
            };
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
            for record in self.builder.records(&event, offset(&token, false), false)? {
                self.send(record).await?;
            }
            progress.start = Start::After(token);
        }
    }

    /// Takes the resume point (once), copies every namespace, then switches to streaming.
    async fn copy(&self, progress: &mut Progress) -> std::result::Result<(), Stop> {
        let token = match progress.copy.clone().flatten() {
            Some(token) => token,
            None => {
                let stream = self.open(&Start::At(None)).await?;
                let token =
                    stream.resume_token().and_then(|t| mongodb::bson::to_document(&t).ok()).ok_or_else(|| {
                        ConnectError::fatal(format!(
                            "the server gave no resume token for {} (copy_existing needs MongoDB 4.0.7 or later)",
                            self.target
                        ))
                    })?;
                progress.copy = Some(Some(token.clone()));
                token
            }
        };
        let namespaces = self.copy_namespaces().await?;
        info!(connector = %self.connector, task = self.task, namespace = %self.target, ?namespaces,
            "copying existing documents; changes made meanwhile will follow from the change stream");
        for (db, coll) in &namespaces {
            self.copy_collection(db, coll, &token).await?;
        }
        info!(connector = %self.connector, task = self.task, namespace = %self.target,
            "finished copying existing documents");
        progress.copy = None;
        progress.start = Start::After(token);
        Ok(())
    }

    async fn copy_namespaces(&self) -> std::result::Result<Vec<(String, String)>, ConnectError> {
        let err = |e| to_connect_error(e, || format!("listing the collections of {}", self.target));
        let mut all = Vec::new();
        let dbs = match &self.target {
            Target::Collection { db, coll } => {
                all.push((db.clone(), coll.clone()));
                Vec::new()
            }
            Target::Database(db) => vec![db.clone()],
            Target::Deployment => self
                .client
                .list_database_names()
                .await
                .map_err(err)?
                .into_iter()
                .filter(|d| !matches!(d.as_str(), "admin" | "config" | "local"))
                .collect(),
        };
        for db in dbs {
            let names = self.client.database(&db).list_collection_names().filter(doc! {"type": "collection"}).await;
            for coll in names.map_err(err)? {
                if !coll.starts_with("system.") {
                    all.push((db.clone(), coll));
                }
            }
        }
        all.sort();
        if let Some(re) = &self.config.copy_namespace_regex {
            all.retain(|(db, coll)| re.is_match(&format!("{db}.{coll}")));
        }
        Ok(all)
    }

    /// Copies one collection as insert-shaped events (`_id: {_id, copyingData: true}`), through
    /// `startup.mode.copy.existing.pipeline` before and `pipeline` after the reshaping.
    async fn copy_collection(&self, db: &str, coll: &str, token: &Document) -> std::result::Result<(), Stop> {
        let c = &self.config;
        let collection = self.client.database(db).collection::<Document>(coll);
        let what = format!("{db}.{coll}");
        let total = collection.estimated_document_count().await.unwrap_or(0);
        let mut pipeline = c.copy_pipeline.clone();
        pipeline.push(doc! { "$replaceRoot": { "newRoot": {
            "_id": { "_id": "$_id", "copyingData": true },
            "operationType": "insert",
            "ns": { "db": db, "coll": coll },
            "documentKey": { "_id": "$_id" },
            "fullDocument": "$$ROOT",
        }}});
        pipeline.extend(c.pipeline.iter().cloned());
        let mut aggregate = collection.aggregate(pipeline).allow_disk_use(c.allow_disk_use);
        if let Some(size) = c.batch_size {
            aggregate = aggregate.batch_size(size);
        }
        let copy_error = |e| to_connect_error(e, || format!("copying the documents of {what}"));
        let mut cursor = aggregate.await.map_err(copy_error)?;
        let started = Instant::now();
        let mut last_log = Instant::now();
        let mut done = 0u64;
        let offset = offset(token, true);
        while let Some(event) = cursor.try_next().await.map_err(copy_error)? {
            for record in self.builder.records(&event, offset.clone(), true)? {
                self.send(record).await?;
            }
            done += 1;
            if last_log.elapsed() >= Duration::from_secs(5) {
                last_log = Instant::now();
                self.log_progress(&what, done, total, started, false);
            }
        }
        self.log_progress(&what, done, total, started, true);
        Ok(())
    }

    fn log_progress(&self, what: &str, done: u64, total: u64, started: Instant, finished: bool) {
        let secs = started.elapsed().as_secs_f64().max(0.001);
        let rate = (done as f64 / secs).round();
        let percent = if total > 0 { (done as f64 * 100.0 / total as f64).min(100.0).round() } else { 100.0 };
        let state = if finished { "copied" } else { "copying" };
        let line = format!("{state} existing documents of {what}: {done}/~{total} ({percent}%), {rate} docs/s");
        info!(connector = %self.connector, task = self.task, namespace = what, documents = done,
            estimated_total = total, percent, docs_per_sec = rate, "{line}");
        self.context.report_progress(Some(line));
    }
}

/// A resume token document as the driver's type.
fn resume_token(token: &Document) -> std::result::Result<ResumeToken, ConnectError> {
    mongodb::bson::from_document(token.clone())
        .map_err(|e| ConnectError::fatal("the stored resume token is not a document").with_source(e))
}
