//! Kafka Connect's predicates: `TopicNameMatches`, `HasHeaderKey`, `RecordIsTombstone`.
//! Negation (`predicates.x.negate` on the transform) is the runtime's.

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectRecord, Importance, Predicate, PredicateDescriptor, PredicateFactory, Props, Result,
};
use regex::Regex;

use super::util::{invalid, non_empty_string, whole_match_regex};
use super::VERSION;

/// `TopicNameMatches`: true for records whose whole topic name matches `pattern`.
///
/// The pattern is a Rust `regex`, which has Java's syntax for common patterns but no
/// look-around or back-references; such a pattern is a config error naming `pattern`.
#[derive(Debug, Default)]
pub struct TopicNameMatches {
    pattern: Option<Regex>,
}

/// `TopicNameMatches`'s descriptor.
pub const TOPIC_NAME_MATCHES: PredicateDescriptor = PredicateDescriptor {
    class: "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
    aliases: &["TopicNameMatches"],
    version: VERSION,
    doc: "A predicate which is true for records with a topic name that matches the configured regular expression.",
    factory: PredicateFactory::Builtin(|| Box::<TopicNameMatches>::default()),
};

impl Predicate for TopicNameMatches {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "pattern",
                ConfigType::String,
                None,
                Importance::Medium,
                "A Java regular expression for matching against the name of a record's topic.",
            )
            .validator(non_empty_string())
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        let pattern = config.string("pattern").unwrap_or_default();
        let regex = whole_match_regex(pattern).map_err(|e| {
            invalid("pattern", pattern, format!("entry must be a Java-compatible regular expression: {e}"))
        })?;
        self.pattern = Some(regex);
        Ok(())
    }
    fn test(&self, record: &ConnectRecord) -> Result<bool> {
        Ok(self.pattern.as_ref().is_some_and(|p| p.is_match(&record.topic)))
    }
}

/// `HasHeaderKey`: true for records with at least one header named `name`.
#[derive(Debug, Default)]
pub struct HasHeaderKey {
    name: String,
}

/// `HasHeaderKey`'s descriptor.
pub const HAS_HEADER_KEY: PredicateDescriptor = PredicateDescriptor {
    class: "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
    aliases: &["HasHeaderKey"],
    version: VERSION,
    doc: "A predicate which is true for records with at least one header with the configured name.",
    factory: PredicateFactory::Builtin(|| Box::<HasHeaderKey>::default()),
};

impl Predicate for HasHeaderKey {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define("name", ConfigType::String, None, Importance::Medium, "The header name.")
            .validator(non_empty_string())
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.name = config.string("name").unwrap_or_default().to_owned();
        Ok(())
    }
    fn test(&self, record: &ConnectRecord) -> Result<bool> {
        Ok(record.headers.iter().any(|h| h.key == self.name))
    }
}

/// `RecordIsTombstone`: true for records whose value is null.
#[derive(Debug, Default)]
pub struct RecordIsTombstone;

/// `RecordIsTombstone`'s descriptor.
pub const RECORD_IS_TOMBSTONE: PredicateDescriptor = PredicateDescriptor {
    class: "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
    aliases: &["RecordIsTombstone"],
    version: VERSION,
    doc: "A predicate which is true for records which are tombstones (i.e. have null value).",
    factory: PredicateFactory::Builtin(|| Box::<RecordIsTombstone>::default()),
};

impl Predicate for RecordIsTombstone {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    fn configure(&mut self, _props: &Props) -> Result<()> {
        Ok(())
    }
    fn test(&self, record: &ConnectRecord) -> Result<bool> {
        Ok(record.is_tombstone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::util::test_support::props;
    use aqueduct_sdk::{ErrorKind, Header, Value};

    fn configured(d: PredicateDescriptor, pairs: &[(&str, &str)]) -> Result<Box<dyn Predicate>> {
        let mut p = (d.factory)();
        p.configure(&props(pairs))?;
        Ok(p)
    }

    #[test]
    fn topic_name_matches_the_whole_name() {
        let p = configured(TOPIC_NAME_MATCHES, &[("pattern", "my-prefix-.*")]).expect("valid");
        assert!(p.test(&ConnectRecord::new("my-prefix-foo", Value::Null)).expect("tests"));
        assert!(!p.test(&ConnectRecord::new("x-my-prefix-foo", Value::Null)).expect("tests"));
        let p = configured(TOPIC_NAME_MATCHES, &[("pattern", "foo")]).expect("valid");
        assert!(!p.test(&ConnectRecord::new("foobar", Value::Null)).expect("tests"), "matches(), not find()");
    }

    #[test]
    fn topic_name_matches_config_errors_name_the_key() {
        let e = configured(TOPIC_NAME_MATCHES, &[("pattern", "[")]).err().expect("bad regex");
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().starts_with("Invalid value [ for configuration pattern:"), "{}", e.message());
        let e = configured(TOPIC_NAME_MATCHES, &[("pattern", "")]).err().expect("empty");
        assert!(e.message().contains("configuration pattern: String must be non-empty"), "{}", e.message());
        let e = configured(TOPIC_NAME_MATCHES, &[]).err().expect("missing");
        assert!(e.message().contains("\"pattern\""), "{}", e.message());
    }

    #[test]
    fn has_header_key() {
        let p = configured(HAS_HEADER_KEY, &[("name", "foo")]).expect("valid");
        let header = |k: &str| Header { key: k.into(), schema: None, value: Value::Null };
        let mut r = ConnectRecord::new("t", Value::Null);
        assert!(!p.test(&r).expect("tests"));
        r.headers = vec![header("bar"), header("foo")];
        assert!(p.test(&r).expect("tests"));
        r.headers = vec![header("Foo")];
        assert!(!p.test(&r).expect("tests"));
        assert!(configured(HAS_HEADER_KEY, &[("name", "")]).is_err());
    }

    #[test]
    fn record_is_tombstone() {
        let p = configured(RECORD_IS_TOMBSTONE, &[]).expect("no keys");
        assert!(p.test(&ConnectRecord::new("t", Value::Null)).expect("tests"));
        assert!(!p.test(&ConnectRecord::new("t", Value::Int32(0))).expect("tests"));
    }
}
