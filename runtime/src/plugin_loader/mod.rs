//! Connector, transform, predicate and converter plugins loaded at run time from the worker's
//! `plugin.path`.
//!
//! Every library file (`.so`, `.dylib`, `.dll` by platform) in each directory and in its
//! immediate subdirectories is opened. A file whose ABI version, SDK version or compiler
//! differs from this worker's is refused with a message naming both versions and the file; a
//! file that is not a plugin (not a library, symbols missing, unreadable manifest) is skipped
//! with the reason. Neither stops the worker. What a plugin declares joins the same registry as
//! the built-ins (a converter, transform or predicate named like a built-in does not replace
//! it: the first registered answers); see `aqueduct_sdk::plugin` for the ABI and why it is
//! sound.

mod adapter;
mod callbacks;
mod client;
mod components;
mod ffi;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aqueduct_sdk::plugin::abi::ABI_VERSION;
use aqueduct_sdk::plugin::protocol::{Manifest, ManifestComponent};
use aqueduct_sdk::plugin::{PROTOCOL, RUSTC_VERSION, SDK_VERSION};
use aqueduct_sdk::{
    ConnectorFactory, Converter, ConverterDescriptor, ConverterFactory, PluginDescriptor, Predicate,
    PredicateDescriptor, PredicateFactory, SinkConnector, SourceConnector, Transform, TransformDescriptor,
    TransformFactory,
};
use tracing::{info, warn};

pub use adapter::{PluginConnector, PluginSinkTask, PluginSourceTask};
use client::PluginClient;
pub use components::{PluginConverter, PluginPredicate, PluginTransform};

use crate::plugins::Plugins;

/// A plugin library that loaded.
pub struct LoadedPlugin {
    /// The file.
    pub file: PathBuf,
    /// The SDK version it was built with.
    pub sdk_version: String,
    /// Its connectors.
    pub connectors: Vec<PluginDescriptor>,
    /// Its transforms.
    pub transforms: Vec<TransformDescriptor>,
    /// Its predicates.
    pub predicates: Vec<PredicateDescriptor>,
    /// Its converters.
    pub converters: Vec<ConverterDescriptor>,
}

/// A file that was not loaded, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The file.
    pub file: PathBuf,
    /// Why, naming the versions when they differ.
    pub reason: String,
}

/// What a scan of `plugin.path` found.
#[derive(Default)]
pub struct Scan {
    /// The plugins loaded.
    pub loaded: Vec<LoadedPlugin>,
    /// The files refused or skipped.
    pub skipped: Vec<Skipped>,
}

impl Scan {
    /// Every loaded connector.
    pub fn connectors(&self) -> Vec<PluginDescriptor> {
        self.loaded.iter().flat_map(|p| p.connectors.iter().cloned()).collect()
    }

    /// `registry` with every loaded connector, transform, predicate and converter added.
    pub fn register(&self, registry: Plugins) -> Plugins {
        let transforms: Vec<TransformDescriptor> = self.loaded.iter().flat_map(|p| p.transforms.clone()).collect();
        let predicates: Vec<PredicateDescriptor> = self.loaded.iter().flat_map(|p| p.predicates.clone()).collect();
        let converters: Vec<ConverterDescriptor> = self.loaded.iter().flat_map(|p| p.converters.clone()).collect();
        registry.with_connectors(self.connectors()).with_transforms(transforms, predicates).with_converters(converters)
    }
}

/// `registry` with what every plugin in `dirs` declares added.
pub fn with_plugin_path(registry: Plugins, dirs: &[PathBuf]) -> Plugins {
    if dirs.is_empty() {
        return registry;
    }
    scan(dirs).register(registry)
}

