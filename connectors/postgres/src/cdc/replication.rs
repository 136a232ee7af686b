//! The replication connection, over the `pgwire-replication` crate: slot creation (with an
//! exported snapshot), `START_REPLICATION ... LOGICAL ... (proto_version '1',
//! publication_names ...)`, and the confirmed position.
//!
//! The crate speaks the streaming protocol (CopyBoth, XLogData, primary keepalives answered
//! in time, standby status updates) in a background task. The status updates carry only the
//! position this connector hands to [`ReplicationStream::confirm`], which it does only from
//! `SourceTask::commit`, once the offsets are stored. While the consumer is slow, the crate
//! keeps sending status updates (so `wal_sender_timeout` does not fire) and stops reading the
//! socket (TCP back-pressure).

use std::time::Duration;

use aqueduct_sdk::{ConnectError, ErrorKind, Result};
use bytes::Bytes;
use pgwire_replication::{Lsn, PgWireError, ReplicationClient, ReplicationConfig, ReplicationEvent};
use tracing::info;

use super::catalog::SESSION_OPTIONS;
use super::config::{CdcConfig, SLOT_NAME};

/// Events buffered between the protocol task and the connector.
const BUFFER_EVENTS: usize = 8192;

/// The SQLSTATE in a server error message from the crate (`... (SQLSTATE 55006)`).
fn sqlstate(message: &str) -> Option<&str> {
    let start = message.find("SQLSTATE ")? + "SQLSTATE ".len();
    message.get(start..start + 5)
}

/// Maps a protocol error to a [`ConnectError`]: I/O and task errors are retriable; rejected
/// credentials and missing privileges are configuration errors; an active slot is
/// [`ErrorKind::Retriable`] with a message naming the slot (the caller bounds the retries).
pub fn wire_error(e: PgWireError, cfg: &CdcConfig, context: &str) -> ConnectError {
    let text = e.to_string();
    let kind = match &e {
        PgWireError::Io(_) | PgWireError::Task(_) => ErrorKind::Retriable,
        PgWireError::Auth(_) => ErrorKind::Config,
        PgWireError::Server(m) => match sqlstate(m) {
            Some(code) if code.starts_with("28") || code == "42501" || code.starts_with("3D") => ErrorKind::Config,
            Some("55006") => ErrorKind::Retriable,
            Some(code) if code.starts_with("08") || code.starts_with("57") || code.starts_with("53") => {
                ErrorKind::Retriable
            }
            _ => ErrorKind::Fatal,
        },
        _ => ErrorKind::Fatal,
    };
    let hint = if text.contains("must be superuser or replication role")
        || text.contains("permission denied to start WAL sender")
    {
        format!(" (the user '{}' needs the REPLICATION attribute: ALTER ROLE ... REPLICATION)", cfg.user)
    } else if sqlstate(&text) == Some("55006") {
        format!(
            " (the replication slot '{}' ({SLOT_NAME}) is in use by another connection; stop that client or use another {SLOT_NAME})",
            cfg.slot_name
        )
    } else {
        String::new()
    };
    ConnectError::new(kind, format!("{context} on {}{hint}", cfg.server())).with_source(e)
}

/// True when the error says the slot is held by another connection.
pub fn is_slot_busy(e: &ConnectError) -> bool {
    let mut text = e.to_string();
    if let Some(source) = std::error::Error::source(e) {
        text.push_str(&source.to_string());
    }
    text.contains("SQLSTATE 55006") || text.contains("is active for PID")
}

fn base_config(cfg: &CdcConfig) -> ReplicationConfig {
    ReplicationConfig::new(
        cfg.hostname.clone(),
        cfg.user.clone(),
        cfg.password.clone(),
        cfg.dbname.clone(),
        cfg.slot_name.clone(),
        cfg.publication_name.clone(),
    )
    .with_port(cfg.port)
    .with_options(SESSION_OPTIONS)
    .with_application_name(format!("aqueduct-cdc-{}", cfg.slot_name))
    .with_status_interval(cfg.status_update_interval)
    .with_wakeup_interval(cfg.status_update_interval.min(Duration::from_secs(10)))
    .with_buffer_size(BUFFER_EVENTS)
}

/// A slot just created.
pub struct CreatedSlot {
    /// The LSN from which the slot decodes: changes committed after it are streamed.
    pub consistent_point: u64,
    /// The exported snapshot, valid while `holder` stays open and idle.
    pub snapshot_name: Option<String>,
    /// The session that created the slot; drop it once the snapshot is imported.
    pub holder: Option<ReplicationClient>,
}

