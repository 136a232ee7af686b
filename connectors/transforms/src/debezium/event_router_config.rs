//! The keys of `io.debezium.transforms.outbox.EventRouter` (Debezium's
//! `EventRouterConfigDefinition`, the tracing keys and `field.name.adjustment.mode`).

use aqueduct_sdk::{ConfigDef, ConfigType, ConfigValue, Importance, Props, Result, Validator};
use regex::Regex;

use super::util::{check_enum, check_regex, NameAdjustment};
use crate::kafka::util::{invalid, whole_match_regex, JavaReplacement};

const FIELD_EVENT_ID: &str = "table.field.event.id";
const FIELD_EVENT_KEY: &str = "table.field.event.key";
const FIELD_EVENT_TYPE: &str = "table.field.event.type";
const FIELD_EVENT_TIMESTAMP: &str = "table.field.event.timestamp";
const FIELD_PAYLOAD: &str = "table.field.event.payload";
const FIELDS_ADDITIONAL_PLACEMENT: &str = "table.fields.additional.placement";
const FIELDS_ADDITIONAL_MISSING: &str = "table.field.additional.missing";
const FIELD_SCHEMA_VERSION: &str = "table.field.event.schema.version";
const ROUTE_BY_FIELD: &str = "route.by.field";
const ROUTE_TOPIC_REGEX: &str = "route.topic.regex";
const ROUTE_TOPIC_REPLACEMENT: &str = "route.topic.replacement";
const ROUTE_TOMBSTONE_ON_EMPTY_PAYLOAD: &str = "route.tombstone.on.empty.payload";
const OPERATION_INVALID_BEHAVIOR: &str = "table.op.invalid.behavior";
const EXPAND_JSON_PAYLOAD: &str = "table.expand.json.payload";
const TABLE_JSON_PAYLOAD_NULL_BEHAVIOR: &str = "table.json.payload.null.behavior";
const FIELD_NAME_ADJUSTMENT_MODE: &str = "field.name.adjustment.mode";

/// Where an additional outbox column goes (`table.fields.additional.placement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// `header`: a header named by the alias.
    Header,
    /// `envelope`: a field of the value struct next to `payload`.
    Envelope,
    /// `partition`: the Kafka partition (an int32 column).
    Partition,
}

/// One `column:placement[:alias]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdditionalField {
    /// The outbox column.
    pub field: String,
    /// Where it goes.
    pub placement: Placement,
    /// The header or field name (the column's by default).
    pub alias: String,
}

/// What to do with an update of the outbox table (`table.op.invalid.behavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidOperation {
    /// `warn` (default): skip it with a warning.
    Warn,
    /// `error`: skip it with an error logged.
    Error,
    /// `fatal`: fail.
    Fatal,
}

/// The typed configuration.
#[derive(Debug, Clone)]
pub struct EventRouterConfig {
    /// `table.field.event.id` (default `id`): becomes the `id` header.
    pub field_event_id: String,
    /// `table.field.event.key` (default `aggregateid`): becomes the record key.
    pub field_event_key: String,
    /// `table.field.event.payload` (default `payload`): becomes the value.
    pub field_payload: String,
    /// `table.field.event.timestamp`: the record timestamp, else the envelope's `ts_ms`.
    pub field_event_timestamp: Option<String>,
    /// `table.fields.additional.placement`.
    pub additional: Vec<AdditionalField>,
    /// `table.field.additional.missing` is `ignore` (default `error`).
    pub ignore_missing_additional: bool,
    /// `table.field.event.schema.version`: an int32 column giving the value schema's version.
    pub field_schema_version: Option<String>,
    /// `route.by.field` (default `aggregatetype`): the topic before `route.topic.regex`.
    pub route_by_field: String,
    /// `route.topic.regex` (default `(?<routedByValue>.*)`), matched against the whole value.
    pub route_regex: Regex,
    /// `route.topic.replacement` (default `outbox.event.${routedByValue}`).
    pub route_replacement: JavaReplacement,
    /// `route.tombstone.on.empty.payload` (default false).
    pub tombstone_on_empty_payload: bool,
    /// `table.op.invalid.behavior`.
    pub invalid_operation: InvalidOperation,
    /// `table.expand.json.payload` (default false): a JSON string payload becomes a struct.
    pub expand_json_payload: bool,
    /// `table.json.payload.null.behavior` is `optional_bytes` (default `ignore`): JSON nulls
    /// are kept as optional bytes fields.
    pub json_null_as_bytes: bool,
    /// `field.name.adjustment.mode` for expanded JSON field names (default `none`).
    pub field_name_adjustment: NameAdjustment,
}

