//! FileStreamSink handed over between Kafka Connect and Aqueduct through the consumer group
//! `connect-<name>`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{read_lines, unique, wait_for};
use crate::kafka::{committed, create_topic, end_offsets, StringProducer};
use crate::runtimes::{Feeder, Running, Runtime};

const PARTITIONS: i32 = 3;
/// The first runtime is stopped once its file has this many lines.
const STOP_AT: usize = 1_500;
/// The second runtime must write at least this many lines before production stops.
const SECOND_AT_LEAST: usize = 1_000;

fn value(i: usize) -> String {
    format!("record {i:07} {}", "y".repeat(i % 29))
}

fn partition_of(i: usize) -> i32 {
    (i % PARTITIONS as usize) as i32
}

/// Parses the index back out of a line written by either sink.
fn index(line: &str) -> usize {
    line.split(' ').nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("unexpected line {line:?}"))
}

/// `first` writes part of a topic that keeps growing to its file and is stopped with SIGTERM;
/// `second` runs the sink of the same name (same consumer group) into another file and must
/// resume from the offsets `first` committed: the two files together hold every record once.
fn sink_handover(first: Runtime, second: Runtime) {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = unique("interop-sink");
    let group = format!("connect-{name}");
    let topic = format!("{name}-records");
    let offsets_topic = format!("{name}-offsets");
    create_topic(&topic, PARTITIONS);
    let out_first = dir.path().join("first.txt");
    let out_second = dir.path().join("second.txt");
    let config = |file: &std::path::Path| {
        json!({
            "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "tasks.max": "1",
            "file": file.display().to_string(),
            "topics": topic,
        })
    };

    // First runtime: consumes while records keep arriving; stopped mid-stream.
    let a = Running::start(first, &dir.path().join("first"), &offsets_topic, &name, config(&out_first));
    let producer = Arc::new(StringProducer::new());
    let feed = producer.clone();
    let feed_topic = topic.clone();
    let feeder = Feeder::spawn(0, move |next| {
        for i in next..next + 10 {
            feed.send(&feed_topic, partition_of(i), &value(i));
        }
        10
    });
    wait_for(&format!("{STOP_AT} lines from {first:?}"), Duration::from_secs(60), || {
        (read_lines(&out_first).len() >= STOP_AT).then_some(())
    });
    a.stop();
    let stopped = Instant::now();
    let written_first = read_lines(&out_first);
    let committed_first: i64 = committed(&group, &topic, PARTITIONS).values().sum();
    println!("{first:?} stopped after writing {} lines; {group} committed {committed_first}", written_first.len());

    // Second runtime: same name, so the same consumer group.
    // Aqueduct's sink consumer is a static group member (`group.instance.id`), which does not leave
    // the group when it stops: a successor with another instance id (Kafka Connect) is assigned
    // the partitions only once that member's session expires (session.timeout.ms, 45 s).
    let b = Running::start(second, &dir.path().join("second"), &offsets_topic, &name, config(&out_second));
    wait_for(&format!("{second:?} to write its first line"), Duration::from_secs(75), || {
        (!read_lines(&out_second).is_empty()).then_some(())
    });
    let handover = stopped.elapsed();
    wait_for(&format!("{SECOND_AT_LEAST} lines from {second:?}"), Duration::from_secs(30), || {
        (read_lines(&out_second).len() >= SECOND_AT_LEAST).then_some(())
    });
    let total = feeder.finish();
    producer.flush();
    let end = end_offsets(&topic);
    wait_for(&format!("{second:?} to commit the end of {topic} {end:?}"), Duration::from_secs(30), || {
        (committed(&group, &topic, PARTITIONS) == end).then_some(())
    });
    let tail = b.log_tail();
    b.stop();

    // The first file did not change after its runtime stopped; together the files hold each record.
    assert_eq!(read_lines(&out_first), written_first);
    let written_second = read_lines(&out_second);
    let all: Vec<usize> = written_first.iter().chain(&written_second).map(|l| index(l)).collect();
    let mut seen: HashMap<usize, usize> = HashMap::new();
    for i in &all {
        *seen.entry(*i).or_default() += 1;
    }
    let missing = (0..total).filter(|i| !seen.contains_key(i)).count();
    let duplicates: Vec<usize> = {
        let mut d: Vec<usize> = seen.iter().filter(|(_, n)| **n > 1).map(|(i, _)| *i).collect();
        d.sort_unstable();
        d
    };
    println!(
        "{first:?} -> {second:?}: {} + {} lines for {total} records, {missing} missing, {} duplicated; \
         the second wrote its first line {:.1} s after the first stopped",
        written_first.len(),
        written_second.len(),
        duplicates.len(),
        handover.as_secs_f64()
    );
    assert_eq!(missing, 0, "{missing} records missing after the handover\n{tail}");
    assert_eq!(all.len(), total, "records written twice: {duplicates:?}\n{tail}");
    assert_eq!(
        committed_first,
        written_first.len() as i64,
        "{first:?} committed offsets that differ from what it wrote"
    );
    // Within each partition, records were written in offset order across both files.
    for p in 0..PARTITIONS {
        let order: Vec<usize> = all.iter().copied().filter(|i| partition_of(*i) == p).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "partition {p} written out of order");
    }
    // Each file holds the matching line text.
    assert!(all.iter().zip(written_first.iter().chain(&written_second)).all(|(i, l)| *l == value(*i)));
}

#[test]
fn sink_kafka_connect_then_aqueduct() {
    sink_handover(Runtime::KafkaConnect, Runtime::Aqueduct);
}

#[test]
fn sink_aqueduct_then_kafka_connect() {
    sink_handover(Runtime::Aqueduct, Runtime::KafkaConnect);
}
