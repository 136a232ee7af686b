use super::*;
use crate::kafka::util::test_support::props;
use aqueduct_sdk::{ErrorKind, Value};

fn route(regex: &str, replacement: &str, topic: &str) -> String {
    let mut t = (REGEX_ROUTER.factory)();
    t.configure(&props(&[("regex", regex), ("replacement", replacement)])).expect("valid");
    t.apply(ConnectRecord::new(topic, Value::Null)).expect("applies").expect("kept").topic
}

// RegexRouterTest's cases.
#[test]
fn regex_router_as_kafka_connect() {
    assert_eq!(route("(.*)", "prefix-$1", "orig"), "prefix-orig");
    assert_eq!(route("(.*)", "$1-suffix", "orig"), "orig-suffix");
    assert_eq!(route("(.*)-(\\d\\d\\d\\d\\d\\d\\d\\d)", "$1", "index-20160117"), "index");
    assert_eq!(route("(.*)-(\\d\\d\\d\\d\\d\\d\\d\\d)", "$2-$1", "index-20160117"), "20160117-index");
    assert_eq!(route("foo", "bar", "orig"), "orig", "no match keeps the topic");
    assert_eq!(route("(?<name>.*)", "x-${name}", "orig"), "x-orig");
    assert_eq!(route("(.*)", "\\$1", "orig"), "$1");
    assert_eq!(route("(.*)", "$10", "orig"), "orig0", "Java reads $10 as group 1 then 0");
    assert_eq!(route("a|ab", "X", "ab"), "Xb", "matches() the whole topic, then replaces the first match");
}

#[test]
fn regex_router_routes_each_topic_of_a_stream_on_its_own() {
    let mut t = (REGEX_ROUTER.factory)();
    t.configure(&props(&[("regex", "(.*)-raw"), ("replacement", "$1-out")])).expect("valid");
    let mut apply =
        |topic: &str| t.apply(ConnectRecord::new(topic, Value::Null)).expect("applies").expect("kept").topic;
    for (topic, routed) in
        [("a-raw", "a-out"), ("a-raw", "a-out"), ("b", "b"), ("b", "b"), ("c-raw", "c-out"), ("a-raw", "a-out")]
    {
        assert_eq!(apply(topic), routed);
    }
    // Reconfigured, it forgets the topics routed before.
    t.configure(&props(&[("regex", "(.*)-raw"), ("replacement", "$1-new")])).expect("valid");
    assert_eq!(t.apply(ConnectRecord::new("a-raw", Value::Null)).expect("applies").expect("kept").topic, "a-new");
}

#[test]
fn regex_router_config_errors_name_the_key() {
    let configure = |pairs: &[(&str, &str)]| (REGEX_ROUTER.factory)().configure(&props(pairs)).expect_err("invalid");
    let e = configure(&[("regex", "("), ("replacement", "x")]);
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().starts_with("Invalid value ( for configuration regex: Invalid regex"), "{}", e.message());
    let e = configure(&[("regex", "(.*)"), ("replacement", "$2")]);
    assert_eq!(e.message(), "Invalid value $2 for configuration replacement: No group 2");
    let e = configure(&[("regex", "(.*)"), ("replacement", "$x")]);
    assert_eq!(e.message(), "Invalid value $x for configuration replacement: Illegal group reference");
    let e = configure(&[("regex", "(.*)")]);
    assert!(e.message().contains("\"replacement\""), "{}", e.message());
}

// TimestampRouterTest's case.
#[test]
fn timestamp_router_defaults() {
    let mut t = (TIMESTAMP_ROUTER.factory)();
    t.configure(&props(&[])).expect("defaults");
    let mut r = ConnectRecord::new("test", Value::Null);
    r.timestamp = Some(1_483_425_001_864);
    assert_eq!(t.apply(r).expect("applies").expect("kept").topic, "test-20170103");
    let e = t.apply(ConnectRecord::new("test", Value::Null)).expect_err("no timestamp");
    assert_eq!(e.kind(), ErrorKind::Data);
    assert!(e.message().starts_with("Timestamp missing on record"), "{}", e.message());
}

#[test]
fn timestamp_router_custom_formats() {
    let mut t = (TIMESTAMP_ROUTER.factory)();
    t.configure(&props(&[("topic.format", "${timestamp}_${topic}_${topic}"), ("timestamp.format", "yyyy-MM-dd'T'HH")]))
        .expect("valid");
    let mut r = ConnectRecord::new("t", Value::Null);
    r.timestamp = Some(1_483_425_001_864);
    assert_eq!(t.apply(r).expect("applies").expect("kept").topic, "2017-01-03T06_t_t");
    let e = (TIMESTAMP_ROUTER.factory)().configure(&props(&[("timestamp.format", "yyyy-qq")])).expect_err("bad");
    assert!(e.message().starts_with("Invalid value yyyy-qq for configuration timestamp.format:"), "{}", e.message());
}
