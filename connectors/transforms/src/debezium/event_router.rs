//! `io.debezium.transforms.outbox.EventRouter`: the outbox pattern. Each insert into an
//! outbox table becomes one event on the topic of its aggregate type
//! (`outbox.event.<aggregatetype>` by default), keyed by the aggregate id, with the payload
//! column as its value and the event id in the `id` header.
//!
//! As Debezium's: tombstones and deletes are dropped, updates are dropped with a warning (or
//! fail, `table.op.invalid.behavior=fatal`), records that are not change events pass
//! unchanged. Beyond Debezium's, schemaless envelopes (maps) are routed too, with schemaless
//! keys, values and headers.

use std::collections::HashMap;
use std::sync::Arc;

use aqueduct_sdk::{
    ConfigDef, ConnectError, ConnectRecord, Header, Props, Result, Schema, SchemaRef, Struct, Transform, Value,
};

use super::event_router_config::{self, EventRouterConfig, InvalidOperation, Placement};
use super::json_payload::JsonExpander;
use super::util::{get_string, is_envelope_schema, is_schemaless_envelope, java_string};
use crate::kafka::util::{java_class, no_such_field};

/// The transform; configure it before use.
#[derive(Debug, Default)]
pub struct EventRouter {
    config: Option<Arc<EventRouterConfig>>,
    /// Value schemas by (payload schema, routed-by value, version).
    value_schemas: HashMap<(usize, String, Option<i32>), (SchemaRef, SchemaRef)>,
}

/// Debezium's value schema name: the row schema's name with the routed-by value inserted
/// before its last part (`srv.public.outbox.Value` -> `srv.public.outbox.order.Value`).
fn schema_name(row_schema_name: Option<&str>, routed: &str) -> String {
    match row_schema_name {
        Some(name) => match name.rfind('.') {
            Some(dot) => format!("{}{routed}.{}", &name[..=dot], &name[dot + 1..]),
            None => format!("{routed}.{name}"),
        },
        None => routed.to_owned(),
    }
}

/// The record timestamp from an outbox column, by its logical type.
fn timestamp_from(
    field: &str,
    row: &Value,
    row_schema: Option<&SchemaRef>,
    envelope_ts: Option<i64>,
) -> Result<Option<i64>> {
    let schema = match row_schema {
        Some(s) => Some(
            s.field(field)
                .ok_or_else(|| ConnectError::data(format!("Unable to find timestamp field {field} in event")))?,
        ),
        None => None,
    };
    if schema.is_some_and(|f| f.schema.schema_type != aqueduct_sdk::SchemaType::Int64) {
        return Err(ConnectError::data(format!("Field '{field}' is not of type INT64")));
    }
    let Some(ts) = row.field(field).and_then(Value::as_i64) else { return Ok(envelope_ts) };
    let Some(schema) = schema else { return Ok(Some(ts)) };
    match schema.schema.name.as_deref() {
        Some("org.apache.kafka.connect.data.Timestamp" | "io.debezium.time.Timestamp") => Ok(Some(ts)),
        Some("io.debezium.time.MicroTimestamp") => Ok(Some(ts / 1_000)),
        Some("io.debezium.time.NanoTimestamp") => Ok(Some(ts / 1_000_000)),
        Some(other) => Err(ConnectError::data(format!("Unsupported field type {other} for event timestamp"))),
        None => Err(ConnectError::data(format!(
            "Unsupported field type {} (without logical schema name) for event timestamp",
            schema.schema.schema_type.name().to_uppercase()
        ))),
    }
}

impl EventRouter {
    fn config(&self) -> Result<Arc<EventRouterConfig>> {
        self.config.clone().ok_or_else(|| ConnectError::fatal("EventRouter used before configure"))
    }

