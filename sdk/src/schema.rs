//! Schemas: Kafka Connect's type system (primitives, struct, array, map, logical types).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::Value;

/// A shared, immutable schema, cheap to clone onto every record.
pub type SchemaRef = Arc<Schema>;

/// The physical type of a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    /// `boolean`
    Boolean,
    /// `int8`
    Int8,
    /// `int16`
    Int16,
    /// `int32`
    Int32,
    /// `int64`
    Int64,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
    /// `string`
    String,
    /// `bytes`
    Bytes,
    /// `struct`: named, ordered fields
    Struct,
    /// `array`: values of one schema
    Array,
    /// `map`: keys and values of one schema each
    Map,
}

impl SchemaType {
    /// The name Kafka Connect's JSON converter uses (`"int32"`, `"struct"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Boolean => "boolean",
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Struct => "struct",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
        }
    }

    /// Parses a name as written by [`SchemaType::name`]; `float32`/`float64` are accepted too.
    pub fn from_name(name: &str) -> Option<SchemaType> {
        Some(match name {
            "boolean" => SchemaType::Boolean,
            "int8" => SchemaType::Int8,
            "int16" => SchemaType::Int16,
            "int32" => SchemaType::Int32,
            "int64" => SchemaType::Int64,
            "float" | "float32" => SchemaType::Float32,
            "double" | "float64" => SchemaType::Float64,
            "string" => SchemaType::String,
            "bytes" => SchemaType::Bytes,
            "struct" => SchemaType::Struct,
            "array" => SchemaType::Array,
            "map" => SchemaType::Map,
            _ => return None,
        })
    }

    /// True for every type but struct, array and map.
    pub fn is_primitive(self) -> bool {
        !matches!(self, SchemaType::Struct | SchemaType::Array | SchemaType::Map)
    }
}

/// A named field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field name.
    pub name: String,
    /// The field's schema.
    pub schema: SchemaRef,
}

/// A Kafka Connect schema. Build one with [`Schema::builder`] or the constructors.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The physical type.
    pub schema_type: SchemaType,
    /// Whether the value may be null.
    pub optional: bool,
    /// Fully qualified name; logical types are named schemas (see [`logical`]).
    pub name: Option<String>,
    /// Version of a named schema.
    pub version: Option<i32>,
    /// Documentation.
    pub doc: Option<String>,
    /// Default value.
    pub default: Option<Value>,
    /// Free-form parameters (e.g. the `scale` of a Decimal).
    pub parameters: BTreeMap<String, String>,
    /// Fields, for structs.
    pub fields: Vec<Field>,
    /// Key schema, for maps.
    pub key_schema: Option<SchemaRef>,
    /// Value schema, for arrays and maps.
    pub value_schema: Option<SchemaRef>,
}