/// Loads every plugin library in `dirs` and their immediate subdirectories, logging each
/// plugin loaded and each file skipped.
pub fn scan(dirs: &[PathBuf]) -> Scan {
    let mut scan = Scan::default();
    for file in library_files(dirs) {
        match load(&file) {
            Ok(plugin) => {
                for c in &plugin.connectors {
                    info!(file = %file.display(), class = c.class, version = c.version, kind = c.factory.kind(), "loaded plugin connector");
                }
                for (kind, class, version) in plugin.components() {
                    info!(file = %file.display(), class, version, kind, "loaded plugin component");
                }
                scan.loaded.push(plugin);
            }
            Err(reason) => {
                warn!(file = %file.display(), %reason, "plugin skipped");
                scan.skipped.push(Skipped { file, reason });
            }
        }
    }
    scan
}

/// The library files of `dirs` and their immediate subdirectories, in name order.
fn library_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                warn!(dir = %dir.display(), error = %e, "plugin.path directory unreadable");
                continue;
            }
        };
        let mut found: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        found.sort();
        for path in found {
            if path.is_dir() {
                let mut inner: Vec<PathBuf> = std::fs::read_dir(&path)
                    .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
                    .unwrap_or_default();
                inner.sort();
                files.extend(inner.into_iter().filter(|p| is_library(p)));
            } else if is_library(&path) {
                files.push(path);
            }
        }
    }
    files
}

fn is_library(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == std::env::consts::DLL_EXTENSION)
}

/// Loads one plugin library; the error says why it was refused or skipped.
pub fn load(file: &Path) -> Result<LoadedPlugin, String> {
    let (library, declaration) = ffi::open(file).map_err(|e| match e {
        ffi::OpenError::Broken(reason) => format!("{}: {reason}", file.display()),
        ffi::OpenError::Abi(theirs) => format!(
            "{}: plugin ABI version {theirs}, but this worker's is {ABI_VERSION}: rebuild the plugin against aqueduct-sdk {SDK_VERSION}",
            file.display()
        ),
    })?;
    if declaration.abi_version != ABI_VERSION {
        return Err(format!(
            "{}: plugin declares ABI version {}, but this worker's is {ABI_VERSION}",
            file.display(),
            declaration.abi_version
        ));
    }
    if declaration.sdk_version != SDK_VERSION {
        return Err(format!(
            "{}: plugin built with aqueduct-sdk {}, but this worker runs aqueduct-sdk {SDK_VERSION}: rebuild the plugin against aqueduct-sdk {SDK_VERSION}",
            file.display(),
            declaration.sdk_version
        ));
    }
    if declaration.rustc_version != RUSTC_VERSION {
        return Err(format!(
            "{}: plugin built by {}, but this worker by {RUSTC_VERSION}: rebuild the plugin with the worker's compiler",
            file.display(),
            declaration.rustc_version
        ));
    }
    let unreadable = |e: serde_json::Error| {
        format!("{}: unreadable plugin manifest ({e}): {:.200}", file.display(), declaration.manifest)
    };
    // The protocol first, so that a manifest of another shape is refused for what it is.
    let raw: serde_json::Value = serde_json::from_str(&declaration.manifest).map_err(unreadable)?;
    check_protocol(file, &declaration.sdk_version, raw["protocol"].as_str().unwrap_or_default())?;
    let manifest: Manifest = serde_json::from_value(raw).map_err(unreadable)?;
    library.set_logger();
    let client = PluginClient::new(library, file);
    let connectors = manifest.connectors.iter().map(|c| descriptor(&client, c)).collect::<Result<Vec<_>, _>>()?;
    let transforms = manifest.transforms.iter().map(|c| transform(&client, c)).collect();
    let predicates = manifest.predicates.iter().map(|c| predicate(&client, c)).collect();
    let converters = manifest.converters.iter().map(|c| converter(&client, c)).collect();
    Ok(LoadedPlugin {
        file: file.to_owned(),
        sdk_version: declaration.sdk_version,
        connectors,
        transforms,
        predicates,
        converters,
    })
}

