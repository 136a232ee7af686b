//! Which topics a sink group reads, and how its tasks split their partitions.

use std::collections::BTreeSet;

use aqueduct_sdk::{ConnectError, Result, TopicPartition};

use crate::connector_config::ConnectorConfig;

/// A sink connector's `topics` or `topics.regex`.
#[derive(Debug, Clone)]
pub enum Subscription {
    /// Exactly these topics.
    Topics(BTreeSet<String>),
    /// Every topic whose whole name matches, as topics appear.
    Regex(regex::Regex),
}

impl Subscription {
    /// The subscription of a sink connector's config.
    pub fn of(config: &ConnectorConfig) -> Result<Self> {
        let regex = config.string("topics.regex");
        if !regex.is_empty() {
            let re = regex::Regex::new(&format!("^(?:{regex})$")).map_err(|e| {
                ConnectError::config(format!("topics.regex {regex:?} is not a valid regular expression: {e}"))
            })?;
            return Ok(Subscription::Regex(re));
        }
        let topics: BTreeSet<String> = config.topics().into_iter().collect();
        if topics.is_empty() {
            return Err(ConnectError::config("Must configure one of topics or topics.regex"));
        }
        Ok(Subscription::Topics(topics))
    }

    /// Whether the group reads `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Subscription::Topics(t) => t.contains(topic),
            Subscription::Regex(re) => re.is_match(topic),
        }
    }
}

/// The partitions member `index` of `members` owns: partitions sorted by topic and number,
/// dealt round robin, as Kafka's round-robin assignor does.
pub fn share(partitions: &[TopicPartition], members: usize, index: usize) -> BTreeSet<TopicPartition> {
    if members == 0 {
        return BTreeSet::new();
    }
    partitions.iter().enumerate().filter(|(i, _)| i % members == index).map(|(_, tp)| tp.clone()).collect()
}
