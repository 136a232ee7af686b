//! `FieldEquals`: a predicate matching records whose value has a field (of a struct, or of a
//! schemaless map) equal to a given text: a string as it is, a number in decimal.

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectRecord, Importance, Predicate, PredicateDescriptor, PredicateFactory, Props, Result,
    Validator, Value,
};

/// The predicate as a plugin declares it.
pub const PREDICATE: PredicateDescriptor = PredicateDescriptor {
    class: "com.example.aqueduct.FieldEquals",
    aliases: &["FieldEquals"],
    version: env!("CARGO_PKG_VERSION"),
    doc: "Matches records whose value's field equals a text.",
    factory: PredicateFactory::Builtin(|| Box::<FieldEquals>::default()),
};

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define("field", ConfigType::String, None, Importance::High, "The field of the value to compare.")
        .validator(Validator::NonEmpty)
        .define("value", ConfigType::String, None, Importance::High, "The text it must equal.")
}

#[derive(Default)]
struct FieldEquals {
    field: String,
    value: String,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => v.as_i64().map(|i| i.to_string()),
        Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Predicate for FieldEquals {
    fn config_def(&self) -> ConfigDef {
        config_def()
    }

    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = config_def().parse(props)?;
        self.field = config.string("field").unwrap_or_default().to_owned();
        self.value = config.string("value").unwrap_or_default().to_owned();
        Ok(())
    }

    fn test(&self, record: &ConnectRecord) -> Result<bool> {
        let field = match &record.value {
            Value::Struct(_) => record.value.field(&self.field),
            _ => record.value.map_get(&self.field),
        };
        Ok(field.and_then(text).is_some_and(|t| t == self.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_string_or_a_number_by_its_text() {
        let mut p = (PREDICATE.factory)();
        let props = Props::from([("field".to_owned(), "status".to_owned()), ("value".to_owned(), "200".to_owned())]);
        p.configure(&props).expect("configured");
        let record = |status: Value| ConnectRecord::new("t", Value::Map(vec![(Value::from("status"), status)]));
        assert!(p.test(&record(Value::Int32(200))).expect("tests"));
        assert!(p.test(&record(Value::from("200"))).expect("tests"));
        assert!(!p.test(&record(Value::Int32(500))).expect("tests"));
        assert!(!p.test(&ConnectRecord::new("t", Value::Null)).expect("tests"));
    }
}
