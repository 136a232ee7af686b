//! The settings of a worker's membership in the Connect group, behind Kafka Connect's keys.

use std::time::Duration;

use super::error::GroupError;
use super::protocol::ConnectProtocol;

/// How a worker joins and stays in its Connect group. Defaults are Kafka Connect's
/// (`DistributedConfig`); [`GroupConfig::validate`] runs before any I/O.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// `bootstrap.servers`: comma-separated `host:port` of brokers used to find the group
    /// coordinator. Plaintext listeners only (no TLS or SASL yet).
    pub bootstrap_servers: String,
    /// `group.id`: the workers sharing connectors.
    pub group_id: String,
    /// `session.timeout.ms` (10000): how long the coordinator waits for a heartbeat before it
    /// removes the worker, and how long the worker goes without a successful heartbeat before it
    /// considers its membership lost.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (3000): time between heartbeats; below `session_timeout`.
    pub heartbeat_interval: Duration,
    /// `rebalance.timeout.ms` (60000): how long the coordinator waits for every member to rejoin
    /// in a rebalance; bounds a JoinGroup call.
    pub rebalance_timeout: Duration,
    /// `request.timeout.ms` (40000): the timeout of each other request and of connecting.
    pub request_timeout: Duration,
    /// `retry.backoff.ms` (100): the pause before a retriable failure is retried.
    pub retry_backoff: Duration,
    /// `connect.protocol` ("sessioned"): the newest protocol offered; older ones are offered
    /// after it, as Kafka Connect does.
    pub protocol: ConnectProtocol,
    /// `client.id` in request headers ("aqueduct").
    pub client_id: String,
}

impl GroupConfig {
    /// Kafka Connect's defaults for `group_id` on `bootstrap_servers`.
    pub fn new(bootstrap_servers: impl Into<String>, group_id: impl Into<String>) -> Self {
        GroupConfig {
            bootstrap_servers: bootstrap_servers.into(),
            group_id: group_id.into(),
            session_timeout: Duration::from_millis(10_000),
            heartbeat_interval: Duration::from_millis(3_000),
            rebalance_timeout: Duration::from_millis(60_000),
            request_timeout: Duration::from_millis(40_000),
            retry_backoff: Duration::from_millis(100),
            protocol: ConnectProtocol::Sessioned,
            client_id: "aqueduct".to_owned(),
        }
    }

    /// The bootstrap brokers, trimmed, without empty entries.
    pub fn brokers(&self) -> Vec<String> {
        self.bootstrap_servers.split(',').map(str::trim).filter(|b| !b.is_empty()).map(str::to_owned).collect()
    }

    /// Checks the settings; the error names the key.
    pub fn validate(&self) -> Result<(), GroupError> {
        let bad = |m: String| Err(GroupError::Config(m));
        if self.group_id.trim().is_empty() {
            return bad("group.id must not be empty".into());
        }
        if self.brokers().is_empty() {
            return bad("bootstrap.servers must name at least one host:port".into());
        }
        if let Some(b) = self.brokers().iter().find(|b| b.contains("://") || !b.contains(':')) {
            return bad(format!("bootstrap.servers entry {b:?} is not host:port (plaintext only)"));
        }
        for (key, value) in [
            ("session.timeout.ms", self.session_timeout),
            ("heartbeat.interval.ms", self.heartbeat_interval),
            ("rebalance.timeout.ms", self.rebalance_timeout),
            ("request.timeout.ms", self.request_timeout),
        ] {
            if value.is_zero() || i32::try_from(value.as_millis()).is_err() {
                return bad(format!("{key} must be between 1 and {} ms, not {}", i32::MAX, value.as_millis()));
            }
        }
        if self.heartbeat_interval >= self.session_timeout {
            return bad(format!(
                "heartbeat.interval.ms ({}) must be lower than session.timeout.ms ({})",
                self.heartbeat_interval.as_millis(),
                self.session_timeout.as_millis()
            ));
        }
        Ok(())
    }

    /// `duration` in whole milliseconds for a request field (validated to fit).
    pub(crate) fn millis(duration: Duration) -> i32 {
        i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kafka_connects_and_validate() {
        let c = GroupConfig::new("127.0.0.1:9092", "connect-cluster");
        assert_eq!(c.session_timeout.as_millis(), 10_000);
        assert_eq!(c.heartbeat_interval.as_millis(), 3_000);
        assert_eq!(c.rebalance_timeout.as_millis(), 60_000);
        assert_eq!(c.protocol, ConnectProtocol::Sessioned);
        c.validate().expect("valid");
    }

    fn error(c: &GroupConfig) -> String {
        c.validate().err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn invalid_settings_name_their_key() {
        let mut c = GroupConfig::new(" , ", "g");
        assert!(error(&c).contains("bootstrap.servers"));
        c.bootstrap_servers = "SSL://k:9093".into();
        assert!(error(&c).contains("plaintext"));
        c.bootstrap_servers = "k:9092".into();
        c.heartbeat_interval = c.session_timeout;
        assert!(error(&c).contains("heartbeat.interval.ms"));
        c = GroupConfig::new("k:9092", "");
        assert!(error(&c).contains("group.id"));
    }
}
