//! Source offsets: where the connector is in the WAL (and in a snapshot), stored with every
//! record and read back at start.
//!
//! Source partition: `{"server": <topic.prefix>}` (one per connector, as Debezium).
//!
//! Offset keys:
//! - `lsn_proc`: every transaction that committed before this LSN was completely emitted. It is
//!   where streaming restarts and the only position ever confirmed to the server (as the
//!   standby status flush position), and only once the offset is in the offset store.
//! - `lsn_commit`, `event_serial`: the record is the `event_serial`-th record (from 1) emitted for
//!   the transaction whose commit record is at `lsn_commit`. After a restart in the middle of
//!   that transaction (`lsn_commit >= lsn_proc`), the server sends it again and its first
//!   `event_serial` records are skipped, so nothing is lost and nothing doubled. (Counting
//!   records rather than comparing change LSNs is exact even when several rows share one LSN,
//!   as with multi-row inserts from `COPY`.)
//! - `lsn`: the LSN of the change itself, `txId`, `ts_usec` (commit time): as Debezium.
//! - While snapshotting: `snapshot: true`, `snapshot_table` (`schema.table` being read) and
//!   `snapshot_key` (the primary key, as text, of the last row read, or null), and
//!   `last_snapshot_record: true` on the snapshot's last record.

use aqueduct_sdk::serde_json::{json, Value as Json};
use aqueduct_sdk::{offset_map, ConnectError, OffsetMap, Result};

use super::config::{CdcConfig, SLOT_NAME, SNAPSHOT_MODE, STALE_OFFSET_HANDLING};

/// The source partition of a connector: `{"server": <topic.prefix>}`.
pub fn partition(topic_prefix: &str) -> OffsetMap {
    offset_map([("server", json!(topic_prefix))])
}

/// A position in the replication stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamPosition {
    /// Everything committed before it is emitted; where streaming restarts.
    pub lsn_proc: u64,
    /// Commit LSN of the transaction of the last emitted record.
    pub lsn_commit: u64,
    /// Records of that transaction emitted so far.
    pub event_serial: u64,
    /// LSN of the last emitted change.
    pub lsn: u64,
    /// Transaction id of the last emitted change.
    pub tx_id: Option<u32>,
    /// Commit time of that transaction, µs since the epoch.
    pub ts_usec: i64,
}

impl StreamPosition {
    /// True when the last emitted record is in the middle of a transaction that is sent again
    /// after a restart at `lsn_proc`.
    pub fn mid_transaction(&self) -> bool {
        self.event_serial > 0 && self.lsn_commit >= self.lsn_proc
    }

    /// True when the `serial`-th record of the transaction committing at `commit_lsn` was
    /// already emitted according to this position.
    pub fn covers(&self, commit_lsn: u64, serial: u64) -> bool {
        commit_lsn < self.lsn_proc
            || (self.mid_transaction() && commit_lsn == self.lsn_commit && serial <= self.event_serial)
    }
}

/// Snapshot progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotProgress {
    /// `schema.table` being read.
    pub table: String,
    /// Primary key (text values) of the last row read from it; `None` for none or keyless.
    pub key: Option<Vec<Option<String>>>,
    /// This is the snapshot's last record.
    pub last: bool,
}

/// A parsed source offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offset {
    /// The stream position.
    pub position: StreamPosition,
    /// Set while a snapshot is in progress.
    pub snapshot: Option<SnapshotProgress>,
}

impl Offset {
    /// The offset map stored with a record.
    pub fn to_map(&self) -> OffsetMap {
        let p = &self.position;
        let mut map = offset_map([
            ("lsn_proc", json!(p.lsn_proc)),
            ("lsn_commit", json!(p.lsn_commit)),
            ("event_serial", json!(p.event_serial)),
            ("lsn", json!(p.lsn)),
            ("txId", p.tx_id.map_or(Json::Null, |x| json!(x))),
            ("ts_usec", json!(p.ts_usec)),
        ]);
        if let Some(s) = &self.snapshot {
            map.insert("snapshot".into(), json!(true));
            map.insert("snapshot_table".into(), json!(s.table));
            map.insert("snapshot_key".into(), s.key.as_ref().map_or(Json::Null, |k| json!(k)));
            map.insert("last_snapshot_record".into(), json!(s.last));
        }
        map
    }

