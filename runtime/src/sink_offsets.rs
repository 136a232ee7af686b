//! Sink connector offsets (KIP-875): the committed offsets of the `connect-<name>` group.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use rdkafka::admin::AdminOptions;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value as Json};

use crate::connector_config::ConnectorConfig;
use crate::kafka::KafkaClients;

const TIMEOUT: Duration = Duration::from_secs(30);

fn group(config: &ConnectorConfig) -> String {
    format!("connect-{}", config.name())
}

fn consumer(clients: &KafkaClients, config: &ConnectorConfig) -> Result<BaseConsumer> {
    clients
        .consumer_config(&group(config), &config.with_prefix("consumer.override."))
        .create()
        .context("creating a consumer for the sink's group")
}

/// Every partition of the topics the sink consumes (`topics`, or those matching `topics.regex`).
fn partitions(consumer: &BaseConsumer, config: &ConnectorConfig) -> Result<TopicPartitionList> {
    let regex = config.string("topics.regex");
    let metadata =
        if regex.is_empty() { None } else { Some(consumer.fetch_metadata(None, TIMEOUT).context("listing topics")?) };
    let topics: Vec<String> = match &metadata {
        Some(m) => {
            let re = regex::Regex::new(&format!("^(?:{regex})$")).with_context(|| format!("topics.regex {regex}"))?;
            m.topics().iter().map(|t| t.name().to_owned()).filter(|n| re.is_match(n)).collect()
        }
        None => config.topics(),
    };
    let mut tpl = TopicPartitionList::new();
    for topic in topics {
        let m = consumer.fetch_metadata(Some(&topic), TIMEOUT).with_context(|| format!("metadata of {topic}"))?;
        for t in m.topics() {
            for p in t.partitions() {
                tpl.add_partition(t.name(), p.id());
            }
        }
    }
    Ok(tpl)
}

/// The group's committed offsets in KIP-875's shape.
pub async fn read(clients: &KafkaClients, config: &ConnectorConfig) -> Result<Vec<Json>> {
    let (clients, config) = (clients.clone(), config.clone());
    tokio::task::spawn_blocking(move || {
        let consumer = consumer(&clients, &config)?;
        let tpl = partitions(&consumer, &config)?;
        let committed = consumer.committed_offsets(tpl, TIMEOUT).context("reading committed offsets")?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some(json!({
                    "partition": {"kafka_topic": e.topic(), "kafka_partition": e.partition()},
                    "offset": {"kafka_offset": o}
                })),
                _ => None,
            })
            .collect())
    })
    .await
    .context("offset reader thread")?
}

/// Commits the given offsets for the group; the connector must be stopped (no members).
pub async fn alter(
    clients: &KafkaClients,
    config: &ConnectorConfig,
    entries: Vec<(aqueduct_sdk::OffsetMap, Json)>,
) -> Result<()> {
    let mut tpl = TopicPartitionList::new();
    for (partition, offset) in entries {
        let topic =
            partition.get("kafka_topic").and_then(Json::as_str).context("partition needs a \"kafka_topic\" string")?;
        let p = partition
            .get("kafka_partition")
            .and_then(Json::as_i64)
            .and_then(|p| i32::try_from(p).ok())
            .context("partition needs a \"kafka_partition\" integer")?;
        let Some(o) = offset.get("kafka_offset").and_then(Json::as_i64) else {
            bail!("offset for {topic}-{p} needs a \"kafka_offset\" integer (resetting single partitions is not supported; use DELETE)");
        };
        tpl.add_partition_offset(topic, p, Offset::Offset(o))?;
    }
    let (clients, config) = (clients.clone(), config.clone());
    tokio::task::spawn_blocking(move || {
        let consumer = consumer(&clients, &config)?;
        consumer.commit(&tpl, CommitMode::Sync).context("committing offsets for the sink's group")
    })
    .await
    .context("offset writer thread")?
}

/// Deletes the group, so the sink starts again from `auto.offset.reset`.
pub async fn reset(clients: &KafkaClients, config: &ConnectorConfig) -> Result<()> {
    let admin = clients.admin()?;
    let group = group(config);
    let results =
        admin.delete_groups(&[group.as_str()], &AdminOptions::new()).await.context("deleting the sink's group")?;
    for r in results {
        if let Err((g, code)) = r {
            if code != rdkafka::types::RDKafkaErrorCode::GroupIdNotFound {
                bail!("deleting consumer group {g}: {code}");
            }
        }
    }
    Ok(())
}
