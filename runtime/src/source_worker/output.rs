//! Where a source record goes: converted for a Kafka producer, or appended to an embedded
//! topic (converted bytes, or the record's own data with `embedded.converters.skip=true`).

use aqueduct_sdk::{ConnectError, RecordMetadata, Result, SourceRecord};
use futures::channel::oneshot;
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};

use super::SourceWorker;
use crate::converter::header_error;
use crate::dead_letter::Stage;
use crate::embedded::Payload;
use crate::status::Target;

/// Converted key, value and headers of a record, for Kafka.
pub(super) type Encoded = (Option<Vec<u8>>, Option<Vec<u8>>, Option<OwnedHeaders>);

/// A record ready for its transport.
pub(super) enum Outgoing {
    /// For the Kafka producer.
    Kafka(Encoded),
    /// For an embedded topic; `key` is the converted key the partitioner hashes.
    Embedded { key: Option<Vec<u8>>, payload: Payload },
}

impl SourceWorker {
    /// Converts a record for the task's transport, its headers first, then its key and value
    /// (Kafka Connect's order); a failure names the converter stage.
    pub(super) fn encode(&self, record: &SourceRecord) -> std::result::Result<Outgoing, (Stage, ConnectError)> {
        let setup = &self.setup;
        let topic = &record.topic;
        if self.bus.as_ref().is_some_and(|b| b.settings().skip_converters) {
            // The key is still converted for the partitioner, so keys land where Kafka's would.
            let key = setup.key_converter.encode(topic, record.key_schema.as_ref(), &record.key).ok().flatten();
            let payload = Payload::Data {
                key_schema: record.key_schema.clone(),
                key: record.key.clone(),
                value_schema: record.value_schema.clone(),
                value: record.value.clone(),
                headers: record.headers.clone(),
            };
            return Ok(Outgoing::Embedded { key, payload });
        }
        let headers = record
            .headers
            .iter()
            .map(|h| {
                let bytes = setup.header_converter.encode(topic, h.schema.as_ref(), &h.value);
                let bytes = bytes.map_err(|e| (Stage::HeaderConverter, header_error(&h.key, e)))?;
                Ok((h.key.clone(), bytes))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let key = setup.key_converter.encode(topic, record.key_schema.as_ref(), &record.key);
        let key = key.map_err(|e| (Stage::KeyConverter, e))?;
        let value = setup.value_converter.encode(topic, record.value_schema.as_ref(), &record.value);
        let value = value.map_err(|e| (Stage::ValueConverter, e))?;
        if self.bus.is_some() {
            return Ok(Outgoing::Embedded { key: key.clone(), payload: Payload::Bytes { key, value, headers } });
        }
        if headers.is_empty() {
            return Ok(Outgoing::Kafka((key, value, None)));
        }
        let owned = headers.iter().fold(OwnedHeaders::new_with_capacity(headers.len()), |hs, (k, v)| {
            hs.insert(KafkaHeader { key: k, value: v.as_deref() })
        });
        Ok(Outgoing::Kafka((key, value, Some(owned))))
    }

    /// Appends a record to its embedded topic, waiting while the topic is full (acks that
    /// arrive meanwhile are stored every `offset.flush.interval.ms`); `None` when shutdown is
    /// asked for while waiting.
    pub(super) async fn send_embedded(
        &mut self,
        record: &SourceRecord,
        key: Option<Vec<u8>>,
        payload: Payload,
    ) -> Result<Option<oneshot::Receiver<RecordMetadata>>> {
        let Some(bus) = self.bus.clone() else { return Ok(None) };
        let mut payload = Some(payload);
        loop {
            let waited = {
                let send =
                    bus.send(&record.topic, record.kafka_partition, key.as_deref(), record.timestamp, &mut payload);
                tokio::select! {
                    sent = send => Waited::Sent(sent?),
                    _ = self.setup.control.wait_for(|t| *t == Target::Shutdown) => Waited::Shutdown,
                    _ = tokio::time::sleep(self.setup.flush_interval) => Waited::Tick,
                }
            };
            match waited {
                Waited::Sent(ack) => return Ok(Some(ack)),
                Waited::Shutdown => return Ok(None),
                Waited::Tick => {
                    self.hurry_sinks();
                    self.drain_acks()?;
                    self.deliver_commit_callbacks().await?;
                    self.finish_flush(false).await?;
                    self.start_flush();
                }
            }
        }
    }

    /// Asks the sinks reading this task's topics to commit soon: it waits for their acks.
    pub(super) fn hurry_sinks(&self) {
        if let Some(bus) = &self.bus {
            bus.request_commit(self.known_topics.iter());
        }
    }
}

/// How a wait for room in an embedded topic ended.
enum Waited {
    Sent(oneshot::Receiver<RecordMetadata>),
    Shutdown,
    Tick,
}
