//! The acknowledgement bookkeeping: several sink groups on one topic, a slow one, a failing
//! one, no subscriber, a regex subscriber appearing later, tasks splitting partitions.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::{RecordMetadata, TopicPartition, TopicPartitionOffsets};
use futures::channel::oneshot;

use super::*;

fn bus(max_records: usize) -> Arc<Bus> {
    Bus::new(EmbeddedSettings { max_records, skip_converters: false })
}

fn topics(names: &[&str]) -> Subscription {
    Subscription::Topics(names.iter().map(|s| (*s).to_owned()).collect())
}

fn payload(i: usize) -> Payload {
    Payload::Bytes { key: None, value: Some(format!("r{i}").into_bytes()), headers: Vec::new() }
}

async fn send(bus: &Bus, topic: &str, i: usize) -> oneshot::Receiver<RecordMetadata> {
    bus.send(topic, Some(0), None, None, &mut Some(payload(i))).await.expect("sent")
}

fn acked(rx: &mut oneshot::Receiver<RecordMetadata>) -> bool {
    match rx.try_recv() {
        Ok(Some(_)) => true,
        Ok(None) => false,
        Err(_) => panic!("ack dropped"),
    }
}

/// Polls until nothing more comes: the partitions assigned and the offsets read.
fn drain(member: &Member) -> (BTreeSet<TopicPartition>, Vec<(TopicPartition, i64)>) {
    let (mut assigned, mut read) = (BTreeSet::new(), Vec::new());
    loop {
        match member.poll(Duration::from_millis(20), 100) {
            Polled::Assigned(tps) => assigned.extend(tps),
            Polled::Revoked(tps) => member.release(&tps),
            Polled::Records(rs) if rs.is_empty() => return (assigned, read),
            Polled::Records(rs) => read.extend(rs.iter().map(|r| (r.topic_partition(), r.offset))),
        }
    }
}

fn upto(topic: &str, partition: i32, next: i64) -> TopicPartitionOffsets {
    TopicPartitionOffsets::from([(TopicPartition::new(topic, partition), next)])
}

#[tokio::test]
async fn a_record_is_acked_only_when_every_subscribed_sink_committed_it() {
    let bus = bus(100);
    bus.create_topic("t", 1);
    bus.register_group("a", topics(&["t"]));
    bus.register_group("b", topics(&["t"]));
    let (a, b) = (bus.join("a", 0).expect("a"), bus.join("b", 0).expect("b"));
    let mut acks = Vec::new();
    for i in 0..3 {
        acks.push(send(&bus, "t", i).await);
    }
    assert_eq!(drain(&a).1.len(), 3);
    assert_eq!(drain(&b).1.len(), 3);
    a.commit(&upto("t", 0, 3));
    assert!(!acks.iter_mut().any(acked), "b has committed nothing yet");
    b.commit(&upto("t", 0, 2));
    assert!(acked(&mut acks[0]) && acked(&mut acks[1]));
    assert!(!acked(&mut acks[2]), "b committed only up to offset 2");
    assert_eq!(bus.retained("t"), 1);
    b.commit(&upto("t", 0, 3));
    assert!(acked(&mut acks[2]));
    assert_eq!(bus.retained("t"), 0);
    assert_eq!(bus.committed("b"), Some(vec![(TopicPartition::new("t", 0), 3)]));
}

#[tokio::test]
async fn a_slow_sink_holds_the_source_back_within_the_bound() {
    let bus = bus(2);
    bus.create_topic("t", 1);
    bus.register_group("fast", topics(&["t"]));
    bus.register_group("slow", topics(&["t"]));
    let (fast, slow) = (bus.join("fast", 0).expect("fast"), bus.join("slow", 0).expect("slow"));
    let _first = send(&bus, "t", 0).await;
    let _second = send(&bus, "t", 1).await;
    drain(&fast);
    fast.commit(&upto("t", 0, 2));
    assert!(!slow.wants_commit(), "the slow sink read nothing yet");
    let third = tokio::time::timeout(Duration::from_millis(100), send(&bus, "t", 2)).await;
    assert!(third.is_err(), "the topic is full: the source must wait for the slow sink");
    assert_eq!(bus.retained("t"), 2, "never more than embedded.buffer.max.records");
    assert_eq!(drain(&slow).1.len(), 2);
    assert!(slow.wants_commit(), "a full topic asks the sink that read ahead to commit");
    slow.commit(&upto("t", 0, 1));
    let mut third = tokio::time::timeout(Duration::from_secs(1), send(&bus, "t", 2)).await.expect("room again");
    assert!(!acked(&mut third));
    assert_eq!(drain(&fast).1, vec![(TopicPartition::new("t", 0), 2)]);
}

