//! `ValueToKey`: the key becomes a struct (with a schema) or map (without) of some value fields.

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectError, ConnectRecord, Importance, Props, Result, Schema, Struct, Transform, Value,
};

use super::util::{
    field_value, map_get, non_empty_list, require_map, require_struct, with_replace_null_with_default, SchemaCache,
};

const PURPOSE: &str = "copying fields from value to key";

/// Kafka Connect's `ValueToKey`.
#[derive(Debug, Default)]
pub struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
    schemas: SchemaCache,
}

single_descriptor!(
    "ValueToKey",
    ValueToKey,
    "Replace the record key with a new key formed from a subset of fields in the record value."
);

impl Transform for ValueToKey {
    fn config_def(&self) -> ConfigDef {
        let def = ConfigDef::new()
            .define(
                "fields",
                ConfigType::List,
                None,
                Importance::High,
                "Field names on the record value to extract as the record key.",
            )
            .validator(non_empty_list());
        with_replace_null_with_default(def)
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.fields = config.list("fields").unwrap_or_default().to_vec();
        self.replace_null_with_default = config.boolean("replace.null.with.default").unwrap_or(true);
        self.schemas.clear();
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        match record.value_schema.clone() {
            None => {
                let value = require_map(&record.value, PURPOSE)?;
                let key = self
                    .fields
                    .iter()
                    .map(|f| (Value::String(f.clone()), map_get(value, f).cloned().unwrap_or(Value::Null)))
                    .collect();
                record.key_schema = None;
                record.key = Value::Map(key);
            }
            Some(_) => {
                let value = require_struct(&record.value, PURPOSE)?;
                let fields = &self.fields;
                let key_schema = self.schemas.get_or_try_insert(value.schema(), |schema| {
                    let mut builder = Schema::struct_builder();
                    for name in fields {
                        let field = schema
                            .field(name)
                            .ok_or_else(|| ConnectError::data(format!("Field does not exist: {name}")))?;
                        builder = builder.field(name.clone(), field.schema.clone());
                    }
                    Ok(builder.build())
                })?;
                let values = fields.iter().map(|f| field_value(value, f, self.replace_null_with_default)).collect();
                record.value_schema = Some(value.schema().clone());
                record.key = Value::Struct(Struct::from_values(key_schema.clone(), values)?);
                record.key_schema = Some(key_schema);
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::util::test_support::{map, props};
    use aqueduct_sdk::{ErrorKind, SchemaType};

    fn configured(pairs: &[(&str, &str)]) -> Box<dyn Transform> {
        let mut t = (DESCRIPTOR.factory)();
        t.configure(&props(pairs)).expect("valid");
        t
    }

    // ValueToKeyTest.schemaless
    #[test]
    fn schemaless() {
        let value = map(vec![("a", Value::Int32(1)), ("b", Value::Int32(2)), ("c", Value::Int32(3))]);
        let out = configured(&[("fields", "a,b")]).apply(ConnectRecord::new("t", value.clone())).expect("applies");
        let out = out.expect("kept");
        assert_eq!(out.key, map(vec![("a", Value::Int32(1)), ("b", Value::Int32(2))]));
        assert_eq!((out.key_schema, out.value), (None, value));
    }

    // ValueToKeyTest.withSchema / nonExistingField / testReplaceNullWithDefault
    #[test]
    fn with_schema() {
        let int32 = Schema::primitive(SchemaType::Int32);
        let schema = Schema::struct_builder()
            .field("a", int32.clone())
            .field("b", int32.clone())
            .field("c", Schema::builder(SchemaType::Int32).optional().default_value(Value::Int32(9)).build())
            .build();
        let value = Struct::new(schema.clone()).put("a", 1).and_then(|s| s.put("b", 2)).expect("fields");
        let r = ConnectRecord::new("t", value.into()).with_value(Some(schema), Value::Null);
        let mut r = r;
        r.value = r.value_schema.as_ref().map_or(Value::Null, |s| {
            Struct::new(s.clone()).put("a", 1).and_then(|x| x.put("b", 2)).map_or(Value::Null, Value::Struct)
        });
        let out = configured(&[("fields", "a,c")]).apply(r.clone()).expect("applies").expect("kept");
        let key = out.key.as_struct().expect("struct key");
        assert_eq!(key.schema().fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(key.values(), &[Value::Int32(1), Value::Int32(9)]);
        assert!(out.key_schema.is_some_and(|s| s.schema_type == SchemaType::Struct));
        let out = configured(&[("fields", "c"), ("replace.null.with.default", "false")]).apply(r.clone());
        assert_eq!(
            out.expect("applies").expect("kept").key.as_struct().map(|k| k.values().to_vec()),
            Some(vec![Value::Null])
        );

        let e = configured(&[("fields", "not_exist")]).apply(r).expect_err("no such field");
        assert_eq!((e.kind(), e.message()), (ErrorKind::Data, "Field does not exist: not_exist"));
        let e = configured(&[("fields", "a")]).apply(ConnectRecord::new("t", Value::Int32(1))).expect_err("no map");
        assert!(e.message().starts_with("Only Map objects supported in absence of schema for [copying"), "{e:?}");
        assert!((DESCRIPTOR.factory)().configure(&props(&[("fields", "")])).is_err());
    }
}
