//! Shared pieces of the S3 tests: the moto server (`scripts/services.sh up s3`), buckets, objects,
//! properties and records (test doubles come from `aqueduct_sdk::testing`).

use aqueduct_sdk::{Props, SchemaRef, SinkRecord, Value};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::Client;

/// The S3 endpoint the tests use.
pub fn endpoint() -> String {
    std::env::var("AQUEDUCT_S3_URL").unwrap_or_else(|_| "http://127.0.0.1:9000".to_owned())
}

/// A client of `endpoint`.
pub fn client(endpoint: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    Client::from_conf(config)
}

/// A fresh bucket on `endpoint`.
pub async fn bucket_at(endpoint: &str, prefix: &str) -> String {
    let name = format!("{prefix}-{}-{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    client(endpoint).create_bucket().bucket(&name).send().await.expect("create bucket (is the S3 server up?)");
    name
}

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A fresh bucket on moto.
pub async fn bucket(prefix: &str) -> String {
    bucket_at(&endpoint(), prefix).await
}

/// Every key under `prefix`, sorted.
pub async fn keys_at(endpoint: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let out = client(endpoint)
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .expect("list");
        keys.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        match out.next_continuation_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    keys.sort();
    keys
}

/// Every key under `prefix` on moto, sorted.
pub async fn keys(bucket: &str, prefix: &str) -> Vec<String> {
    keys_at(&endpoint(), bucket, prefix).await
}

/// An object's bytes.
pub async fn get_at(endpoint: &str, bucket: &str, key: &str) -> Vec<u8> {
    let out = client(endpoint).get_object().bucket(bucket).key(key).send().await.expect("get object");
    out.body.collect().await.expect("body").into_bytes().to_vec()
}

/// An object's bytes on moto.
pub async fn get(bucket: &str, key: &str) -> Vec<u8> {
    get_at(&endpoint(), bucket, key).await
}

/// An object's lines on moto.
pub async fn lines(bucket: &str, key: &str) -> Vec<String> {
    String::from_utf8(get(bucket, key).await).expect("utf8").lines().map(str::to_owned).collect()
}

/// Sink properties for `bucket` on `endpoint`, JSON format, plus `extra`.
pub fn sink_props_at(endpoint: &str, bucket: &str, extra: &[(&str, &str)]) -> Props {
    let mut props: Props = [
        ("name", "s3-test"),
        ("connector.class", "io.confluent.connect.s3.S3SinkConnector"),
        ("s3.bucket.name", bucket),
        ("s3.region", "us-east-1"),
        ("store.url", endpoint),
        ("aws.access.key.id", "test"),
        ("aws.secret.access.key", "test"),
        ("format.class", "io.confluent.connect.s3.format.json.JsonFormat"),
        ("flush.size", "3"),
        ("s3.part.retries", "1"),
        ("s3.retry.backoff.ms", "50"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    props.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    props
}

/// Sink properties for `bucket` on moto.
pub fn sink_props(bucket: &str, extra: &[(&str, &str)]) -> Props {
    sink_props_at(&endpoint(), bucket, extra)
}

/// A record of `topic`-`partition` at `offset`, timestamps one second apart.
pub fn record(topic: &str, partition: i32, offset: i64, schema: Option<SchemaRef>, value: Value) -> SinkRecord {
    SinkRecord::new(topic, partition, offset, schema, value).with_timestamp(1_700_000_000_000 + offset * 1000)
}

/// A schemaless `{"n": offset}` record.
pub fn numbered(topic: &str, partition: i32, offset: i64) -> SinkRecord {
    record(topic, partition, offset, None, Value::Map(vec![(Value::from("n"), Value::Int64(offset))]))
}
