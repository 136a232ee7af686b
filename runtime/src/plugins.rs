//! The registry of connector, transform, predicate and converter plugins a worker runs, found
//! by class name or alias. The runtime knows no connector: the `aqueduct` binary fills the
//! registry with the built-in connector crates; the built-in converters are always there.

use aqueduct_sdk::{
    ConnectError, ConverterDescriptor, PluginDescriptor, PredicateDescriptor, Props, TransformDescriptor,
};

use crate::plugin_version::{compare_versions, VersionRequirement};

/// A registered plugin of any kind: its names and version.
trait Versioned {
    fn answers_to(&self, name: &str) -> bool;
    fn version(&self) -> &'static str;
}

macro_rules! versioned {
    ($($descriptor:ty),*) => {$(
        impl Versioned for $descriptor {
            fn answers_to(&self, name: &str) -> bool {
                <$descriptor>::answers_to(self, name)
            }
            fn version(&self) -> &'static str {
                self.version
            }
        }
    )*};
}
versioned!(PluginDescriptor, TransformDescriptor, PredicateDescriptor, ConverterDescriptor);

/// The newest of `items` answering to `class` that `requirement` accepts (the first registered
/// on a tie); the error, for config key `key`, names the versions there are.
fn pick<'a, T: Versioned>(
    items: &'a [T],
    class: &str,
    key: &str,
    requirement: &VersionRequirement,
) -> Result<Option<&'a T>, ConnectError> {
    let class = class.trim();
    let mut best: Option<&T> = None;
    for item in items.iter().filter(|i| i.answers_to(class) && requirement.accepts(i.version())) {
        if best.is_none_or(|b| compare_versions(item.version(), b.version()).is_gt()) {
            best = Some(item);
        }
    }
    let available: Vec<&str> = items.iter().filter(|i| i.answers_to(class)).map(|i| i.version()).collect();
    match best {
        None if !available.is_empty() => Err(ConnectError::config(format!(
            "Invalid value {wanted} for configuration {key}: no version {wanted} of {class}; available versions: {}",
            available.join(", "),
            wanted = requirement.text()
        ))),
        found => Ok(found),
    }
}

/// The version requirement config key `key` holds; an unreadable one is a config error naming it.
fn requirement(key: &str, spec: Option<&str>) -> Result<VersionRequirement, ConnectError> {
    VersionRequirement::parse(spec).map_err(|e| {
        ConnectError::config(format!("Invalid value {} for configuration {key}: {e}", spec.unwrap_or_default()))
    })
}

/// Every plugin registered with the worker.
#[derive(Clone)]
pub struct Plugins {
    plugins: Vec<PluginDescriptor>,
    transforms: Vec<TransformDescriptor>,
    predicates: Vec<PredicateDescriptor>,
    converters: Vec<ConverterDescriptor>,
    /// Converters of headers only (`SimpleHeaderConverter`); every converter converts headers too.
    header_converters: Vec<ConverterDescriptor>,
}

impl Plugins {
    /// A registry of exactly these connector plugins and the built-in converters (no
    /// transforms).
    pub fn new(plugins: Vec<PluginDescriptor>) -> Self {
        Plugins {
            plugins,
            transforms: Vec::new(),
            predicates: Vec::new(),
            converters: crate::converter::builtins(),
            header_converters: crate::converter::header_builtins(),
        }
    }

    /// Adds converters, e.g. those a plugin from `plugin.path` declares. Several versions of
    /// one class may be registered: the newest is used unless a config asks for another
    /// (`key.converter.plugin.version`), and of equal versions the first registered (a
    /// built-in before a plugin's).
    pub fn with_converters(mut self, converters: Vec<ConverterDescriptor>) -> Self {
        self.converters.extend(converters);
        self
    }

    /// Every converter, in registration order (the built-ins first).
    pub fn converters(&self) -> &[ConverterDescriptor] {
        &self.converters
    }

    /// Every converter that converts headers: those of headers only, then every converter (as
    /// Kafka Connect's JSON, String and ByteArray converters are header converters too).
    pub fn header_converters(&self) -> Vec<ConverterDescriptor> {
        self.header_converters.iter().chain(&self.converters).cloned().collect()
    }

