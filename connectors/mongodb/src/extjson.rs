//! MongoDB Extended JSON: BSON to JSON in four dialects, and JSON (any dialect) back to BSON.
//!
//! | dialect | `output.json.formatter` | example (`Int64(7)`, a date) | round trip |
//! |---|---|---|---|
//! | [`JsonFormat::Strict`] | `DefaultJson` (default), `strict` | `{"$numberLong": "7"}`, `{"$date": 1577934245678}` | exact |
//! | [`JsonFormat::Canonical`] | `ExtendedJson`, `canonical` | `{"$numberLong": "7"}`, `{"$date": {"$numberLong": "1577934245678"}}` | exact |
//! | [`JsonFormat::Relaxed`] | `relaxed` | `7`, `{"$date": "2020-01-02T03:04:05.678Z"}` | numbers lose their width |
//! | [`JsonFormat::Simplified`] | `SimplifiedJson`, `simplified` | `7`, `"2020-01-02T03:04:05.678Z"` | no (plain JSON) |
//!
//! [`from_json`] reads canonical and relaxed Extended JSON v2 and the legacy (v1 "strict")
//! forms (`{"$date": <millis>}`, `{"$binary": "..", "$type": ".."}`, `{"$regex": .., "$options": ..}`),
//! keeping the order of document fields.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, Document, Regex};
use serde_json::{json, Map, Value as Json};

/// Class names of the MongoDB Kafka connector's JSON formatters, by dialect.
const STRICT_NAMES: &[&str] = &["com.mongodb.kafka.connect.source.json.formatter.DefaultJson", "DefaultJson", "strict"];
const CANONICAL_NAMES: &[&str] =
    &["com.mongodb.kafka.connect.source.json.formatter.ExtendedJson", "ExtendedJson", "canonical", "extended"];
const SIMPLIFIED_NAMES: &[&str] =
    &["com.mongodb.kafka.connect.source.json.formatter.SimplifiedJson", "SimplifiedJson", "simplified"];

/// How BSON values are written as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonFormat {
    /// Legacy strict mode (the MongoDB connector's `DefaultJson`): `$numberLong`, `{"$date": millis}`.
    #[default]
    Strict,
    /// Canonical Extended JSON v2 (`ExtendedJson`): every number typed.
    Canonical,
    /// Relaxed Extended JSON v2: plain JSON numbers, ISO-8601 dates.
    Relaxed,
    /// Plain JSON (`SimplifiedJson`): ObjectId as hex, dates as ISO-8601, decimals as strings.
    Simplified,
}

impl JsonFormat {
    /// Parses an `output.json.formatter` value: a class name of the MongoDB connector or a short name.
    pub fn parse(name: &str) -> Option<JsonFormat> {
        let name = name.trim();
        let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(name));
        if is(STRICT_NAMES) {
            Some(JsonFormat::Strict)
        } else if is(CANONICAL_NAMES) {
            Some(JsonFormat::Canonical)
        } else if name.eq_ignore_ascii_case("relaxed") {
            Some(JsonFormat::Relaxed)
        } else if is(SIMPLIFIED_NAMES) {
            Some(JsonFormat::Simplified)
        } else {
            None
        }
    }

    /// Every accepted name, for validation messages.
    pub fn names() -> Vec<&'static str> {
        let mut names: Vec<&str> = Vec::new();
        names.extend(STRICT_NAMES);
        names.extend(CANONICAL_NAMES);
        names.push("relaxed");
        names.extend(SIMPLIFIED_NAMES);
        names
    }
}

/// Writes a document as a JSON string in `format`.
pub fn document_to_string(doc: &Document, format: JsonFormat) -> String {
    document_to_json(doc, format).to_string()
}

/// Writes a document as a JSON object in `format`.
pub fn document_to_json(doc: &Document, format: JsonFormat) -> Json {
    Json::Object(doc.iter().map(|(k, v)| (k.clone(), to_json(v, format))).collect())
}

