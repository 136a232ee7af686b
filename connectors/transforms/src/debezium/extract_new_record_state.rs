//! `io.debezium.transforms.ExtractNewRecordState`: replaces a Debezium change event by the
//! row it carries (`after`; `before` for rewritten deletes), with optional metadata fields and
//! headers, per `delete.tombstone.handling.mode`.
//!
//! As Debezium's: a record whose value schema is not named `*.Envelope` passes unchanged;
//! tombstones are dropped except in `rewrite-with-tombstone`; events with neither image
//! (truncates, MongoDB updates without a full document) are dropped. Beyond Debezium's, a
//! schemaless envelope (a map with `op` and `before`/`after`, as read with
//! `schemas.enable=false`) is unwrapped the same way, and a delete without a `before` image
//! (a MongoDB delete without pre-images) is handled as a delete rather than dropped.

use std::sync::Arc;

use aqueduct_sdk::{
    ConfigDef, ConnectError, ConnectRecord, Header, Props, Result, Schema, SchemaRef, Transform, Value,
};

use super::extract_config::{self, DeleteTombstoneHandling, ExtractConfig, FieldReference, Parent, DELETED_FIELD};
use super::rows::{NewField, Row};
use super::util::{get_string, header, is_envelope_schema, is_schemaless_envelope, optional_copy, SchemaCache};

/// The transform; configure it before use.
#[derive(Debug, Default)]
pub struct ExtractNewRecordState {
    config: Option<Arc<ExtractConfig>>,
    value_schemas: SchemaCache,
    key_schemas: SchemaCache,
}

/// Where a metadata field was found: its schema (struct envelopes) and value.
fn lookup(
    reference: &FieldReference,
    schema: Option<&SchemaRef>,
    envelope: &Value,
) -> Option<(Option<SchemaRef>, Value)> {
    let parent_name = match &reference.parent {
        Parent::Struct(name) => Some(name.as_str()),
        Parent::Envelope => None,
    };
    let parent_value = parent_name.map(|p| envelope.field(p).unwrap_or(&Value::Null));
    match schema {
        Some(schema) => {
            let parent_schema = parent_name.and_then(|p| schema.field(p)).map(|f| &f.schema);
            let in_parent = parent_schema.and_then(|s| s.field(&reference.field));
            let field = in_parent.or_else(|| schema.field(&reference.field))?;
            let value = match (in_parent.is_some(), parent_value) {
                (true, Some(parent)) => parent.field(&reference.field).cloned().unwrap_or(Value::Null),
                _ => envelope.field(&reference.field).cloned().unwrap_or(Value::Null),
            };
            Some((Some(optional_copy(&field.schema)), value))
        }
        None => {
            let in_parent = parent_value.and_then(|p| p.field(&reference.field));
            let value = in_parent.or_else(|| envelope.field(&reference.field))?;
            Some((None, value.clone()))
        }
    }
}

impl ExtractNewRecordState {
    fn config(&self) -> Result<Arc<ExtractConfig>> {
        self.config.clone().ok_or_else(|| ConnectError::fatal("ExtractNewRecordState used before configure"))
    }

    fn headers(config: &ExtractConfig, schema: Option<&SchemaRef>, envelope: &Value) -> Vec<Header> {
        let mut headers = Vec::new();
        for reference in &config.add_headers {
            if envelope.is_null() {
                // Debezium's "d" operation header on tombstones.
                if reference.field == "op" {
                    headers.push(Header {
                        key: reference.new_field.clone(),
                        schema: Some(Schema::string()),
                        value: "d".into(),
                    });
                }
                continue;
            }
            if let Some((schema, value)) = lookup(reference, schema, envelope) {
                headers.push(Header { key: reference.new_field.clone(), schema, value });
            }
        }
        headers
    }

    fn add_fields(&mut self, original: &ConnectRecord, op: &str, row: Row) -> Result<Row> {
        let config = self.config()?;
        if config.add_fields.is_empty() {
            return Ok(row);
        }
        let schema = original.value_schema.as_ref();
        let fields: Vec<NewField> = config
            .add_fields
            .iter()
            .filter_map(|r| lookup(r, schema, &original.value).map(|(schema, value)| (r, schema, value)))
            .map(|(r, schema, value)| NewField { name: r.new_field.clone(), schema, value })
            .collect();
        if !matches!(row.value, Value::Struct(_) | Value::Map(_)) {
            return Err(ConnectError::data(format!(
                "Only Struct objects supported for [source field insertion], found: {}",
                crate::kafka::util::java_class(&row.value)
            )));
        }
        let tag = format!("add:{op}");
        row.append(&fields, false, &mut self.value_schemas, &tag)
    }

    /// `out` with the configured fields of `original` added to its value.
    fn with_added_fields(
        &mut self,
        original: &ConnectRecord,
        op: &str,
        mut out: ConnectRecord,
    ) -> Result<ConnectRecord> {
        let row = Row { schema: out.value_schema.take(), value: std::mem::replace(&mut out.value, Value::Null) };
        let row = self.add_fields(original, op, row)?;
        Ok(Self::with_row(&out, row))
    }

