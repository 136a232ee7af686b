//! Unit tests of the source configuration.

use super::*;

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn defaults_follow_the_mongodb_connector() {
    let c = SourceConfig::parse(&props(&[("database", "shop"), ("collection", "orders,items")])).expect("valid");
    assert_eq!(c.collections, vec!["orders", "items"]);
    assert_eq!(c.format, OutputFormat::MongoDb);
    assert_eq!(c.startup, StartupMode::Latest);
    assert_eq!(c.json, JsonFormat::Strict);
    assert_eq!((c.max_batch, c.await_time), (1000, Duration::from_millis(5000)));
    assert!(c.full_document.is_none());
    assert_eq!((c.heartbeat_interval, c.heartbeat_topic.as_str()), (None, "__mongodb_heartbeats"));
    let c = SourceConfig::parse(&props(&[("heartbeat.interval.ms", "250")])).expect("valid");
    assert_eq!(c.heartbeat_interval, Some(Duration::from_millis(250)));
}

#[test]
fn debezium_alias_defaults_to_envelopes_and_a_snapshot() {
    let c = SourceConfig::parse(&props(&[
        ("connector.class", DEBEZIUM_CLASS),
        ("mongodb.connection.string", "mongodb://h:1"),
        ("topic.prefix", "dbserver1"),
    ]))
    .expect("valid");
    assert_eq!(c.format, OutputFormat::Debezium);
    assert_eq!(c.startup, StartupMode::CopyExisting);
    assert_eq!(c.uri, "mongodb://h:1");
    assert!(matches!(c.full_document, Some(FullDocumentType::UpdateLookup)));
}

#[test]
fn bad_values_name_their_key() {
    let err = SourceConfig::parse(&props(&[("pipeline", r#"{"$match": {}}"#)])).expect_err("not an array");
    assert!(err.to_string().contains("pipeline") && err.to_string().contains("JSON array"), "{err}");
    let err = SourceConfig::parse(&props(&[("pipeline", "[{")])).expect_err("bad json");
    assert!(err.to_string().contains("pipeline"), "{err}");
    let err = SourceConfig::parse(&props(&[("startup.mode", "sometimes")])).expect_err("bad mode");
    assert!(err.to_string().contains("startup.mode"), "{err}");
    let err = SourceConfig::parse(&props(&[("connection.uri", "mongodb+srv://x")])).expect_err("srv");
    assert!(err.to_string().contains("connection.uri"), "{err}");
    let err = SourceConfig::parse(&props(&[("collection", "c")])).expect_err("no database");
    assert!(err.to_string().contains("database"), "{err}");
    assert!(SourceConfig::parse(&props(&[("topic.namespace.map", "[1]")])).is_err());
    assert!(SourceConfig::parse(&props(&[("output.json.formatter", "Xml")])).is_err());
}

#[test]
fn timestamps_in_three_forms() {
    assert_eq!(parse_timestamp("30"), Ok(Some(Timestamp { time: 30, increment: 0 })));
    assert_eq!(parse_timestamp("1970-01-01T00:00:30Z"), Ok(Some(Timestamp { time: 30, increment: 0 })));
    assert_eq!(parse_timestamp(r#"{"$timestamp": {"t": 30, "i": 2}}"#), Ok(Some(Timestamp { time: 30, increment: 2 })));
    assert_eq!(parse_timestamp(""), Ok(None));
    assert!(parse_timestamp("yesterday").is_err());
}
