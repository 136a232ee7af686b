//! `UppercaseField`: a single message transform that upper-cases one string field of each
//! record's value (a struct, or a schemaless map with string keys).

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectError, ConnectRecord, Importance, Props, Result, Struct, Transform,
    TransformDescriptor, TransformFactory, Validator, Value,
};

/// The transform as a plugin declares it.
pub const TRANSFORM: TransformDescriptor = TransformDescriptor {
    class: "com.example.aqueduct.UppercaseField",
    aliases: &["UppercaseField"],
    version: env!("CARGO_PKG_VERSION"),
    doc: "Upper-cases one string field of the record's value.",
    factory: TransformFactory::Builtin(|| Box::<UppercaseField>::default()),
};

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define("field", ConfigType::String, None, Importance::High, "The string field of the value to upper-case.")
        .validator(Validator::NonEmpty)
        .define("panic.on.apply", ConfigType::Boolean, Some("false"), Importance::Low, "Panic in apply (for tests).")
}

#[derive(Default)]
struct UppercaseField {
    field: String,
    panic: bool,
}

impl UppercaseField {
    fn upper(&self, value: Value) -> Result<Value> {
        match value {
            Value::String(s) => Ok(Value::String(s.to_uppercase())),
            Value::Null => Ok(Value::Null),
            other => Err(ConnectError::data(format!(
                "UppercaseField: field {} is a {}, not a string",
                self.field,
                other.schema_type().map_or("null", |t| t.name())
            ))),
        }
    }
}

impl Transform for UppercaseField {
    fn config_def(&self) -> ConfigDef {
        config_def()
    }

    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = config_def().parse(props)?;
        self.field = config.string("field").unwrap_or_default().to_owned();
        self.panic = config.boolean("panic.on.apply").unwrap_or(false);
        Ok(())
    }

    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if self.panic {
            panic!("UppercaseField was told to panic");
        }
        record.value = match std::mem::replace(&mut record.value, Value::Null) {
            Value::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(
                        |(k, v)| {
                            if k.as_str() == Some(self.field.as_str()) {
                                Ok((k, self.upper(v)?))
                            } else {
                                Ok((k, v))
                            }
                        },
                    )
                    .collect::<Result<_>>()?,
            ),
            Value::Struct(s) => {
                let schema = s.schema().clone();
                let position = schema.fields.iter().position(|f| f.name == self.field);
                let mut values = s.into_values();
                if let Some(i) = position {
                    values[i] = self.upper(std::mem::replace(&mut values[i], Value::Null))?;
                }
                Value::Struct(Struct::from_values(schema, values)?)
            }
            Value::Null => Value::Null,
            other => {
                return Err(ConnectError::data(format!(
                    "UppercaseField needs a struct or map value, got {}",
                    other.schema_type().map_or("null", |t| t.name())
                )))
            }
        };
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::{ErrorKind, Schema};

    fn configured(field: &str) -> Box<dyn Transform> {
        let mut t = (TRANSFORM.factory)();
        t.configure(&Props::from([("field".to_owned(), field.to_owned())])).expect("configured");
        t
    }

    #[test]
    fn upper_cases_the_field_of_a_map_or_a_struct() {
        let map = Value::Map(vec![(Value::from("body"), Value::from("green")), (Value::from("n"), Value::Int32(1))]);
        let out = configured("body").apply(ConnectRecord::new("t", map)).expect("applies").expect("kept");
        assert_eq!(out.value.map_get("body"), Some(&Value::from("GREEN")));
        assert_eq!(out.value.map_get("n"), Some(&Value::Int32(1)));

        let schema = Schema::struct_builder().field("name", Schema::string()).build();
        let row = Struct::new(schema).put("name", "ada").expect("a field");
        let out = configured("name").apply(ConnectRecord::new("t", Value::Struct(row))).expect("applies");
        assert_eq!(out.and_then(|r| r.value.field("name").cloned()), Some(Value::from("ADA")));
    }

    #[test]
    fn a_field_that_is_not_a_string_is_a_data_error_and_the_field_is_required() {
        let map = Value::Map(vec![(Value::from("n"), Value::Int32(1))]);
        let err = configured("n").apply(ConnectRecord::new("t", map)).expect_err("not a string");
        assert_eq!(err.kind(), ErrorKind::Data);
        assert!((TRANSFORM.factory)().configure(&Props::new()).is_err());
    }
}
