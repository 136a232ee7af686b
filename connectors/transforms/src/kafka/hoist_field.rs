//! `HoistField$Key` / `HoistField$Value`: wraps the key or value in a struct (with a schema)
//! or a map (without) of one field.

use aqueduct_sdk::{ConfigDef, ConfigType, ConnectRecord, Importance, Props, Result, Schema, Struct, Transform, Value};

use super::util::SchemaCache;
use super::Side;

/// Kafka Connect's `HoistField`.
#[derive(Debug)]
pub struct HoistField {
    side: Side,
    field: String,
    schemas: SchemaCache,
}

sided_descriptors!(
    "HoistField",
    HoistField,
    "Wrap data using the specified field name in a Struct when schema present, or a Map in the case of schemaless data."
);

impl HoistField {
    /// An unconfigured instance for one side of the record.
    pub fn new(side: Side) -> Self {
        HoistField { side, field: String::new(), schemas: SchemaCache::default() }
    }
}

impl Transform for HoistField {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(
            "field",
            ConfigType::String,
            None,
            Importance::Medium,
            "Field name for the single field that will be created in the resulting Struct or Map.",
        )
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.field = config.string("field").unwrap_or_default().to_owned();
        self.schemas.clear();
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let (schema, value) = self.side.take(&mut record);
        match schema {
            None => {
                let wrapped = Value::Map(vec![(Value::String(self.field.clone()), value)]);
                Ok(Some(self.side.with(record, None, wrapped)))
            }
            Some(schema) => {
                let field = &self.field;
                let wrapped = self.schemas.get_or_try_insert(&schema, |s| {
                    Ok(Schema::struct_builder().field(field.clone(), s.clone()).build())
                })?;
                let value = Struct::from_values(wrapped.clone(), vec![value])?;
                Ok(Some(self.side.with(record, Some(wrapped), value.into())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::util::test_support::{map, props};
    use aqueduct_sdk::{SchemaRef, SchemaType};

    // HoistFieldTest.schemaless / withSchema
    #[test]
    fn hoists_with_and_without_schema() {
        let mut t = (KEY.factory)();
        t.configure(&props(&[("field", "magic")])).expect("valid");
        let r = ConnectRecord::new("t", Value::Null).with_key(None, Value::Int32(42));
        let out = t.apply(r).expect("applies").expect("kept");
        assert_eq!((out.key_schema, out.key), (None, map(vec![("magic", Value::Int32(42))])));

        let int32 = Schema::primitive(SchemaType::Int32);
        let r = ConnectRecord::new("t", Value::Null).with_key(Some(int32.clone()), Value::Int32(42));
        let out = t.apply(r.clone()).expect("applies").expect("kept");
        let schema = out.key_schema.clone().expect("a struct schema");
        assert_eq!(schema.schema_type, SchemaType::Struct);
        assert_eq!(schema.field("magic").map(|f| f.schema.clone()), Some(int32));
        assert_eq!(out.key.as_struct().and_then(|s| s.get("magic")), Some(&Value::Int32(42)));
        let again = t.apply(r).expect("applies").expect("kept");
        assert!(SchemaRef::ptr_eq(&schema, again.key_schema.as_ref().expect("schema")), "the schema is cached");
        assert_eq!(out.value, Value::Null, "the value is untouched");
    }

    // HoistFieldTest.testSchemalessMapIsMutable: a null value is wrapped too.
    #[test]
    fn null_is_wrapped() {
        let mut t = (VALUE.factory)();
        t.configure(&props(&[("field", "f")])).expect("valid");
        let out = t.apply(ConnectRecord::new("t", Value::Null)).expect("applies").expect("kept");
        assert_eq!(out.value, map(vec![("f", Value::Null)]));
        assert!((VALUE.factory)().configure(&props(&[])).is_err());
    }
}