fn check_invalid_behavior(v: &ConfigValue) -> std::result::Result<(), String> {
    check_enum(v, &["warn", "error", "fatal"])
}
fn check_missing(v: &ConfigValue) -> std::result::Result<(), String> {
    check_enum(v, &["error", "ignore"])
}
fn check_null_behavior(v: &ConfigValue) -> std::result::Result<(), String> {
    check_enum(v, &["ignore", "optional_bytes"])
}
fn check_adjustment(v: &ConfigValue) -> std::result::Result<(), String> {
    check_enum(v, &["none", "avro", "avro_unicode"])
}

fn parse_placements(items: &[String]) -> std::result::Result<Vec<AdditionalField>, String> {
    let bad =
        || format!("A comma-separated list of valid String pairs or trios is expected but got: [{}]", items.join(", "));
    items
        .iter()
        .map(|item| {
            let parts: Vec<&str> = item.split(':').map(str::trim).collect();
            if parts.len() != 2 && parts.len() != 3 {
                return Err(bad());
            }
            let placement = match parts[1].to_ascii_lowercase().as_str() {
                "header" => Placement::Header,
                "envelope" => Placement::Envelope,
                "partition" => Placement::Partition,
                other => return Err(format!("Unknown placement '{other}' (expected header, envelope or partition)")),
            };
            let alias = parts.get(2).copied().unwrap_or(parts[0]).to_owned();
            Ok(AdditionalField { field: parts[0].to_owned(), placement, alias })
        })
        .collect()
}

fn check_placements(v: &ConfigValue) -> std::result::Result<(), String> {
    match v {
        ConfigValue::List(items) => parse_placements(items).map(|_| ()),
        _ => Ok(()),
    }
}

/// The keys, with Debezium's defaults and documentation.
pub fn config_def() -> ConfigDef {
    let s = ConfigType::String;
    ConfigDef::new()
        .define(FIELD_EVENT_ID, s, Some("id"), Importance::Low, "The column which contains the event ID within the outbox table")
        .group("Table")
        .define(FIELD_EVENT_KEY, s, Some("aggregateid"), Importance::Low, "The column which contains the event key within the outbox table")
        .group("Table")
        .define(FIELD_EVENT_TYPE, s, Some("type"), Importance::Low, "The column which contains the event type within the outbox table")
        .group("Table")
        .define(FIELD_PAYLOAD, s, Some("payload"), Importance::Low, "The column which contains the event payload within the outbox table")
        .group("Table")
        .define(FIELD_EVENT_TIMESTAMP, s, Some(""), Importance::Medium, "Optionally you can override the Kafka message timestamp with a value from a chosen column, otherwise it'll be the Debezium event processed timestamp.")
        .group("Table")
        .define(FIELDS_ADDITIONAL_PLACEMENT, ConfigType::List, Some(""), Importance::High, "Extra fields can be added as part of the event envelope or a message header, format is a list of colon-delimited pairs or trios when you desire to have aliases, e.g. <code>id:header,field_name:envelope:alias,field_name:partition</code> ")
        .group("Table")
        .validator(Validator::Custom(check_placements))
        .define(FIELDS_ADDITIONAL_MISSING, s, Some("error"), Importance::Medium, "When transforming the 'table.fields.additional.placement' fields, defines the behavior when one of the configured fields is missing in the change data. 'error' (default) will throw an exception; 'ignore' will silently skip the missing field.")
        .group("Table")
        .validator(Validator::Custom(check_missing))
        .define(FIELD_SCHEMA_VERSION, s, Some(""), Importance::Low, "The column which contains the event schema version within the outbox table")
        .group("Table")
        .define(OPERATION_INVALID_BEHAVIOR, s, Some("warn"), Importance::Medium, "While Debezium is capturing changes from the outbox table, it is expecting only to process 'create' or 'delete' row events; in case something else is processed this transform can log it as warning, error or stop the process.")
        .group("Table")
        .validator(Validator::Custom(check_invalid_behavior))
        .define(EXPAND_JSON_PAYLOAD, ConfigType::Boolean, Some("false"), Importance::Medium, "Whether or not to try unescaping a JSON string and make it real JSON. It will infer schema information from payload and update the record schema accordingly. If content is not JSON, it just produces a warning and emits the record unchanged")
        .group("Table")
        .define(TABLE_JSON_PAYLOAD_NULL_BEHAVIOR, s, Some("ignore"), Importance::Medium, "Behavior when json payload including null value, the default will ignore null, optional_bytes will keep the null value, and treat null as optional bytes of connect.")
        .group("Table")
        .validator(Validator::Custom(check_null_behavior))
        .define(ROUTE_BY_FIELD, s, Some("aggregatetype"), Importance::High, "The column which determines how the events will be routed, the value will become part of the topic name")
        .group("Router")
        .define(ROUTE_TOPIC_REGEX, s, Some("(?<routedByValue>.*)"), Importance::Low, "The default regex to use within the RegexRouter, the default capture will allow to replace the routed field into a new topic name defined in 'route.topic.replacement'")
        .group("Router")
        .validator(Validator::Custom(check_regex))
        .define(ROUTE_TOPIC_REPLACEMENT, s, Some("outbox.event.${routedByValue}"), Importance::High, "The name of the topic in which the events will be routed, a replacement '${routedByValue}' is available which is the value of The column configured via 'route.by.field'")
        .group("Router")
        .define(ROUTE_TOMBSTONE_ON_EMPTY_PAYLOAD, ConfigType::Boolean, Some("false"), Importance::High, "Whether or not an empty payload should cause a tombstone event.")
        .group("Router")
        .define("tracing.span.context.field", s, Some("tracingspancontext"), Importance::Low, "The name of the field containing java.util.Properties representation of serialized span context. Accepted; tracing is not applied.")
        .group("Tracing")
        .define("tracing.operation.name", s, Some("debezium-read"), Importance::Low, "The operation name representing Debezium processing span. Accepted; tracing is not applied.")
        .group("Tracing")
        .define("tracing.with.context.field.only", ConfigType::Boolean, Some("false"), Importance::Low, "Set to true when only events that have serialized context field should be traced. Accepted; tracing is not applied.")
        .group("Tracing")
        .define(FIELD_NAME_ADJUSTMENT_MODE, s, Some("none"), Importance::Low, "How field names of an expanded JSON payload are adjusted: none, avro (invalid characters become _) or avro_unicode (they become _uxxxx).")
        .validator(Validator::Custom(check_adjustment))
}