/// Creates the logical slot with pgoutput, exporting its snapshot when `export` is set
/// (`CREATE_REPLICATION_SLOT ... LOGICAL pgoutput (SNAPSHOT 'export')`).
pub async fn create_slot(cfg: &CdcConfig, export: bool) -> Result<CreatedSlot> {
    let mut client = ReplicationClient::connect_gated(base_config(cfg))
        .await
        .map_err(|e| wire_error(e, cfg, "opening a replication connection"))?;
    let mode = if export { "export" } else { "nothing" };
    let sql = format!("CREATE_REPLICATION_SLOT \"{}\" LOGICAL pgoutput (SNAPSHOT '{mode}')", cfg.slot_name);
    let rows = client
        .simple_query(&sql)
        .await
        .map_err(|e| wire_error(e, cfg, &format!("creating the replication slot '{}' ({SLOT_NAME})", cfg.slot_name)))?;
    let row = rows.first().ok_or_else(|| ConnectError::fatal("CREATE_REPLICATION_SLOT returned no row"))?;
    let text = |i: usize| row.get(i).and_then(|v| v.as_ref()).map(|b| String::from_utf8_lossy(b).into_owned());
    let consistent_point = text(1)
        .and_then(|s| Lsn::parse(&s).ok())
        .ok_or_else(|| ConnectError::fatal("CREATE_REPLICATION_SLOT returned no consistent point"))?
        .as_u64();
    let snapshot_name = if export { text(2) } else { None };
    info!(slot = %cfg.slot_name, consistent_point = %Lsn::from_u64(consistent_point), snapshot = ?snapshot_name,
        "created the replication slot");
    Ok(CreatedSlot { consistent_point, holder: export.then_some(client), snapshot_name })
}

/// An event of the stream, as the connector needs it.
#[derive(Debug)]
pub enum StreamEvent {
    /// A transaction starts; its commit record is at `commit_lsn`.
    Begin {
        /// LSN of the commit record.
        commit_lsn: u64,
        /// Transaction id.
        xid: u32,
        /// Commit time, µs since 2000-01-01.
        commit_time_pg: i64,
    },
    /// A pgoutput message at `lsn`.
    Data {
        /// LSN of the change.
        lsn: u64,
        /// The pgoutput message.
        data: Bytes,
    },
    /// The transaction ended; everything before `end_lsn` is sent.
    Commit {
        /// End of the commit record.
        end_lsn: u64,
    },
    /// The server's position, between transactions all of it decoded.
    KeepAlive {
        /// The server's sent position.
        wal_end: u64,
    },
}

/// A started logical replication stream.
pub struct ReplicationStream {
    client: ReplicationClient,
}

impl ReplicationStream {
    /// Starts streaming from `start` (0: the slot's confirmed position), reporting `confirmed`
    /// as the flushed position until [`ReplicationStream::confirm`] raises it.
    pub async fn start(cfg: &CdcConfig, start: u64, confirmed: u64) -> Result<ReplicationStream> {
        let mut rc = base_config(cfg).with_start_lsn(Lsn::from_u64(start));
        if confirmed > 0 {
            rc = rc.with_ack_lsn(Lsn::from_u64(confirmed));
        }
        let mut client =
            ReplicationClient::connect(rc).await.map_err(|e| wire_error(e, cfg, "opening a replication connection"))?;
        client.wait_started().await.map_err(|e| {
            wire_error(
                e,
                cfg,
                &format!("starting replication from slot '{}' at {}", cfg.slot_name, Lsn::from_u64(start)),
            )
        })?;
        info!(slot = %cfg.slot_name, publication = %cfg.publication_name, start = %Lsn::from_u64(start),
            "streaming changes");
        Ok(ReplicationStream { client })
    }

    /// The next event, or `None` when none arrived within `wait`.
    pub async fn next(&mut self, wait: Duration, cfg: &CdcConfig) -> Result<Option<StreamEvent>> {
        loop {
            let event = match tokio::time::timeout(wait, self.client.recv()).await {
                Err(_) => return Ok(None),
                Ok(Ok(Some(event))) => event,
                Ok(Ok(None)) => return Err(ConnectError::retriable("the replication stream ended")),
                Ok(Err(e)) => return Err(wire_error(e, cfg, "streaming changes")),
            };
            return Ok(Some(match event {
                ReplicationEvent::Begin { final_lsn, xid, commit_time_micros } => {
                    StreamEvent::Begin { commit_lsn: final_lsn.as_u64(), xid, commit_time_pg: commit_time_micros }
                }
                ReplicationEvent::XLogData { wal_start, data, .. } => {
                    StreamEvent::Data { lsn: wal_start.as_u64(), data }
                }
                ReplicationEvent::Commit { end_lsn, .. } => StreamEvent::Commit { end_lsn: end_lsn.as_u64() },
                ReplicationEvent::KeepAlive { wal_end, .. } => StreamEvent::KeepAlive { wal_end: wal_end.as_u64() },
                ReplicationEvent::Message { .. } => continue,
                ReplicationEvent::StoppedAt { .. } => {
                    return Err(ConnectError::retriable("the replication stream stopped"))
                }
            }));
        }
    }

    /// Reports `lsn` as flushed to the server (monotonic: lower values are ignored). Call only
    /// once everything before `lsn` is in the offset store.
    pub fn confirm(&self, lsn: u64) {
        self.client.update_applied_lsn(Lsn::from_u64(lsn));
    }

    /// Ends the stream (CopyDone), waiting briefly for the server.
    pub async fn close(mut self) {
        self.client.stop();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.client.shutdown()).await;
    }
}

impl Drop for ReplicationStream {
    /// A stream dropped without [`ReplicationStream::close`] (the task was dropped) ends its
    /// connection at once, so the slot is released for the next task.
    fn drop(&mut self) {
        self.client.stop();
        self.client.abort();
    }
}

/// Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch).
pub const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sqlstate() {
        assert_eq!(sqlstate("replication slot \"x\" is active for PID 7 (SQLSTATE 55006)"), Some("55006"));
        assert_eq!(sqlstate("no code"), None);
    }
}
