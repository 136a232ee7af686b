//! The payloads Kafka Connect workers put in JoinGroup and SyncGroup: worker metadata and
//! assignments, byte for byte as Kafka Connect's `ConnectProtocol` (eager, v0) and
//! `IncrementalCooperativeConnectProtocol` (v1 "compatible", v2 "sessioned") write them.
//!
//! Everything is big-endian in Kafka's old `Struct` encoding: `int16` version header, strings
//! as an `int16` byte length and UTF-8 bytes (never null), arrays as an `int32` count
//! (-1 = null, in the nullable v1 arrays), bytes as an `int32` length (-1 = null).
//!
//! ```text
//! metadata v0     version:i16=0  url:string  config-offset:i64
//! metadata v1/v2  version:i16    url:string  config-offset:i64  allocation:nullable bytes
//!                 (allocation = the worker's current assignment encoded as below, -1 when none)
//! assignment v0   version:i16=0  error:i16  leader:string  leader-url:string  config-offset:i64
//!                 assignment:[connector:string tasks:[i32]]
//! assignment v1/2 ... as v0, then revoked:[connector:string tasks:[i32]]  delay:i32
//! ```
//! A connector itself is the task id -1 ([`CONNECTOR_TASK`]) in its connector's task list.
//! Readers are lenient as Kafka Connect's are: v1 fields missing at the end of the buffer take
//! their defaults (null allocation, empty lists, delay 0) and trailing bytes are ignored, so an
//! eager payload decodes with the same functions.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

/// The task id that stands for the connector instance itself in an assignment's task lists.
pub const CONNECTOR_TASK: i32 = -1;

/// The three Connect sub-protocols a worker can offer in JoinGroup (`connect.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectProtocol {
    /// Protocol "default", version 0: every rebalance revokes everything (eager).
    Eager,
    /// Protocol "compatible", version 1: incremental cooperative rebalancing (KIP-415).
    Compatible,
    /// Protocol "sessioned", version 2: as v1, plus session keys for internal REST (KIP-507).
    Sessioned,
}

impl ConnectProtocol {
    /// The protocol name in JoinGroup: "default", "compatible" or "sessioned".
    pub fn name(self) -> &'static str {
        match self {
            ConnectProtocol::Eager => "default",
            ConnectProtocol::Compatible => "compatible",
            ConnectProtocol::Sessioned => "sessioned",
        }
    }

    /// The version written in the header of this protocol's metadata and assignments.
    pub fn version(self) -> i16 {
        match self {
            ConnectProtocol::Eager => 0,
            ConnectProtocol::Compatible => 1,
            ConnectProtocol::Sessioned => 2,
        }
    }

    /// The protocol with JoinGroup name `name` (case-insensitive, as Kafka Connect matches it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// The protocol for a `connect.protocol` setting: "eager", "compatible" or "sessioned".
    pub fn from_mode(mode: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.mode().eq_ignore_ascii_case(mode))
    }

    /// The `connect.protocol` setting that selects this protocol.
    pub fn mode(self) -> &'static str {
        match self {
            ConnectProtocol::Eager => "eager",
            ConnectProtocol::Compatible => "compatible",
            ConnectProtocol::Sessioned => "sessioned",
        }
    }

    /// True for the incremental cooperative protocols (v1, v2).
    pub fn is_incremental(self) -> bool {
        self != ConnectProtocol::Eager
    }

    /// What a worker configured with this protocol offers in JoinGroup, most preferred first,
    /// as Kafka Connect does: sessioned offers sessioned, compatible and default.
    pub fn offered(self) -> &'static [ConnectProtocol] {
        use ConnectProtocol::*;
        match self {
            Eager => &[Eager],
            Compatible => &[Compatible, Eager],
            Sessioned => &[Sessioned, Compatible, Eager],
        }
    }

    const ALL: [ConnectProtocol; 3] = [ConnectProtocol::Eager, ConnectProtocol::Compatible, ConnectProtocol::Sessioned];
}

impl fmt::Display for ConnectProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A task of a connector, as Kafka Connect's `ConnectorTaskId`; shown as `connector-task`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectorTaskId {
    /// The connector's name.
    pub connector: String,
    /// The task number, from 0.
    pub task: i32,
}

impl ConnectorTaskId {
    /// Task `task` of `connector`.
    pub fn new(connector: impl Into<String>, task: i32) -> Self {
        ConnectorTaskId { connector: connector.into(), task }
    }
}

