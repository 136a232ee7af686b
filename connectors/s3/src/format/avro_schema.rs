//! Connect schemas to Avro schemas and back, as Confluent's `AvroData` maps them.
//!
//! Connect -> Avro: a struct is a record named by the schema's name (else `ConnectDefault`,
//! `ConnectDefault2`, ... in namespace `io.confluent.connect.avro`); an optional schema is the
//! union `["null", T]` (fields default to null); int8/int16 are `int` with `connect.type`; a map
//! with string keys is an Avro map, any other map an array of `MapEntry` records `{key, value}`;
//! Decimal is `bytes` with logical type `decimal` (precision from `connect.decimal.precision`,
//! else 64); Date `int`/`date`, Time `int`/`time-millis`, Timestamp `long`/`timestamp-millis`.
//! Every non-union schema carries `connect.name`, `connect.version`, `connect.doc`,
//! `connect.parameters` and `connect.default` when the Connect schema has them, and a field
//! with a default has it as its Avro `default` (an optional one then is `[T, "null"]`), so
//! reading them back gives the same Connect schema.
//!
//! Avro -> Connect also takes schemas other writers made: enums become strings, fixed bytes,
//! `[T, "null"]` optional; unions of several types are refused.

use std::collections::HashMap;
use std::sync::Arc;

use aqueduct_sdk::schema::logical;
use aqueduct_sdk::{ConnectError, Field, Result, Schema, SchemaRef, SchemaType};
use serde_json::{json, Map, Value as Json};

use super::avro_default;

/// Confluent's namespace for records it names itself.
const NAMESPACE: &str = "io.confluent.connect.avro";
const DEFAULT_NAME: &str = "ConnectDefault";
const MAP_ENTRY: &str = "MapEntry";
const CONNECT_NAME: &str = "connect.name";
const CONNECT_VERSION: &str = "connect.version";
const CONNECT_DOC: &str = "connect.doc";
const CONNECT_PARAMETERS: &str = "connect.parameters";
const CONNECT_TYPE: &str = "connect.type";
const CONNECT_DEFAULT: &str = "connect.default";
/// The Decimal parameter Confluent keeps the Avro precision in.
const DECIMAL_PRECISION: &str = "connect.decimal.precision";
const DEFAULT_PRECISION: u32 = 64;
/// Deeper schemas are refused (Avro allows recursive records, Connect does not).
const MAX_DEPTH: usize = 64;

/// The Avro schema (as JSON) of a Connect schema.
pub(super) fn to_avro(schema: &Schema) -> Result<Json> {
    ToAvro { records: 0, entries: 0 }.schema(schema)
}

struct ToAvro {
    records: usize,
    entries: usize,
}

impl ToAvro {
    fn schema(&mut self, schema: &Schema) -> Result<Json> {
        let base = self.base(schema)?;
        Ok(match (schema.optional, has_default(schema)) {
            (false, _) => base,
            // Avro's default must match the union's first branch.
            (true, true) => json!([base, "null"]),
            (true, false) => json!(["null", base]),
        })
    }

