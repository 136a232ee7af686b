//! Debezium's change-event envelope: built by CDC sources, applied by sinks.
//!
//! An event value is a struct `{before, after, source, op, ts_ms}` where `op` is `c` (create),
//! `u` (update), `d` (delete), `r` (read, i.e. snapshot) or `t` (truncate). Its key is the row's
//! primary key. A delete is followed by a tombstone (same key, null value) for log compaction.

use crate::schema::{Schema, SchemaRef, SchemaType};
use crate::value::{Struct, Value};
use crate::{ConnectError, Result};

/// The operation of a change event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `c`: a row was inserted.
    Create,
    /// `u`: a row was updated.
    Update,
    /// `d`: a row was deleted.
    Delete,
    /// `r`: a row was read by a snapshot.
    Read,
    /// `t`: a table was truncated.
    Truncate,
}

impl Op {
    /// The one-letter code in the envelope.
    pub fn code(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Read => "r",
            Op::Truncate => "t",
        }
    }
    /// Parses a one-letter code.
    pub fn from_code(code: &str) -> Option<Op> {
        Some(match code {
            "c" => Op::Create,
            "u" => Op::Update,
            "d" => Op::Delete,
            "r" => Op::Read,
            "t" => Op::Truncate,
            _ => return None,
        })
    }
    /// True for operations whose `after` image should be upserted (c, u, r).
    pub fn is_upsert(self) -> bool {
        matches!(self, Op::Create | Op::Update | Op::Read)
    }
}

/// A change event read from a record value (struct or schemaless map).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangeEvent<'a> {
    /// The operation.
    pub op: Op,
    /// The row before the change (updates with full replica identity, deletes).
    pub before: Option<&'a Value>,
    /// The row after the change (creates, updates, reads).
    pub after: Option<&'a Value>,
    /// Where the change came from (connector-specific fields: db, table, lsn, ...).
    pub source: Option<&'a Value>,
    /// When the connector processed the event, in ms since the epoch.
    pub ts_ms: Option<i64>,
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// Recognizes a Debezium envelope: a struct or map with an `op` code and `before`/`after`.
/// Returns `None` for anything else (so a sink can treat the value as a plain row).
pub fn parse(value: &Value) -> Option<ChangeEvent<'_>> {
    let op = Op::from_code(value.field("op")?.as_str()?)?;
    let has_images = value.field("after").is_some() || value.field("before").is_some();
    if !has_images && op != Op::Truncate {
        return None;
    }
    Some(ChangeEvent {
        op,
        before: present(value.field("before")),
        after: present(value.field("after")),
        source: present(value.field("source")),
        ts_ms: value.field("ts_ms").and_then(Value::as_i64),
    })
}

/// The schema of an envelope named `<name>.Envelope` over rows of `row` and a `source` block.
pub fn envelope_schema(name: &str, row: &SchemaRef, source: &SchemaRef) -> SchemaRef {
    let optional_row = optional(row);
    Schema::struct_builder()
        .name(format!("{name}.Envelope"))
        .version(1)
        .field("before", optional_row.clone())
        .field("after", optional_row)
        .field("source", source.clone())
        .field("op", Schema::string())
        .field("ts_ms", Schema::optional(SchemaType::Int64))
        .build()
}

/// An optional copy of `schema` (envelope images are nullable).
pub fn optional(schema: &SchemaRef) -> SchemaRef {
    if schema.optional {
        return schema.clone();
    }
    let mut copy = (**schema).clone();
    copy.optional = true;
    SchemaRef::new(copy)
}

/// Builds an envelope value for `schema` (from [`envelope_schema`]).
pub fn envelope(
    schema: &SchemaRef,
    op: Op,
    before: Option<Value>,
    after: Option<Value>,
    source: Value,
    ts_ms: i64,
) -> Result<Value> {
    if schema.field("op").is_none() {
        return Err(ConnectError::data("not a Debezium envelope schema"));
    }
    let s = Struct::new(schema.clone())
        .put("before", before.unwrap_or(Value::Null))?
        .put("after", after.unwrap_or(Value::Null))?
        .put("source", source)?
        .put("op", op.code())?
        .put("ts_ms", Value::Int64(ts_ms))?;
    Ok(Value::Struct(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses_envelopes() {
        let row = Schema::struct_builder().name("db.public.users.Value").field("id", Schema::int64()).build();
        let source = Schema::struct_builder()
            .name("io.debezium.connector.postgresql.Source")
            .field("table", Schema::string())
            .build();
        let schema = envelope_schema("db.public.users", &row, &source);
        let after = Value::Struct(Struct::new(row.clone()).put("id", 1i64).expect("field"));
        let src = Value::Struct(Struct::new(source).put("table", "users").expect("field"));
        let event = envelope(&schema, Op::Create, None, Some(after.clone()), src, 5).expect("valid");
        let parsed = parse(&event).expect("an envelope");
        assert_eq!((parsed.op, parsed.before, parsed.after, parsed.ts_ms), (Op::Create, None, Some(&after), Some(5)));
        assert_eq!(parsed.source.and_then(|s| s.field("table")).and_then(Value::as_str), Some("users"));
        assert!(schema.field("before").is_some_and(|f| f.schema.optional));
    }

    #[test]
    fn parses_schemaless_envelopes_and_ignores_plain_rows() {
        let json = serde_json::json!({"op": "d", "before": {"id": 3}, "after": null, "source": {"db": "x"}});
        let value = Value::from_json(json);
        let event = parse(&value).expect("an envelope");
        assert_eq!(event.op, Op::Delete);
        assert_eq!(event.after, None);
        assert_eq!(event.before.and_then(|b| b.field("id")), Some(&Value::Int64(3)));
        assert!(parse(&Value::from_json(serde_json::json!({"id": 1, "op": "c"}))).is_none());
        assert!(parse(&Value::from_json(serde_json::json!({"op": "zz", "after": {}}))).is_none());
    }
}
