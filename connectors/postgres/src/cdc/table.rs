//! The shape of a captured table: its columns, key, topic and Kafka Connect schemas, and the
//! conversion of its rows (from the replication stream or a snapshot) into structs.

use std::sync::Arc;

use aqueduct_sdk::debezium::envelope_schema;
use aqueduct_sdk::{ConnectError, Result, Schema, SchemaRef, Struct, Value};

use super::config::ValueSettings;
use super::pgoutput::TupleValue;
use super::types::{convert, ColumnKind, TypeInfo};

/// A table's schema-qualified name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    /// Schema (namespace).
    pub schema: String,
    /// Table name.
    pub table: String,
}

impl TableId {
    /// A table id.
    pub fn new(schema: impl Into<String>, table: impl Into<String>) -> Self {
        TableId { schema: schema.into(), table: table.into() }
    }
    /// The quoted SQL name: `"schema"."table"`.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }
}

impl std::fmt::Display for TableId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// Quotes an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes an SQL string literal (standard_conforming_strings is on in every session).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A column as described by the catalog and/or a Relation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Column name.
    pub name: String,
    /// Type OID.
    pub type_oid: u32,
    /// Type modifier.
    pub modifier: i32,
    /// `NOT NULL`.
    pub not_null: bool,
    /// Position in the primary key, if part of it.
    pub pk_position: Option<usize>,
    /// Part of the replica identity (from a Relation message).
    pub identity: bool,
}

/// A column with its value representation.
#[derive(Debug, Clone)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// How values are represented.
    pub kind: ColumnKind,
    /// The field schema.
    pub schema: SchemaRef,
    /// Type OID and modifier, to detect type changes.
    pub type_oid: u32,
    /// Type modifier.
    pub modifier: i32,
}

/// A captured table's shape and schemas.
#[derive(Debug)]
pub struct TableSchema {
    /// The table.
    pub id: TableId,
    /// `<prefix>.<schema>.<table>`.
    pub topic: String,
    /// Columns in table order.
    pub columns: Vec<Column>,
    /// Indexes into `columns` of the key, in key order; empty for keyless tables.
    pub key_columns: Vec<usize>,
    /// `<prefix>.<schema>.<table>.Key`, `None` for keyless tables.
    pub key_schema: Option<SchemaRef>,
    /// `<prefix>.<schema>.<table>.Value`.
    pub value_schema: SchemaRef,
    /// `<prefix>.<schema>.<table>.Envelope`.
    pub envelope_schema: SchemaRef,
}

/// Replaces characters Kafka does not allow in topic names with `_`, as Debezium does.
pub fn topic_name(prefix: &str, id: &TableId) -> String {
    let raw = format!("{prefix}.{}.{}", id.schema, id.table);
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
}