    fn base(&mut self, schema: &Schema) -> Result<Json> {
        let mut avro = Map::new();
        let logical_name = schema.name.as_deref();
        match schema.schema_type {
            SchemaType::Boolean => primitive(&mut avro, "boolean"),
            SchemaType::Int8 => {
                primitive(&mut avro, "int");
                avro.insert(CONNECT_TYPE.into(), json!("int8"));
            }
            SchemaType::Int16 => {
                primitive(&mut avro, "int");
                avro.insert(CONNECT_TYPE.into(), json!("int16"));
            }
            SchemaType::Int32 => {
                primitive(&mut avro, "int");
                match logical_name {
                    Some(logical::DATE) => primitive_logical(&mut avro, "date"),
                    Some(logical::TIME) => primitive_logical(&mut avro, "time-millis"),
                    _ => {}
                }
            }
            SchemaType::Int64 => {
                primitive(&mut avro, "long");
                if logical_name == Some(logical::TIMESTAMP) {
                    primitive_logical(&mut avro, "timestamp-millis");
                }
            }
            SchemaType::Float32 => primitive(&mut avro, "float"),
            SchemaType::Float64 => primitive(&mut avro, "double"),
            SchemaType::String => primitive(&mut avro, "string"),
            SchemaType::Bytes => {
                primitive(&mut avro, "bytes");
                if logical_name == Some(logical::DECIMAL) {
                    let scale = logical::decimal_scale(schema)
                        .ok_or_else(|| ConnectError::data("a Decimal schema needs an integer 'scale' parameter"))?;
                    let precision = match schema.parameters.get(DECIMAL_PRECISION) {
                        Some(p) => p.parse::<u32>().map_err(|_| {
                            ConnectError::data(format!("Decimal parameter {DECIMAL_PRECISION} is not a number: {p}"))
                        })?,
                        None => DEFAULT_PRECISION,
                    };
                    avro.insert("scale".into(), json!(scale));
                    avro.insert("precision".into(), json!(precision));
                    primitive_logical(&mut avro, "decimal");
                }
            }
            SchemaType::Array => {
                let items = self.schema(child(schema.value_schema.as_ref(), "array", "item")?)?;
                avro.insert("type".into(), json!("array"));
                avro.insert("items".into(), items);
            }
            SchemaType::Map => {
                let keys = child(schema.key_schema.as_ref(), "map", "key")?;
                let values = self.schema(child(schema.value_schema.as_ref(), "map", "value")?)?;
                if keys.schema_type == SchemaType::String && !keys.optional {
                    avro.insert("type".into(), json!("map"));
                    avro.insert("values".into(), values);
                } else {
                    self.entries += 1;
                    let name = numbered(MAP_ENTRY, self.entries);
                    let key = self.schema(keys)?;
                    avro.insert("type".into(), json!("array"));
                    avro.insert(
                        "items".into(),
                        json!({"type": "record", "name": name, "namespace": NAMESPACE, "fields": [
                            {"name": "key", "type": key}, {"name": "value", "type": values}]}),
                    );
                }
            }
            SchemaType::Struct => {
                let (namespace, name) = match schema.name.as_deref() {
                    Some(full) => match full.rsplit_once('.') {
                        Some((ns, name)) => (Some(ns.to_owned()), name.to_owned()),
                        None => (None, full.to_owned()),
                    },
                    None => {
                        self.records += 1;
                        (Some(NAMESPACE.to_owned()), numbered(DEFAULT_NAME, self.records))
                    }
                };
                avro.insert("type".into(), json!("record"));
                avro.insert("name".into(), json!(name));
                if let Some(ns) = namespace {
                    avro.insert("namespace".into(), json!(ns));
                }
                if let Some(doc) = &schema.doc {
                    avro.insert("doc".into(), json!(doc));
                }
                let mut fields = Vec::with_capacity(schema.fields.len());
                for field in &schema.fields {
                    let mut f = Map::new();
                    f.insert("name".into(), json!(field.name));
                    f.insert("type".into(), self.schema(&field.schema)?);
                    if has_default(&field.schema) {
                        let default = field.schema.default.as_ref().unwrap_or(&aqueduct_sdk::Value::Null);
                        f.insert("default".into(), avro_default::to_json(&field.schema, default)?);
                    } else if field.schema.optional {
                        f.insert("default".into(), Json::Null);
                    }
                    fields.push(Json::Object(f));
                }
                avro.insert("fields".into(), Json::Array(fields));
            }
        }
        if let Some(doc) = &schema.doc {
            avro.insert(CONNECT_DOC.into(), json!(doc));
        }
        if let Some(version) = schema.version {
            avro.insert(CONNECT_VERSION.into(), json!(version));
        }
        if !schema.parameters.is_empty() {
            avro.insert(CONNECT_PARAMETERS.into(), json!(schema.parameters));
        }
        if let Some(default) = schema.default.as_ref().filter(|d| !d.is_null()) {
            avro.insert(CONNECT_DEFAULT.into(), avro_default::to_json(schema, default)?);
        }
        if let Some(name) = &schema.name {
            avro.insert(CONNECT_NAME.into(), json!(name));
        }
        Ok(match avro.get("type") {
            Some(Json::String(t)) if avro.len() == 1 => Json::String(t.clone()),
            _ => Json::Object(avro),
        })
    }
}

