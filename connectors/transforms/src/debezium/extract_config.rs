//! The keys of `io.debezium.transforms.ExtractNewRecordState`
//! (Debezium's `ExtractNewRecordStateConfigDefinition` plus the drop-fields keys).

use aqueduct_sdk::{ConfigDef, ConfigType, ConfigValue, ConnectError, Importance, Props, Result, Validator};

/// `delete.tombstone.handling.mode`.
pub const HANDLE_TOMBSTONE_DELETES: &str = "delete.tombstone.handling.mode";
/// `route.by.field`.
pub const ROUTE_BY_FIELD: &str = "route.by.field";
/// `add.fields.prefix`.
pub const ADD_FIELDS_PREFIX: &str = "add.fields.prefix";
/// `add.fields`.
pub const ADD_FIELDS: &str = "add.fields";
/// `add.headers.prefix`.
pub const ADD_HEADERS_PREFIX: &str = "add.headers.prefix";
/// `add.headers`.
pub const ADD_HEADERS: &str = "add.headers";
/// `replace.null.with.default`.
pub const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";
/// `drop.fields.header.name`.
pub const DROP_FIELDS_HEADER: &str = "drop.fields.header.name";
/// `drop.fields.from.key`.
pub const DROP_FIELDS_FROM_KEY: &str = "drop.fields.from.key";
/// `drop.fields.keep.schema.compatible`.
pub const DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE: &str = "drop.fields.keep.schema.compatible";

/// The field added by the rewrite modes.
pub const DELETED_FIELD: &str = "__deleted";

/// In the order Debezium lists them in its error message.
const MODES: [&str; 5] = ["drop", "tombstone", "rewrite-with-tombstone", "rewrite", "delete-to-tombstone"];

/// What to do with delete events and tombstones (`delete.tombstone.handling.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteTombstoneHandling {
    /// `drop`: deletes and tombstones are removed.
    Drop,
    /// `tombstone` (default): a delete becomes a record with a null value; tombstones are removed.
    Tombstone,
    /// `rewrite`: a delete becomes its `before` image with `__deleted=true`; tombstones removed.
    Rewrite,
    /// `rewrite-with-tombstone`: as `rewrite`, tombstones kept.
    RewriteWithTombstone,
    /// `delete-to-tombstone`: a delete becomes a tombstone (no value schema); tombstones removed.
    DeleteToTombstone,
}

impl DeleteTombstoneHandling {
    /// Parses a mode (trimmed, any case).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "drop" => Self::Drop,
            "tombstone" => Self::Tombstone,
            "rewrite" => Self::Rewrite,
            "rewrite-with-tombstone" => Self::RewriteWithTombstone,
            "delete-to-tombstone" => Self::DeleteToTombstone,
            _ => return None,
        })
    }

    /// True for `rewrite` and `rewrite-with-tombstone`, which add `__deleted`.
    pub fn is_rewrite(self) -> bool {
        matches!(self, Self::Rewrite | Self::RewriteWithTombstone)
    }
}

/// The envelope struct a metadata field lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parent {
    /// The envelope itself (`op`, `ts_ms`, `ts_us`, `ts_ns`).
    Envelope,
    /// A named struct of the envelope (`source`, `transaction`, `updateDescription`).
    Struct(String),
}

/// One entry of `add.fields` / `add.headers`: `[struct.]field[:new_name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldReference {
    /// Where the field is looked up first.
    pub parent: Parent,
    /// The field's name.
    pub field: String,
    /// The name of the added field or header, prefix included.
    pub new_field: String,
}

