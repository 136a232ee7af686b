//! One plaintext TCP connection to a broker speaking Kafka's request/response framing, and
//! finding the group coordinator through the bootstrap brokers.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::config::GroupConfig;
use super::error::{code, GroupError};

/// FindCoordinator v3 (Kafka 2.4+; v4 batches keys, not needed for one group).
const FIND_COORDINATOR_VERSION: i16 = 3;
/// The largest response accepted (a JoinGroup response carries every member's metadata).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// A connection to one broker. Requests are sent one at a time; a connection whose call
/// failed or was cancelled part-way must be dropped (the caller takes it out while calling).
pub(crate) struct Connection {
    stream: TcpStream,
    /// `host:port` it is connected to.
    pub(crate) addr: String,
    correlation: i32,
    client_id: StrBytes,
}

impl Connection {
    /// Connects to `addr` within `timeout`.
    pub(crate) async fn open(addr: &str, timeout: Duration, client_id: &str) -> Result<Self, GroupError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| GroupError::Timeout { what: format!("connecting to {addr}"), after: timeout })?
            .map_err(|source| GroupError::Io { broker: addr.to_owned(), source })?;
        stream.set_nodelay(true).map_err(|source| GroupError::Io { broker: addr.to_owned(), source })?;
        Ok(Connection {
            stream,
            addr: addr.to_owned(),
            correlation: 0,
            client_id: StrBytes::from_string(client_id.to_owned()),
        })
    }

    /// Sends `request` (API `key` at `version`) and decodes its response, all within `timeout`.
    pub(crate) async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, GroupError> {
        let what = format!("{key:?} to {}", self.addr);
        match tokio::time::timeout(timeout, self.exchange(key, version, request)).await {
            Ok(result) => result,
            Err(_) => Err(GroupError::Timeout { what, after: timeout }),
        }
    }

    async fn exchange<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, GroupError> {
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(self.client_id.clone()));
        let codec = |e: anyhow::Error| GroupError::Codec(format!("{key:?} v{version}: {e:#}"));
        let mut body = BytesMut::new();
        header.encode(&mut body, key.request_header_version(version)).map_err(codec)?;
        request.encode(&mut body, version).map_err(codec)?;
        let len = i32::try_from(body.len()).map_err(|_| GroupError::Codec(format!("{key:?} request too large")))?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(len);
        frame.extend_from_slice(&body);
        let io = |source| GroupError::Io { broker: self.addr.clone(), source };
        self.stream.write_all(&frame).await.map_err(io)?;
        let len = self.stream.read_i32().await.map_err(io)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= MAX_RESPONSE)
            .ok_or_else(|| GroupError::Codec(format!("{key:?} response of {len} bytes")))?;
        let mut reply = vec![0u8; len];
        self.stream.read_exact(&mut reply).await.map_err(io)?;
        let mut reply = Bytes::from(reply);
        let response_header =
            ResponseHeader::decode(&mut reply, key.response_header_version(version)).map_err(codec)?;
        if response_header.correlation_id != self.correlation {
            return Err(GroupError::Codec(format!(
                "{key:?} response for correlation id {} instead of {}",
                response_header.correlation_id, self.correlation
            )));
        }
        let response = Resp::decode(&mut reply, version).map_err(codec)?;
        if reply.has_remaining() {
            tracing::debug!(api = ?key, left = reply.remaining(), "unread bytes after a response");
        }
        Ok(response)
    }
}

/// Finds the coordinator of `config.group_id`, trying each bootstrap broker in turn, and returns
/// a connection to it. Errors are the last broker's (retriable unless the broker said otherwise).
pub(crate) async fn connect_coordinator(config: &GroupConfig) -> Result<Connection, GroupError> {
    let mut last = GroupError::Config("bootstrap.servers is empty".into());
    for broker in config.brokers() {
        match find_via(config, &broker).await {
            Ok(conn) => return Ok(conn),
            Err(e) => {
                tracing::debug!(broker = %broker, group = %config.group_id, error = %e, "FindCoordinator failed");
                if !e.is_retriable() {
                    return Err(e);
                }
                last = e;
            }
        }
    }
    Err(last)
}

async fn find_via(config: &GroupConfig, broker: &str) -> Result<Connection, GroupError> {
    let mut conn = Connection::open(broker, config.request_timeout, &config.client_id).await?;
    let request =
        FindCoordinatorRequest::default().with_key(StrBytes::from_string(config.group_id.clone())).with_key_type(0);
    let found: FindCoordinatorResponse =
        conn.call(ApiKey::FindCoordinator, FIND_COORDINATOR_VERSION, &request, config.request_timeout).await?;
    if found.error_code != code::NONE {
        return Err(GroupError::broker("FindCoordinator", &config.group_id, found.error_code));
    }
    let coordinator = format!("{}:{}", found.host.as_str(), found.port);
    tracing::debug!(group = %config.group_id, coordinator = %coordinator, node = found.node_id.0, "found the group coordinator");
    if coordinator == conn.addr {
        return Ok(conn);
    }
    Connection::open(&coordinator, config.request_timeout, &config.client_id).await
}