impl Schema {
    /// A builder for a schema of this type.
    pub fn builder(schema_type: SchemaType) -> SchemaBuilder {
        SchemaBuilder(Schema {
            schema_type,
            optional: false,
            name: None,
            version: None,
            doc: None,
            default: None,
            parameters: BTreeMap::new(),
            fields: Vec::new(),
            key_schema: None,
            value_schema: None,
        })
    }
    /// A required primitive schema.
    pub fn primitive(schema_type: SchemaType) -> SchemaRef {
        Schema::builder(schema_type).build()
    }
    /// An optional primitive schema.
    pub fn optional(schema_type: SchemaType) -> SchemaRef {
        Schema::builder(schema_type).optional().build()
    }
    /// A required string schema.
    pub fn string() -> SchemaRef {
        Schema::primitive(SchemaType::String)
    }
    /// A required int64 schema.
    pub fn int64() -> SchemaRef {
        Schema::primitive(SchemaType::Int64)
    }
    /// A builder for a struct schema.
    pub fn struct_builder() -> SchemaBuilder {
        Schema::builder(SchemaType::Struct)
    }
    /// A builder for an array of `items`.
    pub fn array(items: SchemaRef) -> SchemaBuilder {
        let mut b = Schema::builder(SchemaType::Array);
        b.0.value_schema = Some(items);
        b
    }
    /// A builder for a map from `keys` to `values`.
    pub fn map(keys: SchemaRef, values: SchemaRef) -> SchemaBuilder {
        let mut b = Schema::builder(SchemaType::Map);
        b.0.key_schema = Some(keys);
        b.0.value_schema = Some(values);
        b
    }
    /// The field with this name, for structs.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
    /// The index of the field with this name, for structs.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// Builds a [`Schema`] step by step.
#[derive(Debug, Clone)]
pub struct SchemaBuilder(Schema);

impl SchemaBuilder {
    /// Marks the schema optional (nullable).
    pub fn optional(mut self) -> Self {
        self.0.optional = true;
        self
    }
    /// Sets the schema name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.0.name = Some(name.into());
        self
    }
    /// Sets the schema version.
    pub fn version(mut self, version: i32) -> Self {
        self.0.version = Some(version);
        self
    }
    /// Sets the documentation.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.0.doc = Some(doc.into());
        self
    }
    /// Sets the default value.
    pub fn default_value(mut self, value: Value) -> Self {
        self.0.default = Some(value);
        self
    }
    /// Adds a parameter.
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.parameters.insert(key.into(), value.into());
        self
    }
    /// Appends a field (structs only).
    pub fn field(mut self, name: impl Into<String>, schema: SchemaRef) -> Self {
        self.0.fields.push(Field { name: name.into(), schema });
        self
    }
    /// Finishes the schema.
    pub fn build(self) -> SchemaRef {
        Arc::new(self.0)
    }
}

/// Kafka Connect's logical types: named schemas over a physical type.
pub mod logical {
    use super::*;

    /// Name of the Decimal logical type: bytes holding a big-endian two's complement unscaled value.
    pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    /// The Decimal parameter holding the scale.
    pub const DECIMAL_SCALE: &str = "scale";
    /// Name of the Date logical type: int32 days since the Unix epoch.
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    /// Name of the Time logical type: int32 milliseconds since midnight.
    pub const TIME: &str = "org.apache.kafka.connect.data.Time";
    /// Name of the Timestamp logical type: int64 milliseconds since the Unix epoch.
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";

    /// A builder for a Decimal schema of the given scale.
    pub fn decimal(scale: i32) -> SchemaBuilder {
        Schema::builder(SchemaType::Bytes).name(DECIMAL).version(1).parameter(DECIMAL_SCALE, scale.to_string())
    }
    /// A builder for a Date schema.
    pub fn date() -> SchemaBuilder {
        Schema::builder(SchemaType::Int32).name(DATE).version(1)
    }
    /// A builder for a Time schema.
    pub fn time() -> SchemaBuilder {
        Schema::builder(SchemaType::Int32).name(TIME).version(1)
    }
    /// A builder for a Timestamp schema.
    pub fn timestamp() -> SchemaBuilder {
        Schema::builder(SchemaType::Int64).name(TIMESTAMP).version(1)
    }

    /// The scale of a Decimal schema, if `schema` is one.
    pub fn decimal_scale(schema: &Schema) -> Option<i32> {
        if schema.name.as_deref() != Some(DECIMAL) {
            return None;
        }
        schema.parameters.get(DECIMAL_SCALE)?.parse().ok()
    }

    /// Encodes an unscaled integer as the Decimal physical value (minimal big-endian two's complement).
    pub fn decimal_bytes(unscaled: i128) -> Vec<u8> {
        let bytes = unscaled.to_be_bytes();
        let sign = if unscaled < 0 { 0xff } else { 0x00 };
        let mut start = 0;
        while start < bytes.len() - 1 && bytes[start] == sign && (bytes[start + 1] & 0x80) == (sign & 0x80) {
            start += 1;
        }
        bytes[start..].to_vec()
    }

