//! `JsonConverter`: Kafka Connect's JSON, with or without the `{"schema", "payload"}` envelope.

use std::sync::Arc;

use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectError, Importance, Props, Result, Schema, SchemaRef, SchemaType, Validator, Value,
};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value as Json};

pub use aqueduct_sdk::json::{json_text_to_value, json_to_value, to_json_text, value_to_json, write_json};

use super::Converter;

/// Reads and writes JSON like Kafka Connect's `org.apache.kafka.connect.json.JsonConverter`.
#[derive(Debug, Clone)]
pub struct JsonConverter {
    schemas_enable: bool,
    decimal_numeric: bool,
}

impl JsonConverter {
    /// The converter's own keys.
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "schemas.enable",
                ConfigType::Boolean,
                Some("true"),
                Importance::High,
                "Include the schema with each record.",
            )
            .define(
                "decimal.format",
                ConfigType::String,
                Some("BASE64"),
                Importance::Low,
                "How Decimal values are written: BASE64 or NUMERIC.",
            )
            .validator(Validator::one_of(&["BASE64", "NUMERIC"]))
    }

    /// A converter configured from its keys (`schemas.enable`, `decimal.format`).
    pub fn from_props(props: &Props) -> Result<Self> {
        let config = Self::config_def().parse(props)?;
        Ok(JsonConverter {
            schemas_enable: config.boolean("schemas.enable").unwrap_or(true),
            decimal_numeric: config.string("decimal.format").is_some_and(|f| f.eq_ignore_ascii_case("NUMERIC")),
        })
    }

    /// A converter with schemas enabled or not, and base64 decimals.
    pub fn new(schemas_enable: bool) -> Self {
        JsonConverter { schemas_enable, decimal_numeric: false }
    }
}

impl Converter for JsonConverter {
    fn class(&self) -> &'static str {
        "org.apache.kafka.connect.json.JsonConverter"
    }

    fn config_def(&self) -> ConfigDef {
        Self::config_def()
    }

    fn configure(&mut self, props: &Props, _is_key: bool) -> Result<()> {
        *self = Self::from_props(props)?;
        Ok(())
    }

    fn encode(&self, _topic: &str, schema: Option<&SchemaRef>, value: &Value) -> Result<Option<Vec<u8>>> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        // The payload is written as text, not as a serde_json tree, so numeric Decimals keep every digit.
        let mut out = String::new();
        if self.schemas_enable {
            let schema_json = schema.map_or(Json::Null, |s| schema_to_json(s));
            out.push_str("{\"schema\":");
            out.push_str(&schema_json.to_string());
            out.push_str(",\"payload\":");
        }
        write_json(&mut out, schema.map(|s| &**s), value, self.decimal_numeric);
        if self.schemas_enable {
            out.push('}');
        }
        Ok(Some(out.into_bytes()))
    }

    fn decode(&self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<SchemaRef>, Value)> {
        let Some(bytes) = bytes else { return Ok((None, Value::Null)) };
        let unreadable = |e: serde_json::Error| {
            ConnectError::data(format!(
                "Converting byte[] to Kafka Connect data failed due to serialization error of topic {topic}"
            ))
            .with_source(e)
        };
        if !self.schemas_enable {
            return Ok((None, Value::from_json(serde_json::from_slice(bytes).map_err(unreadable)?)));
        }
        let envelope: Envelope<'_> = serde_json::from_slice(bytes).map_err(|e| {
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => envelope_error(),
                Err(_) => unreadable(e),
            }
        })?;
        if envelope.schema.is_null() {
            let payload = serde_json::from_str(envelope.payload.get()).map_err(unreadable)?;
            return Ok((None, Value::from_json(payload)));
        }
        let schema = schema_from_json(&envelope.schema)?;
        // From the payload's text, so numeric Decimals keep every digit.
        let value = json_text_to_value(&schema, envelope.payload.get())?;
        Ok((Some(schema), value))
    }
}

/// `{"schema": ..., "payload": ...}`: exactly these two members.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    schema: Json,
    #[serde(borrow)]
    payload: &'a RawValue,
}

fn envelope_error() -> ConnectError {
    ConnectError::data(
        "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. \
         If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.",
    )
}