    fn value_schema(
        &mut self,
        payload: &SchemaRef,
        row: &SchemaRef,
        routed: &str,
        version: Option<i32>,
    ) -> Result<SchemaRef> {
        let config = self.config()?;
        let key = (Arc::as_ptr(payload) as usize, routed.to_owned(), version);
        if let Some((cached_payload, schema)) = self.value_schemas.get(&key) {
            if Arc::ptr_eq(cached_payload, payload) {
                return Ok(schema.clone());
            }
        }
        let mut builder =
            Schema::struct_builder().name(schema_name(row.name.as_deref(), routed)).field("payload", payload.clone());
        if let Some(v) = version {
            builder = builder.version(v);
        }
        for extra in config.additional.iter().filter(|f| f.placement == Placement::Envelope) {
            match row.field(&extra.field) {
                Some(f) => builder = builder.field(extra.alias.clone(), f.schema.clone()),
                None if config.ignore_missing_additional => {}
                None => return Err(ConnectError::data(format!("Unable to find field {} in event", extra.field))),
            }
        }
        let schema = builder.build();
        if self.value_schemas.len() >= 10_000 {
            self.value_schemas.clear();
        }
        self.value_schemas.insert(key, (payload.clone(), schema.clone()));
        Ok(schema)
    }

    fn route(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let config = self.config()?;
        let row_schema = record.value_schema.as_ref().and_then(|s| s.field("after")).map(|f| f.schema.clone());
        let row = record.value.field("after").cloned().unwrap_or(Value::Null);
        if !matches!(row, Value::Struct(_) | Value::Map(_)) {
            return Err(ConnectError::data(format!(
                "Only Struct objects supported for [Read Outbox Event], found: {}",
                java_class(&row)
            )));
        }
        let field_schema = |name: &str| row_schema.as_ref().and_then(|s| s.field(name)).map(|f| f.schema.clone());
        let has_field = |name: &str| match &row_schema {
            Some(s) => s.field(name).is_some(),
            None => row.field(name).is_some(),
        };
        if !has_field(&config.field_payload) {
            return Err(ConnectError::data(format!("Unable to find payload field {} in event", config.field_payload)));
        }
        let mut payload_schema = field_schema(&config.field_payload);
        let envelope_ts = record.value.field("ts_ms").and_then(Value::as_i64);
        let timestamp = match &config.field_event_timestamp {
            Some(field) => timestamp_from(field, &row, row_schema.as_ref(), envelope_ts)?,
            None => envelope_ts,
        };
        let mut payload = row.field(&config.field_payload).cloned().unwrap_or(Value::Null);
        if !has_field(&config.field_event_id) {
            // Debezium reads the value first, so a missing column fails as `Struct.get` does.
            return Err(no_such_field(&config.field_event_id));
        }
        let event_id = row.field(&config.field_event_id).cloned().unwrap_or(Value::Null);
        let mut headers = record.headers.clone();
        headers.push(Header {
            key: "id".into(),
            schema: field_schema(&config.field_event_id),
            value: event_id.clone(),
        });

        if config.expand_json_payload {
            match &payload {
                Value::String(text) => {
                    let expander =
                        JsonExpander { null_as_bytes: config.json_null_as_bytes, names: config.field_name_adjustment };
                    match expander.expand(&config.field_payload, text) {
                        Ok((schema, value)) if record.value_schema.is_some() => {
                            payload_schema = Some(schema);
                            payload = value;
                        }
                        Ok((_, value)) => {
                            payload = match value {
                                Value::Struct(s) => struct_to_map(&s),
                                v => v,
                            };
                        }
                        Err(e) => tracing::warn!("JSON expansion failed: {e}"),
                    }
                }
                Value::Null => {}
                _ => tracing::warn!(
                    "Expand JSON payload is turned on but payload is not a string in {}",
                    java_string(&record.key)
                ),
            }
        }

        let routed = get_string(&row, &config.route_by_field)?
            .ok_or_else(|| {
                ConnectError::data(format!(
                    "Outbox event {} has no {} to route it by",
                    java_string(&event_id),
                    config.route_by_field
                ))
            })?
            .to_owned();
        let version = match &config.field_schema_version {
            Some(field) => match row.field(field) {
                Some(Value::Int32(v)) => Some(*v),
                None if row_schema.is_some() => return Err(no_such_field(field)),
                _ => None,
            },
            None => None,
        };
        let payload_only = config.payload_only();
        let mut envelope_fields: Vec<(String, Value)> = Vec::new();
        let mut partition = None;
        for extra in &config.additional {
            if !has_field(&extra.field) {
                if config.ignore_missing_additional {
                    continue;
                }
                return Err(match extra.placement {
                    Placement::Envelope => ConnectError::data(format!("Unable to find field {} in event", extra.field)),
                    _ => no_such_field(&extra.field),
                });
            }
            let value = row.field(&extra.field).cloned().unwrap_or(Value::Null);
            match extra.placement {
                Placement::Envelope => envelope_fields.push((extra.alias.clone(), value)),
                Placement::Header => {
                    headers.push(Header { key: extra.alias.clone(), schema: field_schema(&extra.field), value })
                }
                Placement::Partition => match value {
                    Value::Int32(p) => partition = Some(p),
                    Value::Null => {}
                    other => {
                        return Err(ConnectError::data(format!(
                            "Field '{}' is not of type INT32: {}",
                            extra.field,
                            java_class(&other)
                        )))
                    }
                },
            }
        }

        let is_delete = match &payload {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            _ => false,
        };
        let (value_schema, value) = if is_delete && config.tombstone_on_empty_payload {
            (None, Value::Null)
        } else if payload_only {
            (payload_schema, payload)
        } else {
            match (&payload_schema, &row_schema) {
                (Some(payload_schema), Some(row_schema)) => {
                    let schema = self.value_schema(payload_schema, row_schema, &routed, version)?;
                    let mut s = Struct::new(schema.clone()).put("payload", payload)?;
                    for (name, value) in envelope_fields {
                        s = s.put(&name, value)?;
                    }
                    (Some(schema), Value::Struct(s))
                }
                _ => {
                    let mut entries = vec![(Value::from("payload"), payload)];
                    entries.extend(envelope_fields.into_iter().map(|(k, v)| (Value::String(k), v)));
                    (None, Value::Map(entries))
                }
            }
        };
        let key_schema = match &row_schema {
            Some(s) => match s.field(&config.field_event_key) {
                Some(f) => Some(f.schema.clone()),
                None => return Err(no_such_field(&config.field_event_key)),
            },
            None => None,
        };
        let key = row.field(&config.field_event_key).cloned().unwrap_or(Value::Null);
        let topic = config.route_replacement.replace_whole(&config.route_regex, &routed).unwrap_or(routed);
        tracing::debug!(
            "Message emitted with event id: \"{}\", event key: \"{}\"",
            java_string(&event_id),
            java_string(&key)
        );
        Ok(Some(ConnectRecord {
            topic,
            kafka_partition: partition,
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            headers,
        }))
    }
}

