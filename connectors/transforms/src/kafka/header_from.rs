//! `HeaderFrom$Key` / `HeaderFrom$Value`: copies or moves fields of the key or value into
//! headers.

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectError, ConnectRecord, Field, Header, Importance, Props, Result, Struct, Transform,
    Value,
};

use super::util::{
    field_value, invalid, map_get, non_empty_list, require_map, require_struct, struct_schema_like,
    with_replace_null_with_default, SchemaCache,
};
use super::Side;

/// Kafka Connect's `HeaderFrom`. Headers are appended (an existing header of the same name
/// stays); a field the schema lacks is a data error; a map's missing field gives a null header.
#[derive(Debug)]
pub struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    move_fields: bool,
    replace_null_with_default: bool,
    schemas: SchemaCache,
}

sided_descriptors!(
    "HeaderFrom",
    HeaderFrom,
    "Moves or copies fields in the key/value of a record into that record's headers."
);

impl HeaderFrom {
    /// An unconfigured instance for one side of the record.
    pub fn new(side: Side) -> Self {
        HeaderFrom {
            side,
            fields: Vec::new(),
            headers: Vec::new(),
            move_fields: false,
            replace_null_with_default: true,
            schemas: SchemaCache::default(),
        }
    }

    fn purpose(&self) -> &'static str {
        if self.move_fields {
            "header move"
        } else {
            "header copy"
        }
    }
}

impl Transform for HeaderFrom {
    fn config_def(&self) -> ConfigDef {
        let def = ConfigDef::new()
            .define(
                "fields",
                ConfigType::List,
                None,
                Importance::High,
                "Field names in the record whose values are to be copied or moved to headers.",
            )
            .validator(non_empty_list())
            .define(
                "headers",
                ConfigType::List,
                None,
                Importance::High,
                "Header names, in the same order as the field names listed in the fields configuration property.",
            )
            .validator(non_empty_list())
            .define(
                "operation",
                ConfigType::String,
                None,
                Importance::High,
                "Either move if the fields are to be moved to the headers (removed from the key/value), or copy if \
                 the fields are to be copied to the headers (retained in the key/value).",
            )
            .validator(aqueduct_sdk::Validator::one_of(&["move", "copy"]));
        with_replace_null_with_default(def)
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.fields = config.list("fields").unwrap_or_default().to_vec();
        self.headers = config.list("headers").unwrap_or_default().to_vec();
        if self.fields.len() != self.headers.len() {
            return Err(ConnectError::config(
                "'fields' config must have the same number of elements as 'headers' config.",
            ));
        }
        let operation = config.string("operation").unwrap_or_default();
        self.move_fields = match operation {
            "move" => true,
            "copy" => false,
            other => return Err(invalid("operation", other, "String must be one of: move, copy")),
        };
        self.replace_null_with_default = config.boolean("replace.null.with.default").unwrap_or(true);
        self.schemas.clear();
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let (schema, value) = self.side.take(&mut record);
        let pairs = self.fields.iter().zip(&self.headers);
        match schema {
            None => {
                let mut entries = require_map(&value, self.purpose())?.to_vec();
                for (field, header) in pairs {
                    let found = map_get(&entries, field).cloned().unwrap_or(Value::Null);
                    record.headers.push(Header { key: header.clone(), schema: None, value: found });
                }
                if self.move_fields {
                    entries.retain(|(k, _)| !k.as_str().is_some_and(|k| self.fields.iter().any(|f| f == k)));
                }
                Ok(Some(self.side.with(record, None, Value::Map(entries))))
            }
            Some(schema) => {
                let value = require_struct(&value, self.purpose())?;
                for (field, header) in pairs {
                    let field_schema = schema
                        .field(field)
                        .ok_or_else(|| ConnectError::data(format!("Field does not exist: {field}")))?
                        .schema
                        .clone();
                    let found = field_value(value, field, self.replace_null_with_default);
                    record.headers.push(Header { key: header.clone(), schema: Some(field_schema), value: found });
                }
                if !self.move_fields {
                    let value = value.clone();
                    return Ok(Some(self.side.with(record, Some(schema), value.into())));
                }
                let mut cache = std::mem::take(&mut self.schemas);
                let fields = &self.fields;
                let derived = cache.get_or_try_insert(&schema, |s| {
                    let kept: Vec<Field> = s.fields.iter().filter(|f| !fields.contains(&f.name)).cloned().collect();
                    Ok(struct_schema_like(s, kept))
                });
                self.schemas = cache;
                let moved_schema = derived?;
                let values = moved_schema
                    .fields
                    .iter()
                    .map(|f| field_value(value, &f.name, self.replace_null_with_default))
                    .collect();
                let moved = Struct::from_values(moved_schema.clone(), values)?;
                Ok(Some(self.side.with(record, Some(moved_schema), moved.into())))
            }
        }
    }
}

#[cfg(test)]
#[path = "header_from_tests.rs"]
mod tests;