/// Kafka Connect's JSON form of a schema.
pub fn schema_to_json(schema: &Schema) -> Json {
    let mut obj = Map::new();
    obj.insert("type".into(), json!(schema.schema_type.name()));
    match schema.schema_type {
        SchemaType::Struct => {
            let fields: Vec<Json> = schema
                .fields
                .iter()
                .map(|f| {
                    let mut field = schema_to_json(&f.schema);
                    if let Json::Object(m) = &mut field {
                        m.insert("field".into(), json!(f.name));
                    }
                    field
                })
                .collect();
            obj.insert("fields".into(), Json::Array(fields));
        }
        SchemaType::Array => {
            if let Some(items) = &schema.value_schema {
                obj.insert("items".into(), schema_to_json(items));
            }
        }
        SchemaType::Map => {
            if let (Some(k), Some(v)) = (&schema.key_schema, &schema.value_schema) {
                obj.insert("keys".into(), schema_to_json(k));
                obj.insert("values".into(), schema_to_json(v));
            }
        }
        _ => {}
    }
    obj.insert("optional".into(), json!(schema.optional));
    if let Some(name) = &schema.name {
        obj.insert("name".into(), json!(name));
    }
    if let Some(version) = schema.version {
        obj.insert("version".into(), json!(version));
    }
    if let Some(doc) = &schema.doc {
        obj.insert("doc".into(), json!(doc));
    }
    if !schema.parameters.is_empty() {
        obj.insert("parameters".into(), json!(schema.parameters));
    }
    if let Some(default) = &schema.default {
        obj.insert("default".into(), value_to_json(Some(schema), default, false));
    }
    Json::Object(obj)
}

