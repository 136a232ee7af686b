//! Debezium's transforms (`io.debezium.transforms.*`).

use aqueduct_sdk::TransformDescriptor;

/// Debezium's transforms.
pub fn transforms() -> Vec<TransformDescriptor> {
    Vec::new()
}