/// Writes one BSON value as JSON in `format`.
pub fn to_json(value: &Bson, format: JsonFormat) -> Json {
    match (format, value) {
        (_, Bson::Document(doc)) => document_to_json(doc, format),
        (_, Bson::Array(items)) => Json::Array(items.iter().map(|v| to_json(v, format)).collect()),
        (_, Bson::String(s)) => Json::String(s.clone()),
        (_, Bson::Boolean(b)) => Json::Bool(*b),
        (_, Bson::Null) => Json::Null,
        (JsonFormat::Canonical, other) => other.clone().into_canonical_extjson(),
        (JsonFormat::Relaxed, other) => other.clone().into_relaxed_extjson(),
        (JsonFormat::Strict, other) => strict(other),
        (JsonFormat::Simplified, other) => simplified(other),
    }
}

/// Legacy strict mode, as the Java driver's `JsonMode.STRICT` writes it.
fn strict(value: &Bson) -> Json {
    match value {
        Bson::Int32(v) => json!(v),
        Bson::Int64(v) => json!({ "$numberLong": v.to_string() }),
        Bson::Double(v) if v.is_finite() => json!(v),
        Bson::DateTime(d) => json!({ "$date": d.timestamp_millis() }),
        Bson::Binary(b) => {
            json!({ "$binary": BASE64.encode(&b.bytes), "$type": format!("{:02x}", u8::from(b.subtype)) })
        }
        Bson::RegularExpression(r) => json!({ "$regex": r.pattern, "$options": r.options }),
        Bson::Timestamp(t) => json!({ "$timestamp": { "t": t.time, "i": t.increment } }),
        other => other.clone().into_canonical_extjson(),
    }
}

/// Plain JSON: readable, not reversible.
fn simplified(value: &Bson) -> Json {
    match value {
        Bson::ObjectId(oid) => Json::String(oid.to_hex()),
        Bson::DateTime(d) => match d.try_to_rfc3339_string() {
            Ok(s) => Json::String(s),
            Err(_) => json!(d.timestamp_millis()),
        },
        Bson::Decimal128(d) => Json::String(d.to_string()),
        Bson::Symbol(s) => Json::String(s.clone()),
        Bson::Binary(b) if b.subtype == BinarySubtype::Uuid && b.bytes.len() == 16 => {
            Json::String(format_uuid(&b.bytes))
        }
        Bson::Binary(b) => Json::String(BASE64.encode(&b.bytes)),
        other => other.clone().into_relaxed_extjson(),
    }
}

fn format_uuid(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// Keys that make a JSON object an Extended JSON wrapper rather than a document.
const WRAPPERS: &[&str] = &[
    "$oid",
    "$symbol",
    "$regularExpression",
    "$numberInt",
    "$numberLong",
    "$numberDouble",
    "$numberDecimal",
    "$binary",
    "$uuid",
    "$code",
    "$timestamp",
    "$date",
    "$minKey",
    "$maxKey",
    "$undefined",
    "$dbPointer",
    "$regex",
];

/// Parses a JSON text holding an Extended JSON document.
pub fn parse_document(text: &str) -> Result<Document, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    match from_json(json)? {
        Bson::Document(doc) => Ok(doc),
        other => Err(format!("expected a JSON object, found {}", type_name(&other))),
    }
}

/// Reads Extended JSON (canonical, relaxed or legacy) into BSON.
pub fn from_json(json: Json) -> Result<Bson, String> {
    match json {
        Json::Null => Ok(Bson::Null),
        Json::Bool(b) => Ok(Bson::Boolean(b)),
        Json::String(s) => Ok(Bson::String(s)),
        Json::Number(n) => Ok(match n.as_i64() {
            Some(i) => i32::try_from(i).map_or(Bson::Int64(i), Bson::Int32),
            None => Bson::Double(n.as_f64().unwrap_or(f64::NAN)),
        }),
        Json::Array(items) => items.into_iter().map(from_json).collect::<Result<Vec<_>, _>>().map(Bson::Array),
        Json::Object(obj) => {
            if is_wrapper(&obj) {
                return wrapper(obj);
            }
            let mut doc = Document::new();
            for (k, v) in obj {
                doc.insert(k, from_json(v)?);
            }
            Ok(Bson::Document(doc))
        }
    }
}