impl fmt::Display for ConnectorTaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// What the leader gives one worker: connectors and tasks to run (and, incrementally, to stop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// [`Assignment::NO_ERROR`] or [`Assignment::CONFIG_MISMATCH`] (read the config topic to
    /// its end and rejoin).
    pub error: i16,
    /// The leader's member id.
    pub leader: String,
    /// The leader's REST URL, where followers forward requests.
    pub leader_url: String,
    /// The config topic offset this assignment was computed at.
    pub config_offset: i64,
    /// Connectors to run.
    pub connectors: Vec<String>,
    /// Tasks to run.
    pub tasks: Vec<ConnectorTaskId>,
    /// Connectors to stop (incremental protocols only).
    pub revoked_connectors: Vec<String>,
    /// Tasks to stop (incremental protocols only).
    pub revoked_tasks: Vec<ConnectorTaskId>,
    /// Milliseconds after which the worker should rejoin (incremental protocols only; 0 = none).
    pub delay_ms: i32,
}

impl Assignment {
    /// The assignment succeeded.
    pub const NO_ERROR: i16 = 0;
    /// The leader could not reconcile config offsets: read the config topic to the end, rejoin.
    pub const CONFIG_MISMATCH: i16 = 1;

    /// An assignment without error, connectors or tasks, from `leader` at `config_offset`.
    pub fn new(leader: impl Into<String>, leader_url: impl Into<String>, config_offset: i64) -> Self {
        Assignment {
            error: Self::NO_ERROR,
            leader: leader.into(),
            leader_url: leader_url.into(),
            config_offset,
            connectors: Vec::new(),
            tasks: Vec::new(),
            revoked_connectors: Vec::new(),
            revoked_tasks: Vec::new(),
            delay_ms: 0,
        }
    }

    /// True when the leader reported an error instead of a usable assignment.
    pub fn failed(&self) -> bool {
        self.error != Self::NO_ERROR
    }
}

/// What a worker tells the leader about itself when it joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerState {
    /// Its REST URL (`rest.advertised.*`), e.g. `http://host:8083/`.
    pub url: String,
    /// The highest config topic offset it has read.
    pub config_offset: i64,
    /// What it runs now (incremental protocols): `None` before its first assignment, written
    /// as a null allocation as Kafka Connect writes its empty assignment.
    pub assignment: Option<Assignment>,
}

