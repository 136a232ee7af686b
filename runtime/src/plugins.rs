//! The registry of connector, transform and predicate plugins a worker runs, found by class
//! name or alias. The runtime knows no connector: the `aqueduct` binary fills the registry with
//! the built-in connector crates.

use aqueduct_sdk::{ConnectError, PluginDescriptor, PredicateDescriptor, Props, TransformDescriptor};

/// Every plugin registered with the worker.
#[derive(Clone)]
pub struct Plugins {
    plugins: Vec<PluginDescriptor>,
    transforms: Vec<TransformDescriptor>,
    predicates: Vec<PredicateDescriptor>,
}

impl Plugins {
    /// A registry of exactly these connector plugins (no transforms).
    pub fn new(plugins: Vec<PluginDescriptor>) -> Self {
        Plugins { plugins, transforms: Vec::new(), predicates: Vec::new() }
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
    fn every_task_config_gets_the_task_class() {
        let sink = plugin("FileStreamSink");
        let connector = Props::from([("connector.class".to_owned(), "FileStreamSink".to_owned())]);
        let configs =
            with_task_class(&sink, &connector, vec![Props::new(), Props::from([("a".to_owned(), "b".to_owned())])]);
        assert!(configs.iter().all(|c| c["task.class"] == "org.apache.kafka.connect.file.FileStreamSinkTask"));
        assert_eq!(configs[1]["a"], "b");
    }
}
