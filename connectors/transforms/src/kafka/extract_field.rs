//! `ExtractField$Key` / `ExtractField$Value`: replaces the key or value with one of its
//! fields (a nested one with `field.syntax.version=V2`).

use aqueduct_sdk::{ConfigDef, ConfigType, ConnectError, ConnectRecord, Importance, Props, Result, Transform, Value};

use super::field_path::{with_field_syntax_version, SingleFieldPath, FIELD_SYNTAX_VERSION_CONFIG};
use super::util::{invalid, java_class, with_replace_null_with_default};
use super::Side;

const PURPOSE: &str = "field extraction";

/// Kafka Connect's `ExtractField`: a struct's field (with its schema) or a map's entry; null
/// passes through.
#[derive(Debug)]
pub struct ExtractField {
    side: Side,
    original: String,
    path: SingleFieldPath,
    replace_null_with_default: bool,
}

sided_descriptors!(
    "ExtractField",
    ExtractField,
    "Extract the specified field from a Struct when schema present, or a Map in the case of schemaless data."
);

impl ExtractField {
    /// An unconfigured instance for one side of the record.
    pub fn new(side: Side) -> Self {
        ExtractField {
            side,
            original: String::new(),
            path: SingleFieldPath::default(),
            replace_null_with_default: true,
        }
    }
}

impl Transform for ExtractField {
    fn config_def(&self) -> ConfigDef {
        let def =
            ConfigDef::new().define("field", ConfigType::String, None, Importance::Medium, "Field name to extract.");
        with_field_syntax_version(with_replace_null_with_default(def))
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.original = config.string("field").unwrap_or_default().to_owned();
        let version = config.string(FIELD_SYNTAX_VERSION_CONFIG).unwrap_or("V1");
        self.path = SingleFieldPath::new(&self.original, version).map_err(|e| invalid("field", &self.original, &e))?;
        self.replace_null_with_default = config.boolean("replace.null.with.default").unwrap_or(true);
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let (schema, value) = self.side.take(&mut record);
        let mismatch = |expected: &str, found: &Value| {
            ConnectError::data(format!("Only {expected} for [{PURPOSE}], found: {}", java_class(found)))
        };
        match schema {
            None => {
                let extracted = match &value {
                    Value::Null => Value::Null,
                    Value::Map(_) => self.path.value_from_map(&value)?,
                    other => return Err(mismatch("Map objects supported in absence of schema", other)),
                };
                Ok(Some(self.side.with(record, None, extracted)))
            }
            Some(schema) => {
                if !matches!(value, Value::Null | Value::Struct(_)) {
                    return Err(mismatch("Struct objects supported", &value));
                }
                let field = self
                    .path
                    .field_from(&schema)
                    .ok_or_else(|| ConnectError::data(format!("Unknown field: {}", self.original)))?;
                let extracted = match &value {
                    Value::Null => Value::Null,
                    _ => self.path.value_from_struct(&value, self.replace_null_with_default)?,
                };
                Ok(Some(self.side.with(record, Some(field.schema.clone()), extracted)))
            }
        }
    }
}

#[cfg(test)]
#[path = "extract_field_tests.rs"]
mod tests;