    /// Adds transforms and predicates.
    pub fn with_transforms(
        mut self,
        transforms: Vec<TransformDescriptor>,
        predicates: Vec<PredicateDescriptor>,
    ) -> Self {
        self.transforms.extend(transforms);
        self.predicates.extend(predicates);
        self
    }

    /// Every transform, in registration order.
    pub fn transforms(&self) -> &[TransformDescriptor] {
        &self.transforms
    }

    /// Every predicate, in registration order.
    pub fn predicates(&self) -> &[PredicateDescriptor] {
        &self.predicates
    }

    /// Adds connector plugins, e.g. those loaded from `plugin.path`. Several versions of one
    /// class may be registered side by side (KIP-891).
    pub fn with_connectors(mut self, plugins: Vec<PluginDescriptor>) -> Self {
        self.plugins.extend(plugins);
        self
    }

    /// The newest plugin answering to `class` (its class name or an alias). The error lists the
    /// available plugins.
    pub fn find(&self, class: &str) -> Result<&PluginDescriptor, ConnectError> {
        self.find_version(class, None)
    }

    /// The plugin answering to `class` at `version` (KIP-891's `connector.plugin.version`: a
    /// version, a Maven version range such as `[1.0,2.0)`, or `latest`), the newest of those
    /// when `version` allows several; the first registered wins a tie. The error lists the
    /// available plugins, or the versions of `class`.
    pub fn find_version(&self, class: &str, version: Option<&str>) -> Result<&PluginDescriptor, ConnectError> {
        let key = "connector.plugin.version";
        pick(&self.plugins, class, key, &requirement(key, version)?)?.ok_or_else(|| {
            let mut available: Vec<&str> = self.plugins.iter().map(|p| p.class).collect();
            available.dedup();
            ConnectError::config(format!(
                "Invalid value {class} for configuration connector.class: Failed to find any class that implements Connector and which name matches {class}; available connectors are: {}",
                available.join(", ")
            ))
        })
    }

    /// The transform answering to `class` at the version `version_key` (e.g.
    /// `transforms.mask.plugin.version`) asks for, the newest when it asks for none; `None`
    /// when no transform answers to `class`.
    pub fn transform_version(
        &self,
        class: &str,
        version_key: &str,
        version: Option<&str>,
    ) -> Result<Option<&TransformDescriptor>, ConnectError> {
        pick(&self.transforms, class, version_key, &requirement(version_key, version)?)
    }

    /// The predicate answering to `class` at the version `version_key` asks for, as
    /// [`transform_version`](Self::transform_version).
    pub fn predicate_version(
        &self,
        class: &str,
        version_key: &str,
        version: Option<&str>,
    ) -> Result<Option<&PredicateDescriptor>, ConnectError> {
        pick(&self.predicates, class, version_key, &requirement(version_key, version)?)
    }

    /// The converter answering to `class` at the version `version_key` (e.g.
    /// `key.converter.plugin.version`) asks for, as [`transform_version`](Self::transform_version).
    pub fn converter_version(
        &self,
        class: &str,
        version_key: &str,
        version: Option<&str>,
    ) -> Result<Option<&ConverterDescriptor>, ConnectError> {
        pick(&self.converters, class, version_key, &requirement(version_key, version)?)
    }

    /// The header converter answering to `class` at the version `version_key` (e.g.
    /// `header.converter.plugin.version`) asks for, as [`converter_version`](Self::converter_version).
    pub fn header_converter_version(
        &self,
        class: &str,
        version_key: &str,
        version: Option<&str>,
    ) -> Result<Option<ConverterDescriptor>, ConnectError> {
        Ok(pick(&self.header_converters(), class, version_key, &requirement(version_key, version)?)?.cloned())
    }

    /// Every plugin, in registration order.
    pub fn all(&self) -> &[PluginDescriptor] {
        &self.plugins
    }
}

