//! The built-in single message transforms and predicates: Kafka Connect's
//! (`org.apache.kafka.connect.transforms.*`, `...transforms.predicates.*`, in [`kafka`]) and
//! Debezium's (`io.debezium.transforms.*`, in [`debezium`]), written against the SDK's
//! [`Transform`](aqueduct_sdk::Transform) and [`Predicate`](aqueduct_sdk::Predicate) traits,
//! with their class names, keys and defaults.

pub mod debezium;
pub mod kafka;

use aqueduct_sdk::{PredicateDescriptor, TransformDescriptor};

/// Every built-in transform (class names, aliases, factories).
pub fn transforms() -> Vec<TransformDescriptor> {
    let mut all = kafka::transforms();
    all.extend(debezium::transforms());
    all
}

/// Every built-in predicate.
pub fn predicates() -> Vec<PredicateDescriptor> {
    kafka::predicates()
}
