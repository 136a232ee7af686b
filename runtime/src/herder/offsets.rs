//! The offsets endpoints (KIP-875): reading, altering and resetting a connector's source
//! offsets or sink consumer-group offsets, and where a source connector's offsets live.

use std::sync::Arc;

use aqueduct_sdk::ConnectError;
use serde_json::{json, Value as Json};

use super::{HResult, Herder, HerderError, TargetState, Worker};
use crate::connector_config::ConnectorConfig;
use crate::embedded::{self, Bus};
use crate::kafka::TopicSpec;
use crate::offsets::{LayeredOffsetStore, OffsetStore, TopicOffsetStore};
use crate::sink_offsets;

impl Herder {
    /// The connector's offsets in KIP-875's shape.
    pub async fn offsets(&self, name: &str) -> HResult<Json> {
        let (kind, config) = {
            let connectors = self.connectors.lock().await;
            let entry = connectors.get(name).ok_or_else(|| HerderError::not_found(name))?;
            (entry.kind(), self.validate(&entry.props)?.1)
        };
        read_offsets(&self.worker, name, kind, &config).await
    }

    /// Alters (`Some`) or resets (`None`) offsets; the connector must be STOPPED.
    pub async fn change_offsets(&self, name: &str, offsets: Option<Json>) -> HResult<Json> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| HerderError::not_found(name))?;
        let config = self.validate(&entry.props)?.1;
        write_offsets(&self.worker, name, entry.target, entry.kind(), &config, offsets).await
    }
}

/// A connector's offsets in KIP-875's shape, read to the end of their topic first (another
/// worker of a group may have written them): a source connector's from its offset store, a
/// sink connector's from its consumer group. Both herders answer with this.
pub(crate) async fn read_offsets(worker: &Worker, name: &str, kind: &str, config: &ConnectorConfig) -> HResult<Json> {
    let offsets: Vec<Json> = if kind == "source" {
        let store = connector_store(worker, config).await.map_err(|e| HerderError::new(500, e.to_string()))?;
        store.refresh().await.map_err(|e| HerderError::new(500, format!("reading source offsets: {e:#}")))?;
        store.all(name).into_iter().map(|(p, o)| json!({"partition": p, "offset": o})).collect()
    } else if let Some(bus) = worker.clients.embedded() {
        embedded_sink_offsets(bus, name)
    } else {
        sink_offsets::read(&worker.clients, config).await.map_err(|e| HerderError::new(500, format!("{e:#}")))?
    };
    Ok(json!({ "offsets": offsets }))
}

/// Alters (`Some`) or resets (`None`) a connector's offsets; `target` must be STOPPED. Both
/// herders answer with this.
pub(crate) async fn write_offsets(
    worker: &Worker,
    name: &str,
    target: TargetState,
    kind: &str,
    config: &ConnectorConfig,
    offsets: Option<Json>,
) -> HResult<Json> {
    if target != TargetState::Stopped {
        return Err(HerderError::new(400, format!(
            "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
        )));
    }
    if kind != "source" && worker.clients.embedded().is_some() {
        return Err(HerderError::new(400, format!(
            "With transport=embedded the offsets of sink connector {name} live in memory, start from the oldest record held when the worker starts, and cannot be altered or reset; change the source connector's offsets instead"
        )));
    }
    let store = match kind {
        "source" => {
            let store = connector_store(worker, config).await.map_err(|e| HerderError::new(500, e.to_string()))?;
            store.refresh().await.map_err(|e| HerderError::new(500, format!("reading source offsets: {e:#}")))?;
            Some(store)
        }
        _ => None,
    };
    let reset = offsets.is_none();
    let entries = match (offsets, &store) {
        (Some(body), _) => parse_offsets_body(&body)?,
        (None, Some(store)) => store.all(name).into_iter().map(|(p, _)| (p, Json::Null)).collect(),
        (None, None) => Vec::new(),
    };
    let result = if let Some(store) = store {
        let mut writes = Vec::new();
        for (partition, offset) in entries {
            let offset = match offset {
                Json::Null => None,
                Json::Object(o) => Some(o),
                other => return Err(HerderError::new(400, format!("offset must be an object or null, got {other}"))),
            };
            writes.push((partition, offset));
        }
        store.write(name, writes).await
    } else if reset {
        sink_offsets::reset(&worker.clients, config).await
    } else {
        sink_offsets::alter(&worker.clients, config, entries).await.map_err(|e| e.context("altering sink offsets"))
    };
    result.map_err(|e| HerderError::new(400, format!("{e:#}")))?;
    let message = if reset { "reset" } else { "altered" };
    Ok(json!({"message": format!("The offsets for this connector have been {message} successfully")}))
}

/// The offsets of a source connector: its own topic (`offsets.storage.topic`) over the
/// worker's store when it names one, else the worker's store.
pub(super) async fn connector_store(
    worker: &Worker,
    config: &ConnectorConfig,
) -> aqueduct_sdk::Result<Arc<dyn OffsetStore>> {
    let topic = config.string("offsets.storage.topic");
    if !topic.is_empty() && worker.clients.embedded().is_some() {
        return Err(ConnectError::config(format!(
            "offsets.storage.topic={topic} needs Kafka: with transport=embedded source offsets are kept in offset.storage.file.filename"
        )));
    }
    if topic.is_empty() || (topic == worker.config.string("offset.storage.topic") && worker.store.topic().is_some()) {
        return Ok(worker.store.clone());
    }
    let spec = TopicSpec::compacted(
        topic,
        worker.config.long("offset.storage.partitions") as i32,
        worker.config.long("offset.storage.replication.factor") as i32,
    );
    let primary = TopicOffsetStore::open(&worker.clients, spec)
        .await
        .map_err(|e| ConnectError::retriable(format!("opening the connector's offsets topic {topic}: {e:#}")))?;
    Ok(Arc::new(LayeredOffsetStore::new(primary, worker.store.clone())))
}

fn parse_offsets_body(body: &Json) -> HResult<Vec<(aqueduct_sdk::OffsetMap, Json)>> {
    let bad = |m: &str| HerderError::new(400, m.to_owned());
    let list = body
        .get("offsets")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("The request body must contain an \"offsets\" array"))?;
    list.iter()
        .map(|item| {
            let partition = item
                .get("partition")
                .and_then(Json::as_object)
                .ok_or_else(|| bad("Each offset must have a \"partition\" object"))?;
            Ok((partition.clone(), item.get("offset").cloned().unwrap_or(Json::Null)))
        })
        .collect()
}

/// A sink connector's committed positions on the embedded transport, in KIP-875's shape
/// (empty before its first commit in this process).
fn embedded_sink_offsets(bus: &Bus, name: &str) -> Vec<Json> {
    bus.committed(&embedded::group_of(name))
        .unwrap_or_default()
        .into_iter()
        .map(|(tp, offset)| {
            json!({"partition": {"kafka_topic": tp.topic, "kafka_partition": tp.partition}, "offset": {"kafka_offset": offset}})
        })
        .collect()
}