impl FieldReference {
    /// Parses one entry as Debezium does: an unqualified field lives in `source` except `op`
    /// and the `ts_*` fields (the envelope), `id`/`total_order`/`data_collection_order`
    /// (`transaction`) and `updateDescription`.
    pub fn parse(prefix: &str, entry: &str) -> std::result::Result<FieldReference, String> {
        let parts: Vec<&str> = entry.split(':').collect();
        let splits: Vec<&str> = parts[0].split('.').collect();
        let field = if splits.len() == 1 { splits[0] } else { splits[1] }.to_owned();
        let parent = if splits.len() == 1 {
            match field.as_str() {
                "id" | "total_order" | "data_collection_order" => Parent::Struct("transaction".into()),
                "op" | "ts_ms" | "ts_us" | "ts_ns" => Parent::Envelope,
                "updateDescription" => Parent::Struct("updateDescription".into()),
                _ => Parent::Struct("source".into()),
            }
        } else {
            Parent::Struct(splits[0].to_owned())
        };
        let new_field = match (parts.len(), &parent) {
            (1, Parent::Struct(s)) if splits.len() > 1 => format!("{prefix}{s}_{field}"),
            (1, _) => format!("{prefix}{field}"),
            (2, _) => format!("{prefix}{}", parts[1]),
            _ => return Err(format!("Unexpected field name: {entry}")),
        };
        Ok(FieldReference { parent, field, new_field })
    }

    /// Parses a comma-separated list.
    pub fn parse_list(prefix: &str, list: &[String]) -> std::result::Result<Vec<FieldReference>, String> {
        list.iter().map(|e| FieldReference::parse(prefix, e.trim())).collect()
    }
}

/// The typed configuration of `ExtractNewRecordState`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractConfig {
    /// `delete.tombstone.handling.mode` (default `tombstone`).
    pub mode: DeleteTombstoneHandling,
    /// `route.by.field`: a field of the row whose value becomes the topic; `None` when empty.
    pub route_by_field: Option<String>,
    /// `add.fields` with `add.fields.prefix` (default `__`) applied.
    pub add_fields: Vec<FieldReference>,
    /// `add.headers` with `add.headers.prefix` (default `__`) applied.
    pub add_headers: Vec<FieldReference>,
    /// `replace.null.with.default` (default true): `__deleted` rewrites put a field's schema
    /// default in place of its null.
    pub replace_null_with_default: bool,
    /// `drop.fields.header.name`: a header listing fields to remove; `None` when unset.
    pub drop_fields_header: Option<String>,
    /// `drop.fields.from.key` (default false): drop them from the key too.
    pub drop_fields_from_key: bool,
    /// `drop.fields.keep.schema.compatible` (default true): drop only optional fields.
    pub drop_fields_keep_schema_compatible: bool,
}

fn check_mode(value: &ConfigValue) -> std::result::Result<(), String> {
    super::util::check_enum(value, &MODES)
}

fn check_fields(value: &ConfigValue) -> std::result::Result<(), String> {
    match value {
        ConfigValue::List(items) => FieldReference::parse_list("", items).map(|_| ()),
        _ => Ok(()),
    }
}

