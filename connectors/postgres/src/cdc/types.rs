//! PostgreSQL column types mapped like Debezium's PostgreSQL connector does by default: the
//! Kafka Connect schema of each column and the conversion of its text value.

use aqueduct_sdk::{logical, ConnectError, Result, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value};
use base64::Engine;

use super::config::{BinaryMode, DecimalMode, IntervalMode, TimePrecisionMode, ValueSettings};
use super::text;

/// Built-in type OIDs this module knows.
pub mod oid {
    #![allow(missing_docs)]
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const MONEY: u32 = 790;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const BIT: u32 = 1560;
    pub const VARBIT: u32 = 1562;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

/// OIDs below this are built into PostgreSQL; user-defined types (domains, enums, extension
/// types and their arrays) are at or above it and looked up in `pg_type`.
pub const FIRST_NORMAL_OID: u32 = 16_384;

/// The element type of the built-in array types.
pub fn builtin_array_element(array_oid: u32) -> Option<u32> {
    Some(match array_oid {
        1000 => oid::BOOL,
        1001 => oid::BYTEA,
        1002 => oid::CHAR,
        1003 => oid::NAME,
        1005 => oid::INT2,
        1007 => oid::INT4,
        1009 => oid::TEXT,
        1016 => oid::INT8,
        1028 => oid::OID,
        199 => oid::JSON,
        143 => oid::XML,
        1021 => oid::FLOAT4,
        1022 => oid::FLOAT8,
        791 => oid::MONEY,
        1014 => oid::BPCHAR,
        1015 => oid::VARCHAR,
        1182 => oid::DATE,
        1183 => oid::TIME,
        1115 => oid::TIMESTAMP,
        1185 => oid::TIMESTAMPTZ,
        1187 => oid::INTERVAL,
        1270 => oid::TIMETZ,
        1561 => oid::BIT,
        1563 => oid::VARBIT,
        1231 => oid::NUMERIC,
        2951 => oid::UUID,
        3807 => oid::JSONB,
        _ => return None,
    })
}

/// What the catalog says about a type that is not built in (`pg_type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    /// `typtype`: `b` base, `d` domain, `e` enum, `r` range, `c` composite, ...
    pub typtype: u8,
    /// `typbasetype` of a domain.
    pub base_type: u32,
    /// `typtypmod` of a domain.
    pub base_modifier: i32,
    /// `typelem` of an array type.
    pub element: u32,
    /// `typcategory`: `A` for arrays.
    pub category: u8,
}

/// How a column's values are represented.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    /// boolean (also `bit(1)`).
    Boolean,
    /// int16.
    Int16,
    /// int32.
    Int32,
    /// int64 (int8, oid).
    Int64,
    /// float32.
    Float32,
    /// float64.
    Float64,
    /// `numeric(p,s)` as a Decimal of scale s.
    Decimal {
        /// Declared precision.
        precision: u32,
        /// Declared scale.
        scale: u32,
    },
    /// `numeric` without a declared scale: io.debezium.data.VariableScaleDecimal.
    VariableDecimal,
    /// numeric/money as float64 (`decimal.handling.mode=double`).
    DecimalDouble,
    /// `money` as a Decimal of scale 2.
    Money,
    /// A plain string, with an optional semantic name (Json, Uuid, Xml, Enum, ...).
    String(Option<&'static str>),
    /// bytea.
    Bytes(BinaryMode),
    /// `bit(n)`/`varbit` as io.debezium.data.Bits.
    Bits(u32),
    /// date as days (io.debezium.time.Date or Connect Date).
    Date {
        /// Kafka Connect's logical type instead of Debezium's.
        connect: bool,
    },
    /// time in milliseconds (io.debezium.time.Time or Connect Time).
    TimeMillis {
        /// Kafka Connect's logical type.
        connect: bool,
    },
    /// time in microseconds (io.debezium.time.MicroTime).
    TimeMicros,
    /// timestamp in milliseconds (io.debezium.time.Timestamp or Connect Timestamp).
    TimestampMillis {
        /// Kafka Connect's logical type.
        connect: bool,
    },
    /// timestamp in microseconds (io.debezium.time.MicroTimestamp).
    TimestampMicros,
    /// timestamptz as io.debezium.time.ZonedTimestamp.
    ZonedTimestamp,
    /// timetz as io.debezium.time.ZonedTime.
    ZonedTime,
    /// interval as io.debezium.time.MicroDuration.
    MicroDuration,
    /// A one-dimensional array.
    Array(Box<ColumnKind>),
}

