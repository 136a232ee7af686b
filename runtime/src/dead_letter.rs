//! Bad records: skipped or failed per `errors.tolerance`, logged, and sent to the dead-letter
//! topic (`errors.deadletterqueue.topic.name`) with their own headers and Kafka Connect's
//! error headers after them, and/or to a dead-letter file of JSON lines
//! (`errors.deadletterqueue.file`, see [`crate::embedded::dead_letter_file`]). Sinks report records that fail conversion, a
//! transform, or that the task reports; sources (an Aqueduct extension) records that fail a
//! transform or conversion, with the topic they were bound for (partition and offset -1).

use std::sync::Arc;

use aqueduct_sdk::{ConnectError, ErrantRecordReporter, Result, SinkRecord, SourceRecord};
use async_trait::async_trait;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tracing::warn;

use crate::converter::Converter;
use crate::embedded::dead_letter_file::{DeadLetter, DeadLetterFile};
use crate::kafka::TopicSpec;
use crate::sink_worker::Incoming;
use crate::task_context::TaskSetup;

/// Applies the connector's error-handling keys to records that could not be converted or written.
#[derive(Clone)]
pub struct DeadLetterReporter {
    tolerate_all: bool,
    log: bool,
    log_messages: bool,
    context_headers: bool,
    topic: String,
    replication_factor: i32,
    producer: Option<FutureProducer>,
    file: Option<Arc<DeadLetterFile>>,
    key_converter: Arc<dyn Converter>,
    value_converter: Arc<dyn Converter>,
    header_converter: Arc<dyn Converter>,
    connector: String,
    task: String,
    /// The connector class, named as the stage of `put` failures.
    connector_class: String,
}

/// Where in the pipeline a record failed (Kafka Connect's `__connect.errors.stage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The key converter.
    KeyConverter,
    /// The value converter.
    ValueConverter,
    /// The header converter.
    HeaderConverter,
    /// A transform.
    Transformation,
    /// The sink task's `put` (a record the task reported).
    TaskPut,
}

impl Stage {
    /// Kafka Connect's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::TaskPut => "TASK_PUT",
        }
    }
}

/// Where the failed record came from, and what failed on it.
struct Origin<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    /// The record's timestamp, which its dead-letter record keeps (as Kafka Connect's does).
    timestamp: Option<i64>,
    stage: Stage,
    /// The class of what failed: the converter, the transform, the connector.
    class: &'a str,
}

impl DeadLetterReporter {
    /// The reporter of a task: with a producer when a dead-letter topic is configured (which
    /// needs Kafka: with `transport=embedded`, `bootstrap.servers` must be set).
    pub fn open(setup: &TaskSetup) -> Result<Self> {
        let topic = setup.connector.string("errors.deadletterqueue.topic.name");
        if topic.is_empty() {
            return Self::new(setup, None);
        }
        if setup.clients.embedded().is_some() && !setup.clients.bootstrap_configured() {
            return Err(ConnectError::config(format!(
                "errors.deadletterqueue.topic.name={topic} needs Kafka: with transport=embedded set bootstrap.servers, or use errors.deadletterqueue.file"
            )));
        }
        let producer = setup
            .clients
            .producer_config(&aqueduct_sdk::Props::new())
            .create()
            .map_err(|e| ConnectError::fatal("creating dead-letter producer").with_source(e))?;
        Self::new(setup, Some(producer))
    }

    /// A reporter for the task's connector; `producer` is set when a dead-letter topic is
    /// configured. Opens the dead-letter file when one is configured.
    pub fn new(setup: &TaskSetup, producer: Option<FutureProducer>) -> Result<Self> {
        let c = &setup.connector;
        let file = match c.string("errors.deadletterqueue.file") {
            "" => None,
            path => Some(Arc::new(DeadLetterFile::open(std::path::Path::new(path))?)),
        };
        Ok(DeadLetterReporter {
            tolerate_all: c.tolerate_all(),
            log: c.boolean("errors.log.enable"),
            log_messages: c.boolean("errors.log.include.messages"),
            context_headers: c.boolean("errors.deadletterqueue.context.headers.enable"),
            topic: c.string("errors.deadletterqueue.topic.name").to_owned(),
            replication_factor: c.long("errors.deadletterqueue.topic.replication.factor") as i32,
            producer,
            file,
            connector: setup.name().to_owned(),
            task: setup.task_id.to_string(),
            connector_class: c.string("connector.class").to_owned(),
            key_converter: setup.key_converter.clone(),
            value_converter: setup.value_converter.clone(),
            header_converter: setup.header_converter.clone(),
        })
    }

    /// The dead-letter topic to create before the task starts consuming, if one is configured.
    pub fn topic_spec(&self) -> Option<TopicSpec> {
        self.producer.as_ref().map(|_| TopicSpec {
            name: self.topic.clone(),
            partitions: 1,
            replication_factor: self.replication_factor,
            configs: Vec::new(),
        })
    }

