//! Kafka clients: configuration from the worker's keys, and explicit topic creation.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use aqueduct_sdk::{ConnectError, Props};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use crate::embedded::{Bus, EmbeddedSettings};
use crate::worker_config::WorkerConfig;

/// Builds client configurations: worker defaults, then `producer.*`/`consumer.*`/`admin.*`,
/// then a connector's own overrides.
///
/// With `transport=embedded` it also carries the worker's in-process [`Bus`], which task loops
/// use instead of Kafka clients (then only a dead-letter topic may use Kafka).
#[derive(Clone)]
pub struct KafkaClients {
    bootstrap: String,
    producer: Props,
    consumer: Props,
    admin: Props,
    embedded: Option<Arc<Bus>>,
    bootstrap_configured: bool,
}

impl std::fmt::Debug for KafkaClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaClients")
            .field("bootstrap", &self.bootstrap)
            .field("embedded", &self.embedded.is_some())
            .finish_non_exhaustive()
    }
}

impl KafkaClients {
    /// Reads the client keys of a worker config.
    pub fn new(worker: &WorkerConfig) -> Self {
        KafkaClients {
            bootstrap: worker.bootstrap_servers(),
            producer: worker.with_prefix("producer."),
            consumer: worker.with_prefix("consumer."),
            admin: worker.with_prefix("admin."),
            embedded: worker.embedded().then(|| Bus::new(EmbeddedSettings::from_config(worker))),
            bootstrap_configured: worker.bootstrap_servers_set(),
        }
    }

    /// Whether the worker config names `bootstrap.servers` (with `transport=embedded`, only
    /// then may a dead-letter topic use Kafka).
    pub fn bootstrap_configured(&self) -> bool {
        self.bootstrap_configured
    }

    /// The in-process transport when `transport=embedded`.
    pub fn embedded(&self) -> Option<&Arc<Bus>> {
        self.embedded.as_ref()
    }

    /// The producer for source records and offsets: acks from all replicas, idempotent, and
    /// Kafka's Java partitioner (murmur2) so keys land where a Java client would put them.
    pub fn producer_config(&self, overrides: &Props) -> ClientConfig {
        let mut c = self.base();
        c.set("acks", "all").set("enable.idempotence", "true").set("partitioner", "murmur2_random");
        c.set("linger.ms", "5");
        apply(&mut c, &self.producer);
        apply(&mut c, overrides);
        c
    }

    /// A consumer in `group` with manual commits, starting from the earliest offset when the
    /// group has none (Kafka Connect's sink default).
    pub fn consumer_config(&self, group: &str, overrides: &Props) -> ClientConfig {
        let mut c = self.base();
        c.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("allow.auto.create.topics", "false")
            .set("topic.metadata.refresh.interval.ms", "10000");
        apply(&mut c, &self.consumer);
        apply(&mut c, overrides);
        c
    }

    /// An admin client.
    pub fn admin(&self) -> Result<AdminClient<DefaultClientContext>> {
        let mut c = self.base();
        apply(&mut c, &self.admin);
        c.create().context("creating Kafka admin client")
    }

    fn base(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        c
    }

    /// Creates `topic` if it does not exist; returns whether it was created. Errors the broker
    /// will give again (bad replication factor or config, policy, authorization) are fatal;
    /// the rest (unreachable broker, timeouts) are retriable.
    pub async fn ensure_topic(&self, spec: &TopicSpec) -> aqueduct_sdk::Result<bool> {
        let admin = self.admin().map_err(|e| ConnectError::fatal(format!("{e:#}")))?;
        let replication = TopicReplication::Fixed(spec.replication_factor);
        let mut topic = NewTopic::new(&spec.name, spec.partitions, replication);
        for (k, v) in &spec.configs {
            topic = topic.set(k, v);
        }
        let opts = AdminOptions::new()
            .operation_timeout(Some(Duration::from_secs(30)))
            .request_timeout(Some(Duration::from_secs(15)));
        let results = admin
            .create_topics([&topic], &opts)
            .await
            .map_err(|e| ConnectError::retriable(format!("creating topic {}", spec.name)).with_source(e))?;
        match results.into_iter().next() {
            Some(Ok(_)) => {
                tracing::info!(topic = %spec.name, partitions = spec.partitions, "created topic");
                Ok(true)
            }
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) | None => Ok(false),
            Some(Err((name, code))) => {
                let message = format!("creating topic {name}: {code}");
                Err(if fatal_topic_error(code) {
                    ConnectError::fatal(message)
                } else {
                    ConnectError::retriable(message)
                })
            }
        }
    }
}

/// Topic-creation errors that retrying cannot fix.
fn fatal_topic_error(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        InvalidTopic
            | InvalidPartitions
            | InvalidReplicationFactor
            | InvalidReplicaAssignment
            | InvalidConfig
            | PolicyViolation
            | TopicAuthorizationFailed
            | ClusterAuthorizationFailed
    )
}

/// A topic to create when missing.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partitions.
    pub partitions: i32,
    /// Replication factor; -1 for the broker default.
    pub replication_factor: i32,
    /// Topic configs, e.g. `cleanup.policy=compact`.
    pub configs: Vec<(String, String)>,
}

impl TopicSpec {
    /// A compacted topic, as every internal topic is.
    pub fn compacted(name: &str, partitions: i32, replication_factor: i32) -> Self {
        TopicSpec {
            name: name.to_owned(),
            partitions,
            replication_factor,
            configs: vec![("cleanup.policy".to_owned(), "compact".to_owned())],
        }
    }
}

/// Sets each property on the client config, translating Java-only keys librdkafka lacks.
fn apply(c: &mut ClientConfig, props: &Props) {
    for (k, v) in props {
        if k == "sasl.jaas.config" {
            if let Some((user, password)) = jaas_credentials(v) {
                c.set("sasl.username", user).set("sasl.password", password);
            }
            continue;
        }
        c.set(k, v);
    }
}

/// Extracts `username="..." password="..."` from a PLAIN or SCRAM `sasl.jaas.config`.
fn jaas_credentials(jaas: &str) -> Option<(String, String)> {
    let field = |name: &str| {
        let start = jaas.find(&format!("{name}=\""))? + name.len() + 2;
        let len = jaas[start..].find('"')?;
        Some(jaas[start..start + len].to_owned())
    };
    Some((field("username")?, field("password")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_and_jaas_is_translated() {
        let worker = WorkerConfig::from_props(Props::from([
            ("bootstrap.servers".to_owned(), "k:1".to_owned()),
            ("producer.linger.ms".to_owned(), "50".to_owned()),
            (
                "producer.sasl.jaas.config".to_owned(),
                r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";"#
                    .to_owned(),
            ),
        ]))
        .expect("valid");
        let clients = KafkaClients::new(&worker);
        let c = clients.producer_config(&Props::from([("acks".to_owned(), "1".to_owned())]));
        assert_eq!(c.get("linger.ms"), Some("50"));
        assert_eq!(c.get("acks"), Some("1"));
        assert_eq!(c.get("sasl.username"), Some("u"));
        assert_eq!(c.get("sasl.password"), Some("p"));
        assert_eq!(c.get("sasl.jaas.config"), None);
        assert_eq!(clients.consumer_config("connect-x", &Props::new()).get("group.id"), Some("connect-x"));
    }
}
