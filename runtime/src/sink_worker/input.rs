//! Where a sink task's records come from: a Kafka consumer in group `connect-<name>`, or its
//! connector's group on the embedded transport. The loop calls the same few operations on both.

use std::time::Duration;

use aqueduct_sdk::{ConnectError, Result, ResultExt, TopicPartition, TopicPartitionOffsets};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tracing::info;

use super::rebalance::{to_list, Partitions, RebalanceHandler};
use crate::connector_config::ConnectorConfig;
use crate::embedded::{Bus, Member, Subscription};

/// The task's consumer.
pub(super) enum Input {
    /// A Kafka consumer; its rebalance callbacks run inside `poll`.
    Kafka(BaseConsumer<RebalanceHandler>),
    /// A member of the connector's embedded group; its polls report rebalances.
    Embedded(Member),
}

impl Input {
    /// The operations the rebalance steps and commits use.
    pub fn partitions(&self) -> &dyn Partitions {
        match self {
            Input::Kafka(c) => c,
            Input::Embedded(m) => m,
        }
    }

    /// Subscribes to the connector's `topics` or `topics.regex`.
    pub fn subscribe(&self, config: &ConnectorConfig, bus: Option<&Bus>) -> Result<()> {
        match (self, bus) {
            (Input::Embedded(member), Some(bus)) => {
                bus.register_group(member.group(), Subscription::of(config)?);
                info!(group = member.group(), "sink task subscribed to embedded topics");
                Ok(())
            }
            (Input::Kafka(consumer), _) => {
                let regex = config.string("topics.regex");
                let topics = config.topics();
                let patterns: Vec<String> = if regex.is_empty() { topics } else { vec![format!("^{regex}")] };
                if patterns.is_empty() {
                    return Err(ConnectError::config("Must configure one of topics or topics.regex"));
                }
                let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
                consumer.subscribe(&refs).fatal(|| format!("subscribing to {patterns:?}"))?;
                info!(topics = ?patterns, "sink task subscribed");
                Ok(())
            }
            (Input::Embedded(_), None) => Err(ConnectError::fatal("embedded sink without a transport")),
        }
    }

    /// Stops fetching `partitions`.
    pub fn pause(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.partitions().pause(partitions)
    }

    /// Fetches `partitions` again.
    pub fn resume(&self, partitions: &[TopicPartition]) -> Result<()> {
        match self {
            Input::Kafka(c) => c.resume(&to_list(partitions)).fatal(|| "resuming partitions".into()),
            Input::Embedded(m) => {
                m.resume(partitions);
                Ok(())
            }
        }
    }

    /// Reads each partition from the given offset next.
    pub fn seek(&self, offsets: &TopicPartitionOffsets) -> Result<()> {
        match self {
            Input::Kafka(c) => {
                let mut tpl = TopicPartitionList::new();
                for (tp, offset) in offsets {
                    tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
                        .fatal(|| format!("seeking {tp}"))?;
                }
                c.seek_partitions(tpl, Duration::from_secs(10)).fatal(|| "seeking partitions".into())?;
                Ok(())
            }
            Input::Embedded(m) => {
                for (tp, offset) in offsets {
                    m.seek(tp, *offset);
                }
                Ok(())
            }
        }
    }

    /// Whether to commit before the next interval (a source waits for this sink).
    pub fn wants_commit(&self) -> bool {
        match self {
            Input::Kafka(_) => false,
            Input::Embedded(m) => m.wants_commit(),
        }
    }

    /// Leaves the subscription (the embedded member leaves its group when dropped).
    pub fn unsubscribe(&self) {
        if let Input::Kafka(c) = self {
            c.unsubscribe();
        }
    }
}