    fn drop_fields(&mut self, record: ConnectRecord) -> Result<ConnectRecord> {
        let config = self.config()?;
        let Some(name) = &config.drop_fields_header else { return Ok(record) };
        let names: Vec<String> = match header(&record.headers, name).map(|h| &h.value) {
            None | Some(Value::Null) => return Ok(record),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Some(other) => {
                return Err(ConnectError::data(format!(
                    "Header {name} must hold a list of field names, found {}",
                    other.schema_type().map_or("null", |t| t.name())
                )))
            }
        };
        if names.is_empty() {
            return Ok(record);
        }
        let to_drop = |schema: Option<&SchemaRef>| -> Vec<String> {
            match schema {
                Some(s) if config.drop_fields_keep_schema_compatible => s
                    .fields
                    .iter()
                    .filter(|f| f.schema.optional && names.contains(&f.name))
                    .map(|f| f.name.clone())
                    .collect(),
                _ => names.clone(),
            }
        };
        let mut record = record;
        if config.drop_fields_from_key && !record.key.is_null() {
            let drop = to_drop(record.key_schema.as_ref());
            if !drop.is_empty() {
                let row =
                    Row { schema: record.key_schema.take(), value: std::mem::replace(&mut record.key, Value::Null) };
                let row = row.exclude(&drop, &mut self.key_schemas)?;
                (record.key_schema, record.key) = (row.schema, row.value);
            }
        }
        if !record.value.is_null() {
            let drop = to_drop(record.value_schema.as_ref());
            if !drop.is_empty() {
                let row = Row {
                    schema: record.value_schema.take(),
                    value: std::mem::replace(&mut record.value, Value::Null),
                };
                let row = row.exclude(&drop, &mut self.value_schemas)?;
                (record.value_schema, record.value) = (row.schema, row.value);
            }
        }
        Ok(record)
    }

    /// The image `name` (`after`/`before`) as the record's value (Kafka Connect's `ExtractField`).
    fn image(record: &ConnectRecord, name: &str) -> Row {
        let schema = record.value_schema.as_ref().and_then(|s| s.field(name)).map(|f| f.schema.clone());
        Row { schema, value: record.value.field(name).cloned().unwrap_or(Value::Null) }
    }

    fn with_row(record: &ConnectRecord, row: Row) -> ConnectRecord {
        ConnectRecord { value_schema: row.schema, value: row.value, ..record.clone() }
    }

    fn routed(mut record: ConnectRecord, topic: Option<&str>) -> ConnectRecord {
        if let Some(topic) = topic.filter(|t| !t.trim().is_empty()) {
            record.topic = topic.to_owned();
        }
        record
    }

    fn deleted_flag(&mut self, row: Row, flag: &str) -> Result<Row> {
        let with_default = self.config()?.replace_null_with_default;
        let field = NewField {
            name: DELETED_FIELD.into(),
            schema: Some(Schema::optional(aqueduct_sdk::SchemaType::String)),
            value: flag.into(),
        };
        let tag = format!("deleted:{flag}");
        row.append(&[field], with_default, &mut self.value_schemas, &tag)
    }

    fn delete(&mut self, record: &ConnectRecord, op: &str) -> Result<Option<ConnectRecord>> {
        let config = self.config()?;
        let mut out = match config.mode {
            DeleteTombstoneHandling::Drop => return Ok(None),
            DeleteTombstoneHandling::Tombstone => Self::with_row(record, Self::image(record, "after")),
            DeleteTombstoneHandling::DeleteToTombstone => {
                Self::with_row(record, Row { schema: None, value: Value::Null })
            }
            DeleteTombstoneHandling::Rewrite | DeleteTombstoneHandling::RewriteWithTombstone => {
                let before = Self::image(record, "before");
                let row = self.deleted_flag(before, "true")?;
                Self::with_row(record, row)
            }
        };
        if let Some(field) = &config.route_by_field {
            let before = record.value.field("before").unwrap_or(&Value::Null);
            if before.is_null() {
                return Err(ConnectError::data(format!("No 'before' image to read {field} from for routing a delete")));
            }
            out = Self::routed(out, get_string(before, field)?);
        }
        out = self.drop_fields(out)?;
        if !out.value.is_null() {
            out = self.with_added_fields(record, op, out)?;
        }
        Ok(Some(out))
    }

    fn upsert(&mut self, record: &ConnectRecord, op: &str) -> Result<Option<ConnectRecord>> {
        let config = self.config()?;
        let mut row = Self::image(record, "after");
        if config.mode.is_rewrite() {
            row = self.deleted_flag(row, "false")?;
        }
        let mut out = Self::with_row(record, row);
        if let Some(field) = &config.route_by_field {
            let topic = get_string(&out.value, field)?.map(str::to_owned);
            out = Self::routed(out, topic.as_deref());
        }
        out = self.with_added_fields(record, op, out)?;
        self.drop_fields(out).map(Some)
    }
}

impl Transform for ExtractNewRecordState {
    fn config_def(&self) -> ConfigDef {
        extract_config::config_def()
    }

    fn configure(&mut self, props: &Props) -> Result<()> {
        self.config = Some(Arc::new(ExtractConfig::parse(props)?));
        Ok(())
    }

    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let config = self.config()?;
        let tombstone = record.is_tombstone();
        let envelope = !tombstone
            && (is_envelope_schema(record.value_schema.as_ref())
                || is_schemaless_envelope(record.value_schema.as_ref(), &record.value));
        if (envelope || tombstone) && !config.add_headers.is_empty() {
            let added = Self::headers(&config, record.value_schema.as_ref(), &record.value);
            record.headers.extend(added);
        }
        if tombstone {
            return Ok((config.mode == DeleteTombstoneHandling::RewriteWithTombstone).then_some(record));
        }
        if !envelope {
            return Ok(Some(record));
        }
        let op = record.value.field("op").and_then(Value::as_str).unwrap_or_default().to_owned();
        let after = record.value.field("after").is_some_and(|v| !v.is_null());
        let before = record.value.field("before").is_some_and(|v| !v.is_null());
        match (after, before) {
            (true, _) => self.upsert(&record, &op),
            (false, true) => self.delete(&record, &op),
            (false, false) if op == "d" => self.delete(&record, &op),
            (false, false) => Ok(None), // truncate, or an update without a full document
        }
    }
}

#[cfg(test)]
#[path = "extract_tests.rs"]
mod tests;
