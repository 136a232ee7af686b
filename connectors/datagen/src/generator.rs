//! The generated records: every field is a pure function of the record id.
//!
//! | field        | schema                 | value for id `n`                          |
//! |--------------|------------------------|-------------------------------------------|
//! | `id`         | int64                  | `n`                                       |
//! | `name`       | string                 | `"user-<n>"`                              |
//! | `email`      | optional string        | `"user-<n>@example.com"`                  |
//! | `amount`     | Decimal, scale 2       | `(n * 137) % 100000` hundredths           |
//! | `created_at` | Timestamp              | `1700000000000 + n * 1000` ms             |
//! | `active`     | boolean                | `n % 3 != 0`                              |
//!
//! The record key is `n` (int64).

use aqueduct_sdk::{logical, Result, Schema, SchemaRef, SchemaType, Struct, Value};

/// The name of the value schema.
pub const VALUE_SCHEMA_NAME: &str = "aqueduct.datagen.User";
/// The scale of the `amount` Decimal.
pub const AMOUNT_SCALE: i32 = 2;
/// `created_at` of id 0, in milliseconds since the epoch.
pub const BASE_TIMESTAMP_MS: i64 = 1_700_000_000_000;

/// Builds keys and values for record ids; holds the schemas so records share them.
#[derive(Debug, Clone)]
pub struct Generator {
    key_schema: SchemaRef,
    value_schema: SchemaRef,
}

impl Default for Generator {
    fn default() -> Self {
        Self::new()
    }
}

impl Generator {
    /// A generator with the `aqueduct.datagen.User` schema.
    pub fn new() -> Self {
        let value_schema = Schema::struct_builder()
            .name(VALUE_SCHEMA_NAME)
            .field("id", Schema::int64())
            .field("name", Schema::string())
            .field("email", Schema::optional(SchemaType::String))
            .field("amount", logical::decimal(AMOUNT_SCALE).build())
            .field("created_at", logical::timestamp().build())
            .field("active", Schema::primitive(SchemaType::Boolean))
            .build();
        Generator { key_schema: Schema::int64(), value_schema }
    }

    /// The key schema: int64.
    pub fn key_schema(&self) -> &SchemaRef {
        &self.key_schema
    }

    /// The value schema: the `aqueduct.datagen.User` struct.
    pub fn value_schema(&self) -> &SchemaRef {
        &self.value_schema
    }

    /// The key of record `id`.
    pub fn key(&self, id: i64) -> Value {
        Value::Int64(id)
    }

    /// The value of record `id`.
    pub fn value(&self, id: i64) -> Result<Value> {
        let unscaled = (i128::from(id) * 137).rem_euclid(100_000);
        let user = Struct::new(self.value_schema.clone())
            .put("id", id)?
            .put("name", format!("user-{id}"))?
            .put("email", format!("user-{id}@example.com"))?
            .put("amount", Value::Bytes(logical::decimal_bytes(unscaled)))?
            .put("created_at", BASE_TIMESTAMP_MS.saturating_add(id.saturating_mul(1000)))?
            .put("active", id % 3 != 0)?;
        Ok(Value::Struct(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_documented_formulas() {
        let g = Generator::new();
        let value = g.value(1000).expect("value");
        let user = value.as_struct().expect("struct");
        user.validate().expect("valid against its schema");
        assert_eq!(user.schema().name.as_deref(), Some(VALUE_SCHEMA_NAME));
        assert_eq!(user.get("id"), Some(&Value::Int64(1000)));
        assert_eq!(user.get("name"), Some(&Value::from("user-1000")));
        assert_eq!(user.get("email"), Some(&Value::from("user-1000@example.com")));
        let Some(Value::Bytes(amount)) = user.get("amount") else { panic!("amount is bytes") };
        assert_eq!(logical::decimal_unscaled(amount), Some(37_000));
        assert_eq!(user.get("created_at"), Some(&Value::Int64(1_700_001_000_000)));
        assert_eq!(user.get("active"), Some(&Value::Boolean(true)));
        assert_eq!(g.value(3).expect("value").as_struct().and_then(|s| s.get("active")), Some(&Value::Boolean(false)));
        assert_eq!(g.key(1000), Value::Int64(1000));
        assert_eq!(logical::decimal_scale(&g.value_schema().fields[3].schema), Some(2));
    }
}
