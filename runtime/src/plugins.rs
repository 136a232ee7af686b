//! The connector plugins this binary knows, found by class name or alias.

use aqueduct_sdk::{ConnectError, PluginDescriptor};

/// Every plugin registered with the worker.
#[derive(Clone)]
pub struct Plugins {
    plugins: Vec<PluginDescriptor>,
}

impl Plugins {
    /// The built-in connectors.
    pub fn builtin() -> Self {
        let mut plugins = Vec::new();
        plugins.extend(aqueduct_connector_file::plugins());
        plugins.extend(aqueduct_connector_datagen::plugins());
        plugins.extend(aqueduct_connector_postgres::plugins());
        plugins.extend(aqueduct_connector_mongodb::plugins());
        Plugins::new(plugins)
    }

    /// A registry of exactly these plugins.
    pub fn new(plugins: Vec<PluginDescriptor>) -> Self {
        Plugins { plugins }
    }

    /// The plugin answering to `class` (its class name or an alias). The error lists the
    /// available plugins.
    pub fn find(&self, class: &str) -> Result<&PluginDescriptor, ConnectError> {
        self.plugins.iter().find(|p| p.answers_to(class)).ok_or_else(|| {
            let available: Vec<&str> = self.plugins.iter().map(|p| p.class).collect();
            ConnectError::config(format!(
                "Invalid value {class} for configuration connector.class: Failed to find any class that implements Connector and which name matches {class}; available connectors are: {}",
                available.join(", ")
            ))
        })
    }

    /// Every plugin, in registration order.
    pub fn all(&self) -> &[PluginDescriptor] {
        &self.plugins
    }
}
