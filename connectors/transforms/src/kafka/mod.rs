//! Kafka Connect's transforms (`org.apache.kafka.connect.transforms.*`) and predicates
//! (`org.apache.kafka.connect.transforms.predicates.*`).

use aqueduct_sdk::{PredicateDescriptor, TransformDescriptor};

/// Kafka Connect's transforms.
pub fn transforms() -> Vec<TransformDescriptor> {
    Vec::new()
}

/// Kafka Connect's predicates.
pub fn predicates() -> Vec<PredicateDescriptor> {
    Vec::new()
}
