//! Converters: between the SDK's data model and the bytes in Kafka. The built-ins (JSON,
//! String, ByteArray) are registered in every [`Plugins`] registry, beside any a plugin from
//! `plugin.path` declares; `key.converter` / `value.converter` name one by class or alias.
//!
//! Header values are converted by the converter `header.converter` names, one header at a
//! time: any of those converters, or [`SimpleHeaderConverter`] (the default, which converts
//! headers only), as Kafka Connect's `HeaderConverter`s.

mod bytes;
pub mod json;
mod simple_header;
mod string;

use aqueduct_sdk::{ConnectError, ConverterDescriptor, ConverterFactory, Props, Result};

pub use self::bytes::ByteArrayConverter;
pub use self::json::JsonConverter;
pub use self::simple_header::SimpleHeaderConverter;
pub use self::string::StringConverter;
pub use aqueduct_sdk::Converter;

use crate::plugins::Plugins;

/// The version the built-in converters declare: the runtime's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The config key naming the header converter.
pub const HEADER_CONVERTER: &str = "header.converter";

/// The built-in converters, with Kafka Connect's class names as aliases (short name first).
pub fn builtins() -> Vec<ConverterDescriptor> {
    vec![
        ConverterDescriptor {
            class: "JsonConverter",
            aliases: &["org.apache.kafka.connect.json.JsonConverter", "json"],
            version: VERSION,
            doc: "Kafka Connect's JSON, with or without the {\"schema\", \"payload\"} envelope.",
            factory: ConverterFactory::Builtin(|| Box::new(JsonConverter::new(true))),
        },
        ConverterDescriptor {
            class: "StringConverter",
            aliases: &["org.apache.kafka.connect.storage.StringConverter", "string"],
            version: VERSION,
            doc: "UTF-8 text.",
            factory: ConverterFactory::Builtin(|| Box::new(StringConverter)),
        },
        ConverterDescriptor {
            class: "ByteArrayConverter",
            aliases: &["org.apache.kafka.connect.converters.ByteArrayConverter", "bytes"],
            version: VERSION,
            doc: "Raw bytes, unchanged.",
            factory: ConverterFactory::Builtin(|| Box::new(ByteArrayConverter)),
        },
    ]
}

/// The built-in converters of headers only (not usable as `key.converter` or `value.converter`).
pub fn header_builtins() -> Vec<ConverterDescriptor> {
    vec![ConverterDescriptor {
        class: "SimpleHeaderConverter",
        aliases: &["org.apache.kafka.connect.storage.SimpleHeaderConverter"],
        version: VERSION,
        doc: "Header values as text, their types inferred on the way back (Kafka Connect's Values).",
        factory: ConverterFactory::Builtin(|| Box::new(SimpleHeaderConverter)),
    }]
}

/// Builds and configures the converter `class` that config key `key` (`key.converter`,
/// `value.converter` or `header.converter`) names, from the registry; `props` are its own
/// settings (the keys after the `key.converter.` prefix), among them `plugin.version`, the
/// version to use (KIP-891; the newest without it). As Kafka Connect does, its settings get
/// `converter.type` (`key`, `value` or `header`). An unknown class is Kafka Connect's config
/// error naming the key.
pub fn resolve(plugins: &Plugins, key: &str, class: &str, props: &Props) -> Result<Box<dyn Converter>> {
    let class = class.trim();
    // `key.converter.plugin.version` is among the converter's settings (after the prefix).
    let version = props.get("plugin.version").map(String::as_str);
    let version_key = format!("{key}.plugin.version");
    let found = if key == HEADER_CONVERTER {
        plugins.header_converter_version(class, &version_key, version)?
    } else {
        plugins.converter_version(class, &version_key, version)?.cloned()
    };
    let descriptor = found.ok_or_else(|| {
        ConnectError::config(format!(
            "Invalid value {class} for configuration {key}: Class {class} could not be found."
        ))
    })?;
    let mut settings = props.clone();
    let kind = key.strip_suffix(".converter").unwrap_or(key);
    settings.insert("converter.type".to_owned(), kind.to_owned());
    let mut converter = (descriptor.factory)();
    converter.configure(&settings, kind == "key")?;
    Ok(converter)
}

/// The error of converting header `key`'s value: `header <key>`, caused by `error`, of its kind.
pub fn header_error(key: &str, error: ConnectError) -> ConnectError {
    ConnectError::new(error.kind(), format!("header {key}")).with_source(error)
}

/// Builds the built-in value converter named `class` with its own settings `props`.
pub fn build(class: &str, props: &Props) -> Result<Box<dyn Converter>> {
    resolve(&Plugins::new(Vec::new()), "value.converter", class, props)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::Value;

    #[test]
    fn plugin_version_picks_a_converter_version() {
        // A second "JsonConverter", version 9.0, that is a StringConverter underneath.
        let other = ConverterDescriptor {
            class: "org.apache.kafka.connect.json.JsonConverter",
            aliases: &["JsonConverter"],
            version: "9.0",
            doc: "",
            factory: ConverterFactory::Builtin(|| Box::new(StringConverter)),
        };
        let plugins = Plugins::new(Vec::new()).with_converters(vec![other]);
        let with = |version: Option<&str>| {
            let props: Props = version.map(|v| ("plugin.version".to_owned(), v.to_owned())).into_iter().collect();
            resolve(&plugins, "key.converter", "JsonConverter", &props)
        };
        let encoded = |c: Box<dyn Converter>| c.encode("t", None, &Value::from("x")).expect("encodes");
        assert_eq!(encoded(with(None).expect("newest")), Some(b"x".to_vec()), "9.0, the newest");
        assert_eq!(
            encoded(with(Some(VERSION)).expect("the built-in")),
            Some(b"{\"schema\":null,\"payload\":\"x\"}".to_vec())
        );
        let err = with(Some("8.0")).map(|_| ()).expect_err("not installed");
        assert!(err.to_string().contains("key.converter.plugin.version"), "{err}");
    }

    #[test]
    fn builtins_answer_to_kafka_connect_names_and_unknown_classes_name_the_key() {
        let plugins = Plugins::new(Vec::new());
        for name in ["JsonConverter", "org.apache.kafka.connect.storage.StringConverter", "bytes"] {
            assert!(resolve(&plugins, "value.converter", name, &Props::new()).is_ok(), "{name}");
        }
        let plain = Props::from([("schemas.enable".to_owned(), "false".to_owned())]);
        let json = resolve(&plugins, "key.converter", "json", &plain).expect("configured");
        assert_eq!(json.encode("t", None, &Value::Int32(1)).expect("encodes"), Some(b"1".to_vec()));
        let err =
            resolve(&plugins, "key.converter", "com.example.Nope", &Props::new()).map(|_| ()).expect_err("unknown");
        assert_eq!(
            err.message(),
            "Invalid value com.example.Nope for configuration key.converter: Class com.example.Nope could not be found."
        );
        assert!(build("JsonConverter", &Props::from([("schemas.enable".to_owned(), "maybe".to_owned())])).is_err());
    }
}
