//! The registry of connector, transform, predicate and converter plugins a worker runs, found
//! by class name or alias. The runtime knows no connector: the `aqueduct` binary fills the
//! registry with the built-in connector crates; the built-in converters are always there.

use aqueduct_sdk::{
    ConnectError, ConverterDescriptor, PluginDescriptor, PredicateDescriptor, Props, TransformDescriptor,
};

/// Every plugin registered with the worker.
#[derive(Clone)]
pub struct Plugins {
    plugins: Vec<PluginDescriptor>,
    transforms: Vec<TransformDescriptor>,
    predicates: Vec<PredicateDescriptor>,
    converters: Vec<ConverterDescriptor>,
}

impl Plugins {
    /// A registry of exactly these connector plugins and the built-in converters (no
    /// transforms).
    pub fn new(plugins: Vec<PluginDescriptor>) -> Self {
        Plugins { plugins, transforms: Vec::new(), predicates: Vec::new(), converters: crate::converter::builtins() }
    }

    /// Adds converters, e.g. those a plugin from `plugin.path` declares. The first registered
    /// answering to a name wins, so a plugin cannot shadow a built-in.
    pub fn with_converters(mut self, converters: Vec<ConverterDescriptor>) -> Self {
        self.converters.extend(converters);
        self
    }

    /// The converter answering to `class`.
    pub fn converter(&self, class: &str) -> Option<&ConverterDescriptor> {
        self.converters.iter().find(|c| c.answers_to(class.trim()))
    }

    /// Every converter, in registration order (the built-ins first).
    pub fn converters(&self) -> &[ConverterDescriptor] {
        &self.converters
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

    /// The transform answering to `class`.
    pub fn transform(&self, class: &str) -> Option<&TransformDescriptor> {
        self.transforms.iter().find(|t| t.answers_to(class.trim()))
    }

    /// The predicate answering to `class`.
    pub fn predicate(&self, class: &str) -> Option<&PredicateDescriptor> {
        self.predicates.iter().find(|p| p.answers_to(class.trim()))
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

    /// The plugin answering to `class` at `version` (KIP-891's `connector.plugin.version`, an
    /// exact version), or the newest when `version` is absent or empty; the first registered
    /// wins a tie. The error lists the available plugins, or the versions of `class`.
    pub fn find_version(&self, class: &str, version: Option<&str>) -> Result<&PluginDescriptor, ConnectError> {
        let mut matching = self.plugins.iter().filter(|p| p.answers_to(class));
        let Some(first) = matching.next() else {
            let mut available: Vec<&str> = self.plugins.iter().map(|p| p.class).collect();
            available.dedup();
            return Err(ConnectError::config(format!(
                "Invalid value {class} for configuration connector.class: Failed to find any class that implements Connector and which name matches {class}; available connectors are: {}",
                available.join(", ")
            )));
        };
        match version.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(matching.fold(first, |best, p| {
                if compare_versions(p.version, best.version).is_gt() {
                    p
                } else {
                    best
                }
            })),
            Some(wanted) => std::iter::once(first).chain(matching.clone()).find(|p| p.version == wanted).ok_or_else(|| {
                let versions: Vec<&str> = std::iter::once(first).chain(matching).map(|p| p.version).collect();
                ConnectError::config(format!(
                    "Invalid value {wanted} for configuration connector.plugin.version: no version {wanted} of {class}; available versions: {}",
                    versions.join(", ")
                ))
            }),
        }
    }

    /// Every plugin, in registration order.
    pub fn all(&self) -> &[PluginDescriptor] {
        &self.plugins
    }
}

/// Orders versions by their dot- or dash-separated parts, numerically where both are numbers
/// (`1.10.0` > `1.9.2`).
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let mut left = a.split(['.', '-', '+']);
    let mut right = b.split(['.', '-', '+']);
    loop {
        match (left.next(), right.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                };
                if order.is_ne() {
                    return order;
                }
            }
        }
    }
}

/// Kafka Connect's task class for each connector class a built-in plugin answers to.
const KAFKA_CONNECT_TASK_CLASSES: &[(&str, &str)] = &[
    ("org.apache.kafka.connect.file.FileStreamSourceConnector", "org.apache.kafka.connect.file.FileStreamSourceTask"),
    ("org.apache.kafka.connect.file.FileStreamSinkConnector", "org.apache.kafka.connect.file.FileStreamSinkTask"),
    ("io.confluent.connect.jdbc.JdbcSourceConnector", "io.confluent.connect.jdbc.source.JdbcSourceTask"),
    ("io.confluent.connect.jdbc.JdbcSinkConnector", "io.confluent.connect.jdbc.sink.JdbcSinkTask"),
    ("io.debezium.connector.jdbc.JdbcSinkConnector", "io.debezium.connector.jdbc.JdbcSinkConnectorTask"),
    ("io.debezium.connector.postgresql.PostgresConnector", "io.debezium.connector.postgresql.PostgresConnectorTask"),
    ("io.debezium.connector.mongodb.MongoDbConnector", "io.debezium.connector.mongodb.MongoDbConnectorTask"),
    ("com.mongodb.kafka.connect.MongoSourceConnector", "com.mongodb.kafka.connect.source.MongoSourceTask"),
    ("com.mongodb.kafka.connect.MongoSinkConnector", "com.mongodb.kafka.connect.sink.MongoSinkTask"),
    ("io.confluent.kafka.connect.datagen.DatagenConnector", "io.confluent.kafka.connect.datagen.DatagenTask"),
];

/// The `task.class` of a task of `plugin` created as `connector_class`: Kafka Connect's task
/// class when the plugin stands in for a Kafka Connect connector (the class asked for, else the
/// plugin's first fully qualified alias), else `<class>Task`.
pub fn task_class(plugin: &PluginDescriptor, connector_class: &str) -> String {
    let qualified = plugin.aliases.iter().filter(|a| a.contains('.'));
    let named = qualified.clone().find(|a| **a == connector_class.trim()).or_else(|| qualified.clone().next());
    let known = named.and_then(|c| KAFKA_CONNECT_TASK_CLASSES.iter().find(|(k, _)| k == c));
    match known {
        Some((_, task)) => (*task).to_owned(),
        None => format!("{}Task", named.copied().unwrap_or(plugin.class)),
    }
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
        // A stand-in answering to the MongoDB connectors' class names.
        let mongo = PluginDescriptor {
            class: "MongoSource",
            aliases: &[
                "com.mongodb.kafka.connect.MongoSourceConnector",
                "io.debezium.connector.mongodb.MongoDbConnector",
            ],
            ..aqueduct_connector_file::SOURCE_PLUGIN
        };
        Plugins::new([file[0].clone(), file[1].clone(), mongo].to_vec()).find(name).expect("a plugin").clone()
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
        let mongo = plugin("MongoSource");
        assert_eq!(
            task_class(&mongo, "io.debezium.connector.mongodb.MongoDbConnector"),
            "io.debezium.connector.mongodb.MongoDbConnectorTask"
        );
        assert_eq!(task_class(&mongo, "MongoSource"), "com.mongodb.kafka.connect.source.MongoSourceTask");
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