impl EventRouterConfig {
    /// Parses and checks the keys; a bad key is a config error naming it.
    pub fn parse(props: &Props) -> Result<EventRouterConfig> {
        let cfg = config_def().parse(props)?;
        let text = |key: &str| cfg.string(key).unwrap_or_default().to_owned();
        let optional = |key: &str| Some(text(key)).filter(|s| !s.is_empty());
        let regex_text = text(ROUTE_TOPIC_REGEX);
        let route_regex = whole_match_regex(&regex_text).map_err(|e| invalid(ROUTE_TOPIC_REGEX, &regex_text, e))?;
        let replacement_text = text(ROUTE_TOPIC_REPLACEMENT);
        let route_replacement = JavaReplacement::parse(&replacement_text, &route_regex)
            .map_err(|e| invalid(ROUTE_TOPIC_REPLACEMENT, &replacement_text, e))?;
        let placements = cfg.list(FIELDS_ADDITIONAL_PLACEMENT).unwrap_or_default();
        let additional =
            parse_placements(placements).map_err(|e| invalid(FIELDS_ADDITIONAL_PLACEMENT, &placements.join(","), e))?;
        let invalid_operation = match text(OPERATION_INVALID_BEHAVIOR).to_ascii_lowercase().as_str() {
            "fatal" => InvalidOperation::Fatal,
            "error" => InvalidOperation::Error,
            _ => InvalidOperation::Warn,
        };
        Ok(EventRouterConfig {
            field_event_id: text(FIELD_EVENT_ID),
            field_event_key: text(FIELD_EVENT_KEY),
            field_payload: text(FIELD_PAYLOAD),
            field_event_timestamp: optional(FIELD_EVENT_TIMESTAMP),
            additional,
            ignore_missing_additional: text(FIELDS_ADDITIONAL_MISSING).eq_ignore_ascii_case("ignore"),
            field_schema_version: optional(FIELD_SCHEMA_VERSION),
            route_by_field: text(ROUTE_BY_FIELD),
            route_regex,
            route_replacement,
            tombstone_on_empty_payload: cfg.boolean(ROUTE_TOMBSTONE_ON_EMPTY_PAYLOAD).unwrap_or(false),
            invalid_operation,
            expand_json_payload: cfg.boolean(EXPAND_JSON_PAYLOAD).unwrap_or(false),
            json_null_as_bytes: text(TABLE_JSON_PAYLOAD_NULL_BEHAVIOR).eq_ignore_ascii_case("optional_bytes"),
            field_name_adjustment: NameAdjustment::parse(&text(FIELD_NAME_ADJUSTMENT_MODE))
                .unwrap_or(NameAdjustment::None),
        })
    }

    /// True when no additional field goes to the envelope: the value is then the payload
    /// itself rather than a struct around it.
    pub fn payload_only(&self) -> bool {
        self.additional.iter().all(|f| f.placement != Placement::Envelope)
    }
}
