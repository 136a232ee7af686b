//! Type mapping: the column type a record field asks for (auto.create / auto.evolve), the kind of
//! value an existing column holds, and the logical types values carry.

use aqueduct_sdk::{logical, Schema, SchemaType, Value};

/// Debezium's semantic type names that change how a value is stored.
pub mod debezium_names {
    /// int32 days since the epoch.
    pub const DATE: &str = "io.debezium.time.Date";
    /// int32 milliseconds since midnight.
    pub const TIME: &str = "io.debezium.time.Time";
    /// int64 microseconds since midnight.
    pub const MICRO_TIME: &str = "io.debezium.time.MicroTime";
    /// int64 nanoseconds since midnight.
    pub const NANO_TIME: &str = "io.debezium.time.NanoTime";
    /// int64 milliseconds since the epoch, local time.
    pub const TIMESTAMP: &str = "io.debezium.time.Timestamp";
    /// int64 microseconds since the epoch, local time.
    pub const MICRO_TIMESTAMP: &str = "io.debezium.time.MicroTimestamp";
    /// int64 nanoseconds since the epoch, local time.
    pub const NANO_TIMESTAMP: &str = "io.debezium.time.NanoTimestamp";
    /// ISO-8601 string with offset.
    pub const ZONED_TIMESTAMP: &str = "io.debezium.time.ZonedTimestamp";
    /// ISO-8601 time string with offset.
    pub const ZONED_TIME: &str = "io.debezium.time.ZonedTime";
    /// int64 microseconds.
    pub const MICRO_DURATION: &str = "io.debezium.time.MicroDuration";
    /// ISO-8601 duration string.
    pub const INTERVAL: &str = "io.debezium.time.Interval";
    /// UUID string.
    pub const UUID: &str = "io.debezium.data.Uuid";
    /// JSON text.
    pub const JSON: &str = "io.debezium.data.Json";
    /// XML text.
    pub const XML: &str = "io.debezium.data.Xml";
    /// struct {scale: int32, value: bytes}.
    pub const VARIABLE_SCALE_DECIMAL: &str = "io.debezium.data.VariableScaleDecimal";
}

use debezium_names as dbz;

/// How many of a temporal value's units make a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds.
    Millis,
    /// Microseconds.
    Micros,
    /// Nanoseconds.
    Nanos,
}

impl Unit {
    /// Units per second.
    pub fn per_second(self) -> i64 {
        match self {
            Unit::Millis => 1_000,
            Unit::Micros => 1_000_000,
            Unit::Nanos => 1_000_000_000,
        }
    }
    /// Digits of the fraction of a second.
    pub fn digits(self) -> usize {
        match self {
            Unit::Millis => 3,
            Unit::Micros => 6,
            Unit::Nanos => 9,
        }
    }
}

/// A logical type that changes how a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logical {
    /// Kafka Connect Decimal: bytes of an unscaled value at this scale.
    Decimal(i32),
    /// Debezium VariableScaleDecimal struct.
    VariableScaleDecimal,
    /// Days since the epoch.
    Date,
    /// Time of day in units since midnight.
    Time(Unit),
    /// Units since the epoch; `utc` for Kafka Connect's Timestamp, local for Debezium's.
    Timestamp(Unit, bool),
    /// A duration in microseconds.
    MicroDuration,
}

impl Logical {
    /// The logical type of a schema, if it has one the sink knows.
    pub fn of(schema: &Schema) -> Option<Logical> {
        let name = schema.name.as_deref()?;
        Some(match name {
            logical::DECIMAL => Logical::Decimal(logical::decimal_scale(schema).unwrap_or(0)),
            logical::DATE | dbz::DATE => Logical::Date,
            logical::TIME | dbz::TIME => Logical::Time(Unit::Millis),
            dbz::MICRO_TIME => Logical::Time(Unit::Micros),
            dbz::NANO_TIME => Logical::Time(Unit::Nanos),
            logical::TIMESTAMP => Logical::Timestamp(Unit::Millis, true),
            dbz::TIMESTAMP => Logical::Timestamp(Unit::Millis, false),
            dbz::MICRO_TIMESTAMP => Logical::Timestamp(Unit::Micros, false),
            dbz::NANO_TIMESTAMP => Logical::Timestamp(Unit::Nanos, false),
            dbz::MICRO_DURATION => Logical::MicroDuration,
            dbz::VARIABLE_SCALE_DECIMAL => Logical::VariableScaleDecimal,
            _ => return None,
        })
    }
}

