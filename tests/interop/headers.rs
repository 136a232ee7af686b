//! Header bytes in Kafka as Kafka Connect writes them: the same FileStreamSource with the same
//! InsertHeader literals, run by Kafka Connect and by Aqueduct, with the default
//! SimpleHeaderConverter and with the JSON converter as `header.converter`; every header of
//! every record must carry the same bytes from both runtimes.

use std::fs;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{unique, wait_for, Worker};
use crate::connect::KafkaConnect;
use crate::kafka::{count, create_topic, read_topic};

const LINES: usize = 20;

/// Header name and the literal InsertHeader sets: one of each type Values infers.
const LITERALS: [(&str, &str); 9] = [
    ("int8", "5"),
    ("int16", "300"),
    ("float", "1.5"),
    ("flag", "true"),
    ("text", "hello world"),
    ("list", "[1,2,3]"),
    ("map", "{\"a\":1,\"b\":2}"),
    ("date", "2019-08-23"),
    ("timestamp", "2019-08-23T14:34:54.346Z"),
];

fn source(input: &str, topic: &str, header_converter: Option<&str>) -> Value {
    let mut config = json!({
        "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "tasks.max": "1", "file": input, "topic": topic,
        "transforms": LITERALS.map(|(name, _)| name).join(","),
    });
    for (name, literal) in LITERALS {
        config[format!("transforms.{name}.type")] = json!("org.apache.kafka.connect.transforms.InsertHeader");
        config[format!("transforms.{name}.header")] = json!(name);
        config[format!("transforms.{name}.value.literal")] = json!(literal);
    }
    if let Some(class) = header_converter {
        config["header.converter"] = json!(class);
    }
    config
}

/// The headers of the records of `topic`, once it holds every line.
fn headers_of(topic: &str) -> Vec<Vec<(String, Option<Vec<u8>>)>> {
    wait_for(&format!("{LINES} records in {topic}"), Duration::from_secs(60), || {
        (count(topic) >= LINES as i64).then_some(())
    });
    read_topic(topic).into_iter().map(|r| r.headers).collect()
}

#[test]
fn aqueduct_writes_the_header_bytes_kafka_connect_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.txt");
    fs::write(&input, (0..LINES).map(|i| format!("line {i}\n")).collect::<String>()).expect("input");
    let input = input.display().to_string();
    let name = unique("interop-headers");
    let json_converter = Some("org.apache.kafka.connect.json.JsonConverter");
    let topic = |runtime: &str, converter: &str| format!("{name}-{runtime}-{converter}");
    for runtime in ["kc", "aq"] {
        for converter in ["simple", "json"] {
            create_topic(&topic(runtime, converter), 1);
        }
    }

    let mut connect = KafkaConnect::start(&dir.path().join("kc"), &format!("{name}-kc-offsets"));
    connect.create(&format!("{name}-simple"), source(&input, &topic("kc", "simple"), None));
    connect.create(&format!("{name}-json"), source(&input, &topic("kc", "json"), json_converter));
    let string = "org.apache.kafka.connect.storage.StringConverter";
    let worker = Worker::start(
        &dir.path().join("aq"),
        json!({"offset.storage.topic": format!("{name}-aq-offsets"), "key.converter": string, "value.converter": string}),
        &[
            json!({"name": format!("{name}-simple"), "config": source(&input, &topic("aq", "simple"), None)}),
            json!({"name": format!("{name}-json"), "config": source(&input, &topic("aq", "json"), json_converter)}),
        ],
    );

    for converter in ["simple", "json"] {
        let (theirs, ours) = (headers_of(&topic("kc", converter)), headers_of(&topic("aq", converter)));
        assert_eq!(theirs.len(), LINES, "{converter}");
        let text = |headers: &[(String, Option<Vec<u8>>)]| -> Vec<(String, String)> {
            headers
                .iter()
                .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v.as_deref().unwrap_or_default()).into()))
                .collect()
        };
        assert_eq!(theirs[0].len(), LITERALS.len(), "{converter}: {:?}", text(&theirs[0]));
        assert_eq!(text(&ours[0]), text(&theirs[0]), "{converter}: Aqueduct's headers, then Kafka Connect's");
        assert_eq!(ours, theirs, "{converter}: every record");
    }
    drop(worker);
    connect.terminate(Duration::from_secs(30));
}
