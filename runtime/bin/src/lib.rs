//! The `aqueduct` binary's composition: the runtime library with the built-in connector crates,
//! transforms and predicates in one registry.

use aqueduct_runtime::plugins::Plugins;

/// Every built-in plugin, in one registry.
pub fn builtin_plugins() -> Plugins {
    let mut plugins = Vec::new();
    plugins.extend(aqueduct_connector_file::plugins());
    plugins.extend(aqueduct_connector_datagen::plugins());
    plugins.extend(aqueduct_connector_postgres::plugins());
    plugins.extend(aqueduct_connector_mongodb::plugins());
    plugins.extend(aqueduct_connector_s3::plugins());
    plugins.extend(aqueduct_connector_elasticsearch::plugins());
    Plugins::new(plugins).with_transforms(aqueduct_transforms::transforms(), aqueduct_transforms::predicates())
}