/// The declared precision of a temporal type modifier (6 when none).
fn time_precision(modifier: i32) -> i32 {
    if modifier < 0 {
        6
    } else {
        modifier
    }
}

impl ColumnKind {
    /// The kind of a column of type `type_oid` with modifier `modifier`; `lookup` describes
    /// types that are not built in (domains, enums, arrays of them).
    pub fn resolve(
        type_oid: u32,
        modifier: i32,
        settings: &ValueSettings,
        lookup: &dyn Fn(u32) -> Option<TypeInfo>,
    ) -> ColumnKind {
        Self::resolve_depth(type_oid, modifier, settings, lookup, 0)
    }

    fn resolve_depth(
        type_oid: u32,
        modifier: i32,
        settings: &ValueSettings,
        lookup: &dyn Fn(u32) -> Option<TypeInfo>,
        depth: u32,
    ) -> ColumnKind {
        if let Some(kind) = Self::builtin(type_oid, modifier, settings) {
            return kind;
        }
        if depth > 4 {
            return ColumnKind::String(None);
        }
        if let Some(element) = builtin_array_element(type_oid) {
            return ColumnKind::Array(Box::new(Self::resolve_depth(element, modifier, settings, lookup, depth + 1)));
        }
        match lookup(type_oid) {
            Some(info) if info.typtype == b'd' => {
                let m = if info.base_modifier >= 0 { info.base_modifier } else { modifier };
                Self::resolve_depth(info.base_type, m, settings, lookup, depth + 1)
            }
            Some(info) if info.category == b'A' && info.element != 0 => {
                ColumnKind::Array(Box::new(Self::resolve_depth(info.element, modifier, settings, lookup, depth + 1)))
            }
            Some(info) if info.typtype == b'e' => ColumnKind::String(Some("io.debezium.data.Enum")),
            _ => ColumnKind::String(None),
        }
    }

    fn builtin(type_oid: u32, modifier: i32, settings: &ValueSettings) -> Option<ColumnKind> {
        let connect = settings.time_precision == TimePrecisionMode::Connect;
        Some(match type_oid {
            oid::BOOL => ColumnKind::Boolean,
            oid::INT2 => ColumnKind::Int16,
            oid::INT4 => ColumnKind::Int32,
            oid::INT8 | oid::OID => ColumnKind::Int64,
            oid::FLOAT4 => ColumnKind::Float32,
            oid::FLOAT8 => ColumnKind::Float64,
            oid::NUMERIC => match settings.decimal {
                DecimalMode::Double => ColumnKind::DecimalDouble,
                DecimalMode::String => ColumnKind::String(None),
                DecimalMode::Precise if modifier >= 4 => {
                    let m = (modifier - 4) as u32;
                    ColumnKind::Decimal { precision: (m >> 16) & 0xffff, scale: m & 0xffff }
                }
                DecimalMode::Precise => ColumnKind::VariableDecimal,
            },
            oid::MONEY => match settings.decimal {
                DecimalMode::Double => ColumnKind::DecimalDouble,
                DecimalMode::String => ColumnKind::String(None),
                DecimalMode::Precise => ColumnKind::Money,
            },
            oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::CHAR => ColumnKind::String(None),
            oid::JSON | oid::JSONB => ColumnKind::String(Some("io.debezium.data.Json")),
            oid::XML => ColumnKind::String(Some("io.debezium.data.Xml")),
            oid::UUID => ColumnKind::String(Some("io.debezium.data.Uuid")),
            oid::BYTEA => ColumnKind::Bytes(settings.binary),
            oid::BIT if modifier == 1 => ColumnKind::Boolean,
            oid::BIT | oid::VARBIT => ColumnKind::Bits(u32::try_from(modifier).unwrap_or(0)),
            oid::DATE => ColumnKind::Date { connect },
            oid::TIME => match settings.time_precision {
                TimePrecisionMode::Connect => ColumnKind::TimeMillis { connect: true },
                TimePrecisionMode::AdaptiveTimeMicroseconds => ColumnKind::TimeMicros,
                TimePrecisionMode::Adaptive if time_precision(modifier) <= 3 => {
                    ColumnKind::TimeMillis { connect: false }
                }
                TimePrecisionMode::Adaptive => ColumnKind::TimeMicros,
            },
            oid::TIMESTAMP => match settings.time_precision {
                TimePrecisionMode::Connect => ColumnKind::TimestampMillis { connect: true },
                _ if time_precision(modifier) <= 3 => ColumnKind::TimestampMillis { connect: false },
                _ => ColumnKind::TimestampMicros,
            },
            oid::TIMESTAMPTZ => ColumnKind::ZonedTimestamp,
            oid::TIMETZ => ColumnKind::ZonedTime,
            oid::INTERVAL => match settings.interval {
                IntervalMode::Numeric => ColumnKind::MicroDuration,
                IntervalMode::String => ColumnKind::String(Some("io.debezium.time.Interval")),
            },
            _ => return None,
        })
    }

