//! Heartbeats, as the MongoDB connector's `heartbeat.interval.ms`: when the change stream's
//! resume token (the server's `postBatchResumeToken`) moved past events that produced no record,
//! or with no events at all, a record to `heartbeat.topic.name` carries it in its offset, so the
//! runtime stores it once Kafka acknowledged the record and a restart resumes from there.
//!
//! Shape (the MongoDB connector's): key = the resume token as JSON text (string schema), value =
//! null (optional bytes schema), offset = `{"_id": <token JSON>, "HEARTBEAT": "true"}`.

use std::time::{Duration, Instant};

use aqueduct_sdk::{OffsetMap, Schema, SchemaType, SourceRecord, Value};
use mongodb::bson::Document;

use crate::extjson::{self, JsonFormat};
use crate::source::config::SourceConfig;
use crate::source::records::offset;

/// The source offset key marking a heartbeat, as in the MongoDB connector.
pub const HEARTBEAT_FIELD: &str = "HEARTBEAT";

/// When a heartbeat is due, and what it says.
pub struct Heartbeat {
    interval: Option<Duration>,
    topic: String,
    partition: OffsetMap,
    last_check: Instant,
    /// The resume token (JSON text) of the last record sent, an event's or a heartbeat's.
    last_sent: Option<String>,
}

impl Heartbeat {
    /// Heartbeats of `partition` as configured (`heartbeat.interval.ms` 0: never).
    pub fn new(config: &SourceConfig, partition: OffsetMap) -> Self {
        Heartbeat {
            interval: config.heartbeat_interval,
            topic: config.heartbeat_topic.clone(),
            partition,
            last_check: Instant::now(),
            last_sent: None,
        }
    }

    /// Records whose offset carries `token` were sent.
    pub fn sent(&mut self, token: &Document) {
        self.last_sent = Some(extjson::document_to_string(token, JsonFormat::Relaxed));
    }

    /// A heartbeat whose offset is `token` marked as the resume point of a copy in progress
    /// (`copy`): sent before a fresh copy, so that point is stored before any copied document.
    pub fn copy_marker(&self, token: &Document) -> SourceRecord {
        self.record(token, true)
    }

    fn record(&self, token: &Document, copying: bool) -> SourceRecord {
        let text = extjson::document_to_string(token, JsonFormat::Relaxed);
        let mut offset = offset(token, copying);
        offset.insert(HEARTBEAT_FIELD.into(), serde_json::Value::String("true".into()));
        SourceRecord::new(self.partition.clone(), offset, self.topic.clone(), Value::Null)
            .with_key(Some(Schema::string()), Value::String(text))
            .with_value_schema(Schema::optional(SchemaType::Bytes))
    }

    /// A heartbeat carrying `token`, when the interval has passed since the last check and no
    /// record sent since carries that token.
    pub fn due(&mut self, token: &Document) -> Option<SourceRecord> {
        let interval = self.interval?;
        if self.last_check.elapsed() < interval {
            return None;
        }
        self.last_check = Instant::now();
        let text = extjson::document_to_string(token, JsonFormat::Relaxed);
        if self.last_sent.as_ref() == Some(&text) {
            return None;
        }
        self.last_sent = Some(text);
        Some(self.record(token, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::{offset_map, Props};
    use mongodb::bson::doc;

    fn heartbeat(interval_ms: &str) -> Heartbeat {
        let props: Props = [("heartbeat.interval.ms".to_owned(), interval_ms.to_owned())].into_iter().collect();
        let config = SourceConfig::parse(&props).expect("config");
        Heartbeat::new(&config, offset_map([("ns", serde_json::json!("p"))]))
    }

    #[test]
    fn only_when_the_token_moved_without_a_record() {
        let (a, b) = (doc! {"_data": "01"}, doc! {"_data": "02"});
        let mut hb = heartbeat("1");
        std::thread::sleep(Duration::from_millis(2));
        let record = hb.due(&a).expect("a first heartbeat");
        assert_eq!(record.topic, "__mongodb_heartbeats");
        assert_eq!(record.key, Value::String(r#"{"_data":"01"}"#.into()));
        assert_eq!(record.source_offset["_id"], r#"{"_data":"01"}"#);
        assert_eq!(record.source_offset[HEARTBEAT_FIELD], "true");
        assert!(record.value.is_null());
        std::thread::sleep(Duration::from_millis(2));
        assert!(hb.due(&a).is_none(), "the same token again");
        hb.sent(&b);
        std::thread::sleep(Duration::from_millis(2));
        assert!(hb.due(&b).is_none(), "an event record already carries it");
        assert!(heartbeat("0").due(&a).is_none(), "off");
        assert!(heartbeat("60000").due(&a).is_none(), "not yet");
    }
}
