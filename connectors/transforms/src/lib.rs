//! The built-in single message transforms and predicates: Kafka Connect's
//! (`org.apache.kafka.connect.transforms.*`, `...transforms.predicates.*`) and Debezium's
//! (`io.debezium.transforms.*`), written against the SDK's [`Transform`](aqueduct_sdk::Transform) and
//! [`Predicate`](aqueduct_sdk::Predicate)
//! traits, with Kafka Connect's class names, keys and defaults.

use aqueduct_sdk::{PredicateDescriptor, TransformDescriptor};

/// Every built-in transform (class names, aliases, factories).
pub fn transforms() -> Vec<TransformDescriptor> {
    Vec::new()
}

/// Every built-in predicate.
pub fn predicates() -> Vec<PredicateDescriptor> {
    Vec::new()
}
