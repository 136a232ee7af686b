use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectRecord, Importance, Predicate, PredicateDescriptor, PredicateFactory, Props, Result,
    Transform, TransformDescriptor, TransformFactory, Value,
};

use super::{enrich, TransformChain};
use crate::plugins::Plugins;

/// Appends `suffix` to the topic; fails on a topic named "poison".
struct Suffix(String);

impl Transform for Suffix {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define("suffix", ConfigType::String, None, Importance::High, "Appended to the topic.")
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        self.0 = self.config_def().parse(props)?.string("suffix").unwrap_or_default().to_owned();
        Ok(())
    }
    fn apply(&mut self, mut r: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if r.topic == "poison" {
            return Err(aqueduct_sdk::ConnectError::data("poison record"));
        }
        r.topic.push_str(&self.0);
        Ok(Some(r))
    }
}

struct Drop;

impl Transform for Drop {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    fn configure(&mut self, _: &Props) -> Result<()> {
        Ok(())
    }
    fn apply(&mut self, _: ConnectRecord) -> Result<Option<ConnectRecord>> {
        Ok(None)
    }
}

struct IsTombstone;

impl Predicate for IsTombstone {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    fn configure(&mut self, _: &Props) -> Result<()> {
        Ok(())
    }
    fn test(&self, r: &ConnectRecord) -> Result<bool> {
        if r.topic == "unreadable" {
            return Err(aqueduct_sdk::ConnectError::data("cannot tell"));
        }
        Ok(r.is_tombstone())
    }
}

fn plugins() -> Plugins {
    Plugins::new(Vec::new()).with_transforms(
        vec![
            TransformDescriptor {
                class: "test.Suffix",
                aliases: &["Suffix"],
                version: "1",
                doc: "",
                factory: TransformFactory::Builtin(|| Box::new(Suffix(String::new()))),
            },
            TransformDescriptor {
                class: "test.Drop",
                aliases: &[],
                version: "1",
                doc: "",
                factory: TransformFactory::Builtin(|| Box::new(Drop)),
            },
        ],
        vec![PredicateDescriptor {
            class: "test.IsTombstone",
            aliases: &[],
            version: "1",
            doc: "",
            factory: PredicateFactory::Builtin(|| Box::new(IsTombstone)),
        }],
    )
}

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn stages_run_in_order_and_a_dropping_stage_ends_the_chain() {
    let mut chain = TransformChain::build(
        &plugins(),
        &props(&[
            ("transforms", "a, b"),
            ("transforms.a.type", "Suffix"),
            ("transforms.a.suffix", "-1"),
            ("transforms.b.type", "test.Suffix"),
            ("transforms.b.suffix", "-2"),
        ]),
    )
    .expect("chain");
    let out = chain.apply(ConnectRecord::new("t", Value::Int32(1))).expect("apply").expect("kept");
    assert_eq!(out.topic, "t-1-2");
    let mut dropping = TransformChain::build(
        &plugins(),
        &props(&[("transforms", "d,a"), ("transforms.d.type", "test.Drop"), ("transforms.a.type", "Suffix")]),
    );
    assert!(dropping.is_err(), "transforms.a.suffix is required");
    dropping = TransformChain::build(
        &plugins(),
        &props(&[
            ("transforms", "d,a"),
            ("transforms.d.type", "test.Drop"),
            ("transforms.a.type", "Suffix"),
            ("transforms.a.suffix", "x"),
        ]),
    );
    assert!(dropping.expect("chain").apply(ConnectRecord::new("t", Value::Null)).expect("apply").is_none());
}

#[test]
fn a_predicate_decides_where_a_stage_applies_and_negate_flips_it() {
    for (negate, tombstone_topic, value_topic) in [("false", "t!", "t"), ("true", "t", "t!")] {
        let mut chain = TransformChain::build(
            &plugins(),
            &props(&[
                ("transforms", "a"),
                ("transforms.a.type", "Suffix"),
                ("transforms.a.suffix", "!"),
                ("transforms.a.predicate", "tomb"),
                ("transforms.a.negate", negate),
                ("predicates", "tomb"),
                ("predicates.tomb.type", "test.IsTombstone"),
            ]),
        )
        .expect("chain");
        let t = chain.apply(ConnectRecord::new("t", Value::Null)).expect("apply").expect("kept");
        let v = chain.apply(ConnectRecord::new("t", Value::Int32(1))).expect("apply").expect("kept");
        assert_eq!((t.topic.as_str(), v.topic.as_str()), (tombstone_topic, value_topic), "negate={negate}");
        // A predicate that fails fails the stage it guards (not a silent "no match").
        let failed = chain.apply(ConnectRecord::new("unreadable", Value::Null)).expect_err("the predicate failed");
        assert_eq!((failed.alias.as_str(), failed.error.message()), ("a", "cannot tell"), "negate={negate}");
        assert_eq!(failed.error.kind(), aqueduct_sdk::ErrorKind::Data);
    }
}

