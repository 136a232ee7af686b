//! The example plugin's transform, predicate and converter, loaded and run through the
//! registry as a task would run them.

use aqueduct_sdk::{ConnectRecord, ErrorKind, Props, Value};

use super::tests::example_plugins;
use super::*;
use crate::converter;
use crate::transforms::TransformChain;

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn registry() -> Plugins {
    let [plugin, ..] = example_plugins();
    let scan = Scan { loaded: vec![load(plugin).expect("the example plugin loads")], skipped: Vec::new() };
    scan.register(Plugins::new(Vec::new()))
}

fn health(status: i32, body: &str) -> ConnectRecord {
    let value =
        Value::Map(vec![(Value::from("status"), Value::Int32(status)), (Value::from("body"), Value::from(body))]);
    ConnectRecord::new("health", value)
}

#[test]
fn the_manifest_lists_transforms_predicates_and_converters_with_versions() {
    let [plugin, ..] = example_plugins();
    let plugin = load(plugin).expect("the example plugin loads");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        plugin.components(),
        [
            ("transformation", "com.example.aqueduct.UppercaseField", version),
            ("predicate", "com.example.aqueduct.FieldEquals", version),
            ("converter", "com.example.aqueduct.HexConverter", version),
        ]
    );
    assert_eq!(plugin.transforms[0].aliases, ["UppercaseField"]);
    let registry = Scan { loaded: vec![plugin], skipped: Vec::new() }.register(Plugins::new(Vec::new()));
    assert!(registry.find("HttpPollSource").is_ok(), "the connectors are registered too");
    assert!(
        registry.converter_version("JsonConverter", "value.converter.plugin.version", None).is_ok_and(|c| c.is_some()),
        "beside the built-in converters"
    );
    assert!(registry
        .converter_version("HexConverter", "value.converter.plugin.version", None)
        .is_ok_and(|c| c.is_some()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_transform_applies_where_its_plugin_predicate_matches() {
    let registry = registry();
    let config = props(&[
        ("transforms", "up"),
        ("transforms.up.type", "UppercaseField"),
        ("transforms.up.field", "body"),
        ("transforms.up.predicate", "ok"),
        ("predicates", "ok"),
        ("predicates.ok.type", "com.example.aqueduct.FieldEquals"),
        ("predicates.ok.field", "status"),
        ("predicates.ok.value", "200"),
    ]);
    let mut chain = TransformChain::build(&registry, &config).expect("the chain builds");
    let out = chain.apply(health(200, "green")).expect("applies").expect("kept");
    assert_eq!(out.value.map_get("body"), Some(&Value::from("GREEN")));
    assert_eq!(out.topic, "health");
    let out = chain.apply(health(500, "red")).expect("applies").expect("kept");
    assert_eq!(out.value.map_get("body"), Some(&Value::from("red")), "the predicate did not match");

    // The plugin transform's config definition crossed: its required key is validated.
    let missing = props(&[("transforms", "up"), ("transforms.up.type", "UppercaseField")]);
    let err = TransformChain::build(&registry, &missing).map(|_| ()).expect_err("field is required");
    assert!(err.to_string().contains("transforms.up.field"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_plugin_transform_is_an_error_not_a_crash_and_errors_keep_their_kind() {
    let registry = registry();
    let config = props(&[
        ("transforms", "up"),
        ("transforms.up.type", "UppercaseField"),
        ("transforms.up.field", "body"),
        ("transforms.up.panic.on.apply", "true"),
    ]);
    let mut chain = TransformChain::build(&registry, &config).expect("the chain builds");
    for _ in 0..2 {
        let err = chain.apply(health(200, "green")).expect_err("the transform panics");
        assert_eq!(err.error.kind(), ErrorKind::Fatal);
        assert!(err.error.message().contains("plugin panicked: UppercaseField was told to panic"), "{err}");
    }
    // A data error in the plugin is a data error here (errors.tolerance may skip it).
    let config =
        props(&[("transforms", "up"), ("transforms.up.type", "UppercaseField"), ("transforms.up.field", "status")]);
    let mut chain = TransformChain::build(&registry, &config).expect("the chain builds");
    let err = chain.apply(health(200, "green")).expect_err("status is not a string");
    assert_eq!(err.error.kind(), ErrorKind::Data, "{err}");
    assert_eq!(err.class, "com.example.aqueduct.UppercaseField");
}

#[test]
fn a_plugin_converter_is_resolved_by_class_configured_and_round_trips() {
    let registry = registry();
    let hex = converter::resolve(&registry, "value.converter", "HexConverter", &props(&[("uppercase", "true")]))
        .expect("resolved");
    assert_eq!(hex.class(), "com.example.aqueduct.HexConverter");
    let bytes = hex.encode("t", None, &Value::Bytes(vec![0, 171, 255])).expect("encodes");
    assert_eq!(bytes.as_deref(), Some(&b"00ABFF"[..]), "configured with uppercase");
    let (schema, value) = hex.decode("t", bytes.as_deref()).expect("decodes");
    assert_eq!(value, Value::Bytes(vec![0, 171, 255]));
    assert!(schema.is_some_and(|s| s.optional));
    assert_eq!(hex.decode("t", None).expect("null").1, Value::Null);
    assert_eq!(hex.decode("t", Some(b"zz")).expect_err("not hex").kind(), ErrorKind::Data);
    let bad = converter::resolve(&registry, "key.converter", "HexConverter", &props(&[("uppercase", "maybe")]));
    assert_eq!(bad.map(|_| ()).expect_err("not a boolean").kind(), ErrorKind::Config);
    let unknown = converter::resolve(&registry, "key.converter", "NoSuchConverter", &Props::new()).map(|_| ());
    assert!(unknown.expect_err("unknown").message().contains("configuration key.converter"));
}