/// A column type the sink creates (auto.create) or adds (auto.evolve).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlType {
    /// `SMALLINT` (int8 and int16).
    SmallInt,
    /// `INTEGER`.
    Integer,
    /// `BIGINT`.
    BigInt,
    /// `REAL`.
    Real,
    /// `DOUBLE PRECISION`.
    Double,
    /// `BOOLEAN`.
    Boolean,
    /// `TEXT`.
    Text,
    /// `BYTEA`.
    Bytea,
    /// `NUMERIC`, with precision and scale when the schema gives a precision
    /// (`connect.decimal.precision`, as Debezium and Confluent's Avro converter set it).
    Numeric(Option<(u32, i32)>),
    /// `DATE`.
    Date,
    /// `TIME`.
    Time,
    /// `TIMETZ`.
    TimeTz,
    /// `TIMESTAMP` (Debezium's local timestamps).
    Timestamp,
    /// `TIMESTAMPTZ` (Kafka Connect's Timestamp).
    TimestampTz,
    /// `INTERVAL`.
    Interval,
    /// `UUID`.
    Uuid,
    /// `JSONB` (structs, maps, nested arrays, Debezium Json).
    Jsonb,
    /// `XML`.
    Xml,
    /// An array of the element type.
    Array(Box<SqlType>),
}

impl SqlType {
    /// The type as DDL.
    pub fn ddl(&self) -> String {
        match self {
            SqlType::SmallInt => "SMALLINT".into(),
            SqlType::Integer => "INTEGER".into(),
            SqlType::BigInt => "BIGINT".into(),
            SqlType::Real => "REAL".into(),
            SqlType::Double => "DOUBLE PRECISION".into(),
            SqlType::Boolean => "BOOLEAN".into(),
            SqlType::Text => "TEXT".into(),
            SqlType::Bytea => "BYTEA".into(),
            SqlType::Numeric(None) => "NUMERIC".into(),
            SqlType::Numeric(Some((precision, scale))) => format!("NUMERIC({precision},{scale})"),
            SqlType::Date => "DATE".into(),
            SqlType::Time => "TIME".into(),
            SqlType::TimeTz => "TIMETZ".into(),
            SqlType::Timestamp => "TIMESTAMP".into(),
            SqlType::TimestampTz => "TIMESTAMPTZ".into(),
            SqlType::Interval => "INTERVAL".into(),
            SqlType::Uuid => "UUID".into(),
            SqlType::Jsonb => "JSONB".into(),
            SqlType::Xml => "XML".into(),
            SqlType::Array(inner) => format!("{}[]", inner.ddl()),
        }
    }

    /// The column type for a field of this schema.
    pub fn from_schema(schema: &Schema) -> SqlType {
        if let Some(logical) = Logical::of(schema) {
            return match logical {
                Logical::Decimal(scale) => {
                    let precision =
                        schema.parameters.get("connect.decimal.precision").and_then(|p| p.parse::<u32>().ok());
                    SqlType::Numeric(
                        precision
                            .filter(|&p| p >= 1 && i64::from(scale) <= i64::from(p) && scale >= 0)
                            .map(|p| (p, scale)),
                    )
                }
                Logical::VariableScaleDecimal => SqlType::Numeric(None),
                Logical::Date => SqlType::Date,
                Logical::Time(_) => SqlType::Time,
                Logical::Timestamp(_, true) => SqlType::TimestampTz,
                Logical::Timestamp(_, false) => SqlType::Timestamp,
                Logical::MicroDuration => SqlType::Interval,
            };
        }
        match schema.name.as_deref() {
            Some(dbz::ZONED_TIMESTAMP) => return SqlType::TimestampTz,
            Some(dbz::ZONED_TIME) => return SqlType::TimeTz,
            Some(dbz::INTERVAL) => return SqlType::Interval,
            Some(dbz::UUID) => return SqlType::Uuid,
            Some(dbz::JSON) => return SqlType::Jsonb,
            Some(dbz::XML) => return SqlType::Xml,
            _ => {}
        }
        match schema.schema_type {
            SchemaType::Int8 | SchemaType::Int16 => SqlType::SmallInt,
            SchemaType::Int32 => SqlType::Integer,
            SchemaType::Int64 => SqlType::BigInt,
            SchemaType::Float32 => SqlType::Real,
            SchemaType::Float64 => SqlType::Double,
            SchemaType::Boolean => SqlType::Boolean,
            SchemaType::String => SqlType::Text,
            SchemaType::Bytes => SqlType::Bytea,
            SchemaType::Struct | SchemaType::Map => SqlType::Jsonb,
            SchemaType::Array => match schema.value_schema.as_deref().map(SqlType::from_schema) {
                Some(SqlType::Array(_) | SqlType::Jsonb) | None => SqlType::Jsonb,
                Some(item) => SqlType::Array(Box::new(item)),
            },
        }
    }

