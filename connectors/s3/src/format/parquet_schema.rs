//! Connect schemas to Arrow schemas (Parquet's typed columns) and back.
//!
//! A struct value schema is the file's schema: one column per field. Boolean, Int8..Int64,
//! Float32/64, Utf8, Binary, Struct, List and Map are the same types in Arrow; Decimal is
//! `Decimal128(precision, scale)` (precision from `connect.decimal.precision`, else 38, the
//! most Decimal128 holds), Date `Date32`, Time `Time32(ms)`, Timestamp `Timestamp(ms, "UTC")`;
//! optional is nullable. Each Arrow field carries the Connect schema's name, version, doc,
//! parameters and default (as the JsonConverter writes it) as `connect.*` metadata (Parquet
//! keeps it in the embedded Arrow schema), so reading gives back the same Connect schema. Files
//! from other writers are read by their Arrow types (unsigned ints widened, any time unit as
//! milliseconds, strings and binaries of every layout).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aqueduct_sdk::json::{json_to_value, value_to_json};
use aqueduct_sdk::{logical, ConnectError, Field, Result, Schema, SchemaRef, SchemaType};
use arrow_schema::{DataType, Field as ArrowField, Fields, Metadata, Schema as ArrowSchema, TimeUnit};

const CONNECT_NAME: &str = "connect.name";
const CONNECT_VERSION: &str = "connect.version";
const CONNECT_DOC: &str = "connect.doc";
const CONNECT_PARAMETERS: &str = "connect.parameters";
const CONNECT_OPTIONAL: &str = "connect.optional";
const CONNECT_DEFAULT: &str = "connect.default";
/// The Decimal parameter holding the precision (Confluent's).
const DECIMAL_PRECISION: &str = "connect.decimal.precision";
const MAX_PRECISION: u8 = 38;
const UTC: &str = "UTC";

/// The Arrow schema of a struct value schema; any other schema is a data error.
pub(super) fn to_arrow(schema: &Schema) -> Result<ArrowSchema> {
    if schema.schema_type != SchemaType::Struct {
        return Err(ConnectError::data(format!(
            "ParquetFormat writes struct values (records); the value schema is {}",
            schema.schema_type.name()
        )));
    }
    let fields = schema.fields.iter().map(|f| field(&f.name, &f.schema)).collect::<Result<Vec<_>>>()?;
    let mut metadata = metadata(schema);
    if schema.optional {
        metadata.insert(CONNECT_OPTIONAL.into(), "true".into());
    }
    Ok(ArrowSchema::new_with_metadata(fields, metadata))
}

fn field(name: &str, schema: &Schema) -> Result<ArrowField> {
    Ok(ArrowField::new(name, data_type(schema)?, schema.optional).with_metadata(metadata(schema)))
}

fn metadata(schema: &Schema) -> HashMap<String, String> {
    let mut metadata = HashMap::new();
    if let Some(name) = &schema.name {
        metadata.insert(CONNECT_NAME.into(), name.clone());
    }
    if let Some(version) = schema.version {
        metadata.insert(CONNECT_VERSION.into(), version.to_string());
    }
    if let Some(doc) = &schema.doc {
        metadata.insert(CONNECT_DOC.into(), doc.clone());
    }
    if !schema.parameters.is_empty() {
        metadata.insert(CONNECT_PARAMETERS.into(), serde_json::json!(schema.parameters).to_string());
    }
    if let Some(default) = schema.default.as_ref().filter(|d| !d.is_null()) {
        metadata.insert(CONNECT_DEFAULT.into(), value_to_json(Some(schema), default, false).to_string());
    }
    metadata
}

/// The Arrow type a Connect schema's values are written as.
pub(super) fn data_type(schema: &Schema) -> Result<DataType> {
    let name = schema.name.as_deref();
    Ok(match schema.schema_type {
        SchemaType::Boolean => DataType::Boolean,
        SchemaType::Int8 => DataType::Int8,
        SchemaType::Int16 => DataType::Int16,
        SchemaType::Int32 => match name {
            Some(logical::DATE) => DataType::Date32,
            Some(logical::TIME) => DataType::Time32(TimeUnit::Millisecond),
            _ => DataType::Int32,
        },
        SchemaType::Int64 => match name {
            Some(logical::TIMESTAMP) => DataType::Timestamp(TimeUnit::Millisecond, Some(UTC.into())),
            _ => DataType::Int64,
        },
        SchemaType::Float32 => DataType::Float32,
        SchemaType::Float64 => DataType::Float64,
        SchemaType::String => DataType::Utf8,
        SchemaType::Bytes if name == Some(logical::DECIMAL) => {
            let scale = logical::decimal_scale(schema)
                .and_then(|s| i8::try_from(s).ok())
                .ok_or_else(|| ConnectError::data("a Decimal schema needs a 'scale' parameter between -128 and 127"))?;
            let precision = match schema.parameters.get(DECIMAL_PRECISION) {
                Some(p) => p.parse::<u8>().ok().filter(|p| (1..=MAX_PRECISION).contains(p)).ok_or_else(|| {
                    ConnectError::data(format!(
                        "Decimal precision {p} cannot be a Parquet Decimal128 column (1 to {MAX_PRECISION} digits)"
                    ))
                })?,
                None => MAX_PRECISION,
            };
            DataType::Decimal128(precision, scale)
        }
        SchemaType::Bytes => DataType::Binary,
        SchemaType::Struct => {
            if schema.fields.is_empty() {
                return Err(ConnectError::data("a struct without fields cannot be a Parquet group"));
            }
            DataType::Struct(schema.fields.iter().map(|f| field(&f.name, &f.schema)).collect::<Result<Fields>>()?)
        }
        SchemaType::Array => DataType::List(Arc::new(field("element", child(&schema.value_schema, "array")?)?)),
        SchemaType::Map => {
            let key = field("key", child(&schema.key_schema, "map")?)?.with_nullable(false);
            let value = field("value", child(&schema.value_schema, "map")?)?;
            DataType::Map(
                Arc::new(ArrowField::new("key_value", DataType::Struct(vec![key, value].into()), false)),
                false,
            )
        }
    })
}