    /// Handles a polled source record that failed a transform or conversion: an error unless
    /// tolerated. Its key and value are converted when they can be.
    pub(crate) async fn report_source(
        &self,
        record: &SourceRecord,
        stage: Stage,
        class: &str,
        error: ConnectError,
    ) -> Result<()> {
        let key = self.key_converter.encode(&record.topic, record.key_schema.as_ref(), &record.key).unwrap_or(None);
        let value =
            self.value_converter.encode(&record.topic, record.value_schema.as_ref(), &record.value).unwrap_or(None);
        let headers = self.encode_headers(&record.topic, &record.headers);
        let partition = record.kafka_partition.unwrap_or(-1);
        let origin = Origin { topic: &record.topic, partition, offset: -1, timestamp: record.timestamp, stage, class };
        self.handle(&origin, key.as_deref(), value.as_deref(), &borrowed(&headers), error).await
    }

    /// The headers converted as the task converts them; one that does not convert is left out.
    fn encode_headers(&self, topic: &str, headers: &[aqueduct_sdk::Header]) -> Vec<(String, Option<Vec<u8>>)> {
        let encode = |h: &aqueduct_sdk::Header| self.header_converter.encode(topic, h.schema.as_ref(), &h.value);
        headers.iter().filter_map(|h| encode(h).ok().map(|bytes| (h.key.clone(), bytes))).collect()
    }

    /// Handles a consumed message that failed conversion: an error unless tolerated.
    pub(crate) async fn report_raw(
        &self,
        message: &dyn Incoming,
        stage: Stage,
        class: &str,
        error: ConnectError,
    ) -> Result<()> {
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        let timestamp = message.timestamp().0;
        let origin = Origin { topic, partition, offset, timestamp, stage, class };
        self.handle(&origin, message.key(), message.payload(), &message.headers(), error).await
    }

    async fn handle(
        &self,
        origin: &Origin<'_>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
        error: ConnectError,
    ) -> Result<()> {
        if !self.tolerate_all {
            return Err(ConnectError::new(
                error.kind(),
                format!(
                    "record {}-{}@{} failed and errors.tolerance=none",
                    origin.topic, origin.partition, origin.offset
                ),
            )
            .with_source(error));
        }
        if self.log {
            if self.log_messages {
                warn!(topic = origin.topic, partition = origin.partition, offset = origin.offset, error = %error, "skipping record (errors.tolerance=all)");
            } else {
                warn!(error = %error, "skipping record (errors.tolerance=all)");
            }
        }
        if let Some(file) = &self.file {
            let (topic, partition, offset) = (origin.topic, origin.partition, origin.offset);
            file.write(&DeadLetter { topic, partition, offset, key, value, error: &error })?;
        }
        let Some(producer) = &self.producer else { return Ok(()) };
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(v) = value {
            record = record.payload(v);
        }
        if let Some(t) = origin.timestamp {
            record = record.timestamp(t);
        }
        // The record's own headers, then the error context, as Kafka Connect writes them.
        let mut all = headers.iter().fold(OwnedHeaders::new_with_capacity(headers.len()), |h, (key, value)| {
            h.insert(Header { key, value: *value })
        });
        if self.context_headers {
            let partition = origin.partition.to_string();
            let offset = origin.offset.to_string();
            let message = error.to_string();
            let trace = error.trace();
            let headers = [
                ("__connect.errors.topic", origin.topic),
                ("__connect.errors.partition", partition.as_str()),
                ("__connect.errors.offset", offset.as_str()),
                ("__connect.errors.connector.name", self.connector.as_str()),
                ("__connect.errors.task.id", self.task.as_str()),
                ("__connect.errors.stage", origin.stage.name()),
                ("__connect.errors.class.name", origin.class),
                ("__connect.errors.exception.class.name", error.kind().code()),
                ("__connect.errors.exception.message", message.as_str()),
                ("__connect.errors.exception.stacktrace", trace.as_str()),
            ]
            .into_iter();
            all = headers.fold(all, |h, (k, v)| h.insert(Header { key: k, value: Some(v) }));
        }
        if !headers.is_empty() || self.context_headers {
            record = record.headers(all);
        }
        let delivery = producer.send_result(record).map_err(|(e, _)| {
            ConnectError::retriable(format!("queueing to dead-letter topic {}", self.topic)).with_source(e)
        })?;
        match delivery.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((e, _))) => {
                Err(ConnectError::fatal(format!("writing to dead-letter topic {}", self.topic)).with_source(e))
            }
            Err(_) => Err(ConnectError::fatal(format!("writing to dead-letter topic {}: producer closed", self.topic))),
        }
    }
}

#[async_trait]
impl ErrantRecordReporter for DeadLetterReporter {
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> Result<()> {
        let key = self.key_converter.encode(&record.topic, record.key_schema.as_ref(), &record.key).unwrap_or(None);
        let value =
            self.value_converter.encode(&record.topic, record.value_schema.as_ref(), &record.value).unwrap_or(None);
        let headers = self.encode_headers(&record.topic, &record.headers);
        let origin = Origin {
            topic: &record.topic,
            partition: record.kafka_partition,
            offset: record.kafka_offset,
            timestamp: record.timestamp,
            stage: Stage::TaskPut,
            class: &self.connector_class,
        };
        let copy = ConnectError::new(error.kind(), error.trace());
        self.handle(&origin, key.as_deref(), value.as_deref(), &borrowed(&headers), copy).await
    }
}

/// Converted headers as borrowed keys and bytes.
fn borrowed(headers: &[(String, Option<Vec<u8>>)]) -> Vec<(&str, Option<&[u8]>)> {
    headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect()
}
