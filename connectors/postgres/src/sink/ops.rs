//! Turns sink records into row operations: which table, which columns (key columns first),
//! which values, and whether to write, delete or truncate. Debezium envelopes are unwrapped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use aqueduct_sdk::debezium::{self, Op as ChangeOp};
use aqueduct_sdk::{ConnectError, Result, SchemaRef, SchemaType, SinkRecord, Value};

use super::config::{PkMode, SinkConfig};
use super::table::TableId;
use super::types::SqlType;

/// Where a column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Topic,
    Partition,
    Offset,
    WholeKey,
    KeyField(usize),
    RowField(usize),
}

/// What a column of a shape asks for.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// The column type to create; `None` when only nulls were seen (schemaless).
    pub sql_type: Option<SqlType>,
    /// The field's schema, for logical types.
    pub schema: Option<SchemaRef>,
}

/// The columns of a row operation: the first `key_len` are the primary key.
#[derive(Debug)]
pub struct Shape {
    /// Column names (as in the record).
    pub names: Vec<String>,
    /// One spec per column.
    pub specs: Vec<FieldSpec>,
    /// How many leading columns form the key.
    pub key_len: usize,
    sources: Vec<Source>,
}

impl Shape {
    /// The key column names.
    pub fn key_names(&self) -> &[String] {
        &self.names[..self.key_len]
    }
}

/// What to do with a record.
#[derive(Debug)]
pub enum Action<'a> {
    /// Insert, upsert or update (per `insert.mode`) a row with these values.
    Write {
        /// The columns.
        shape: Arc<Shape>,
        /// One value per column.
        values: Vec<Cow<'a, Value>>,
        /// Columns holding the unavailable-value placeholder (unchanged TOAST values), in
        /// order: they are left out of the write.
        unavailable: Vec<usize>,
    },
    /// Delete the row with this key (the shape holds key columns only).
    Delete {
        /// The key columns.
        shape: Arc<Shape>,
        /// One value per key column.
        values: Vec<Cow<'a, Value>>,
    },
    /// Truncate the table.
    Truncate,
}

/// One record's operation on one table.
#[derive(Debug)]
pub struct Op<'a> {
    /// Index of the record in the batch given to `put`.
    pub record: usize,
    /// The destination table.
    pub table: TableId,
    /// What to do.
    pub action: Action<'a>,
}

/// The outcome of converting a record.
#[derive(Debug)]
pub enum Converted<'a> {
    /// An operation to apply.
    Op(Op<'a>),
    /// Nothing to write, and why (e.g. a tombstone with `delete.enabled=false`).
    Skip(&'static str),
}

/// The row a record writes: a struct or a string-keyed map, with the map's value schema.
#[derive(Clone, Copy)]
enum Row<'a> {
    Struct(&'a aqueduct_sdk::Struct),
    Map(&'a [(Value, Value)], Option<&'a SchemaRef>),
}

impl<'a> Row<'a> {
    fn of(value: &'a Value, schema: Option<&'a SchemaRef>, what: &str) -> Result<Row<'a>> {
        match value {
            Value::Struct(s) => Ok(Row::Struct(s)),
            Value::Map(entries) if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) => {
                Ok(Row::Map(entries, schema.filter(|s| s.schema_type == SchemaType::Map)))
            }
            Value::Map(_) => Err(ConnectError::data(format!("the {what} is a map with non-string keys"))),
            other => Err(ConnectError::data(format!(
                "the {what} is {}; PostgresSink needs a struct or a map of fields",
                other.schema_type().map_or("null", |t| t.name())
            ))),
        }
    }

    fn ptr(&self) -> Option<usize> {
        match self {
            Row::Struct(s) => Some(Arc::as_ptr(s.schema()) as usize),
            Row::Map(..) => None,
        }
    }

    fn len(&self) -> usize {
        match self {
            Row::Struct(s) => s.values().len(),
            Row::Map(entries, _) => entries.len(),
        }
    }

    fn name(&self, i: usize) -> &'a str {
        match self {
            Row::Struct(s) => &s.schema().fields[i].name,
            Row::Map(entries, _) => entries[i].0.as_str().unwrap_or_default(),
        }
    }

    fn value(&self, i: usize) -> &'a Value {
        match self {
            Row::Struct(s) => &s.values()[i],
            Row::Map(entries, _) => &entries[i].1,
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        (0..self.len()).find(|&i| self.name(i) == name)
    }

    fn spec(&self, i: usize) -> FieldSpec {
        match self {
            Row::Struct(s) => {
                let schema = s.schema().fields[i].schema.clone();
                FieldSpec { sql_type: Some(SqlType::from_schema(&schema)), schema: Some(schema) }
            }
            Row::Map(entries, schema) => match schema.and_then(|s| s.value_schema.clone()) {
                Some(schema) => FieldSpec { sql_type: Some(SqlType::from_schema(&schema)), schema: Some(schema) },
                None => FieldSpec { sql_type: SqlType::from_value(&entries[i].1), schema: None },
            },
        }
    }
}