    /// Decodes a Decimal physical value into its unscaled integer; `None` if it exceeds 128 bits.
    pub fn decimal_unscaled(bytes: &[u8]) -> Option<i128> {
        if bytes.is_empty() || bytes.len() > 16 {
            return None;
        }
        let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0x00 };
        let mut buf = [fill; 16];
        buf[16 - bytes.len()..].copy_from_slice(bytes);
        Some(i128::from_be_bytes(buf))
    }

    /// Renders an unscaled value and scale as a decimal string (`12345`, 2 -> `"123.45"`).
    pub fn decimal_to_string(unscaled: i128, scale: i32) -> String {
        if scale <= 0 {
            let zeros = "0".repeat(scale.unsigned_abs() as usize);
            return if unscaled == 0 { "0".into() } else { format!("{unscaled}{zeros}") };
        }
        let digits = unscaled.unsigned_abs().to_string();
        let scale = scale as usize;
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        let sign = if unscaled < 0 { "-" } else { "" };
        format!("{sign}{int}.{frac}")
    }

    /// Parses a decimal string (`-12.5`, `1.25E+3`) into an unscaled value at `scale`, rounding
    /// half away from zero.
    pub fn decimal_from_str(text: &str, scale: i32) -> Option<i128> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exponent) = match digits.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i32>().ok()?),
            None => (digits, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        if exponent != 0 {
            // Move the point: the digits stay, the split between integer and fraction moves.
            let all = format!("{int}{frac}");
            let point = i64::try_from(int.len()).ok()? + i64::from(exponent);
            let (int, frac) = if point <= 0 {
                (String::new(), format!("{}{all}", "0".repeat(usize::try_from(-point).ok()?)))
            } else if usize::try_from(point).ok()? >= all.len() {
                (format!("{all}{}", "0".repeat(usize::try_from(point).ok()? - all.len())), String::new())
            } else {
                let (i, f) = all.split_at(usize::try_from(point).ok()?);
                (i.to_owned(), f.to_owned())
            };
            let text = format!("{}{int}.{frac}", if negative { "-" } else { "" });
            return decimal_from_str(&text, scale);
        }
        let scale = usize::try_from(scale).ok()?;
        let mut unscaled: i128 = 0;
        for c in int.chars().chain(frac.chars().chain(std::iter::repeat('0')).take(scale)) {
            unscaled = unscaled.checked_mul(10)?.checked_add(i128::from(c as u8 - b'0'))?;
        }
        if frac.len() > scale && frac.as_bytes()[scale] >= b'5' {
            unscaled = unscaled.checked_add(1)?;
        }
        Some(if negative { -unscaled } else { unscaled })
    }

    /// Days since 1970-01-01 (a Date's value) of a proleptic Gregorian date; `month` is 1..=12
    /// (Howard Hinnant's `days_from_civil`).
    pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
    pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(month <= 2), month, day)
    }
}

#[cfg(test)]
mod tests {
    use super::logical::*;
    use super::*;

    #[test]
    fn decimal_round_trips() {
        for (text, scale, unscaled) in
            [("123.45", 2, 12345i128), ("-0.01", 2, -1), ("0", 0, 0), ("-128", 0, -128), ("1.005", 2, 101)]
                .into_iter()
                .chain([("1.2345E+2", 2, 12345), ("-1E-2", 2, -1), ("12E1", 0, 120), ("5e-3", 2, 1)])
        {
            assert_eq!(decimal_from_str(text, scale), Some(unscaled), "{text}");
            let bytes = decimal_bytes(unscaled);
            assert_eq!(decimal_unscaled(&bytes), Some(unscaled));
        }
        assert_eq!(decimal_bytes(-128), vec![0x80]);
        assert_eq!(decimal_bytes(128), vec![0x00, 0x80]);
        assert_eq!(decimal_to_string(-1, 2), "-0.01");
        assert_eq!(decimal_to_string(12345, 2), "123.45");
        assert_eq!(decimal_from_str("abc", 2), None);
    }

    #[test]
    fn struct_fields_are_ordered() {
        let s = Schema::struct_builder()
            .name("user")
            .field("id", Schema::int64())
            .field("email", Schema::optional(SchemaType::String))
            .build();
        assert_eq!(s.field_index("email"), Some(1));
        assert!(s.field("email").is_some_and(|f| f.schema.optional));
        assert_eq!(decimal_scale(&decimal(3).build()), Some(3));
    }
}