    /// Parses a stored offset; an offset that is not ours is a fatal error naming the key.
    pub fn from_map(map: &OffsetMap) -> Result<Offset> {
        let bad = |key: &str| {
            ConnectError::fatal(format!(
                "the stored source offset has an invalid '{key}': {:?}; fix or delete the connector's offsets",
                map.get(key)
            ))
        };
        let num = |key: &str, required: bool| -> Result<u64> {
            match map.get(key) {
                None | Some(Json::Null) if !required => Ok(0),
                Some(v) => v.as_u64().ok_or_else(|| bad(key)),
                None => Err(bad(key)),
            }
        };
        // Debezium's own offsets carry `lsn` (and maybe `lsn_proc`/`lsn_commit`); accept them.
        let lsn = num("lsn", false)?;
        let lsn_proc = match map.get("lsn_proc") {
            Some(Json::Null) | None => lsn,
            Some(v) => v.as_u64().ok_or_else(|| bad("lsn_proc"))?,
        };
        if lsn_proc == 0 && !map.contains_key("snapshot") {
            return Err(bad("lsn_proc"));
        }
        let tx_id = match map.get("txId") {
            None | Some(Json::Null) => None,
            Some(v) => Some(v.as_u64().and_then(|x| u32::try_from(x).ok()).ok_or_else(|| bad("txId"))?),
        };
        let position = StreamPosition {
            lsn_proc,
            lsn_commit: num("lsn_commit", false)?,
            event_serial: num("event_serial", false)?,
            lsn,
            tx_id,
            ts_usec: map.get("ts_usec").and_then(Json::as_i64).unwrap_or(0),
        };
        let snapshot = match map.get("snapshot") {
            Some(Json::Bool(true)) => {
                let table = map.get("snapshot_table").and_then(Json::as_str).unwrap_or_default().to_owned();
                let key = match map.get("snapshot_key") {
                    None | Some(Json::Null) => None,
                    Some(Json::Array(items)) => Some(items.iter().map(|v| v.as_str().map(str::to_owned)).collect()),
                    Some(_) => return Err(bad("snapshot_key")),
                };
                let last = map.get("last_snapshot_record").and_then(Json::as_bool).unwrap_or(false);
                Some(SnapshotProgress { table, key, last })
            }
            _ => None,
        };
        Ok(Offset { position, snapshot })
    }

    /// True when this offset says a snapshot was started and not finished.
    pub fn snapshot_incomplete(&self) -> bool {
        self.snapshot.as_ref().is_some_and(|s| !s.last)
    }
}

/// An LSN as PostgreSQL writes it (`16/B374D848`).
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

/// The error of a stored offset the slot has moved past: not retriable, it names the way out.
pub fn stale_offset_error(cfg: &CdcConfig, stored: u64, confirmed: u64) -> ConnectError {
    ConnectError::fatal(format!(
        "the stored offset (lsn_proc {}) is older than the confirmed position {} of the replication slot '{}' \
         ({SLOT_NAME}) on {}: the slot was advanced or re-created, and the changes in between cannot be streamed any \
         more. Set {SNAPSHOT_MODE}=when_needed to take a new snapshot, {STALE_OFFSET_HANDLING}=warn to stream from the \
         slot's position and lose those changes, or delete the connector's offsets",
        lsn_text(stored),
        lsn_text(confirmed),
        cfg.slot_name,
        cfg.server()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_resume_rules() {
        let offset = Offset {
            position: StreamPosition {
                lsn_proc: 100,
                lsn_commit: 150,
                event_serial: 3,
                lsn: 120,
                tx_id: Some(9),
                ts_usec: 5,
            },
            snapshot: None,
        };
        let parsed = Offset::from_map(&offset.to_map()).expect("parses");
        assert_eq!(parsed, offset);
        let p = parsed.position;
        assert!(p.mid_transaction());
        assert!(p.covers(90, 1), "transactions committed before lsn_proc are done");
        assert!(p.covers(150, 3));
        assert!(!p.covers(150, 4));
        assert!(!p.covers(160, 1));
        let done = StreamPosition { lsn_proc: 200, ..p };
        assert!(!done.mid_transaction());
        assert!(!done.covers(200, 1));

        let snap = Offset {
            position: StreamPosition { lsn_proc: 10, ..StreamPosition::default() },
            snapshot: Some(SnapshotProgress {
                table: "public.t".into(),
                key: Some(vec![Some("5".into()), None]),
                last: false,
            }),
        };
        let parsed = Offset::from_map(&snap.to_map()).expect("parses");
        assert_eq!(parsed, snap);
        assert!(parsed.snapshot_incomplete());
    }

    #[test]
    fn rejects_foreign_offsets() {
        let map = offset_map([("lsn", json!("zz"))]);
        assert!(Offset::from_map(&map).expect_err("bad").to_string().contains("'lsn'"));
        assert!(Offset::from_map(&OffsetMap::new()).is_err());
        let debezium = offset_map([("lsn", json!(1234)), ("txId", json!(5)), ("ts_usec", json!(1))]);
        assert_eq!(Offset::from_map(&debezium).expect("debezium offsets").position.lsn_proc, 1234);
    }
}