fn child<'a>(schema: &'a Option<SchemaRef>, kind: &str) -> Result<&'a SchemaRef> {
    schema.as_ref().ok_or_else(|| ConnectError::data(format!("{kind} schema without its element schema")))
}

/// The Connect struct schema of a file's Arrow schema.
pub(super) fn to_connect(arrow: &ArrowSchema) -> Result<SchemaRef> {
    let mut schema = (*Schema::struct_builder().build()).clone();
    for f in arrow.fields() {
        schema.fields.push(Field { name: f.name().clone(), schema: Arc::new(from_field(f)?) });
    }
    apply_metadata(&mut schema, arrow.metadata());
    schema.optional = arrow.metadata().get(CONNECT_OPTIONAL).is_some_and(|v| v == "true");
    Ok(Arc::new(schema))
}

fn from_field(f: &ArrowField) -> Result<Schema> {
    let mut schema = from_type(f.data_type())?;
    schema.optional = f.is_nullable();
    apply_metadata(&mut schema, f.metadata());
    Ok(schema)
}

fn apply_metadata(schema: &mut Schema, metadata: &Metadata) {
    if let Some(name) = metadata.get(CONNECT_NAME) {
        schema.name = Some(name.clone());
    }
    if let Some(version) = metadata.get(CONNECT_VERSION).and_then(|v| v.parse().ok()) {
        schema.version = Some(version);
    }
    if let Some(doc) = metadata.get(CONNECT_DOC) {
        schema.doc = Some(doc.clone());
    }
    if let Some(params) =
        metadata.get(CONNECT_PARAMETERS).and_then(|p| serde_json::from_str::<BTreeMap<String, String>>(p).ok())
    {
        schema.parameters = params;
    }
    if let Some(json) = metadata.get(CONNECT_DEFAULT).and_then(|d| serde_json::from_str(d).ok()) {
        schema.default = json_to_value(schema, json).ok().filter(|d| !d.is_null());
    }
}

fn from_type(data_type: &DataType) -> Result<Schema> {
    let plain = |t| (*Schema::primitive(t)).clone();
    Ok(match data_type {
        DataType::Boolean => plain(SchemaType::Boolean),
        DataType::Int8 => plain(SchemaType::Int8),
        DataType::Int16 | DataType::UInt8 => plain(SchemaType::Int16),
        DataType::Int32 | DataType::UInt16 => plain(SchemaType::Int32),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => plain(SchemaType::Int64),
        DataType::Float32 => plain(SchemaType::Float32),
        DataType::Float64 => plain(SchemaType::Float64),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => plain(SchemaType::String),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            plain(SchemaType::Bytes)
        }
        DataType::Decimal128(precision, scale) => {
            (*logical::decimal(i32::from(*scale)).parameter(DECIMAL_PRECISION, precision.to_string()).build()).clone()
        }
        DataType::Date32 | DataType::Date64 => (*logical::date().build()).clone(),
        DataType::Time32(_) | DataType::Time64(_) => (*logical::time().build()).clone(),
        DataType::Timestamp(_, _) => (*logical::timestamp().build()).clone(),
        DataType::Struct(fields) => {
            let mut schema = (*Schema::struct_builder().build()).clone();
            for f in fields {
                schema.fields.push(Field { name: f.name().clone(), schema: Arc::new(from_field(f)?) });
            }
            schema
        }
        DataType::List(item) | DataType::LargeList(item) => {
            (*Schema::array(Arc::new(from_field(item)?)).build()).clone()
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                let mut key = from_field(&kv[0])?;
                key.optional = false;
                (*Schema::map(Arc::new(key), Arc::new(from_field(&kv[1])?)).build()).clone()
            }
            other => return Err(ConnectError::data(format!("Parquet map entries of type {other} are not supported"))),
        },
        other => return Err(ConnectError::data(format!("Parquet column type {other} has no Connect type"))),
    })
}