    /// The Kafka Connect schema of a column of this kind.
    pub fn schema(&self, optional: bool) -> SchemaRef {
        let b = self.builder();
        if optional {
            b.optional().build()
        } else {
            b.build()
        }
    }

    fn builder(&self) -> SchemaBuilder {
        let named = |t: SchemaType, name: &str| Schema::builder(t).name(name).version(1);
        match self {
            ColumnKind::Boolean => Schema::builder(SchemaType::Boolean),
            ColumnKind::Int16 => Schema::builder(SchemaType::Int16),
            ColumnKind::Int32 => Schema::builder(SchemaType::Int32),
            ColumnKind::Int64 => Schema::builder(SchemaType::Int64),
            ColumnKind::Float32 => Schema::builder(SchemaType::Float32),
            ColumnKind::Float64 | ColumnKind::DecimalDouble => Schema::builder(SchemaType::Float64),
            ColumnKind::Decimal { precision, scale } => {
                logical::decimal(*scale as i32).parameter("connect.decimal.precision", precision.to_string())
            }
            ColumnKind::Money => logical::decimal(2),
            ColumnKind::VariableDecimal => Schema::struct_builder()
                .name("io.debezium.data.VariableScaleDecimal")
                .version(1)
                .doc("Variable scaled decimal")
                .field("scale", Schema::primitive(SchemaType::Int32))
                .field("value", Schema::primitive(SchemaType::Bytes)),
            ColumnKind::String(None) => Schema::builder(SchemaType::String),
            ColumnKind::String(Some(name)) => named(SchemaType::String, name),
            ColumnKind::Bytes(BinaryMode::Bytes) => Schema::builder(SchemaType::Bytes),
            ColumnKind::Bytes(_) => Schema::builder(SchemaType::String),
            ColumnKind::Bits(len) => {
                named(SchemaType::Bytes, "io.debezium.data.Bits").parameter("length", len.to_string())
            }
            ColumnKind::Date { connect: true } => logical::date(),
            ColumnKind::Date { connect: false } => named(SchemaType::Int32, "io.debezium.time.Date"),
            ColumnKind::TimeMillis { connect: true } => logical::time(),
            ColumnKind::TimeMillis { connect: false } => named(SchemaType::Int32, "io.debezium.time.Time"),
            ColumnKind::TimeMicros => named(SchemaType::Int64, "io.debezium.time.MicroTime"),
            ColumnKind::TimestampMillis { connect: true } => logical::timestamp(),
            ColumnKind::TimestampMillis { connect: false } => named(SchemaType::Int64, "io.debezium.time.Timestamp"),
            ColumnKind::TimestampMicros => named(SchemaType::Int64, "io.debezium.time.MicroTimestamp"),
            ColumnKind::ZonedTimestamp => named(SchemaType::String, "io.debezium.time.ZonedTimestamp"),
            ColumnKind::ZonedTime => named(SchemaType::String, "io.debezium.time.ZonedTime"),
            ColumnKind::MicroDuration => named(SchemaType::Int64, "io.debezium.time.MicroDuration"),
            ColumnKind::Array(element) => Schema::array(element.schema(true)),
        }
    }

