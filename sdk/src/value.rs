//! Values: what records carry, typed by a [`Schema`](crate::Schema) or schemaless.

use crate::schema::{SchemaRef, SchemaType};
use crate::{ConnectError, Result};

/// A record key, value or field. Logical types keep their physical form (a Date is an `Int32`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value (a tombstone, when it is a record's value).
    Null,
    /// `boolean`
    Boolean(bool),
    /// `int8`
    Int8(i8),
    /// `int16`
    Int16(i16),
    /// `int32`
    Int32(i32),
    /// `int64`
    Int64(i64),
    /// `float32`
    Float32(f32),
    /// `float64`
    Float64(f64),
    /// `string`
    String(String),
    /// `bytes`
    Bytes(Vec<u8>),
    /// `array`
    Array(Vec<Value>),
    /// `map`, in insertion order; schemaless JSON objects become maps with string keys.
    Map(Vec<(Value, Value)>),
    /// `struct`
    Struct(Struct),
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// Any integer widened to i64.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int8(v) => Some(v.into()),
            Value::Int16(v) => Some(v.into()),
            Value::Int32(v) => Some(v.into()),
            Value::Int64(v) => Some(v),
            _ => None,
        }
    }
    /// The struct, if this is one.
    pub fn as_struct(&self) -> Option<&Struct> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }
    /// A named field of a struct, or a string key of a map: one accessor for rows with and
    /// without schemas.
    pub fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(s) => s.get(name),
            Value::Map(_) => self.map_get(name),
            _ => None,
        }
    }
    /// Looks up a string key in a map value.
    pub fn map_get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }
    /// The schema type this value has when it is not null.
    pub fn schema_type(&self) -> Option<SchemaType> {
        Some(match self {
            Value::Null => return None,
            Value::Boolean(_) => SchemaType::Boolean,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) => SchemaType::Int32,
            Value::Int64(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::String(_) => SchemaType::String,
            Value::Bytes(_) => SchemaType::Bytes,
            Value::Array(_) => SchemaType::Array,
            Value::Map(_) => SchemaType::Map,
            Value::Struct(_) => SchemaType::Struct,
        })
    }

    /// Converts schemaless JSON: objects become string-keyed maps, integers `Int64`, other numbers `Float64`.
    pub fn from_json(json: serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Boolean(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int64(i),
                None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => Value::Array(items.into_iter().map(Value::from_json).collect()),
            serde_json::Value::Object(map) => {
                Value::Map(map.into_iter().map(|(k, v)| (Value::String(k), Value::from_json(v))).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int64(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int32(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float64(v)
    }
}
impl From<Struct> for Value {
    fn from(v: Struct) -> Self {
        Value::Struct(v)
    }
}

/// A struct value: one value per field of its schema, in the schema's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: SchemaRef,
    values: Vec<Value>,
}

impl Struct {
    /// An empty struct of `schema` (every field null until set).
    pub fn new(schema: SchemaRef) -> Struct {
        let values = vec![Value::Null; schema.fields.len()];
        Struct { schema, values }
    }
    /// Sets a field by name; an unknown name is a data error.
    pub fn put(mut self, field: &str, value: impl Into<Value>) -> Result<Struct> {
        let index = self.schema.field_index(field).ok_or_else(|| {
            ConnectError::data(format!("struct {} has no field '{field}'", self.schema.name.as_deref().unwrap_or("")))
        })?;
        self.values[index] = value.into();
        Ok(self)
    }
    /// A struct of `schema` with `values` in field order; a count that differs from the
    /// schema's fields is a data error.
    pub fn from_values(schema: SchemaRef, values: Vec<Value>) -> Result<Struct> {
        if values.len() != schema.fields.len() {
            return Err(ConnectError::data(format!(
                "struct {} has {} fields but {} values were given",
                schema.name.as_deref().unwrap_or(""),
                schema.fields.len(),
                values.len()
            )));
        }
        Ok(Struct { schema, values })
    }
    /// The values, in field order, consuming the struct.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
    /// The value of a field, or its schema's default when the value is null (Kafka Connect's
    /// `Struct.get`, where [`Struct::get`] is its `getWithoutDefault`).
    pub fn get_or_default(&self, field: &str) -> Option<&Value> {
        let index = self.schema.field_index(field)?;
        match (&self.values[index], &self.schema.fields[index].schema.default) {
            (Value::Null, Some(default)) => Some(default),
            (value, _) => Some(value),
        }
    }
    /// The value of a field, by name.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.schema.field_index(field).map(|i| &self.values[i])
    }
    /// The struct's schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
    /// The values, in field order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }
    /// Fields paired with their values, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&crate::Field, &Value)> {
        self.schema.fields.iter().zip(self.values.iter())
    }
    /// Checks every required field is set and every value matches its field's type.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in self.iter() {
            match value.schema_type() {
                None if !field.schema.optional && field.schema.default.is_none() => {
                    return Err(ConnectError::data(format!("required field '{}' is null", field.name)))
                }
                Some(t) if t != field.schema.schema_type => {
                    return Err(ConnectError::data(format!(
                        "field '{}' is {} but its schema says {}",
                        field.name,
                        t.name(),
                        field.schema.schema_type.name()
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Schema, SchemaType};

    #[test]
    fn struct_put_get_validate() {
        let schema = Schema::struct_builder().field("id", Schema::int64()).field("name", Schema::string()).build();
        let s = Struct::new(schema.clone()).put("id", 7i64).expect("field exists");
        assert_eq!(s.get("id"), Some(&Value::Int64(7)));
        assert!(s.validate().is_err(), "name is required and null");
        let s = s.put("name", "x").expect("field exists");
        assert!(s.validate().is_ok());
        assert!(Struct::new(schema).put("nope", 1i64).is_err());
    }

    #[test]
    fn from_values_and_defaults() {
        let schema = Schema::struct_builder()
            .field("a", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(5)).build())
            .field("b", Schema::string())
            .build();
        assert!(Struct::from_values(schema.clone(), vec![Value::Null]).is_err());
        let s = Struct::from_values(schema, vec![Value::Null, "x".into()]).expect("two values");
        assert_eq!(s.get("a"), Some(&Value::Null));
        assert_eq!(s.get_or_default("a"), Some(&Value::Int32(5)));
        assert_eq!(s.get_or_default("b"), Some(&Value::String("x".into())));
        assert_eq!(s.get_or_default("c"), None);
        assert_eq!(s.into_values().len(), 2);
    }

    #[test]
    fn schemaless_json() {
        let v = Value::from_json(serde_json::json!({"a": 1, "b": [true, 1.5], "c": null}));
        assert_eq!(v.map_get("a"), Some(&Value::Int64(1)));
        assert_eq!(v.map_get("b"), Some(&Value::Array(vec![Value::Boolean(true), Value::Float64(1.5)])));
        assert_eq!(v.map_get("c"), Some(&Value::Null));
    }
}
