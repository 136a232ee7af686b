//! MongoDB connectors: a change-stream source and a sink.

use aqueduct_sdk::PluginDescriptor;

/// Every plugin of this crate, for the runtime to register.
pub fn plugins() -> Vec<PluginDescriptor> {
    Vec::new()
}