    /// Converts a text value; `None` when the text does not parse as this kind.
    pub fn parse(&self, text: &str, schema: &SchemaRef) -> Option<Value> {
        Some(match self {
            ColumnKind::Boolean => Value::Boolean(matches!(text, "t" | "true" | "1")),
            ColumnKind::Int16 => Value::Int16(text.parse().ok()?),
            ColumnKind::Int32 => Value::Int32(text.parse().ok()?),
            ColumnKind::Int64 => Value::Int64(text.parse().ok()?),
            ColumnKind::Float32 => Value::Float32(parse_float(text)? as f32),
            ColumnKind::Float64 => Value::Float64(parse_float(text)?),
            ColumnKind::DecimalDouble => Value::Float64(match text::money_to_decimal(text) {
                Some(d) if text.contains('$') => d.parse().ok()?,
                _ => parse_float(text)?,
            }),
            // NaN and infinities have no Decimal form: Debezium emits null for them.
            ColumnKind::Decimal { scale, .. } => match text::decimal_to_unscaled(text, Some(*scale)) {
                Some((bytes, _)) => Value::Bytes(bytes),
                None if is_special_number(text) => Value::Null,
                None => return None,
            },
            ColumnKind::Money => Value::Bytes(text::decimal_to_unscaled(&text::money_to_decimal(text)?, Some(2))?.0),
            ColumnKind::VariableDecimal => match text::decimal_to_unscaled(text, None) {
                Some((bytes, scale)) => Value::Struct(
                    Struct::new(schema.clone())
                        .put("scale", Value::Int32(scale as i32))
                        .ok()?
                        .put("value", Value::Bytes(bytes))
                        .ok()?,
                ),
                None if is_special_number(text) => Value::Null,
                None => return None,
            },
            ColumnKind::String(_) => Value::String(text.to_owned()),
            ColumnKind::Bytes(mode) => {
                let bytes = text::parse_bytea(text)?;
                match mode {
                    BinaryMode::Bytes => Value::Bytes(bytes),
                    BinaryMode::Base64 => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
                    BinaryMode::Base64UrlSafe => Value::String(base64::engine::general_purpose::URL_SAFE.encode(bytes)),
                    BinaryMode::Hex => Value::String(text::to_hex(&bytes)),
                }
            }
            ColumnKind::Bits(_) => Value::Bytes(text::parse_bits(text)?),
            ColumnKind::Date { .. } => Value::Int32(text::parse_date(text)?),
            ColumnKind::TimeMillis { .. } => Value::Int32(i32::try_from(text::parse_time(text)? / 1000).ok()?),
            ColumnKind::TimeMicros => Value::Int64(text::parse_time(text)?),
            ColumnKind::TimestampMillis { .. } => Value::Int64(match text::parse_timestamp(text)? {
                v @ (i64::MAX | i64::MIN) => v,
                v => v.div_euclid(1000),
            }),
            ColumnKind::TimestampMicros => Value::Int64(text::parse_timestamp(text)?),
            ColumnKind::ZonedTimestamp => Value::String(text::timestamptz_to_iso(text)?),
            ColumnKind::ZonedTime => Value::String(text::timetz_to_iso(text)?),
            ColumnKind::MicroDuration => Value::Int64(text::parse_interval_micros(text)?),
            ColumnKind::Array(element) => {
                let item_schema = schema.value_schema.clone().unwrap_or_else(|| element.schema(true));
                let items = text::parse_array(text)?;
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(match item {
                        None => Value::Null,
                        Some(t) => element.parse(&t, &item_schema)?,
                    });
                }
                Value::Array(values)
            }
        })
    }

    /// The value standing for an unchanged TOASTed value the server did not send.
    pub fn unavailable(&self, settings: &ValueSettings, schema: &SchemaRef) -> Value {
        let placeholder = &settings.unavailable_placeholder;
        match self {
            ColumnKind::String(_) | ColumnKind::ZonedTimestamp | ColumnKind::ZonedTime => {
                Value::String(placeholder.clone())
            }
            ColumnKind::Bytes(BinaryMode::Bytes) | ColumnKind::Bits(_) => Value::Bytes(placeholder.as_bytes().to_vec()),
            ColumnKind::Bytes(_) => Value::String(placeholder.clone()),
            ColumnKind::Array(element) if matches!(**element, ColumnKind::String(_)) => {
                Value::Array(vec![Value::String(placeholder.clone())])
            }
            _ => self.fallback(schema),
        }
    }

    /// What a missing value of a required column becomes (Debezium's fallback: zero or empty);
    /// null for optional columns.
    pub fn fallback(&self, schema: &SchemaRef) -> Value {
        if schema.optional {
            return Value::Null;
        }
        match self {
            ColumnKind::Boolean => Value::Boolean(false),
            ColumnKind::Int16 => Value::Int16(0),
            ColumnKind::Int32 | ColumnKind::Date { .. } | ColumnKind::TimeMillis { .. } => Value::Int32(0),
            ColumnKind::Int64
            | ColumnKind::TimeMicros
            | ColumnKind::TimestampMillis { .. }
            | ColumnKind::TimestampMicros
            | ColumnKind::MicroDuration => Value::Int64(0),
            ColumnKind::Float32 => Value::Float32(0.0),
            ColumnKind::Float64 | ColumnKind::DecimalDouble => Value::Float64(0.0),
            ColumnKind::Decimal { .. } | ColumnKind::Money | ColumnKind::Bits(_) => Value::Bytes(vec![0]),
            ColumnKind::Bytes(BinaryMode::Bytes) => Value::Bytes(Vec::new()),
            ColumnKind::VariableDecimal => Struct::new(schema.clone())
                .put("scale", Value::Int32(0))
                .and_then(|s| s.put("value", Value::Bytes(vec![0])))
                .map(Value::Struct)
                .unwrap_or(Value::Null),
            ColumnKind::String(_) | ColumnKind::Bytes(_) | ColumnKind::ZonedTimestamp | ColumnKind::ZonedTime => {
                Value::String(String::new())
            }
            ColumnKind::Array(_) => Value::Array(Vec::new()),
        }
    }
}