    /// The column type for a schemaless value; `None` for null (unknown yet).
    pub fn from_value(value: &Value) -> Option<SqlType> {
        Some(match value {
            Value::Null => return None,
            Value::Boolean(_) => SqlType::Boolean,
            Value::Int8(_) | Value::Int16(_) => SqlType::SmallInt,
            Value::Int32(_) => SqlType::Integer,
            Value::Int64(_) => SqlType::BigInt,
            Value::Float32(_) => SqlType::Real,
            Value::Float64(_) => SqlType::Double,
            Value::String(_) => SqlType::Text,
            Value::Bytes(_) => SqlType::Bytea,
            Value::Array(_) | Value::Map(_) | Value::Struct(_) => SqlType::Jsonb,
        })
    }
}

/// What an existing column holds, as far as writing text to it is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// Integer types.
    Int,
    /// Floating-point types.
    Float,
    /// `numeric`, `money`.
    Numeric,
    /// `boolean`.
    Bool,
    /// Character types.
    Text,
    /// `bytea`.
    Bytea,
    /// `date`.
    Date,
    /// `time`, `timetz`.
    Time,
    /// `timestamp`.
    Timestamp,
    /// `timestamptz`.
    TimestampTz,
    /// `json`, `jsonb`.
    Json,
    /// `uuid`.
    Uuid,
    /// An array of this kind.
    Array(Box<ColumnKind>),
    /// Anything else (enums, `inet`, `interval`, ...): strings are passed as they are.
    Other,
}

impl ColumnKind {
    /// The kind of a catalog type name (`int4`, `_text`, ...); `elem` names an array's element type.
    pub fn from_catalog(typname: &str, elem: &str) -> ColumnKind {
        if !elem.is_empty() {
            return ColumnKind::Array(Box::new(ColumnKind::from_catalog(elem, "")));
        }
        match typname {
            "int2" | "int4" | "int8" | "oid" => ColumnKind::Int,
            "float4" | "float8" => ColumnKind::Float,
            "numeric" | "money" => ColumnKind::Numeric,
            "bool" => ColumnKind::Bool,
            "text" | "varchar" | "bpchar" | "name" | "citext" | "char" => ColumnKind::Text,
            "bytea" => ColumnKind::Bytea,
            "date" => ColumnKind::Date,
            "time" | "timetz" => ColumnKind::Time,
            "timestamp" => ColumnKind::Timestamp,
            "timestamptz" => ColumnKind::TimestampTz,
            "json" | "jsonb" => ColumnKind::Json,
            "uuid" => ColumnKind::Uuid,
            _ => ColumnKind::Other,
        }
    }

    /// True for kinds holding plain numbers.
    pub fn is_numeric(&self) -> bool {
        matches!(self, ColumnKind::Int | ColumnKind::Float | ColumnKind::Numeric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_schemas_to_columns() {
        assert_eq!(SqlType::from_schema(&logical::decimal(2).build()).ddl(), "NUMERIC");
        let precise = logical::decimal(2).parameter("connect.decimal.precision", "10").build();
        assert_eq!(SqlType::from_schema(&precise).ddl(), "NUMERIC(10,2)");
        assert_eq!(SqlType::from_schema(&logical::timestamp().build()).ddl(), "TIMESTAMPTZ");
        assert_eq!(SqlType::from_schema(&Schema::array(Schema::int64()).build()).ddl(), "BIGINT[]");
        let nested = Schema::array(Schema::array(Schema::int64()).build()).build();
        assert_eq!(SqlType::from_schema(&nested).ddl(), "JSONB");
        let s = Schema::builder(SchemaType::String).name(dbz::UUID).build();
        assert_eq!(SqlType::from_schema(&s).ddl(), "UUID");
        assert_eq!(SqlType::from_value(&Value::Int64(1)), Some(SqlType::BigInt));
        assert_eq!(SqlType::from_value(&Value::Array(vec![])), Some(SqlType::Jsonb));
    }

    #[test]
    fn reads_catalog_kinds() {
        assert_eq!(ColumnKind::from_catalog("_int4", "int4"), ColumnKind::Array(Box::new(ColumnKind::Int)));
        assert_eq!(ColumnKind::from_catalog("jsonb", ""), ColumnKind::Json);
        assert_eq!(ColumnKind::from_catalog("mood", ""), ColumnKind::Other);
    }
}