/// The keys, with Debezium's defaults and documentation.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            HANDLE_TOMBSTONE_DELETES,
            ConfigType::String,
            Some("tombstone"),
            Importance::Medium,
            "How to handle delete records. Options are: drop - Remove the delete event and tombstone from the \
             stream.tombstone (default) - For each delete event, leave only a tombstone in the stream.rewrite - \
             Remove tombstone from the record, and add a `__deleted` field with the value `true`.\
             rewrite-with-tombstone - Retain tombstone in record and add a `__deleted` field with the value \
             `true`.delete-to-tombstone - Convert delete events to tombstone events and drop tombstone events.",
        )
        .validator(Validator::Custom(check_mode))
        .define(
            ROUTE_BY_FIELD,
            ConfigType::String,
            Some(""),
            Importance::Low,
            "The column which determines how the events will be routed, the value will replace the topic name.",
        )
        .define(
            ADD_FIELDS_PREFIX,
            ConfigType::String,
            Some("__"),
            Importance::Low,
            "Adds this prefix to each field listed.",
        )
        .define(
            ADD_FIELDS,
            ConfigType::List,
            Some(""),
            Importance::Low,
            "Adds each field listed, prefixed with __ (or __<struct>_ if the struct is specified). Example: \
             'version,connector,source.ts_ms' would add __version, __connector and __source_ts_ms fields. \
             Optionally one can also map new field name like \
             version:VERSION,connector:CONNECTOR,source.ts_ms:EVENT_TIMESTAMP.Please note that the new field \
             name is case-sensitive.",
        )
        .validator(Validator::Custom(check_fields))
        .define(
            ADD_HEADERS_PREFIX,
            ConfigType::String,
            Some("__"),
            Importance::Low,
            "Adds this prefix listed to each header.",
        )
        .define(
            ADD_HEADERS,
            ConfigType::List,
            Some(""),
            Importance::Low,
            "Adds each field listed to the header,  __ (or __<struct>_ if the struct is specified). Example: \
             'version,connector,source.ts_ms' would add __version, __connector and __source_ts_ms fields. \
             Optionally one can also map new field name like \
             version:VERSION,connector:CONNECTOR,source.ts_ms:EVENT_TIMESTAMP.Please note that the new field \
             name is case-sensitive.",
        )
        .validator(Validator::Custom(check_fields))
        .define(
            REPLACE_NULL_WITH_DEFAULT,
            ConfigType::Boolean,
            Some("true"),
            Importance::Low,
            "When this option is enabled, null field values are replaced by source-defined defaults when rewriting \
             the record.",
        )
        .define(
            DROP_FIELDS_HEADER,
            ConfigType::String,
            Some(""),
            Importance::Low,
            "Specifies the name of a header that contains a list of fields to be removed from the event value.",
        )
        .define(
            DROP_FIELDS_FROM_KEY,
            ConfigType::Boolean,
            Some("false"),
            Importance::Low,
            "Specifies whether to apply the drop fields behavior to the event key as well as the value. Default \
             behavior is to only remove fields from the event value, not the key.",
        )
        .define(
            DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE,
            ConfigType::Boolean,
            Some("true"),
            Importance::Low,
            "Controls the output event's schema compatibility when using the drop fields feature. `true`: dropped \
             fields are removed if the schema indicates its optional leaving the schemas unchanged, `false`: \
             dropped fields are removed from the key/value schemas, regardless of optionality.",
        )
}

impl ExtractConfig {
    /// Parses and checks the keys; a bad key is a config error naming it.
    pub fn parse(props: &Props) -> Result<ExtractConfig> {
        let cfg = config_def().parse(props)?;
        let text = |key: &str| cfg.string(key).unwrap_or_default().to_owned();
        let list = |key: &str| cfg.list(key).map(<[String]>::to_vec).unwrap_or_default();
        let refs = |key: &str, prefix: &str| {
            FieldReference::parse_list(&text(prefix), &list(key))
                .map_err(|e| ConnectError::config(format!("Invalid value for configuration {key}: {e}")))
        };
        let mode_text = text(HANDLE_TOMBSTONE_DELETES);
        let mode = DeleteTombstoneHandling::parse(&mode_text).ok_or_else(|| {
            ConnectError::config(format!(
                "Invalid value {mode_text} for configuration {HANDLE_TOMBSTONE_DELETES}: Value must be one of {}",
                MODES.join(", ")
            ))
        })?;
        let non_empty = |key: &str| Some(text(key)).filter(|s| !s.trim().is_empty());
        Ok(ExtractConfig {
            mode,
            route_by_field: non_empty(ROUTE_BY_FIELD),
            add_fields: refs(ADD_FIELDS, ADD_FIELDS_PREFIX)?,
            add_headers: refs(ADD_HEADERS, ADD_HEADERS_PREFIX)?,
            replace_null_with_default: cfg.boolean(REPLACE_NULL_WITH_DEFAULT).unwrap_or(true),
            drop_fields_header: non_empty(DROP_FIELDS_HEADER),
            drop_fields_from_key: cfg.boolean(DROP_FIELDS_FROM_KEY).unwrap_or(false),
            drop_fields_keep_schema_compatible: cfg.boolean(DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE).unwrap_or(true),
        })
    }
}
