//! Amazon S3 connectors for Aqueduct.

#![warn(missing_docs)]

pub mod format;

use aqueduct_sdk::PluginDescriptor;

/// Every plugin of this crate, for the runtime to register.
pub fn plugins() -> Vec<PluginDescriptor> {
    Vec::new()
}