/// True when the schema has a non-null default.
pub(super) fn has_default(schema: &Schema) -> bool {
    schema.default.as_ref().is_some_and(|d| !d.is_null())
}

fn primitive(avro: &mut Map<String, Json>, name: &str) {
    avro.insert("type".into(), json!(name));
}

fn primitive_logical(avro: &mut Map<String, Json>, name: &str) {
    avro.insert("logicalType".into(), json!(name));
}

fn numbered(base: &str, n: usize) -> String {
    if n <= 1 {
        base.to_owned()
    } else {
        format!("{base}{n}")
    }
}

fn child<'a>(schema: Option<&'a SchemaRef>, kind: &str, what: &str) -> Result<&'a SchemaRef> {
    schema.ok_or_else(|| ConnectError::data(format!("{kind} schema without a {what} schema")))
}

/// How to decode one Avro value: the Avro shape beside the Connect schema it reads into.
#[derive(Debug, Clone)]
pub(super) enum Node {
    /// `boolean`
    Boolean,
    /// `int` (int8, int16, int32, Date, Time).
    Int,
    /// `long` (int64, Timestamp).
    Long,
    /// `float`
    Float,
    /// `double`
    Double,
    /// `bytes` (bytes, Decimal).
    Bytes,
    /// `string`
    String,
    /// `fixed` of this size.
    Fixed(usize),
    /// `enum` with these symbols, read as a string.
    Enum(Vec<String>),
    /// `record`: one node per field.
    Record(Vec<Node>),
    /// `array`
    Array(Box<Node>),
    /// `map` with string keys.
    Map(Box<Node>),
    /// An array of `MapEntry` records: a Connect map with non-string keys.
    Entries(Box<Node>, Box<Node>),
    /// `["null", T]` or `[T, "null"]`: the branch index of null, and T.
    Optional(usize, Box<Node>),
}

/// The Connect schema of an Avro schema (as JSON), with the plan to decode its values.
pub(super) fn to_connect(avro: &Json) -> Result<(SchemaRef, Node)> {
    let mut names = HashMap::new();
    let (schema, node) = from_avro(avro, None, &mut names, 0)?;
    Ok((Arc::new(schema), node))
}

fn from_avro(avro: &Json, ns: Option<&str>, names: &mut HashMap<String, Json>, depth: usize) -> Result<(Schema, Node)> {
    if depth > MAX_DEPTH {
        return Err(ConnectError::data("Avro schema nests too deeply (a recursive record?)"));
    }
    match avro {
        Json::String(name) => named_or_primitive(name, &Map::new(), ns, names, depth),
        Json::Array(branches) => {
            let null = branches.iter().position(|b| b.as_str() == Some("null"));
            match (branches.len(), null) {
                (1, _) => from_avro(&branches[0], ns, names, depth + 1),
                (2, Some(null)) => {
                    let (mut schema, node) = from_avro(&branches[1 - null], ns, names, depth + 1)?;
                    schema.optional = true;
                    Ok((schema, Node::Optional(null, Box::new(node))))
                }
                _ => Err(ConnectError::data(format!(
                    "Avro union {avro} is not supported: only [\"null\", T] unions are"
                ))),
            }
        }
        Json::Object(obj) => {
            let (mut schema, node) = match obj.get("type") {
                Some(Json::String(t)) => named_or_primitive(t, obj, ns, names, depth)?,
                Some(nested) => from_avro(nested, ns, names, depth + 1)?,
                None => return Err(ConnectError::data(format!("Avro schema without a type: {avro}"))),
            };
            if let Some(name) = obj.get(CONNECT_NAME).and_then(Json::as_str) {
                schema.name = Some(name.to_owned());
            }
            if let Some(version) = obj.get(CONNECT_VERSION).and_then(Json::as_i64) {
                schema.version = i32::try_from(version).ok();
            }
            if let Some(doc) = obj.get(CONNECT_DOC).and_then(Json::as_str) {
                schema.doc = Some(doc.to_owned());
            }
            if let Some(Json::Object(params)) = obj.get(CONNECT_PARAMETERS) {
                schema.parameters = params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                    .collect();
            }
            if let Some(default) = obj.get(CONNECT_DEFAULT) {
                schema.default = Some(avro_default::from_json(&schema, &node, default)?).filter(|d| !d.is_null());
            }
            Ok((schema, node))
        }
        other => Err(ConnectError::data(format!("not an Avro schema: {other}"))),
    }
}