fn is_wrapper(obj: &Map<String, Json>) -> bool {
    obj.keys().next().is_some_and(|k| WRAPPERS.contains(&k.as_str()))
}

fn wrapper(obj: Map<String, Json>) -> Result<Bson, String> {
    // Legacy forms the bson crate does not read.
    if let (Some(Json::String(data)), Some(Json::String(ty))) = (obj.get("$binary"), obj.get("$type")) {
        let bytes = BASE64.decode(data).map_err(|e| format!("invalid base64 in $binary: {e}"))?;
        let subtype = u8::from_str_radix(ty, 16).map_err(|_| format!("invalid $type {ty:?} in $binary"))?;
        return Ok(Bson::Binary(Binary { subtype: BinarySubtype::from(subtype), bytes }));
    }
    if let Some(Json::String(pattern)) = obj.get("$regex") {
        let options = obj.get("$options").and_then(Json::as_str).unwrap_or_default();
        return Ok(Bson::RegularExpression(regex(pattern, options)));
    }
    if let Some(Json::Object(scope)) = obj.get("$scope") {
        // Code with scope: the scope is a document, possibly with wrappers inside.
        let code = obj.get("$code").and_then(Json::as_str).unwrap_or_default().to_owned();
        let scope = match from_json(Json::Object(scope.clone()))? {
            Bson::Document(d) => d,
            _ => Document::new(),
        };
        return Ok(Bson::JavaScriptCodeWithScope(mongodb::bson::JavaScriptCodeWithScope { code, scope }));
    }
    let shown = Json::Object(obj.clone()).to_string();
    Bson::try_from(obj).map_err(|e| format!("invalid Extended JSON value {shown}: {e}"))
}

/// A regular expression with its options in the alphabetical order BSON requires.
pub fn regex(pattern: &str, options: &str) -> Regex {
    let mut options: Vec<char> = options.chars().collect();
    options.sort_unstable();
    Regex { pattern: pattern.to_owned(), options: options.into_iter().collect() }
}

