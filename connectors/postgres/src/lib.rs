//! PostgreSQL connectors: a JDBC-style sink and a change-data-capture source.

pub mod cdc;
pub mod query;
pub mod sink;

use aqueduct_sdk::PluginDescriptor;
/// The driver this crate uses, for tests and tools that talk to the same servers.
pub use tokio_postgres;

/// Every plugin of this crate, for the runtime to register.
pub fn plugins() -> Vec<PluginDescriptor> {
    let mut plugins = sink::plugins();
    plugins.extend(cdc::plugins());
    plugins.extend(query::plugins());
    plugins
}