fn named_or_primitive(
    t: &str,
    obj: &Map<String, Json>,
    ns: Option<&str>,
    names: &mut HashMap<String, Json>,
    depth: usize,
) -> Result<(Schema, Node)> {
    let logical_type = obj.get("logicalType").and_then(Json::as_str);
    let plain = |schema_type| (*Schema::primitive(schema_type)).clone();
    Ok(match t {
        "null" => return Err(ConnectError::data("an Avro null outside an optional union has no Connect type")),
        "boolean" => (plain(SchemaType::Boolean), Node::Boolean),
        "int" => {
            let schema = match (obj.get(CONNECT_TYPE).and_then(Json::as_str), logical_type) {
                (Some("int8"), _) => plain(SchemaType::Int8),
                (Some("int16"), _) => plain(SchemaType::Int16),
                (_, Some("date")) => (*logical::date().build()).clone(),
                (_, Some("time-millis")) => (*logical::time().build()).clone(),
                _ => plain(SchemaType::Int32),
            };
            (schema, Node::Int)
        }
        "long" => {
            let schema = match logical_type {
                Some("timestamp-millis") => (*logical::timestamp().build()).clone(),
                _ => plain(SchemaType::Int64),
            };
            (schema, Node::Long)
        }
        "float" => (plain(SchemaType::Float32), Node::Float),
        "double" => (plain(SchemaType::Float64), Node::Double),
        "string" => (plain(SchemaType::String), Node::String),
        "bytes" => (bytes_schema(obj, logical_type), Node::Bytes),
        "fixed" => {
            register(obj, ns, names);
            let size = obj.get("size").and_then(Json::as_u64).unwrap_or_default();
            (bytes_schema(obj, logical_type), Node::Fixed(usize::try_from(size).unwrap_or_default()))
        }
        "enum" => {
            register(obj, ns, names);
            let symbols = obj.get("symbols").and_then(Json::as_array).cloned().unwrap_or_default();
            let symbols = symbols.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect();
            (plain(SchemaType::String), Node::Enum(symbols))
        }
        "array" => {
            let items = obj.get("items").ok_or_else(|| ConnectError::data("Avro array without items"))?;
            if let Some(entry) = items.as_object().filter(|o| o.get("type").and_then(Json::as_str) == Some("record")) {
                register(entry, ns, names);
            }
            if let Some((key, value)) = map_entry(items, ns, names) {
                let (key_schema, key_node) = from_avro(&key, Some(NAMESPACE), names, depth + 1)?;
                let (value_schema, value_node) = from_avro(&value, Some(NAMESPACE), names, depth + 1)?;
                let schema = Schema::map(Arc::new(key_schema), Arc::new(value_schema)).build();
                ((*schema).clone(), Node::Entries(Box::new(key_node), Box::new(value_node)))
            } else {
                let (item_schema, item_node) = from_avro(items, ns, names, depth + 1)?;
                ((*Schema::array(Arc::new(item_schema)).build()).clone(), Node::Array(Box::new(item_node)))
            }
        }
        "map" => {
            let values = obj.get("values").ok_or_else(|| ConnectError::data("Avro map without values"))?;
            let (value_schema, value_node) = from_avro(values, ns, names, depth + 1)?;
            ((*Schema::map(Schema::string(), Arc::new(value_schema)).build()).clone(), Node::Map(Box::new(value_node)))
        }
        "record" | "error" => {
            let full = register(obj, ns, names);
            let inner_ns = full.rsplit_once('.').map(|(n, _)| n.to_owned());
            let mut schema = (*Schema::struct_builder().build()).clone();
            if !full.starts_with(&format!("{NAMESPACE}.{DEFAULT_NAME}")) {
                schema.name = Some(full.clone());
            }
            schema.doc = obj.get("doc").and_then(Json::as_str).map(str::to_owned);
            let mut nodes = Vec::new();
            for field in obj.get("fields").and_then(Json::as_array).into_iter().flatten() {
                let name = field
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or_else(|| ConnectError::data(format!("field without a name in Avro record {full}")))?;
                let ty = field.get("type").ok_or_else(|| ConnectError::data(format!("field {name} without a type")))?;
                let (mut field_schema, node) = from_avro(ty, inner_ns.as_deref(), names, depth + 1)?;
                if let (None, Some(default)) = (&field_schema.default, field.get("default")) {
                    field_schema.default =
                        Some(avro_default::from_json(&field_schema, &node, default)?).filter(|d| !d.is_null());
                }
                schema.fields.push(Field { name: name.to_owned(), schema: Arc::new(field_schema) });
                nodes.push(node);
            }
            (schema, Node::Record(nodes))
        }
        reference => {
            let full = full_name(reference, ns);
            let definition = names
                .get(&full)
                .or_else(|| names.get(reference))
                .cloned()
                .ok_or_else(|| ConnectError::data(format!("unknown Avro type '{reference}'")))?;
            let ns = full.rsplit_once('.').map(|(n, _)| n.to_owned());
            return from_avro(&definition, ns.as_deref(), names, depth + 1);
        }
    })
}

