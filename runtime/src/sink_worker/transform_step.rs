//! The sink loop's transform step (converter -> **transforms** -> put). A retriable failure
//! is retried for `errors.retry.timeout` (0: not at all, -1: forever, as Kafka Connect); a
//! failure left is the caller's to route by `errors.tolerance` (dead-letter queue or task
//! failure, with the record's coordinates), as a conversion failure is.

use std::time::{Duration, Instant};

use aqueduct_sdk::SinkRecord;
use tracing::warn;

use super::SinkWorker;
use crate::status::Target;
use crate::transforms::StageError;

impl SinkWorker {
    /// Runs a converted record through the connector's transforms; `None` when one dropped it.
    pub(super) fn transformed(&self, record: SinkRecord) -> std::result::Result<Option<SinkRecord>, StageError> {
        let mut chain = self.transforms.borrow_mut();
        if chain.is_empty() {
            return Ok(Some(record));
        }
        let timeout = self.setup.connector.long("errors.retry.timeout");
        let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
        if timeout == 0 {
            // No retry possible: the record need not be kept.
            let (coordinates, connect) = record.into_parts();
            return chain.apply(connect).map(|out| out.map(|r| SinkRecord::from_parts(&coordinates, r)));
        }
        let mut attempt = 0;
        loop {
            let (coordinates, connect) = record.clone().into_parts();
            let failure = match chain.apply(connect) {
                Ok(out) => return Ok(out.map(|r| SinkRecord::from_parts(&coordinates, r))),
                Err(failure) => failure,
            };
            let delay = self.setup.backoff(attempt);
            let retry = failure.error.is_retriable()
                && (timeout == -1 || deadline.is_some_and(|d| Instant::now() + delay < d))
                && *self.setup.control.borrow() != Target::Shutdown;
            if !retry {
                return Err(failure);
            }
            warn!(error = %failure, ?delay, "transform failed; retrying");
            attempt += 1;
            std::thread::sleep(delay.min(Duration::from_secs(1)));
        }
    }
}
