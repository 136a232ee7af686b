//! Elasticsearch connectors for Aqueduct.

#![warn(missing_docs)]

use aqueduct_sdk::PluginDescriptor;

/// Every plugin of this crate, for the runtime to register.
pub fn plugins() -> Vec<PluginDescriptor> {
    Vec::new()
}