#[test]
fn a_failing_stage_is_named() {
    let mut chain = TransformChain::build(
        &plugins(),
        &props(&[("transforms", "a"), ("transforms.a.type", "Suffix"), ("transforms.a.suffix", "x")]),
    )
    .expect("chain");
    let e = chain.apply(ConnectRecord::new("poison", Value::Null)).expect_err("fails");
    assert_eq!((e.alias.as_str(), e.class), ("a", "test.Suffix"));
    assert!(e.to_string().contains("poison record"), "{e}");
}

#[test]
fn bad_keys_are_named() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("transforms", "a"), ("transforms.a.type", "Nope")], "transforms.a.type: Class Nope could not be found"),
        (&[("transforms", "a,a"), ("transforms.a.type", "Suffix")], "Duplicate alias"),
        (&[("transforms", "a")], "transforms.a.type"),
        (&[("transforms", "a"), ("transforms.a.type", "Suffix")], "transforms.a.suffix"),
        (
            &[
                ("transforms", "a"),
                ("transforms.a.type", "Suffix"),
                ("transforms.a.suffix", "x"),
                ("transforms.a.predicate", "p"),
            ],
            "transforms.a.predicate",
        ),
        (&[("predicates", "p"), ("predicates.p.type", "Nope")], "predicates.p.type: Class Nope could not be found"),
    ];
    for (pairs, expected) in cases {
        let error = TransformChain::build(&plugins(), &props(pairs)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains(expected), "{pairs:?}: expected {expected:?} in {error:?}");
    }
}

#[test]
fn enrich_lists_each_alias_keys_in_its_group() {
    let (def, problems) = enrich(
        ConfigDef::new(),
        &plugins(),
        &props(&[
            ("transforms", "a"),
            ("transforms.a.type", "Suffix"),
            ("predicates", "p"),
            ("predicates.p.type", "test.IsTombstone"),
        ]),
    );
    assert!(problems.is_empty(), "{problems:?}");
    let suffix = def.key("transforms.a.suffix").expect("the transform's own key");
    assert_eq!(suffix.group.as_deref(), Some("Transforms: a"));
    for key in [
        "transforms",
        "predicates",
        "transforms.a.type",
        "transforms.a.negate",
        "transforms.a.predicate",
        "predicates.p.type",
    ] {
        assert!(def.key(key).is_some(), "{key}");
    }
}

/// Appends its version to the topic.
struct Tag(&'static str);

impl Transform for Tag {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    fn configure(&mut self, _: &Props) -> Result<()> {
        Ok(())
    }
    fn apply(&mut self, mut r: ConnectRecord) -> Result<Option<ConnectRecord>> {
        r.topic = format!("{}-{}", r.topic, self.0);
        Ok(Some(r))
    }
}

#[test]
fn plugin_version_picks_among_versions_of_a_transform_and_the_newest_by_default() {
    let tag = |version: &'static str, factory: fn() -> Box<dyn Transform>| TransformDescriptor {
        class: "test.Tag",
        aliases: &[],
        version,
        doc: "",
        factory: TransformFactory::Builtin(factory),
    };
    let registry = Plugins::new(Vec::new()).with_transforms(
        vec![
            tag("1.0", || Box::new(Tag("1.0"))),
            tag("2.0", || Box::new(Tag("2.0"))),
            tag("1.5", || Box::new(Tag("1.5"))),
        ],
        Vec::new(),
    );
    let topic = |version: Option<&str>| -> std::result::Result<String, String> {
        let mut config = props(&[("transforms", "a"), ("transforms.a.type", "test.Tag")]);
        if let Some(v) = version {
            config.insert("transforms.a.plugin.version".to_owned(), v.to_owned());
        }
        let mut chain = TransformChain::build(&registry, &config).map_err(|e| e.to_string())?;
        let out = chain.apply(ConnectRecord::new("t", Value::Null)).map_err(|e| e.to_string())?;
        Ok(out.map(|r| r.topic).unwrap_or_default())
    };
    assert_eq!(topic(None).as_deref(), Ok("t-2.0"));
    assert_eq!(topic(Some("latest")).as_deref(), Ok("t-2.0"));
    assert_eq!(topic(Some("1.0")).as_deref(), Ok("t-1.0"));
    assert_eq!(topic(Some("[1.0,2.0)")).as_deref(), Ok("t-1.5"), "the newest in the range");
    let missing = topic(Some("3.0")).expect_err("not installed");
    assert!(
        missing.contains("transforms.a.plugin.version") && missing.contains("available versions: 1.0, 2.0, 1.5"),
        "{missing}"
    );
    let unreadable = topic(Some("[1.0")).expect_err("not a range");
    assert!(unreadable.contains("Invalid value [1.0 for configuration transforms.a.plugin.version"), "{unreadable}");
    // Validation names the key too, and lists plugin.version among the transform's keys.
    let config =
        props(&[("transforms", "a"), ("transforms.a.type", "test.Tag"), ("transforms.a.plugin.version", "3.0")]);
    let (def, problems) = enrich(ConfigDef::new(), &registry, &config);
    assert!(def.key("transforms.a.plugin.version").is_some());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "transforms.a.plugin.version");
}