/// The `task.class` of a task of `plugin` created as `connector_class`: the Kafka Connect
/// connector it stands in for is the class asked for when that is one of its qualified aliases,
/// else its first qualified alias; the connector names that connector's task class
/// ([`Connector::kafka_connect_task_class`](aqueduct_sdk::Connector::kafka_connect_task_class)),
/// else it is `<that class>Task` (`<plugin class>Task` without a qualified alias).
pub fn task_class(plugin: &PluginDescriptor, connector_class: &str) -> String {
    let qualified = plugin.aliases.iter().filter(|a| a.contains('.'));
    let named = qualified.clone().find(|a| **a == connector_class.trim()).or_else(|| qualified.clone().next());
    let Some(named) = named else { return format!("{}Task", plugin.class) };
    let known = match (plugin.factory.new_source(), plugin.factory.new_sink()) {
        (Some(source), _) => source.kafka_connect_task_class(named),
        (None, Some(sink)) => sink.kafka_connect_task_class(named),
        (None, None) => None,
    };
    known.map_or_else(|| format!("{named}Task"), str::to_owned)
}

/// Adds `task.class` to each of a connector's task configs, as Kafka Connect's worker does
/// (`Worker.connectorTaskConfigs`): a Kafka Connect worker reading them from the config topic
/// cannot start a task without it, and task configs a Kafka Connect worker wrote compare equal
/// to the ones regenerated here (so a takeover does not rewrite them).
pub fn with_task_class(plugin: &PluginDescriptor, connector: &Props, mut configs: Vec<Props>) -> Vec<Props> {
    let class = task_class(plugin, connector.get("connector.class").map(String::as_str).unwrap_or_default());
    for config in &mut configs {
        config.insert("task.class".to_owned(), class.clone());
    }
    configs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(name: &str) -> PluginDescriptor {
        let file = [aqueduct_connector_file::SOURCE_PLUGIN, aqueduct_connector_file::SINK_PLUGIN];
        Plugins::new(file.to_vec()).find(name).expect("a plugin").clone()
    }

    #[test]
    fn task_classes_are_kafka_connects() {
        let file_source = plugin("FileStreamSource");
        for asked in
            ["FileStreamSource", "FileStreamSourceConnector", "org.apache.kafka.connect.file.FileStreamSourceConnector"]
        {
            assert_eq!(
                task_class(&file_source, asked),
                "org.apache.kafka.connect.file.FileStreamSourceTask",
                "{asked}"
            );
        }
        let own = PluginDescriptor { class: "Probe", aliases: &[], ..file_source.clone() };
        assert_eq!(task_class(&own, "Probe"), "ProbeTask");
    }

    #[test]
    fn versions_side_by_side_newest_by_default() {
        let v = |version: &'static str| PluginDescriptor { version, ..aqueduct_connector_file::SOURCE_PLUGIN };
        let plugins = Plugins::new(vec![v("1.9.2"), v("1.10.0"), v("1.2")]);
        assert_eq!(plugins.find("FileStreamSource").expect("registered").version, "1.10.0");
        assert_eq!(plugins.find_version("FileStreamSource", Some("")).expect("registered").version, "1.10.0");
        assert_eq!(plugins.find_version("FileStreamSource", Some("1.2")).expect("registered").version, "1.2");
        let err =
            plugins.find_version("FileStreamSource", Some("3.0")).map(|p| p.version).expect_err("no such version");
        let err = err.to_string();
        assert!(err.contains("no version 3.0 of FileStreamSource; available versions: 1.9.2, 1.10.0, 1.2"), "{err}");
        assert!(compare_versions("2.0.0", "0.1.0").is_gt() && compare_versions("1.0", "1.0.0").is_lt());
    }

    #[test]
    fn every_task_config_gets_the_task_class() {
        let sink = plugin("FileStreamSink");
        let connector = Props::from([("connector.class".to_owned(), "FileStreamSink".to_owned())]);
        let configs =
            with_task_class(&sink, &connector, vec![Props::new(), Props::from([("a".to_owned(), "b".to_owned())])]);
        assert!(configs.iter().all(|c| c["task.class"] == "org.apache.kafka.connect.file.FileStreamSinkTask"));
        assert_eq!(configs[1]["a"], "b");
    }
}