impl TableSchema {
    /// Builds the schemas of `id` from its columns. The key is the primary key; without one,
    /// the replica identity index columns (`REPLICA IDENTITY USING INDEX`); otherwise none.
    pub fn build(
        prefix: &str,
        id: TableId,
        specs: &[ColumnSpec],
        replica_identity: u8,
        settings: &ValueSettings,
        lookup: &dyn Fn(u32) -> Option<TypeInfo>,
        source_schema: &SchemaRef,
    ) -> Arc<TableSchema> {
        let base = format!("{prefix}.{}.{}", id.schema, id.table);
        let mut key_columns: Vec<usize> = {
            let mut pk: Vec<(usize, usize)> =
                specs.iter().enumerate().filter_map(|(i, c)| c.pk_position.map(|p| (p, i))).collect();
            pk.sort_unstable();
            pk.into_iter().map(|(_, i)| i).collect()
        };
        if key_columns.is_empty() && replica_identity == b'i' {
            key_columns = specs.iter().enumerate().filter(|(_, c)| c.identity).map(|(i, _)| i).collect();
        }
        let columns: Vec<Column> = specs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let kind = ColumnKind::resolve(c.type_oid, c.modifier, settings, lookup);
                let optional = !c.not_null && !key_columns.contains(&i);
                Column {
                    name: c.name.clone(),
                    schema: kind.schema(optional),
                    kind,
                    type_oid: c.type_oid,
                    modifier: c.modifier,
                }
            })
            .collect();
        let mut value = Schema::struct_builder().name(format!("{base}.Value")).optional();
        for c in &columns {
            value = value.field(c.name.clone(), c.schema.clone());
        }
        let value_schema = value.build();
        let key_schema = (!key_columns.is_empty()).then(|| {
            let mut key = Schema::struct_builder().name(format!("{base}.Key"));
            for &i in &key_columns {
                key = key.field(columns[i].name.clone(), columns[i].schema.clone());
            }
            key.build()
        });
        let envelope_schema = envelope_schema(&base, &value_schema, source_schema);
        Arc::new(TableSchema {
            topic: topic_name(prefix, &id),
            id,
            columns,
            key_columns,
            key_schema,
            value_schema,
            envelope_schema,
        })
    }

    /// True when `other` has the same columns and types (the schemas would be identical).
    pub fn same_shape(&self, other: &TableSchema) -> bool {
        self.columns.len() == other.columns.len()
            && self.key_columns == other.key_columns
            && self.columns.iter().zip(&other.columns).all(|(a, b)| {
                a.name == b.name && a.type_oid == b.type_oid && a.modifier == b.modifier && a.schema == b.schema
            })
    }

    /// A row struct from a replication tuple. Unchanged TOAST values are taken from `old`
    /// (the old row, with replica identity full) when it has them, else the placeholder.
    pub fn row_from_tuple(
        &self,
        tuple: &[TupleValue],
        old: Option<&[TupleValue]>,
        settings: &ValueSettings,
    ) -> Result<Value> {
        if tuple.len() != self.columns.len() {
            return Err(ConnectError::data(format!(
                "table {}: a change has {} columns but the table has {}",
                self.id,
                tuple.len(),
                self.columns.len()
            )));
        }
        let mut row = Struct::new(self.value_schema.clone());
        for (i, (column, value)) in self.columns.iter().zip(tuple).enumerate() {
            let value = match value {
                TupleValue::Null => column.kind.fallback(&column.schema),
                TupleValue::Text(bytes) => self.convert_text(column, bytes)?,
                TupleValue::Unchanged => match old.and_then(|o| o.get(i)) {
                    Some(TupleValue::Text(bytes)) => self.convert_text(column, bytes)?,
                    _ => column.kind.unavailable(settings, &column.schema),
                },
            };
            row = row.put(&column.name, value)?;
        }
        Ok(Value::Struct(row))
    }

    fn convert_text(&self, column: &Column, bytes: &[u8]) -> Result<Value> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            ConnectError::data(format!("column {} of table {} is not valid UTF-8", column.name, self.id)).with_source(e)
        })?;
        convert(&column.kind, text, &column.schema, &column.name, &self.id.to_string())
    }

    /// A row struct from text values (a snapshot row), in column order.
    pub fn row_from_text(&self, values: &[Option<&str>]) -> Result<Value> {
        let mut row = Struct::new(self.value_schema.clone());
        for (column, value) in self.columns.iter().zip(values) {
            let value = match value {
                None => column.kind.fallback(&column.schema),
                Some(text) => convert(&column.kind, text, &column.schema, &column.name, &self.id.to_string())?,
            };
            row = row.put(&column.name, value)?;
        }
        Ok(Value::Struct(row))
    }

    /// The key struct of a row struct; `Value::Null` for keyless tables.
    pub fn key_of(&self, row: &Value) -> Result<Value> {
        let Some(schema) = &self.key_schema else { return Ok(Value::Null) };
        let mut key = Struct::new(schema.clone());
        for &i in &self.key_columns {
            let name = &self.columns[i].name;
            key = key.put(name, row.field(name).cloned().unwrap_or(Value::Null))?;
        }
        Ok(Value::Struct(key))
    }

    /// The key column names, in key order.
    pub fn key_names(&self) -> Vec<&str> {
        self.key_columns.iter().map(|&i| self.columns[i].name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::SchemaType;
    use bytes::Bytes;

    fn spec(name: &str, type_oid: u32, not_null: bool, pk: Option<usize>) -> ColumnSpec {
        ColumnSpec { name: name.into(), type_oid, modifier: -1, not_null, pk_position: pk, identity: pk.is_some() }
    }

    fn table() -> Arc<TableSchema> {
        let source = Schema::struct_builder().name("src").field("x", Schema::string()).build();
        TableSchema::build(
            "srv",
            TableId::new("public", "my table"),
            &[
                spec("b", 23, false, Some(1)),
                spec("a", 25, false, Some(0)),
                spec("note", 25, true, None),
                spec("n", 23, false, None),
            ],
            b'd',
            &ValueSettings::default(),
            &|_| None,
            &source,
        )
    }

    #[test]
    fn key_follows_primary_key_order_and_schemas_are_named() {
        let t = table();
        assert_eq!(t.topic, "srv.public.my_table");
        assert_eq!(t.key_names(), vec!["a", "b"]);
        let key = t.key_schema.as_ref().expect("key");
        assert_eq!(key.name.as_deref(), Some("srv.public.my table.Key"));
        assert_eq!(t.value_schema.name.as_deref(), Some("srv.public.my table.Value"));
        assert_eq!(t.envelope_schema.name.as_deref(), Some("srv.public.my table.Envelope"));
        assert!(!t.value_schema.field("a").expect("a").schema.optional, "key columns are required");
        assert!(!t.value_schema.field("note").expect("note").schema.optional, "NOT NULL is required");
        assert!(t.value_schema.field("n").expect("n").schema.optional);
        assert_eq!(t.value_schema.field("b").expect("b").schema.schema_type, SchemaType::Int32);
    }

    #[test]
    fn rows_fill_missing_required_values_and_placeholders() {
        let t = table();
        let s = ValueSettings::default();
        // A delete's old key: only the key columns are sent.
        let old = [
            TupleValue::Text(Bytes::from_static(b"7")),
            TupleValue::Text(Bytes::from_static(b"k")),
            TupleValue::Null,
            TupleValue::Null,
        ];
        let row = t.row_from_tuple(&old, None, &s).expect("row");
        assert_eq!(row.field("b"), Some(&Value::Int32(7)));
        assert_eq!(row.field("note"), Some(&Value::String(String::new())));
        assert_eq!(row.field("n"), Some(&Value::Null));
        let key = t.key_of(&row).expect("key");
        assert_eq!(key.field("a"), Some(&Value::String("k".into())));
        let new = [
            TupleValue::Text(Bytes::from_static(b"7")),
            TupleValue::Text(Bytes::from_static(b"k")),
            TupleValue::Unchanged,
            TupleValue::Null,
        ];
        let row = t.row_from_tuple(&new, None, &s).expect("row");
        assert_eq!(row.field("note"), Some(&Value::String("__debezium_unavailable_value".into())));
        let full_old =
            [TupleValue::Null, TupleValue::Null, TupleValue::Text(Bytes::from_static(b"long")), TupleValue::Null];
        let row = t.row_from_tuple(&new, Some(&full_old), &s).expect("row");
        assert_eq!(row.field("note"), Some(&Value::String("long".into())));
        assert!(t.row_from_tuple(&new[..2], None, &s).is_err());
        let row = t.row_from_text(&[Some("1"), Some("x"), Some("y"), None]).expect("row");
        assert_eq!(row.field("a"), Some(&Value::String("x".into())));
    }
}
