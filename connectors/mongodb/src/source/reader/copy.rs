//! The copy of existing documents (`startup.mode=copy_existing`); see the protocol in the
//! parent module's documentation.

use std::time::{Duration, Instant};

use aqueduct_sdk::{ConnectError, SourceRecord};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use tracing::{info, warn};

use super::{Pending, Progress, Reader, Start, Stop, Target};
use crate::errors::to_connect_error;
use crate::source::config::OFFSET_PARTITION_NAME;
use crate::source::records::{offset, COPY_FIELD, ID_FIELD};

impl Reader {
    /// Takes the resume point (once), copies every namespace, then switches to streaming.
    pub(super) async fn copy(&self, progress: &mut Progress) -> std::result::Result<(), Stop> {
        let token = match progress.copy.clone() {
            Some(Pending::From { token, stored: true }) => self.check_stored(token).await?,
            Some(Pending::From { token, stored: false }) => token,
            _ => {
                let token = self.take_resume_point().await?;
                self.store_resume_point(progress, &token).await?;
                token
            }
        };
        // Kept for a retry of the copy after a failure: it streams from this same point.
        progress.copy = Some(Pending::From { token: token.clone(), stored: false });
        let namespaces = self.copy_namespaces().await?;
        info!(connector = %self.connector, task = self.task, namespace = %self.target, ?namespaces,
            "copying existing documents; changes made meanwhile will follow from the change stream");
        let mut held = None;
        for (db, coll) in &namespaces {
            self.copy_collection(db, coll, &token, &mut held).await?;
        }
        if let Some(mut last) = held {
            // The copy's last record: once its offset is stored, the copy is complete and a
            // restart streams from `token` instead of copying again.
            last.source_offset.remove(COPY_FIELD);
            self.send(last).await?;
            progress.heartbeat.sent(&token);
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
    /// Each record is held back until the next one is sent, so that the copy's last record can
    /// be marked as such (see [`Reader::copy`]).
    async fn copy_collection(
        &self,
        db: &str,
        coll: &str,
        token: &Document,
        held: &mut Option<SourceRecord>,
    ) -> std::result::Result<(), Stop> {
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
                if let Some(previous) = held.replace(record) {
                    self.send(previous).await?;
                }
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

    /// A new resume point: the token of a change stream opened now, before any document is read.
    async fn take_resume_point(&self) -> std::result::Result<Document, ConnectError> {
        let stream = self.open(&Start::At(None)).await?;
        stream.resume_token().and_then(|t| mongodb::bson::to_document(&t).ok()).ok_or_else(|| {
            ConnectError::fatal(format!(
                "the server gave no resume token for {} (copy_existing needs MongoDB 4.0.7 or later)",
                self.target
            ))
        })
    }

    /// Has a fresh copy's resume point stored before any document is copied: a marker heartbeat
    /// whose offset is the point marked `copy`, then a wait until the runtime stored it. A crash
    /// during the copy then copies again and streams from this point, so changes made since
    /// (deletes included) still follow. Without it, a crash before any offset was stored left
    /// the rows the sink had already written, and the next attempt, starting from a new point,
    /// never saw the deletes made in between.
    async fn store_resume_point(&self, progress: &Progress, token: &Document) -> std::result::Result<(), Stop> {
        let marker = progress.heartbeat.copy_marker(token);
        let expected = marker.source_offset.get(ID_FIELD).cloned();
        self.send(marker).await?;
        let partition = self.builder.partition();
        let mut waited = Duration::ZERO;
        while self.context.offset(partition).and_then(|o| o.get(ID_FIELD).cloned()) != expected {
            if self.tx.is_closed() {
                return Err(Stop::Closed);
            }
            if waited == Duration::from_secs(10) {
                info!(connector = %self.connector, task = self.task, namespace = %self.target,
                    "waiting for the copy's resume point to be stored before copying");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += Duration::from_millis(100);
        }
        Ok(())
    }

    /// Checks, before copying again, that the stream can still start from the resume point of
    /// an interrupted copy; if it cannot, the task fails (naming the recovery), or with
    /// `errors.tolerance=all` takes a new resume point.
    async fn check_stored(&self, token: Document) -> std::result::Result<Document, ConnectError> {
        match self.open(&Start::After(token.clone())).await {
            Ok(_) => Ok(token),
            Err(e) if self.config.tolerate_errors && e.message().contains(OFFSET_PARTITION_NAME) => {
                warn!(connector = %self.connector, task = self.task, namespace = %self.target, error = %e,
                    "the resume point of the interrupted copy is lost; copying from a new one because \
                     errors.tolerance=all (deletes made since the first copy are lost)");
                self.take_resume_point().await
            }
            Err(e) => Err(e),
        }
    }
}
