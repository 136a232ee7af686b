use std::sync::Arc;

use aqueduct_sdk::{Props, Schema, SchemaType, Struct};

use super::*;

fn config(pairs: &[(&str, &str)]) -> Config {
    let props: Props = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    define(ConfigDef::new()).parse(&props).expect("valid config")
}

fn record(value: Value, timestamp: Option<i64>) -> SinkRecord {
    let mut record = SinkRecord::new("orders", 2, 7, None, value);
    record.timestamp = timestamp;
    record
}

fn order(region: &str, created: i64) -> Value {
    let schema = Schema::struct_builder()
        .field("region", Schema::string())
        .field("vip", Schema::primitive(SchemaType::Boolean))
        .field("created", aqueduct_sdk::logical::timestamp().build())
        .build();
    let s = Struct::new(Arc::clone(&schema))
        .put("region", region)
        .and_then(|s| s.put("vip", true))
        .and_then(|s| s.put("created", Value::Int64(created)))
        .expect("struct");
    Value::Struct(s)
}

// 2024-03-05T07:08:09.010Z
const T: i64 = 1_709_622_489_010;

#[test]
fn default_partitioner_names_the_kafka_partition() {
    let p = Partitioner::from_config(&config(&[])).expect("partitioner");
    assert_eq!(p.encode(&record(Value::Null, None), 0, "/").expect("encodes"), "partition=2");
}

#[test]
fn field_partitioner_joins_fields() {
    let p = Partitioner::from_config(&config(&[
        (PARTITIONER_CLASS, "io.confluent.connect.storage.partitioner.FieldPartitioner"),
        (PARTITION_FIELD_NAME, "region,vip"),
    ]))
    .expect("partitioner");
    assert_eq!(p.encode(&record(order("eu", T), None), 0, "/").expect("encodes"), "region=eu/vip=true");
    let schemaless =
        Value::Map(vec![(Value::from("region"), Value::from("us")), (Value::from("vip"), Value::from(false))]);
    assert_eq!(p.encode(&record(schemaless, None), 0, "/").expect("encodes"), "region=us/vip=false");
    let err = p.encode(&record(Value::Map(vec![]), None), 0, "/").expect_err("refused");
    assert!(err.to_string().contains("'region' is missing"), "{err}");
}

#[test]
fn field_partitioner_needs_fields() {
    let err = Partitioner::from_config(&config(&[(PARTITIONER_CLASS, "FieldPartitioner")])).expect_err("refused");
    assert!(err.to_string().contains(PARTITION_FIELD_NAME), "{err}");
}

#[test]
fn time_based_partitioner_buckets_record_time_in_its_zone() {
    let p = Partitioner::from_config(&config(&[
        (PARTITIONER_CLASS, "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"),
        (PATH_FORMAT, "'dt'=YYYY-MM-dd/'hour'=HH/'min'=mm"),
        (PARTITION_DURATION_MS, "900000"),
        (TIMESTAMP_EXTRACTOR, "RecordField"),
        (TIMESTAMP_FIELD, "created"),
        (TIMEZONE, "Asia/Kolkata"),
        (LOCALE, "en-US"),
    ]))
    .expect("partitioner");
    // 07:08 UTC is 12:38 in Kolkata (+05:30): the 15-minute bucket starts at 12:30.
    assert_eq!(p.encode(&record(order("eu", T), None), 0, "/").expect("encodes"), "dt=2024-03-05/hour=12/min=30");
    assert_eq!(p.record_time(&record(order("eu", T), None), 0), Some(T));
}

#[test]
fn hourly_and_daily_use_record_timestamps() {
    let hourly = Partitioner::from_config(&config(&[
        (PARTITIONER_CLASS, "HourlyPartitioner"),
        (TIMESTAMP_EXTRACTOR, "Record"),
        (TIMEZONE, "UTC"),
        (LOCALE, "en"),
    ]))
    .expect("partitioner");
    assert_eq!(
        hourly.encode(&record(Value::Null, Some(T)), 0, "/").expect("encodes"),
        "year=2024/month=03/day=05/hour=07"
    );
    let err = hourly.encode(&record(Value::Null, None), 0, "/").expect_err("refused");
    assert!(err.to_string().contains("no timestamp"), "{err}");
    let daily = Partitioner::from_config(&config(&[
        (PARTITIONER_CLASS, "DailyPartitioner"),
        (TIMESTAMP_EXTRACTOR, "Wallclock"),
        (TIMEZONE, "UTC"),
        (LOCALE, "en"),
    ]))
    .expect("partitioner");
    assert_eq!(daily.encode(&record(Value::Null, None), T, "/").expect("encodes"), "year=2024/month=03/day=05");
}

#[test]
fn time_based_partitioner_needs_zone_locale_and_pattern() {
    let err = Partitioner::from_config(&config(&[(PARTITIONER_CLASS, "HourlyPartitioner"), (LOCALE, "en")]))
        .expect_err("refused");
    assert!(err.to_string().contains(TIMEZONE), "{err}");
    let err = Partitioner::from_config(&config(&[
        (PARTITIONER_CLASS, "TimeBasedPartitioner"),
        (PARTITION_DURATION_MS, "1000"),
        (TIMEZONE, "UTC"),
        (LOCALE, "en"),
    ]))
    .expect_err("refused");
    assert!(err.to_string().contains(PATH_FORMAT), "{err}");
    let props: Props = [(TIMEZONE.to_owned(), "Mars/Olympus".to_owned())].into();
    let problems = define(ConfigDef::new()).validate(&props);
    assert!(problems.iter().any(|p| p.name == TIMEZONE && !p.errors.is_empty()), "{problems:?}");
}

#[test]
fn scheduled_boundaries_follow_the_zone() {
    // The next hour boundary after 07:08:09 UTC in UTC is 08:00; in Kolkata (+05:30) it is 12:00
    // local time after 12:38, i.e. 13:00 local = 07:30 UTC.
    assert_eq!(next_boundary(T, HOUR_MS, None), 1_709_625_600_000);
    assert_eq!(next_boundary(T, HOUR_MS, Some(chrono_tz::Asia::Kolkata)), 1_709_623_800_000);
}