#[tokio::test]
async fn a_failing_sink_holds_acks_until_its_connector_is_deleted() {
    let bus = bus(100);
    bus.create_topic("t", 1);
    bus.register_group("ok", topics(&["t"]));
    bus.register_group("failing", topics(&["t"]));
    let ok = bus.join("ok", 0).expect("ok");
    let failing = bus.join("failing", 0).expect("failing");
    let mut acks = [send(&bus, "t", 0).await, send(&bus, "t", 1).await];
    drain(&ok);
    ok.commit(&upto("t", 0, 2));
    assert_eq!(drain(&failing).1.len(), 2);
    drop(failing); // the task failed before committing
    assert!(!acks.iter_mut().any(acked), "a FAILED sink's records stay unacknowledged");
    // Restarted, the task reads them again from the group's committed position.
    let restarted = bus.join("failing", 0).expect("again");
    let (_, read) = drain(&restarted);
    assert_eq!(read.iter().map(|(_, o)| *o).collect::<Vec<_>>(), vec![0, 1]);
    drop(restarted);
    bus.remove_group("failing");
    assert!(acks.iter_mut().all(acked), "deleting the connector releases its holds");
    assert_eq!(bus.retained("t"), 0);
}

#[tokio::test]
async fn a_record_no_sink_subscribes_to_is_acked_at_once() {
    let bus = bus(1);
    bus.register_group("other", topics(&["elsewhere"]));
    for i in 0..5 {
        let mut ack = send(&bus, "lonely", i).await;
        assert!(acked(&mut ack));
    }
    assert_eq!(bus.retained("lonely"), 0, "nothing kept, so the bound never bites");
}

#[tokio::test]
async fn a_regex_subscriber_holds_topics_as_they_appear() {
    let bus = bus(100);
    let mut before = send(&bus, "orders", 0).await;
    assert!(acked(&mut before), "no subscriber yet");
    bus.register_group("g", Subscription::Regex(regex::Regex::new("^(?:ord.*)$").expect("regex")));
    let member = bus.join("g", 0).expect("member");
    let mut held = send(&bus, "orders", 1).await;
    bus.create_topic("ordinal", 2);
    let mut later = bus.send("ordinal", None, Some(b"k"), None, &mut Some(payload(2))).await.expect("sent");
    let mut ignored = send(&bus, "users", 3).await;
    assert!(acked(&mut ignored), "users does not match");
    let (assigned, read) = drain(&member);
    let expected: BTreeSet<_> =
        [("orders", 0), ("ordinal", 0), ("ordinal", 1)].map(|(t, p)| TopicPartition::new(t, p)).into();
    assert_eq!(assigned, expected);
    assert_eq!(read.len(), 2);
    assert!(!acked(&mut held) && !acked(&mut later));
    let offsets: TopicPartitionOffsets = read.iter().map(|(tp, o)| (tp.clone(), o + 1)).collect();
    member.commit(&offsets);
    assert!(acked(&mut held) && acked(&mut later));
}

#[tokio::test]
async fn tasks_of_a_group_split_partitions_and_take_over_a_leaving_one() {
    let bus = bus(100);
    bus.create_topic("t", 4);
    bus.register_group("g", topics(&["t"]));
    let first = bus.join("g", 0).expect("0");
    let (mine, _) = drain(&first);
    assert_eq!(mine.len(), 4, "alone, it owns every partition");
    let second = bus.join("g", 1).expect("1");
    let (revoked_then, _) = drain(&first);
    assert!(revoked_then.is_empty());
    let (theirs, _) = drain(&second);
    assert_eq!(theirs.len(), 2, "half move to the new task once the first gave them up");
    drop(first);
    let (taken, _) = drain(&second);
    assert_eq!(taken.len(), 2, "the leaving task's partitions move over");
}

#[tokio::test]
async fn a_sink_no_longer_subscribed_releases_its_holds() {
    let bus = bus(100);
    bus.create_topic("t", 1);
    bus.register_group("g", topics(&["t"]));
    let mut ack = send(&bus, "t", 0).await;
    assert!(!acked(&mut ack));
    bus.register_group("g", topics(&["u"]));
    assert!(acked(&mut ack));
}