fn is_special_number(text: &str) -> bool {
    matches!(text, "NaN" | "Infinity" | "-Infinity")
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// Converts one column value, naming the column in errors.
pub fn convert(kind: &ColumnKind, text: &str, schema: &SchemaRef, column: &str, table: &str) -> Result<Value> {
    match kind.parse(text, schema) {
        Some(Value::Null) if !schema.optional => Ok(kind.fallback(schema)),
        Some(v) => Ok(v),
        None => Err(ConnectError::data(format!(
            "cannot convert the value of column {column} of table {table} ({kind:?}): {:?}",
            text.chars().take(64).collect::<String>()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(type_oid: u32, modifier: i32) -> ColumnKind {
        ColumnKind::resolve(type_oid, modifier, &ValueSettings::default(), &|_| None)
    }

    fn parse(type_oid: u32, modifier: i32, text: &str) -> Value {
        let k = kind(type_oid, modifier);
        let schema = k.schema(true);
        convert(&k, text, &schema, "c", "t").expect("converts")
    }

    #[test]
    fn maps_types_like_debezium() {
        assert_eq!(parse(oid::INT2, -1, "-5"), Value::Int16(-5));
        assert_eq!(parse(oid::INT8, -1, "9000000000"), Value::Int64(9_000_000_000));
        assert_eq!(parse(oid::BOOL, -1, "t"), Value::Boolean(true));
        assert_eq!(parse(oid::FLOAT8, -1, "NaN").schema_type(), Some(SchemaType::Float64));
        // numeric(10,2): typmod = (10 << 16 | 2) + 4
        let k = kind(oid::NUMERIC, (10 << 16 | 2) + 4);
        assert_eq!(k, ColumnKind::Decimal { precision: 10, scale: 2 });
        let schema = k.schema(false);
        assert_eq!(logical::decimal_scale(&schema), Some(2));
        assert_eq!(schema.parameters.get("connect.decimal.precision").map(String::as_str), Some("10"));
        assert_eq!(parse(oid::NUMERIC, (10 << 16 | 2) + 4, "12.5"), Value::Bytes(logical::decimal_bytes(1250)));
        let v = parse(oid::NUMERIC, -1, "-1.25");
        assert_eq!(v.field("scale"), Some(&Value::Int32(2)));
        assert_eq!(v.field("value"), Some(&Value::Bytes(logical::decimal_bytes(-125))));
        assert_eq!(parse(oid::NUMERIC, -1, "NaN"), Value::Null);
        assert_eq!(parse(oid::TIMESTAMP, -1, "1970-01-01 00:00:01"), Value::Int64(1_000_000));
        assert_eq!(kind(oid::TIMESTAMP, 3).schema(false).name.as_deref(), Some("io.debezium.time.Timestamp"));
        assert_eq!(parse(oid::TIMESTAMP, 3, "1970-01-01 00:00:01.5"), Value::Int64(1500));
        assert_eq!(parse(oid::TIME, -1, "00:00:02"), Value::Int64(2_000_000));
        assert_eq!(parse(oid::DATE, -1, "1970-01-11"), Value::Int32(10));
        assert_eq!(parse(oid::TIMESTAMPTZ, -1, "2020-02-02 10:00:00+00"), Value::String("2020-02-02T10:00:00Z".into()));
        assert_eq!(parse(oid::BYTEA, -1, "\\x0102"), Value::Bytes(vec![1, 2]));
        assert_eq!(parse(oid::BIT, 1, "1"), Value::Boolean(true));
        assert_eq!(kind(oid::UUID, -1).schema(true).name.as_deref(), Some("io.debezium.data.Uuid"));
        assert_eq!(kind(oid::JSONB, -1).schema(true).name.as_deref(), Some("io.debezium.data.Json"));
        assert_eq!(parse(1007, -1, "{1,NULL,3}"), Value::Array(vec![Value::Int32(1), Value::Null, Value::Int32(3)]));
        assert_eq!(kind(9_999_999, -1), ColumnKind::String(None));
        assert!(convert(&kind(oid::INT4, -1), "x", &Schema::optional(SchemaType::Int32), "n", "t")
            .expect_err("bad int")
            .to_string()
            .contains("column n of table t"));
    }

    #[test]
    fn resolves_domains_enums_and_custom_arrays() {
        let lookup = |o: u32| match o {
            50_000 => {
                Some(TypeInfo { typtype: b'd', base_type: oid::INT4, base_modifier: -1, element: 0, category: b'N' })
            }
            50_001 => Some(TypeInfo { typtype: b'e', base_type: 0, base_modifier: -1, element: 0, category: b'E' }),
            50_002 => {
                Some(TypeInfo { typtype: b'b', base_type: 0, base_modifier: -1, element: 50_001, category: b'A' })
            }
            _ => None,
        };
        let s = ValueSettings::default();
        assert_eq!(ColumnKind::resolve(50_000, -1, &s, &lookup), ColumnKind::Int32);
        assert_eq!(ColumnKind::resolve(50_001, -1, &s, &lookup), ColumnKind::String(Some("io.debezium.data.Enum")));
        assert_eq!(
            ColumnKind::resolve(50_002, -1, &s, &lookup),
            ColumnKind::Array(Box::new(ColumnKind::String(Some("io.debezium.data.Enum"))))
        );
    }

    #[test]
    fn unavailable_values_use_the_placeholder_or_fallback() {
        let s = ValueSettings::default();
        let text = kind(oid::TEXT, -1);
        assert_eq!(text.unavailable(&s, &text.schema(false)), Value::String("__debezium_unavailable_value".into()));
        let int = kind(oid::INT4, -1);
        assert_eq!(int.unavailable(&s, &int.schema(true)), Value::Null);
        assert_eq!(int.unavailable(&s, &int.schema(false)), Value::Int32(0));
    }
}
