//! FileStreamSource handed over between Kafka Connect and Aqueduct through the shared offset topic.

use std::collections::HashSet;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{reqwest, unique, wait_for};
use crate::kafka::{count, create_topic, read_topic, Record};
use crate::runtimes::{Feeder, Running, Runtime};

/// Lines already in the file when the first runtime starts.
const INITIAL: usize = 200;
/// The first runtime is stopped once this many lines are in the topic.
const STOP_AT: i64 = 1_500;
/// The second runtime must copy at least this many lines before the file stops growing.
const SECOND_AT_LEAST: i64 = 1_000;
/// Lines appended per step (every 10 ms) while the file grows; below `batch.size`.
const STEP: usize = 10;

fn line(i: usize) -> String {
    format!("line {i:07} {}", "x".repeat(i % 37))
}

fn append(path: &Path, from: usize, n: usize) {
    let text: String = (from..from + n).map(|i| line(i) + "\n").collect();
    let mut f = fs::OpenOptions::new().create(true).append(true).open(path).expect("open input");
    f.write_all(text.as_bytes()).expect("append input");
}

/// The offset-topic records of `connector`, in the order stored per partition.
pub fn offset_records(offsets_topic: &str, connector: &str) -> Vec<Record> {
    read_topic(offsets_topic)
        .into_iter()
        .filter(|r| {
            let key: Option<Value> = r.key.as_deref().and_then(|k| serde_json::from_slice(k).ok());
            key.as_ref().and_then(|k| k[0].as_str()) == Some(connector)
        })
        .collect()
}

/// `first` copies part of a growing file and is stopped with SIGTERM while the file keeps
/// growing; `second` runs the connector of the same name with the same offset topic and must
/// continue from the stored offset: the topic ends with every line exactly once, in order.
fn source_handover(first: Runtime, second: Runtime) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.txt");
    let name = unique("interop-source");
    let topic = format!("{name}-lines");
    let offsets_topic = format!("{name}-offsets");
    create_topic(&topic, 1);
    append(&input, 0, INITIAL);
    let config = json!({
        "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "tasks.max": "1",
        "file": input.display().to_string(),
        "topic": topic,
        "batch.size": "100",
    });

    // First runtime: the initial lines, then lines appended while it runs; stopped mid-stream.
    let a = Running::start(first, &dir.path().join("first"), &offsets_topic, &name, config.clone());
    wait_for("the initial lines in the topic", Duration::from_secs(30), || {
        (count(&topic) >= INITIAL as i64).then_some(())
    });
    let path = input.clone();
    let feeder = Feeder::spawn(INITIAL, move |next| {
        append(&path, next, STEP);
        STEP
    });
    wait_for(&format!("{STOP_AT} lines in the topic from {first:?}"), Duration::from_secs(60), || {
        (count(&topic) >= STOP_AT).then_some(())
    });
    a.stop();
    let copied_first = count(&topic);
    let stored_first = offset_records(&offsets_topic, &name);
    assert!(!stored_first.is_empty(), "{first:?} stored no offset for {name} in {offsets_topic}");
    println!("{first:?} stopped with {copied_first} lines in the topic");

    // Second runtime: same name, same offset topic.
    let b = Running::start(second, &dir.path().join("second"), &offsets_topic, &name, config);
    wait_for(&format!("{second:?} to copy {SECOND_AT_LEAST} more lines"), Duration::from_secs(60), || {
        (count(&topic) >= copied_first + SECOND_AT_LEAST).then_some(())
    });
    // Stop growing the file only once the second runtime is live: Kafka Connect's FileStreamSource
    // returns a full batch (batch.size) with complete lines still in its read buffer and extracts
    // them only after the file grows again, so lines read from a backlog just before the file
    // stops growing would wait forever. Once at most 3 steps behind, two more steps keep every
    // later poll below batch.size and unblock any such lines.
    wait_for(&format!("{second:?} to catch up with the growing file"), Duration::from_secs(30), || {
        (count(&topic) as usize + 3 * STEP >= feeder.produced()).then_some(())
    });
    let caught_up = feeder.produced();
    wait_for("two more steps", Duration::from_secs(10), || (feeder.produced() >= caught_up + 2 * STEP).then_some(()));
    let total = feeder.finish();
    let size = fs::metadata(&input).expect("input").len();
    let offsets_url = format!("{}/connectors/{name}/offsets", b.url());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = reqwest::blocking_get(&offsets_url).map(|(_, body)| body).unwrap_or_default();
        if body["offsets"][0]["offset"]["position"].as_u64() == Some(size) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{second:?}'s stored position did not reach the end of the file ({size}): {body}; \
             {} lines in the topic, {total} written\n{}",
            count(&topic),
            b.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let expected: Vec<String> = (0..total).map(line).collect();
    wait_for("every line in the topic", Duration::from_secs(30), || (count(&topic) >= total as i64).then_some(()));
    let lines: Vec<String> = read_topic(&topic).iter().map(Record::text).collect();
    let tail = b.log_tail();
    b.stop();

    // Exactly once, in order: no line from the start again, none missing at the switch.
    let distinct: HashSet<&String> = lines.iter().collect();
    let missing = expected.iter().filter(|l| !distinct.contains(l)).count();
    println!(
        "{first:?} -> {second:?}: {} lines in the topic ({copied_first} by the first), {total} written, {missing} missing",
        lines.len()
    );
    assert_eq!(missing, 0, "{missing} lines missing after the handover\n{tail}");
    assert_eq!(lines.len(), total, "{} duplicate lines after the handover\n{tail}", lines.len() - distinct.len());
    assert!(lines == expected, "lines out of order or altered");

    // Both runtimes wrote the same key bytes (`["<name>",{"filename":"<file>"}]`), to the same
    // partition of the offset topic, so compaction and the last-value-wins read see one entry.
    let stored = offset_records(&offsets_topic, &name);
    assert!(stored.len() > stored_first.len(), "{second:?} stored no offset of its own");
    let keys: HashSet<&[u8]> = stored.iter().filter_map(|r| r.key.as_deref()).collect();
    let want_key = serde_json::to_vec(&json!([name, {"filename": input.display().to_string()}])).expect("key");
    assert_eq!(
        keys.into_iter().map(|k| String::from_utf8_lossy(k).into_owned()).collect::<Vec<_>>(),
        [String::from_utf8_lossy(&want_key).into_owned()],
        "offset keys differ between the runtimes"
    );
    let partitions: HashSet<i32> = stored.iter().map(|r| r.partition).collect();
    assert_eq!(partitions.len(), 1, "offset records of one key in several partitions: {partitions:?}");
    let last: Value =
        serde_json::from_slice(stored.last().and_then(|r| r.value.as_deref()).expect("a value")).expect("JSON offset");
    assert_eq!(last, json!({"position": size}));
}

#[test]
fn source_kafka_connect_then_aqueduct() {
    source_handover(Runtime::KafkaConnect, Runtime::Aqueduct);
}

#[test]
fn source_aqueduct_then_kafka_connect() {
    source_handover(Runtime::Aqueduct, Runtime::KafkaConnect);
}