/// Parses Kafka Connect's JSON form of a schema.
pub fn schema_from_json(json: &Json) -> Result<SchemaRef> {
    let bad = |what: &str| ConnectError::data(format!("invalid schema in JSON envelope: {what}"));
    let obj = json.as_object().ok_or_else(|| bad("not an object"))?;
    let type_name = obj.get("type").and_then(Json::as_str).ok_or_else(|| bad("missing \"type\""))?;
    let schema_type = SchemaType::from_name(type_name).ok_or_else(|| bad(&format!("unknown type \"{type_name}\"")))?;
    let mut b = Schema::builder(schema_type);
    if obj.get("optional").and_then(Json::as_bool).unwrap_or(false) {
        b = b.optional();
    }
    if let Some(name) = obj.get("name").and_then(Json::as_str) {
        b = b.name(name);
    }
    if let Some(version) = obj.get("version").and_then(Json::as_i64) {
        b = b.version(i32::try_from(version).map_err(|_| bad("version out of range"))?);
    }
    if let Some(doc) = obj.get("doc").and_then(Json::as_str) {
        b = b.doc(doc);
    }
    if let Some(Json::Object(params)) = obj.get("parameters") {
        for (k, v) in params {
            b = b.parameter(k, v.as_str().map_or_else(|| v.to_string(), str::to_owned));
        }
    }
    let mut schema = Arc::unwrap_or_clone(b.build());
    match schema_type {
        SchemaType::Struct => {
            for field in obj.get("fields").and_then(Json::as_array).ok_or_else(|| bad("struct without \"fields\""))? {
                let name =
                    field.get("field").and_then(Json::as_str).ok_or_else(|| bad("field without \"field\" name"))?;
                schema.fields.push(aqueduct_sdk::Field { name: name.to_owned(), schema: schema_from_json(field)? });
            }
        }
        SchemaType::Array => {
            schema.value_schema =
                Some(schema_from_json(obj.get("items").ok_or_else(|| bad("array without \"items\""))?)?);
        }
        SchemaType::Map => {
            schema.key_schema = Some(schema_from_json(obj.get("keys").ok_or_else(|| bad("map without \"keys\""))?)?);
            schema.value_schema =
                Some(schema_from_json(obj.get("values").ok_or_else(|| bad("map without \"values\""))?)?);
        }
        _ => {}
    }
    if let Some(default) = obj.get("default") {
        let default = json_to_value(&schema, default.clone())?;
        schema.default = Some(default);
    }
    Ok(Arc::new(schema))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::{logical, Struct};

    fn user_schema() -> SchemaRef {
        Schema::struct_builder()
            .name("user")
            .field("id", Schema::int64())
            .field("name", Schema::optional(SchemaType::String))
            .field("amount", logical::decimal(2).build())
            .field("tags", Schema::array(Schema::string()).build())
            .field("attrs", Schema::map(Schema::int64(), Schema::string()).optional().build())
            .build()
    }

    fn user() -> Value {
        Struct::new(user_schema())
            .put("id", 7i64)
            .and_then(|s| s.put("amount", Value::Bytes(logical::decimal_bytes(12345))))
            .and_then(|s| s.put("tags", Value::Array(vec!["a".into()])))
            .and_then(|s| s.put("attrs", Value::Map(vec![(Value::Int64(1), "one".into())])))
            .map(Value::Struct)
            .expect("valid struct")
    }

    #[test]
    fn envelope_round_trip_with_schema() {
        let c = JsonConverter::new(true);
        let bytes = c.encode("t", Some(&user_schema()), &user()).expect("serializes").expect("not null");
        let doc: Json = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(doc["schema"]["type"], "struct");
        assert_eq!(doc["schema"]["fields"][0], json!({"type": "int64", "optional": false, "field": "id"}));
        assert_eq!(doc["payload"]["amount"], "MDk=", "Decimal 123.45 as base64 of 0x3039");
        assert_eq!(doc["payload"]["attrs"], json!([[1, "one"]]));
        let (schema, value) = c.decode("t", Some(&bytes)).expect("parses");
        assert_eq!(schema.as_deref(), Some(&*user_schema()));
        assert_eq!(value, user());
    }

    #[test]
    fn decimal_numeric_and_schemaless() {
        let c = JsonConverter::from_props(&Props::from([
            ("schemas.enable".to_owned(), "false".to_owned()),
            ("decimal.format".to_owned(), "NUMERIC".to_owned()),
        ]))
        .expect("valid config");
        let bytes = c.encode("t", Some(&user_schema()), &user()).expect("ok").expect("not null");
        let doc: Json = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(doc["amount"], json!(123.45));
        assert!(doc.get("schema").is_none());
        let (schema, value) = c.decode("t", Some(br#"{"a":1}"#)).expect("parses");
        assert!(schema.is_none());
        assert_eq!(value.map_get("a"), Some(&Value::Int64(1)));
    }

    #[test]
    fn numeric_decimals_round_trip_with_every_digit() {
        let c = JsonConverter::from_props(&Props::from([("decimal.format".to_owned(), "NUMERIC".to_owned())]))
            .expect("valid config");
        let schema = logical::decimal(4).build();
        let unscaled = -98_765_432_109_876_543_210_987_654_321_i128;
        let value = Value::Bytes(logical::decimal_bytes(unscaled));
        let bytes = c.encode("t", Some(&schema), &value).expect("ok").expect("not null");
        assert!(String::from_utf8_lossy(&bytes).ends_with(r#""payload":-9876543210987654321098765.4321}"#));
        let (_, back) = c.decode("t", Some(&bytes)).expect("parses");
        assert_eq!(back, value);
    }

    #[test]
    fn bad_input_is_a_data_error() {
        let c = JsonConverter::new(true);
        let err = c.decode("t", Some(br#"{"a":1}"#)).expect_err("no envelope");
        assert!(err.to_string().contains("schemas.enable=false"), "{err}");
        assert_eq!(err.kind(), aqueduct_sdk::ErrorKind::Data);
        assert!(c.decode("t", Some(b"{not json")).expect_err("not JSON").to_string().contains("serialization error"));
        let extra = br#"{"schema":null,"payload":1,"more":2}"#;
        assert!(c.decode("t", Some(extra)).expect_err("extra member").to_string().contains("schemas.enable=false"));
        let schemaless = c.decode("t", Some(br#"{"schema":null,"payload":{"a":[1.5]}}"#)).expect("parses");
        assert_eq!(schemaless.1.map_get("a"), Some(&Value::Array(vec![Value::Float64(1.5)])));
        let wrong = br#"{"schema":{"type":"int32","optional":false},"payload":"x"}"#;
        assert!(c.decode("t", Some(wrong)).expect_err("mismatch").to_string().contains("int32"));
        assert_eq!(c.decode("t", None).expect("null ok"), (None, Value::Null));
        assert_eq!(c.encode("t", None, &Value::Null).expect("tombstone"), None);
        assert!(JsonConverter::from_props(&Props::from([("decimal.format".to_owned(), "HEX".to_owned())])).is_err());
    }
}
