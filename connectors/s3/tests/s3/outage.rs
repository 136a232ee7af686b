//! The store goes away mid-upload and comes back (s3s-fs keeps its objects on disk,
//! `scripts/services.sh up s3fs`): the task reports retriable errors, commits nothing past
//! what is stored, and, given the same records again, writes every record exactly once.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use aqueduct_connector_s3::sink::S3SinkTask;
use aqueduct_sdk::{SinkRecord, SinkTask, TopicPartition, TopicPartitionOffsets, Value};

use aqueduct_sdk::testing::RecordingSinkContext;

use crate::common::*;

const S3FS: &str = "http://127.0.0.1:9100";

fn services(action: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/services.sh");
    let status = Command::new("bash").arg(script).args([action, "s3fs"]).status().expect("run services.sh");
    assert!(status.success(), "services.sh {action} s3fs failed");
}

fn blob(offset: i64) -> SinkRecord {
    record("big", 0, offset, None, Value::Bytes(vec![b'a' + (offset % 26) as u8; 200 * 1024]))
}

#[tokio::test]
async fn a_store_restarted_mid_upload_loses_nothing() {
    services("up");
    let bucket = bucket_at(S3FS, "outage").await;
    let props = sink_props_at(
        S3FS,
        &bucket,
        &[
            ("flush.size", "40"),
            ("s3.part.size", "5242880"),
            ("format.class", "io.confluent.connect.s3.format.bytearray.ByteArrayFormat"),
        ],
    );
    let mut task = S3SinkTask::new();
    task.start(Arc::new(RecordingSinkContext::default()), props).await.expect("start");
    task.put(&(0..40).map(blob).collect::<Vec<_>>()).await.expect("first object");
    // 30 records (6 MB): the first part of the second object is up.
    task.put(&(40..70).map(blob).collect::<Vec<_>>()).await.expect("parts of the second object");

    services("down");
    let batch: Vec<SinkRecord> = (70..85).map(blob).collect();
    let err = task.put(&batch).await.expect_err("the store is away");
    assert!(err.is_retriable(), "{err:?}");
    let offsets = TopicPartitionOffsets::from([(TopicPartition::new("big", 0), 85)]);
    let durable = task.pre_commit(&offsets).await;
    assert!(
        durable.as_ref().is_err_and(|e| e.is_retriable())
            || durable.as_ref().is_ok_and(|d| d.values().all(|o| *o <= 40)),
        "{durable:?}"
    );

    services("up");
    // The runtime gives the failed batch again after its backoff.
    task.put(&batch).await.expect("the same batch, once the store is back");
    let durable = task.pre_commit(&offsets).await.expect("pre_commit");
    assert_eq!(durable, TopicPartitionOffsets::from([(TopicPartition::new("big", 0), 80)]));
    let objects = keys_at(S3FS, &bucket, "").await;
    assert_eq!(objects, ["topics/big/partition=0/big+0+0000000000.bin", "topics/big/partition=0/big+0+0000000040.bin"]);
    let mut offset = 0;
    for key in &objects {
        let bytes = get_at(S3FS, &bucket, key).await;
        assert_eq!(bytes.len(), 40 * (200 * 1024 + 1), "{key}");
        for chunk in bytes.chunks(200 * 1024 + 1) {
            assert!(chunk[..200 * 1024].iter().all(|b| *b == b'a' + (offset % 26) as u8), "record {offset} in {key}");
            offset += 1;
        }
    }
    assert_eq!(offset, 80);
}
