//! Not written yet.

use aqueduct_sdk::PluginDescriptor;

/// The plugins of this module.
pub fn plugins() -> Vec<PluginDescriptor> {
    Vec::new()
}