/// Converts records to operations, reusing shapes across records of the same schemas.
pub struct Converter<'c> {
    config: &'c SinkConfig,
    shapes: HashMap<(usize, usize, bool), Arc<Shape>>,
}

impl<'c> Converter<'c> {
    /// A converter for one batch.
    pub fn new(config: &'c SinkConfig) -> Self {
        Converter { config, shapes: HashMap::new() }
    }

    /// The operation of record number `index`; a data error when the record cannot be mapped.
    pub fn convert<'a>(&mut self, index: usize, record: &'a SinkRecord) -> Result<Converted<'a>> {
        let table = self.config.table_for(&record.topic);
        let op = |action| Ok(Converted::Op(Op { record: index, table: table.clone(), action }));
        if record.value.is_null() {
            if !self.config.delete_enabled {
                return Ok(Converted::Skip("tombstone ignored: delete.enabled=false"));
            }
            let (shape, values) = self.image(record, None, true)?;
            return op(Action::Delete { shape, values });
        }
        let (row_value, row_schema) = match debezium::parse(&record.value) {
            Some(event) => match event.op {
                ChangeOp::Truncate if self.config.truncate_enabled => return op(Action::Truncate),
                ChangeOp::Truncate => return Ok(Converted::Skip("truncate event ignored: truncate.enabled=false")),
                ChangeOp::Delete if !self.config.delete_enabled => {
                    return Ok(Converted::Skip("delete event ignored: delete.enabled=false"))
                }
                ChangeOp::Delete => {
                    let before = match event.before {
                        Some(before) => Some(Row::of(before, None, "'before' image of the delete event")?),
                        None => None,
                    };
                    let (shape, values) = self.image(record, before, true)?;
                    return op(Action::Delete { shape, values });
                }
                // A MongoDB change stream update whose full document was looked up after the
                // document was deleted (always so when it is read again after a restart): no row
                // image. The delete follows in the stream, so there is nothing to write.
                ChangeOp::Update
                    if event.after.is_none()
                        && record.value.field("updateDescription").is_some_and(|d| !d.is_null()) =>
                {
                    return Ok(Converted::Skip(
                        "MongoDB update without a full document (deleted before it was looked up; its delete follows)",
                    ));
                }
                _ => {
                    let after = event.after.ok_or_else(|| {
                        ConnectError::data(format!("{} event without an 'after' image", event.op.code()))
                    })?;
                    (after, None)
                }
            },
            None => (&record.value, record.value_schema.as_ref()),
        };
        let row = Row::of(row_value, row_schema, "record value")?;
        let (shape, values) = self.image(record, Some(row), false)?;
        let placeholder = self.config.unavailable_placeholder.as_deref();
        let unavailable = super::toast::unavailable_columns(&values, shape.key_len, placeholder);
        op(Action::Write { shape, values, unavailable })
    }

    /// The shape and values of a row (or, for deletes, of its key).
    fn image<'a>(
        &mut self,
        record: &'a SinkRecord,
        row: Option<Row<'a>>,
        delete: bool,
    ) -> Result<(Arc<Shape>, Vec<Cow<'a, Value>>)> {
        let key = match (&self.config.pk_mode, &record.key) {
            (PkMode::RecordKey(_), Value::Struct(s)) => Some(Row::Struct(s)),
            (PkMode::RecordKey(_), Value::Map(_)) => {
                Some(Row::of(&record.key, record.key_schema.as_ref(), "record key")?)
            }
            _ => None,
        };
        let cache_key = match (&self.config.pk_mode, key.map(|k| k.ptr()), row.map(|r| r.ptr())) {
            (PkMode::RecordKey(_), Some(Some(k)), Some(Some(r))) => Some((k, r, delete)),
            (PkMode::RecordKey(_), Some(Some(k)), None) => Some((k, 0, delete)),
            (PkMode::RecordKey(_), None, Some(Some(r))) if !record.key.is_null() => {
                record.key_schema.as_ref().map(|ks| (Arc::as_ptr(ks) as usize, r, delete))
            }
            (PkMode::RecordKey(_), _, _) => None,
            (_, _, Some(Some(r))) => Some((0, r, delete)),
            (_, _, Some(None)) => None,
            (_, _, None) => Some((0, 0, delete)),
        };
        let shape = match cache_key.and_then(|k| self.shapes.get(&k)) {
            Some(shape) => shape.clone(),
            None => {
                let shape = Arc::new(self.build_shape(record, key, row, delete)?);
                if let Some(k) = cache_key {
                    self.shapes.insert(k, shape.clone());
                }
                shape
            }
        };
        let values = shape
            .sources
            .iter()
            .map(|source| match *source {
                Source::Topic => Cow::Owned(Value::String(record.topic.clone())),
                Source::Partition => Cow::Owned(Value::Int32(record.kafka_partition)),
                Source::Offset => Cow::Owned(Value::Int64(record.kafka_offset)),
                Source::WholeKey => Cow::Borrowed(&record.key),
                Source::KeyField(i) => Cow::Borrowed(key.map_or(&Value::Null, |k| k.value(i))),
                Source::RowField(i) => Cow::Borrowed(row.map_or(&Value::Null, |r| r.value(i))),
            })
            .collect();
        Ok((shape, values))
    }

    fn build_shape(
        &self,
        record: &SinkRecord,
        key: Option<Row<'_>>,
        row: Option<Row<'_>>,
        delete: bool,
    ) -> Result<Shape> {
        let mut shape = Shape { names: Vec::new(), specs: Vec::new(), key_len: 0, sources: Vec::new() };
        let push = |shape: &mut Shape, name: &str, spec: FieldSpec, source: Source| {
            shape.names.push(name.to_owned());
            shape.specs.push(spec);
            shape.sources.push(source);
        };
        let typed = |t: SqlType| FieldSpec { sql_type: Some(t), schema: None };
        match &self.config.pk_mode {
            PkMode::None => {}
            PkMode::Kafka([topic, partition, offset]) => {
                push(&mut shape, topic, typed(SqlType::Text), Source::Topic);
                push(&mut shape, partition, typed(SqlType::Integer), Source::Partition);
                push(&mut shape, offset, typed(SqlType::BigInt), Source::Offset);
            }
            PkMode::RecordKey(fields) => match (key, &record.key, row) {
                (Some(key), _, _) => {
                    let indexes: Vec<usize> = if fields.is_empty() {
                        (0..key.len()).collect()
                    } else {
                        fields.iter().map(|f| find(key, f, "record key")).collect::<Result<_>>()?
                    };
                    for i in indexes {
                        push(&mut shape, key.name(i), key.spec(i), Source::KeyField(i));
                    }
                }
                (None, Value::Null, Some(before)) if delete && !fields.is_empty() => {
                    for f in fields {
                        let i = find(before, f, "'before' image")?;
                        push(&mut shape, f, before.spec(i), Source::RowField(i));
                    }
                }
                (None, Value::Null, _) => {
                    return Err(ConnectError::data("the record key is null but pk.mode=record_key needs it"))
                }
                (None, primitive, _) => {
                    let [name] = fields.as_slice() else {
                        return Err(ConnectError::config(format!(
                            "Need exactly one PK column defined since the key schema for records is a primitive type, \
                             defined columns are: {fields:?}"
                        )));
                    };
                    let spec = match &record.key_schema {
                        Some(schema) => {
                            FieldSpec { sql_type: Some(SqlType::from_schema(schema)), schema: Some(schema.clone()) }
                        }
                        None => FieldSpec { sql_type: SqlType::from_value(primitive), schema: None },
                    };
                    push(&mut shape, name, spec, Source::WholeKey);
                }
            },
            PkMode::RecordValue(fields) => {
                let row = row.ok_or_else(|| ConnectError::data("pk.mode=record_value but the record has no value"))?;
                let indexes: Vec<usize> = if fields.is_empty() {
                    (0..row.len()).collect()
                } else {
                    fields.iter().map(|f| find(row, f, "record value")).collect::<Result<_>>()?
                };
                for i in indexes {
                    push(&mut shape, row.name(i), row.spec(i), Source::RowField(i));
                }
            }
        }
        shape.key_len = shape.names.len();
        if delete {
            if shape.key_len == 0 {
                return Err(ConnectError::data("cannot delete a row without a primary key (pk.mode=none)"));
            }
            return Ok(shape);
        }
        if let Some(row) = row {
            let whitelist = &self.config.fields_whitelist;
            for i in 0..row.len() {
                let name = row.name(i);
                let is_key = shape.names[..shape.key_len].iter().any(|k| k == name);
                if !is_key && (whitelist.is_empty() || whitelist.iter().any(|w| w == name)) {
                    push(&mut shape, name, row.spec(i), Source::RowField(i));
                }
            }
        }
        if shape.names.is_empty() {
            return Err(ConnectError::data("the record has no fields to write"));
        }
        Ok(shape)
    }
}

fn find(row: Row<'_>, field: &str, what: &str) -> Result<usize> {
    row.position(field).ok_or_else(|| ConnectError::data(format!("primary key field '{field}' is not in the {what}")))
}
