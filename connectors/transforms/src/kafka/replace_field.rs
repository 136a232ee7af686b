//! `ReplaceField$Key` / `ReplaceField$Value`: keeps (`include`), drops (`exclude`) and renames
//! (`renames`) fields of a struct or map.

use std::collections::HashMap;

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConfigValue, ConnectRecord, Field, Importance, Props, Result, Struct, Transform, Validator,
    Value,
};

use super::util::{
    field_value, java_list, require_map, require_struct, struct_schema_like, with_replace_null_with_default,
    SchemaCache,
};
use super::Side;

const PURPOSE: &str = "field replacement";

/// Kafka Connect's `ReplaceField`. `exclude` takes precedence over `include`; an empty
/// `include` keeps every field. The deprecated `blacklist`/`whitelist` (removed in Kafka
/// Connect 4) are still read when `exclude`/`include` are empty. A map keeps its entry order.
#[derive(Debug)]
pub struct ReplaceField {
    side: Side,
    exclude: Vec<String>,
    include: Vec<String>,
    renames: HashMap<String, String>,
    reverse: HashMap<String, String>,
    replace_null_with_default: bool,
    schemas: SchemaCache,
}

sided_descriptors!("ReplaceField", ReplaceField, "Filter or rename fields.");

/// Parses `old:new` pairs as Kafka Connect does (Java's `split(":")`, so `a:` is invalid).
pub fn parse_renames(mappings: &[String]) -> std::result::Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for mapping in mappings {
        let mut parts: Vec<&str> = mapping.split(':').collect();
        while parts.len() > 1 && parts.last() == Some(&"") {
            parts.pop();
        }
        match parts.as_slice() {
            [from, to] => {
                out.insert((*from).to_owned(), (*to).to_owned());
            }
            _ => return Err(format!("Invalid rename mapping: {mapping}")),
        }
    }
    Ok(out)
}

impl ReplaceField {
    /// An unconfigured instance for one side of the record.
    pub fn new(side: Side) -> Self {
        ReplaceField {
            side,
            exclude: Vec::new(),
            include: Vec::new(),
            renames: HashMap::new(),
            reverse: HashMap::new(),
            replace_null_with_default: true,
            schemas: SchemaCache::default(),
        }
    }

    fn keep(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name) && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.get(name).map_or(name, String::as_str)
    }
}

impl Transform for ReplaceField {
    fn config_def(&self) -> ConfigDef {
        let def = ConfigDef::new()
            .define(
                "exclude",
                ConfigType::List,
                Some(""),
                Importance::Medium,
                "Fields to exclude. This takes precedence over the fields to include.",
            )
            .define(
                "include",
                ConfigType::List,
                Some(""),
                Importance::Medium,
                "Fields to include. If specified, only these fields will be used.",
            )
            .define("renames", ConfigType::List, Some(""), Importance::Medium, "Field rename mappings.")
            .validator(Validator::Custom(|v| match v {
                ConfigValue::List(items) => parse_renames(items).map(|_| ()),
                _ => Ok(()),
            }))
            .define("blacklist", ConfigType::List, Some(""), Importance::Low, "Deprecated. Use exclude instead.")
            .define("whitelist", ConfigType::List, Some(""), Importance::Low, "Deprecated. Use include instead.");
        with_replace_null_with_default(def)
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        let list = |k: &str| config.list(k).unwrap_or_default().to_vec();
        self.exclude = list("exclude");
        if self.exclude.is_empty() {
            self.exclude = list("blacklist");
        }
        self.include = list("include");
        if self.include.is_empty() {
            self.include = list("whitelist");
        }
        let renames = list("renames");
        self.renames =
            parse_renames(&renames).map_err(|e| super::util::invalid("renames", &java_list(&renames), &e))?;
        self.reverse = self.renames.iter().map(|(k, v)| (v.clone(), k.clone())).collect();
        self.replace_null_with_default = config.boolean("replace.null.with.default").unwrap_or(true);
        self.schemas.clear();
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if self.side.value(&record).is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = self.side.take(&mut record);
        match schema {
            None => {
                let entries = require_map(&value, PURPOSE)?;
                let updated = entries
                    .iter()
                    .filter_map(|(k, v)| {
                        let name = k.as_str()?;
                        self.keep(name).then(|| (Value::String(self.renamed(name).to_owned()), v.clone()))
                    })
                    .collect();
                Ok(Some(self.side.with(record, None, Value::Map(updated))))
            }
            Some(_) => {
                let value = require_struct(&value, PURPOSE)?;
                let mut cache = std::mem::take(&mut self.schemas);
                let this = &*self;
                let derived = cache.get_or_try_insert(value.schema(), |schema| {
                    let fields = schema
                        .fields
                        .iter()
                        .filter(|f| this.keep(&f.name))
                        .map(|f| Field { name: this.renamed(&f.name).to_owned(), schema: f.schema.clone() })
                        .collect();
                    Ok(struct_schema_like(schema, fields))
                });
                self.schemas = cache;
                let updated_schema = derived?;
                let values = updated_schema
                    .fields
                    .iter()
                    .map(|f| {
                        let original = self.reverse.get(&f.name).unwrap_or(&f.name);
                        field_value(value, original, self.replace_null_with_default)
                    })
                    .collect();
                let updated = Struct::from_values(updated_schema.clone(), values)?;
                Ok(Some(self.side.with(record, Some(updated_schema), updated.into())))
            }
        }
    }
}

#[cfg(test)]
#[path = "replace_field_tests.rs"]
mod tests;