/// Refuses a plugin whose wire protocol is not the worker's: one built against another
/// checkout of the same SDK version, or before manifests carried the protocol (`theirs` empty).
fn check_protocol(file: &Path, sdk_version: &str, theirs: &str) -> Result<(), String> {
    if theirs == PROTOCOL {
        return Ok(());
    }
    let theirs = if theirs.is_empty() { "unknown, older than this worker's" } else { theirs };
    Err(format!(
        "{}: plugin built with aqueduct-sdk {sdk_version} speaking wire protocol {theirs}, but this worker runs aqueduct-sdk {SDK_VERSION} speaking wire protocol {PROTOCOL}: rebuild the plugin against the worker's aqueduct-sdk",
        file.display()
    ))
}

impl LoadedPlugin {
    /// Its transforms, predicates and converters: (`"transformation"`, `"predicate"` or
    /// `"converter"`, as the REST API names them; class; version).
    pub fn components(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        let transforms = self.transforms.iter().map(|t| ("transformation", t.class, t.version));
        let predicates = self.predicates.iter().map(|p| ("predicate", p.class, p.version));
        let converters = self.converters.iter().map(|c| ("converter", c.class, c.version));
        transforms.chain(predicates).chain(converters).collect()
    }
}

/// The leaked class, aliases, version and doc of a component.
type Names = (&'static str, &'static [&'static str], &'static str, &'static str);

fn names(c: &ManifestComponent) -> Names {
    let aliases: Vec<&'static str> = c.aliases.iter().map(|a| leak(a)).collect();
    (leak(&c.class), Box::leak(aliases.into_boxed_slice()), leak(&c.version), leak(&c.doc))
}

fn transform(client: &PluginClient, c: &ManifestComponent) -> TransformDescriptor {
    let (class, aliases, version, doc) = names(c);
    let client = client.clone();
    let factory = Arc::new(move || Box::new(PluginTransform::new(&client, class)) as Box<dyn Transform>);
    TransformDescriptor { class, aliases, version, doc, factory: TransformFactory::Shared(factory) }
}

fn predicate(client: &PluginClient, c: &ManifestComponent) -> PredicateDescriptor {
    let (class, aliases, version, doc) = names(c);
    let client = client.clone();
    let factory = Arc::new(move || Box::new(PluginPredicate::new(&client, class)) as Box<dyn Predicate>);
    PredicateDescriptor { class, aliases, version, doc, factory: PredicateFactory::Shared(factory) }
}

fn converter(client: &PluginClient, c: &ManifestComponent) -> ConverterDescriptor {
    let (class, aliases, version, doc) = names(c);
    let client = client.clone();
    let factory = Arc::new(move || Box::new(PluginConverter::new(&client, class)) as Box<dyn Converter>);
    ConverterDescriptor { class, aliases, version, doc, factory: ConverterFactory::Shared(factory) }
}

/// Names live as long as the process: plugins are loaded once and never unloaded.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn descriptor(
    client: &PluginClient,
    c: &aqueduct_sdk::plugin::protocol::ManifestConnector,
) -> Result<PluginDescriptor, String> {
    let class = leak(&c.class);
    let aliases: Vec<&'static str> = c.aliases.iter().map(|a| leak(a)).collect();
    let make = {
        let client = client.clone();
        move || PluginConnector::new(client.clone(), class)
    };
    let factory = match c.kind.as_str() {
        "source" => ConnectorFactory::SharedSource(Arc::new(move || Box::new(make()) as Box<dyn SourceConnector>)),
        "sink" => ConnectorFactory::SharedSink(Arc::new(move || Box::new(make()) as Box<dyn SinkConnector>)),
        other => return Err(format!("{}: connector {class} is of unknown kind {other}", client.file().display())),
    };
    Ok(PluginDescriptor { class, aliases: Box::leak(aliases.into_boxed_slice()), version: leak(&c.version), factory })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod component_tests;
