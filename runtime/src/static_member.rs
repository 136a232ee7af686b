//! Removing a sink task's static group member when the task stops while the worker lives.
//!
//! Sink consumers join their group as static members (`group.instance.id`), so a worker that
//! crashed and restarts gets its partitions back at once. A static member does not leave the
//! group when its consumer closes, though, and its partitions would stay with it until
//! `session.timeout.ms` (45 s by default) ran out, even when another task or another worker is
//! waiting for them. So a stopping task removes its member, as Kafka's
//! `Admin.removeMembersFromConsumerGroup` does: FindCoordinator, then LeaveGroup naming the
//! member by its `group.instance.id`. This speaks the protocol on a plain TCP connection;
//! with TLS or SASL listeners the member is left to expire (logged).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, LeaveGroupRequest, LeaveGroupResponse,
    RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long each step may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Kafka's error code for a member the coordinator does not know (it already left or expired).
const UNKNOWN_MEMBER_ID: i16 = 25;

/// Removes the static member `instance_id` from `group`, using the first reachable broker of
/// `bootstrap` (comma-separated `host:port`) to find the group coordinator.
pub async fn leave(bootstrap: &str, group: &str, instance_id: &str) -> Result<()> {
    let mut last_error = None;
    for broker in bootstrap.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        match tokio::time::timeout(TIMEOUT * 3, leave_via(broker, group, instance_id)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => last_error = Some(e),
            Err(_) => last_error = Some(anyhow::anyhow!("timed out")),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no bootstrap server")))
}

async fn leave_via(broker: &str, group: &str, instance_id: &str) -> Result<()> {
    let mut conn = Connection::open(broker).await?;
    let find = FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.to_owned())).with_key_type(0);
    let found: FindCoordinatorResponse =
        conn.call(ApiKey::FindCoordinator, find, 3).await.context("FindCoordinator")?;
    if found.error_code != 0 {
        bail!("FindCoordinator for group {group}: error code {}", found.error_code);
    }
    let coordinator = format!("{}:{}", found.host.as_str(), found.port);
    let mut conn = if coordinator == broker { conn } else { Connection::open(&coordinator).await? };
    let member = MemberIdentity::default()
        .with_member_id(StrBytes::from_static_str(""))
        .with_group_instance_id(Some(StrBytes::from_string(instance_id.to_owned())));
    let request = LeaveGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_members(vec![member]);
    let left: LeaveGroupResponse = conn.call(ApiKey::LeaveGroup, request, 4).await.context("LeaveGroup")?;
    if left.error_code != 0 {
        bail!("LeaveGroup of {instance_id} from {group}: error code {}", left.error_code);
    }
    for m in &left.members {
        if m.error_code != 0 && m.error_code != UNKNOWN_MEMBER_ID {
            bail!("LeaveGroup of {instance_id} from {group}: member error code {}", m.error_code);
        }
    }
    Ok(())
}

struct Connection {
    stream: TcpStream,
    correlation: i32,
}

impl Connection {
    async fn open(addr: &str) -> Result<Self> {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
            .await
            .with_context(|| format!("connecting to {addr}: timed out"))?
            .with_context(|| format!("connecting to {addr}"))?;
        Ok(Connection { stream, correlation: 0 })
    }

    /// Sends `request` (of API `key`) at `version` and decodes its response.
    async fn call<Req: Encodable, Resp: Decodable>(&mut self, key: ApiKey, request: Req, version: i16) -> Result<Resp> {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("aqueduct")));
        let mut body = BytesMut::new();
        header.encode(&mut body, key.request_header_version(version))?;
        request.encode(&mut body, version)?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(i32::try_from(body.len())?);
        frame.extend_from_slice(&body);
        tokio::time::timeout(TIMEOUT, self.stream.write_all(&frame)).await.context("sending: timed out")??;
        let len = tokio::time::timeout(TIMEOUT, self.stream.read_i32()).await.context("reading: timed out")??;
        let mut reply = vec![0u8; usize::try_from(len)?];
        tokio::time::timeout(TIMEOUT, self.stream.read_exact(&mut reply)).await.context("reading: timed out")??;
        let mut reply = bytes::Bytes::from(reply);
        let response_header = ResponseHeader::decode(&mut reply, key.response_header_version(version))?;
        if response_header.correlation_id != self.correlation {
            bail!("response for correlation id {} instead of {}", response_header.correlation_id, self.correlation);
        }
        let response = Resp::decode(&mut reply, version)?;
        if reply.has_remaining() {
            tracing::debug!(left = reply.remaining(), "unread bytes after a response");
        }
        Ok(response)
    }
}
