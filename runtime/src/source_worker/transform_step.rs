//! The source loop's transform step (poll -> **transforms** -> converter), with its errors
//! handled as `errors.*` says: a retriable failure is retried for `errors.retry.timeout`
//! (0: not at all, -1: forever, as Kafka Connect), then the record is skipped
//! (`errors.tolerance=all`, logged per `errors.log.*`) or the task fails naming it.

use aqueduct_sdk::{ConnectError, Result, SourceRecord};
use tokio::time::Instant;

use super::SourceWorker;
use crate::dead_letter::Stage;
use crate::transforms::StageError;

/// What to do with a polled record after its transforms.
pub(super) enum Step {
    /// Convert and send it.
    Send(SourceRecord),
    /// Nothing to send (a transform dropped it, or it failed and is tolerated); the record
    /// as polled, whose offset counts as done.
    Skip(SourceRecord),
}

impl SourceWorker {
    /// Runs the record through the connector's transforms.
    pub(super) async fn transformed(&mut self, record: SourceRecord) -> Result<Step> {
        if self.setup.transforms.is_empty() {
            return Ok(Step::Send(record));
        }
        let timeout = self.setup.connector.long("errors.retry.timeout");
        let deadline = (timeout > 0).then(|| Instant::now() + std::time::Duration::from_millis(timeout as u64));
        let mut attempt = 0;
        loop {
            let (coordinates, connect) = record.clone().into_parts();
            let failure = match self.setup.transforms.apply(connect) {
                Ok(Some(out)) => return Ok(Step::Send(SourceRecord::from_parts(coordinates, out))),
                Ok(None) => return Ok(Step::Skip(record)),
                Err(failure) => failure,
            };
            let retry = failure.error.is_retriable()
                && (timeout == -1 || deadline.is_some_and(|d| Instant::now() + self.setup.backoff(attempt) < d));
            if retry {
                let delay = self.setup.backoff(attempt);
                tracing::warn!(error = %failure, ?delay, "transform failed; retrying");
                attempt += 1;
                self.setup.sleep_unless_shutdown(delay).await;
                continue;
            }
            return self.transform_failed(record, failure).await;
        }
    }

    async fn transform_failed(&mut self, record: SourceRecord, failure: StageError) -> Result<Step> {
        if !self.setup.connector.tolerate_all() {
            return Err(ConnectError::new(
                failure.error.kind(),
                format!(
                    "record for topic {} at source partition {} offset {} failed in {failure}; errors.tolerance=none",
                    record.topic,
                    serde_json::Value::Object(record.source_partition.clone()),
                    serde_json::Value::Object(record.source_offset.clone()),
                ),
            ));
        }
        let error = ConnectError::new(failure.error.kind(), failure.to_string());
        self.report(&record, Stage::Transformation, failure.class, error).await?;
        Ok(Step::Skip(record))
    }

    /// A tolerated failure: logged per `errors.log.*` and sent to the dead-letter queue if any.
    pub(super) async fn report(
        &mut self,
        record: &SourceRecord,
        stage: Stage,
        class: &str,
        error: ConnectError,
    ) -> Result<()> {
        match &self.reporter {
            Some(reporter) => reporter.report_source(record, stage, class, error).await,
            None => {
                self.log_skipped(record, &error);
                Ok(())
            }
        }
    }

    /// Drops a record whose offset still counts as done (inside the open transaction, if any).
    pub(super) async fn skip(&mut self, record: &SourceRecord, ends: Option<bool>) -> Result<()> {
        self.begin_if_needed()?;
        let submission = self.tracker.submit(&record.source_partition, record.source_offset.clone());
        self.tracker.ack(&submission);
        self.note_sent(record);
        self.after_record(ends).await
    }
}