/// A short name of a BSON value's type, for error messages.
pub fn type_name(value: &Bson) -> &'static str {
    match value {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Array(_) => "array",
        Bson::Document(_) => "document",
        Bson::Boolean(_) => "boolean",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::JavaScriptCode(_) | Bson::JavaScriptCodeWithScope(_) => "javascript",
        Bson::Int32(_) => "int32",
        Bson::Int64(_) => "int64",
        Bson::Timestamp(_) => "timestamp",
        Bson::Binary(_) => "binary",
        Bson::ObjectId(_) => "objectId",
        Bson::DateTime(_) => "date",
        Bson::Symbol(_) => "symbol",
        Bson::Decimal128(_) => "decimal128",
        Bson::Undefined => "undefined",
        Bson::MaxKey => "maxKey",
        Bson::MinKey => "minKey",
        Bson::DbPointer(_) => "dbPointer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::oid::ObjectId;
    use mongodb::bson::{doc, DateTime, Decimal128, Timestamp};

    fn sample() -> Document {
        doc! {
            "_id": ObjectId::parse_str("5f1e2d3c4b5a697887960504").expect("oid"),
            "i32": 5i32, "i64": 7i64, "big": 1i64 << 40, "d": 1.5f64, "whole": 2.0f64,
            "dec": "12.3400".parse::<Decimal128>().expect("decimal"),
            "dt": DateTime::from_millis(1_577_934_245_678),
            "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![0, 1, 255] },
            "uuid": Binary { subtype: BinarySubtype::Uuid, bytes: (0u8..16).collect() },
            "ts": Timestamp { time: 5, increment: 6 },
            "re": regex("^a.*", "i"),
            "nul": Bson::Null, "t": true, "nan": f64::NAN,
            "arr": [1i32, "x", { "q": 1i64 }],
            "sub": { "z": { "y": 1i32 }, "a": "first after z" },
            "min": Bson::MinKey, "max": Bson::MaxKey,
        }
    }

    fn same(a: &Document, b: &Document) -> bool {
        // NaN != NaN: compare the canonical JSON texts, which also checks types and order.
        document_to_string(a, JsonFormat::Canonical) == document_to_string(b, JsonFormat::Canonical)
    }

    #[test]
    fn strict_and_canonical_round_trip_exactly() {
        let doc = sample();
        for format in [JsonFormat::Strict, JsonFormat::Canonical] {
            let text = document_to_string(&doc, format);
            let back = parse_document(&text).expect("parses");
            assert!(same(&doc, &back), "{format:?}: {text}\n{back:?}");
            let keys: Vec<&String> = back.keys().collect();
            assert_eq!(keys[0], "_id", "field order kept");
        }
    }

    #[test]
    fn dialects_write_the_documented_shapes() {
        let doc = sample();
        let strict = document_to_json(&doc, JsonFormat::Strict);
        assert_eq!(strict["i64"], json!({"$numberLong": "7"}));
        assert_eq!(strict["dt"], json!({"$date": 1_577_934_245_678i64}));
        assert_eq!(strict["bin"], json!({"$binary": "AAH/", "$type": "00"}));
        assert_eq!(strict["_id"], json!({"$oid": "5f1e2d3c4b5a697887960504"}));
        assert_eq!(strict["dec"], json!({"$numberDecimal": "12.3400"}));
        let canonical = document_to_json(&doc, JsonFormat::Canonical);
        assert_eq!(canonical["i32"], json!({"$numberInt": "5"}));
        assert_eq!(canonical["dt"], json!({"$date": {"$numberLong": "1577934245678"}}));
        let relaxed = document_to_json(&doc, JsonFormat::Relaxed);
        assert_eq!(relaxed["i64"], json!(7));
        assert_eq!(relaxed["dt"], json!({"$date": "2020-01-02T03:04:05.678Z"}));
        let simple = document_to_json(&doc, JsonFormat::Simplified);
        assert_eq!(simple["_id"], json!("5f1e2d3c4b5a697887960504"));
        assert_eq!(simple["dt"], json!("2020-01-02T03:04:05.678Z"));
        assert_eq!(simple["dec"], json!("12.3400"));
        assert_eq!(simple["uuid"], json!("00010203-0405-0607-0809-0a0b0c0d0e0f"));
    }

    #[test]
    fn relaxed_reads_back_with_narrowed_numbers() {
        let text = document_to_string(&sample(), JsonFormat::Relaxed);
        let back = parse_document(&text).expect("parses");
        assert_eq!(back.get("i64"), Some(&Bson::Int32(7)), "small Int64 reads back as Int32");
        assert_eq!(back.get("big"), Some(&Bson::Int64(1 << 40)));
        assert_eq!(back.get("dt"), Some(&Bson::DateTime(DateTime::from_millis(1_577_934_245_678))));
        assert_eq!(back.get("whole"), Some(&Bson::Double(2.0)));
    }

    #[test]
    fn formatter_names_and_bad_input() {
        assert_eq!(
            JsonFormat::parse("com.mongodb.kafka.connect.source.json.formatter.ExtendedJson"),
            Some(JsonFormat::Canonical)
        );
        assert_eq!(JsonFormat::parse("SimplifiedJson"), Some(JsonFormat::Simplified));
        assert_eq!(JsonFormat::parse("relaxed"), Some(JsonFormat::Relaxed));
        assert_eq!(JsonFormat::parse("nope"), None);
        assert!(parse_document("[1]").expect_err("not an object").contains("expected a JSON object"));
        assert!(parse_document("{").expect_err("bad json").contains("not valid JSON"));
        assert!(parse_document(r#"{"a": {"$oid": "zz"}}"#).is_err());
    }
}
