//! Which part of a record a `$Key`/`$Value` transform works on.

use aqueduct_sdk::{ConnectRecord, SchemaRef, Value};

/// The record key or the record value: Kafka Connect's `Key` and `Value` inner classes of a
/// transform (`Cast$Key`, `Cast$Value`) differ only in this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The record key and its schema.
    Key,
    /// The record value and its schema.
    Value,
}

impl Side {
    /// The schema of this side, if any.
    pub fn schema(self, record: &ConnectRecord) -> Option<&SchemaRef> {
        match self {
            Side::Key => record.key_schema.as_ref(),
            Side::Value => record.value_schema.as_ref(),
        }
    }

    /// The value of this side.
    pub fn value(self, record: &ConnectRecord) -> &Value {
        match self {
            Side::Key => &record.key,
            Side::Value => &record.value,
        }
    }

    /// Takes the schema and value of this side out of the record, leaving no schema and null.
    pub fn take(self, record: &mut ConnectRecord) -> (Option<SchemaRef>, Value) {
        match self {
            Side::Key => (record.key_schema.take(), std::mem::replace(&mut record.key, Value::Null)),
            Side::Value => (record.value_schema.take(), std::mem::replace(&mut record.value, Value::Null)),
        }
    }

    /// Sets the schema and value of this side.
    pub fn set(self, record: &mut ConnectRecord, schema: Option<SchemaRef>, value: Value) {
        match self {
            Side::Key => {
                record.key_schema = schema;
                record.key = value;
            }
            Side::Value => {
                record.value_schema = schema;
                record.value = value;
            }
        }
    }

    /// The record with this side replaced.
    pub fn with(self, mut record: ConnectRecord, schema: Option<SchemaRef>, value: Value) -> ConnectRecord {
        self.set(&mut record, schema, value);
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::Schema;

    #[test]
    fn key_and_value_are_separate() {
        let r = ConnectRecord::new("t", Value::Int32(1)).with_key(Some(Schema::string()), "k".into());
        assert_eq!(Side::Key.value(&r), &Value::String("k".into()));
        assert_eq!(Side::Value.value(&r), &Value::Int32(1));
        assert!(Side::Value.schema(&r).is_none() && Side::Key.schema(&r).is_some());
        let mut r = Side::Value.with(r, Some(Schema::int64()), Value::Int64(2));
        assert_eq!(r.value, Value::Int64(2));
        let (schema, key) = Side::Key.take(&mut r);
        assert_eq!((schema.is_some(), key), (true, Value::String("k".into())));
        assert_eq!((r.key_schema.is_none(), &r.key), (true, &Value::Null));
    }
}
