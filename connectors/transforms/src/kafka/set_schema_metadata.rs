//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the name and/or version of the
//! key or value schema.

use std::sync::Arc;

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConfigValue, ConnectError, ConnectRecord, Importance, Props, Result, Schema, Struct,
    Transform, Validator, Value,
};

use super::util::{field_value, require_schema, with_replace_null_with_default};
use super::Side;

/// Kafka Connect's `SetSchemaMetadata`. A record without schema and value passes; one with a
/// value but no schema is a data error. A struct value is re-attached to the new schema.
///
/// `schema.version` is an INT without default in Kafka Connect; the SDK's `ConfigDef` has no
/// optional-without-default keys, so it is declared a STRING (default empty) checked as an int.
#[derive(Debug)]
pub struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
}

sided_descriptors!(
    "SetSchemaMetadata",
    SetSchemaMetadata,
    "Set the schema name, version or both on the record's key or value schema."
);

impl SetSchemaMetadata {
    /// An unconfigured instance for one side of the record.
    pub fn new(side: Side) -> Self {
        SetSchemaMetadata { side, name: None, version: None, replace_null_with_default: true }
    }
}

impl Transform for SetSchemaMetadata {
    fn config_def(&self) -> ConfigDef {
        let def = ConfigDef::new()
            .define("schema.name", ConfigType::String, Some(""), Importance::High, "Schema name to set.")
            .define("schema.version", ConfigType::String, Some(""), Importance::High, "Schema version to set.")
            .validator(Validator::Custom(|v| match v {
                ConfigValue::String(s) if !s.is_empty() && s.parse::<i32>().is_err() => {
                    Err("Not a number of type INT".into())
                }
                _ => Ok(()),
            }));
        with_replace_null_with_default(def)
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.name = config.non_empty_string("schema.name").map(str::to_owned);
        self.version = config.non_empty_string("schema.version").and_then(|v| v.parse().ok());
        self.replace_null_with_default = config.boolean("replace.null.with.default").unwrap_or(true);
        if self.name.is_none() && self.version.is_none() {
            return Err(ConnectError::config("Neither schema name nor version configured"));
        }
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if self.side.value(&record).is_null() && self.side.schema(&record).is_none() {
            return Ok(Some(record));
        }
        let (schema, value) = self.side.take(&mut record);
        let schema = require_schema(schema.as_ref(), "updating schema metadata")?;
        let mut updated = Schema::clone(schema);
        if let Some(name) = &self.name {
            updated.name = Some(name.clone());
        }
        if let Some(version) = self.version {
            updated.version = Some(version);
        }
        let updated = Arc::new(updated);
        let value = match value {
            Value::Struct(s) => {
                let values = s
                    .schema()
                    .fields
                    .iter()
                    .map(|f| field_value(&s, &f.name, self.replace_null_with_default))
                    .collect();
                Value::Struct(Struct::from_values(updated.clone(), values)?)
            }
            other => other,
        };
        Ok(Some(self.side.with(record, Some(updated), value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::util::test_support::props;
    use aqueduct_sdk::{ErrorKind, SchemaType};

    fn configured(d: aqueduct_sdk::TransformDescriptor, pairs: &[(&str, &str)]) -> Box<dyn Transform> {
        let mut t = (d.factory)();
        t.configure(&props(pairs)).expect("valid");
        t
    }

    // SetSchemaMetadataTest.schemaNameUpdate / schemaVersionUpdate / schemaNameAndVersionUpdate
    #[test]
    fn sets_name_and_version() {
        let r = ConnectRecord::new("t", Value::Null).with_value(Some(Schema::string()), "x".into());
        let out = configured(VALUE, &[("schema.name", "foo")]).apply(r.clone()).expect("applies").expect("kept");
        let s = out.value_schema.expect("schema");
        assert_eq!((s.name.as_deref(), s.version, s.schema_type), (Some("foo"), None, SchemaType::String));
        let out = configured(VALUE, &[("schema.version", "42")]).apply(r.clone()).expect("applies").expect("kept");
        assert_eq!(out.value_schema.expect("schema").version, Some(42));
        let t = &mut configured(KEY, &[("schema.name", "foo"), ("schema.version", "42")]);
        let r = ConnectRecord::new("t", Value::Null).with_key(Some(Schema::string()), "k".into());
        let out = t.apply(r).expect("applies").expect("kept");
        let s = out.key_schema.expect("schema");
        assert_eq!((s.name.as_deref(), s.version), (Some("foo"), Some(42)));
    }

    // SetSchemaMetadataTest.updateSchemaOfStruct / updateSchemaOfNull / updateSchemaOfNonStruct
    #[test]
    fn structs_follow_their_schema() {
        let schema = Schema::struct_builder()
            .name("my.orig.SchemaDefn")
            .field("stringField", Schema::string())
            .field("intField", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(3)).build())
            .build();
        let value = Struct::new(schema.clone()).put("stringField", "value").expect("field");
        let r = ConnectRecord::new("t", value.into()).with_value(Some(schema.clone()), Value::Null);
        let mut r = r;
        r.value = Struct::new(schema).put("stringField", "value").expect("field").into();
        let out = configured(VALUE, &[("schema.name", "foo"), ("schema.version", "42")])
            .apply(r.clone())
            .expect("applies")
            .expect("kept");
        let s = out.value.as_struct().expect("a struct");
        assert_eq!(s.schema().name.as_deref(), Some("foo"));
        assert!(Arc::ptr_eq(s.schema(), out.value_schema.as_ref().expect("schema")));
        assert_eq!(s.get("stringField"), Some(&Value::String("value".into())));
        assert_eq!(s.get("intField"), Some(&Value::Int32(3)), "null replaced by the default");
        let out = configured(VALUE, &[("schema.name", "foo"), ("replace.null.with.default", "false")])
            .apply(r)
            .expect("applies")
            .expect("kept");
        assert_eq!(out.value.as_struct().and_then(|s| s.get("intField")), Some(&Value::Null));

        let mut t = configured(VALUE, &[("schema.name", "foo")]);
        let out = t.apply(ConnectRecord::new("t", Value::Null)).expect("applies").expect("kept");
        assert_eq!((out.value_schema, out.value), (None, Value::Null));
        let e = t.apply(ConnectRecord::new("t", Value::Int32(1))).expect_err("no schema");
        assert_eq!((e.kind(), e.message()), (ErrorKind::Data, "Schema required for [updating schema metadata]"));
    }

    #[test]
    fn config_errors() {
        let e = (VALUE.factory)().configure(&props(&[])).expect_err("nothing set");
        assert_eq!(e.message(), "Neither schema name nor version configured");
        let e = (VALUE.factory)().configure(&props(&[("schema.version", "x")])).expect_err("not an int");
        assert_eq!(e.message(), "Invalid value x for configuration schema.version: Not a number of type INT");
    }
}