/// A payload that cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The buffer ended inside a field.
    #[error("truncated at field `{0}`")]
    Truncated(&'static str),
    /// A non-nullable string or array had a negative length.
    #[error("negative length {len} in field `{field}`")]
    NegativeLength {
        /// The field.
        field: &'static str,
        /// The length read.
        len: i32,
    },
    /// A string was not UTF-8.
    #[error("field `{0}` is not UTF-8")]
    InvalidUtf8(&'static str),
    /// The header version was negative.
    #[error("unsupported Connect protocol version {0}")]
    UnsupportedVersion(i16),
    /// A value too long for its length prefix.
    #[error("field `{field}` too long: {len}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// The eager protocol has no place for revocations or a delay.
    #[error("the eager protocol (v0) cannot carry revoked connectors/tasks or a delay")]
    EagerRevocation,
}

/// The metadata of `state` for one offered protocol (what goes in JoinGroup).
pub fn encode_metadata(state: &WorkerState, protocol: ConnectProtocol) -> Result<Bytes, ProtocolError> {
    let mut buf = BytesMut::new();
    buf.put_i16(protocol.version());
    put_string(&mut buf, "url", &state.url)?;
    buf.put_i64(state.config_offset);
    if protocol.is_incremental() {
        match &state.assignment {
            None => buf.put_i32(-1),
            Some(assignment) => {
                let allocation = encode_assignment(assignment, protocol)?;
                put_len(&mut buf, "allocation", allocation.len())?;
                buf.extend_from_slice(&allocation);
            }
        }
    }
    Ok(buf.freeze())
}

/// Reads a member's metadata, of any version (an eager member's has no allocation).
pub fn decode_metadata(bytes: &[u8]) -> Result<WorkerState, ProtocolError> {
    let mut r = Reader(bytes);
    read_version(&mut r)?;
    let url = r.string("url")?;
    let config_offset = r.i64("config-offset")?;
    let assignment =
        if r.has_remaining() { r.nullable_bytes("allocation")?.map(decode_assignment).transpose()? } else { None };
    Ok(WorkerState { url, config_offset, assignment })
}

/// `assignment` as the leader sends it in SyncGroup for the group's `protocol`.
pub fn encode_assignment(assignment: &Assignment, protocol: ConnectProtocol) -> Result<Bytes, ProtocolError> {
    let mut buf = BytesMut::new();
    buf.put_i16(protocol.version());
    buf.put_i16(assignment.error);
    put_string(&mut buf, "leader", &assignment.leader)?;
    put_string(&mut buf, "leader-url", &assignment.leader_url)?;
    buf.put_i64(assignment.config_offset);
    put_connector_assignments(&mut buf, "assignment", &assignment.connectors, &assignment.tasks)?;
    if protocol.is_incremental() {
        put_connector_assignments(&mut buf, "revoked", &assignment.revoked_connectors, &assignment.revoked_tasks)?;
        buf.put_i32(assignment.delay_ms);
    } else if !assignment.revoked_connectors.is_empty()
        || !assignment.revoked_tasks.is_empty()
        || assignment.delay_ms != 0
    {
        return Err(ProtocolError::EagerRevocation);
    }
    Ok(buf.freeze())
}

/// Reads an assignment of any version (what SyncGroup returns).
pub fn decode_assignment(bytes: &[u8]) -> Result<Assignment, ProtocolError> {
    let mut r = Reader(bytes);
    read_version(&mut r)?;
    let error = r.i16("error")?;
    let leader = r.string("leader")?;
    let leader_url = r.string("leader-url")?;
    let config_offset = r.i64("config-offset")?;
    let (connectors, tasks) = read_connector_assignments(&mut r, "assignment")?;
    let (revoked_connectors, revoked_tasks) = read_connector_assignments(&mut r, "revoked")?;
    let delay_ms = if r.has_remaining() { r.i32("delay")? } else { 0 };
    Ok(Assignment {
        error,
        leader,
        leader_url,
        config_offset,
        connectors,
        tasks,
        revoked_connectors,
        revoked_tasks,
        delay_ms,
    })
}

/// The version in the header of a metadata or assignment payload.
pub fn header_version(bytes: &[u8]) -> Result<i16, ProtocolError> {
    read_version(&mut Reader(bytes))
}

fn read_version(r: &mut Reader<'_>) -> Result<i16, ProtocolError> {
    let version = r.i16("version")?;
    if version < 0 {
        return Err(ProtocolError::UnsupportedVersion(version));
    }
    Ok(version)
}

/// Writes connectors and tasks grouped by connector, as Kafka Connect's `asMap`: each connector
/// (once) with task -1, then each task under its connector, in first-seen order.
fn put_connector_assignments(
    buf: &mut BytesMut,
    field: &'static str,
    connectors: &[String],
    tasks: &[ConnectorTaskId],
) -> Result<(), ProtocolError> {
    let mut grouped: Vec<(&str, Vec<i32>)> = Vec::new();
    for connector in connectors {
        if !grouped.iter().any(|(c, _)| c == connector) {
            grouped.push((connector, vec![CONNECTOR_TASK]));
        }
    }
    for task in tasks {
        match grouped.iter_mut().find(|(c, _)| *c == task.connector) {
            Some((_, ids)) => ids.push(task.task),
            None => grouped.push((&task.connector, vec![task.task])),
        }
    }
    put_len(buf, field, grouped.len())?;
    for (connector, ids) in grouped {
        put_string(buf, "connector", connector)?;
        put_len(buf, "tasks", ids.len())?;
        for id in ids {
            buf.put_i32(id);
        }
    }
    Ok(())
}

/// Reads a nullable array of connector assignments; missing (end of buffer) or null is empty.
fn read_connector_assignments(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<(Vec<String>, Vec<ConnectorTaskId>), ProtocolError> {
    let mut connectors = Vec::new();
    let mut tasks = Vec::new();
    if !r.has_remaining() {
        return Ok((connectors, tasks));
    }
    let count = r.i32(field)?;
    for _ in 0..count.max(0) {
        let connector = r.string("connector")?;
        let ids = r.i32("tasks")?;
        if ids < 0 {
            return Err(ProtocolError::NegativeLength { field: "tasks", len: ids });
        }
        for _ in 0..ids {
            match r.i32("tasks")? {
                CONNECTOR_TASK => connectors.push(connector.clone()),
                task => tasks.push(ConnectorTaskId::new(connector.clone(), task)),
            }
        }
    }
    Ok((connectors, tasks))
}

fn put_string(buf: &mut BytesMut, field: &'static str, s: &str) -> Result<(), ProtocolError> {
    let len = i16::try_from(s.len()).map_err(|_| ProtocolError::TooLong { field, len: s.len() })?;
    buf.put_i16(len);
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_len(buf: &mut BytesMut, field: &'static str, len: usize) -> Result<(), ProtocolError> {
    buf.put_i32(i32::try_from(len).map_err(|_| ProtocolError::TooLong { field, len })?);
    Ok(())
}

/// A cursor over a payload whose reads fail on truncation instead of panicking.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn has_remaining(&self) -> bool {
        !self.0.is_empty()
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], ProtocolError> {
        if self.0.len() < n {
            return Err(ProtocolError::Truncated(field));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], ProtocolError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, ProtocolError> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, ProtocolError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, ProtocolError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    fn string(&mut self, field: &'static str) -> Result<String, ProtocolError> {
        let len = self.i16(field)?;
        let len = usize::try_from(len).map_err(|_| ProtocolError::NegativeLength { field, len: i32::from(len) })?;
        let bytes = self.take(len, field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| ProtocolError::InvalidUtf8(field))
    }

    fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, ProtocolError> {
        let len = self.i32(field)?;
        match usize::try_from(len) {
            Err(_) => Ok(None),
            Ok(len) => self.take(len, field).map(Some),
        }
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