/// A struct as a string-keyed map (expanded payloads of schemaless events).
fn struct_to_map(s: &Struct) -> Value {
    Value::Map(
        s.iter()
            .map(|(f, v)| {
                let v = match v {
                    Value::Struct(inner) => struct_to_map(inner),
                    Value::Array(items) => Value::Array(
                        items
                            .iter()
                            .map(|i| if let Value::Struct(x) = i { struct_to_map(x) } else { i.clone() })
                            .collect(),
                    ),
                    other => other.clone(),
                };
                (Value::String(f.name.clone()), v)
            })
            .collect(),
    )
}

impl Transform for EventRouter {
    fn config_def(&self) -> ConfigDef {
        event_router_config::config_def()
    }

    fn configure(&mut self, props: &Props) -> Result<()> {
        self.config = Some(Arc::new(EventRouterConfig::parse(props)?));
        self.value_schemas.clear();
        Ok(())
    }

    fn apply(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let config = self.config()?;
        if record.is_tombstone() {
            tracing::debug!("Tombstone message ignored. Message key: \"{:?}\"", record.key);
            return Ok(None);
        }
        let envelope = is_envelope_schema(record.value_schema.as_ref());
        if !envelope && !is_schemaless_envelope(record.value_schema.as_ref(), &record.value) {
            return Ok(Some(record));
        }
        match record.value.field("op").and_then(Value::as_str) {
            Some("d") => {
                tracing::debug!("Delete message {:?} ignored", record.key);
                Ok(None)
            }
            Some("u") => match config.invalid_operation {
                InvalidOperation::Warn => {
                    tracing::warn!("Unexpected update message received {:?} and ignored", record.key);
                    Ok(None)
                }
                InvalidOperation::Error => {
                    tracing::error!("Unexpected update message received {:?} and ignored", record.key);
                    Ok(None)
                }
                InvalidOperation::Fatal => Err(ConnectError::fatal(format!(
                    "Unexpected update message received {}, fail.",
                    java_string(&record.key)
                ))),
            },
            _ => self.route(record),
        }
    }
}

#[cfg(test)]
#[path = "event_router_tests.rs"]
mod tests;