fn bytes_schema(obj: &Map<String, Json>, logical_type: Option<&str>) -> Schema {
    if logical_type != Some("decimal") {
        return (*Schema::primitive(SchemaType::Bytes)).clone();
    }
    let scale = obj.get("scale").and_then(Json::as_i64).unwrap_or_default();
    let mut schema = (*logical::decimal(i32::try_from(scale).unwrap_or_default()).build()).clone();
    let precision = obj.get("precision").and_then(Json::as_u64).unwrap_or(u64::from(DEFAULT_PRECISION));
    schema.parameters.insert(DECIMAL_PRECISION.into(), precision.to_string());
    schema
}

/// Records a named type for later references; its full name.
fn register(obj: &Map<String, Json>, ns: Option<&str>, names: &mut HashMap<String, Json>) -> String {
    let name = obj.get("name").and_then(Json::as_str).unwrap_or_default();
    let ns = obj.get("namespace").and_then(Json::as_str).or(ns);
    let full = full_name(name, ns);
    names.insert(full.clone(), Json::Object(obj.clone()));
    full
}

fn full_name(name: &str, ns: Option<&str>) -> String {
    match ns {
        Some(ns) if !name.contains('.') && !ns.is_empty() => format!("{ns}.{name}"),
        _ => name.to_owned(),
    }
}

/// The key and value schemas, when `items` is Confluent's `MapEntry` record.
fn map_entry(items: &Json, ns: Option<&str>, names: &HashMap<String, Json>) -> Option<(Json, Json)> {
    let obj = match items {
        Json::String(reference) => names.get(&full_name(reference, ns))?.as_object()?.clone(),
        Json::Object(obj) => obj.clone(),
        _ => return None,
    };
    let name = obj.get("name")?.as_str()?;
    let full = full_name(name, obj.get("namespace").and_then(Json::as_str).or(ns));
    if !full.starts_with(&format!("{NAMESPACE}.{MAP_ENTRY}")) {
        return None;
    }
    let fields = obj.get("fields")?.as_array()?;
    match fields.as_slice() {
        [k, v] if k.get("name")? == "key" && v.get("name")? == "value" => {
            Some((k.get("type")?.clone(), v.get("type")?.clone()))
        }
        _ => None,
    }
}
