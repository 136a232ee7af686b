//! `Values.parseString`: Kafka Connect's tokenizer and its backtracking parser, step for step.

use super::decimal::BigDecimal;
use super::temporal;
use crate::logical;
use crate::schema::{Schema, SchemaRef, SchemaType};
use crate::Value;

/// A value with the schema inferred for it (a non-null Java `SchemaAndValue`).
pub(super) type Parsed = (SchemaRef, Value);

/// Arrays and maps nest at most this deep; Java would overflow its stack somewhere beyond.
pub(super) const MAX_DEPTH: usize = 256;

/// Why a parse stopped.
pub(super) enum Failure {
    /// Java's `DataException` while reading an array or map: the caller re-reads its text as a
    /// plain token, which is a string at the top level and a failure when embedded.
    Invalid,
    /// Nesting beyond [`MAX_DEPTH`]; nothing is re-read.
    TooDeep,
}

/// Java's `String.trim`: strips every character up to U+0020.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

fn is_blank(s: &str) -> bool {
    java_trim(s).is_empty()
}

fn string(s: impl Into<String>) -> Parsed {
    (Schema::string(), Value::String(s.into()))
}

/// `Values.Parser`: splits at the delimiters `:,{}[]"` unless a backslash escapes them; a
/// delimiter is a token of its own. Positions are byte offsets (every delimiter is ASCII).
struct Tokenizer<'a> {
    text: &'a str,
    pos: usize,
    /// Start of the token read ahead by `can_consume`, which ends at `pos`.
    peeked: Option<usize>,
}

impl<'a> Tokenizer<'a> {
    fn mark(&self) -> usize {
        self.peeked.unwrap_or(self.pos)
    }
    fn rewind(&mut self, position: usize) {
        self.pos = position;
        self.peeked = None;
    }
    fn has_next(&self) -> bool {
        self.peeked.is_some() || self.pos < self.text.len()
    }
    fn consume(&mut self) -> &'a str {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut escaped = false;
        while self.pos < bytes.len() {
            match bytes[self.pos] {
                b'\\' => escaped = !escaped,
                b':' | b',' | b'{' | b'}' | b'[' | b']' | b'"' if !escaped => {
                    if start == self.pos {
                        self.pos += 1;
                    }
                    return &self.text[start..self.pos];
                }
                _ => escaped = false,
            }
            self.pos += 1;
        }
        &self.text[start..]
    }
    fn next(&mut self) -> &'a str {
        match self.peeked.take() {
            Some(start) => &self.text[start..self.pos],
            None => self.consume(),
        }
    }
    /// The text of the next `n` tokens, or `None` (and nothing consumed) if fewer remain.
    fn next_n(&mut self, n: usize) -> Option<&'a str> {
        let start = self.mark();
        for _ in 0..n {
            if !self.has_next() {
                self.rewind(start);
                return None;
            }
            self.next();
        }
        Some(&self.text[start..self.pos])
    }
    /// Consumes the next non-blank token if, trimmed, it is `expected`; blank tokens before it
    /// are skipped either way.
    fn can_consume(&mut self, expected: &str) -> bool {
        if self.peeked.is_none() {
            if !self.has_next() {
                return false;
            }
            self.peeked = Some(self.pos);
            self.consume();
        }
        while self.peeked.is_some_and(|start| is_blank(&self.text[start..self.pos])) && self.pos < self.text.len() {
            self.peeked = Some(self.pos);
            self.consume();
        }
        let matched = self.peeked.is_some_and(|start| java_trim(&self.text[start..self.pos]) == expected);
        if matched {
            self.peeked = None;
        }
        matched
    }
}

/// `Values.ValueParser`.
pub(super) struct Parser<'a> {
    tokens: Tokenizer<'a>,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str) -> Parser<'a> {
        Parser { tokens: Tokenizer { text, pos: 0, peeked: None }, depth: 0 }
    }

    /// One value; `None` for `null` (or no text left).
    pub(super) fn parse(&mut self, embedded: bool) -> Result<Option<Parsed>, Failure> {
        if !self.tokens.has_next() {
            return Ok(None);
        }
        if embedded && self.tokens.can_consume("\"") {
            return Ok(Some(self.quoted()));
        }
        if self.literal(embedded, "null") {
            return Ok(None);
        }
        for (literal, value) in [("true", true), ("false", false)] {
            if self.literal(embedded, literal) {
                return Ok(Some((Schema::primitive(SchemaType::Boolean), Value::Boolean(value))));
            }
        }
        let start = self.tokens.mark();
        let structure = if self.tokens.can_consume("[") {
            Some(self.nested(Parser::array))
        } else if self.tokens.can_consume("{") {
            Some(self.nested(Parser::map))
        } else {
            None
        };
        match structure {
            Some(Ok(parsed)) => return Ok(Some(parsed)),
            Some(Err(Failure::TooDeep)) => return Err(Failure::TooDeep),
            Some(Err(Failure::Invalid)) => self.tokens.rewind(start),
            None => {}
        }
        let token = self.tokens.next();
        if is_blank(token) {
            return Ok(Some(string(token)));
        }
        self.token(embedded, java_trim(token))
    }

    /// A `null`/`true`/`false` token: embedded, or alone at the top level (`true}` is a string).
    fn literal(&mut self, embedded: bool, literal: &str) -> bool {
        let start = self.tokens.mark();
        if self.tokens.can_consume(literal) && (embedded || !self.tokens.has_next()) {
            return true;
        }
        self.tokens.rewind(start);
        false
    }

    fn nested(&mut self, read: fn(&mut Parser<'a>) -> Result<Parsed, Failure>) -> Result<Parsed, Failure> {
        if self.depth >= MAX_DEPTH {
            return Err(Failure::TooDeep);
        }
        self.depth += 1;
        let parsed = read(self);
        self.depth -= 1;
        parsed
    }

    /// A temporal literal, a number, or (at the top level) the whole text as a string. Tokens
    /// after a number are left unread, as in Java (`5,6` is 5).
    fn token(&mut self, embedded: bool, token: &str) -> Result<Option<Parsed>, Failure> {
        let first = token.chars().next().unwrap_or(' ');
        if first.is_ascii_digit() {
            // Unescaped colons split a time into 5 tokens.
            let position = self.tokens.mark();
            if let Some(parsed) = self.tokens.next_n(4).and_then(|rest| temporal::parse(&format!("{token}{rest}"))) {
                return Ok(Some(parsed));
            }
            self.tokens.rewind(position);
            if let Some(parsed) = temporal::parse(token) {
                return Ok(Some(parsed));
            }
        }
        if first.is_ascii_digit() || first == '+' || first == '-' {
            if let Some(parsed) = number(token) {
                return Ok(Some(parsed));
            }
        }
        if embedded {
            return Err(Failure::Invalid);
        }
        Ok(Some(string(self.tokens.text)))
    }

    /// The tokens up to the closing quote, kept as written (Java does not unescape them), or a
    /// temporal literal.
    fn quoted(&mut self) -> Parsed {
        let mut content = String::new();
        while self.tokens.has_next() {
            if self.tokens.can_consume("\"") {
                break;
            }
            content.push_str(self.tokens.next());
        }
        temporal::parse(&content).unwrap_or_else(|| string(content))
    }

    fn array(&mut self) -> Result<Parsed, Failure> {
        let mut items = Vec::new();
        let mut common = Merger::default();
        while self.tokens.has_next() {
            if self.tokens.can_consume("]") {
                return Ok(match common.schema() {
                    Some(element) => {
                        let values = items.into_iter().map(|item| align(&element, item)).collect::<Result<_, _>>()?;
                        (Schema::array(element).build(), Value::Array(values))
                    }
                    None => (
                        Schema::builder(SchemaType::Array).build(),
                        Value::Array(items.into_iter().map(value_of).collect()),
                    ),
                });
            }
            if self.tokens.can_consume(",") {
                return Err(Failure::Invalid); // an empty element
            }
            let item = self.parse(true)?;
            common.merge(item.as_ref());
            items.push(item);
            let position = self.tokens.mark();
            if self.tokens.can_consume("]") {
                self.tokens.rewind(position);
            } else if !self.tokens.can_consume(",") {
                return Err(Failure::Invalid); // elements not separated by ','
            }
        }
        Err(Failure::Invalid) // no closing ']'
    }

    fn map(&mut self) -> Result<Parsed, Failure> {
        let mut entries: Vec<(Parsed, Option<Parsed>)> = Vec::new();
        let (mut keys, mut values) = (Merger::default(), Merger::default());
        while self.tokens.has_next() {
            if self.tokens.can_consume("}") {
                return map_of(entries, keys.schema(), values.schema());
            }
            if self.tokens.can_consume(",") {
                return Err(Failure::Invalid); // an entry with no key or value
            }
            let Some(key) = self.parse(true)? else {
                return Err(Failure::Invalid); // a null key
            };
            if !self.tokens.can_consume(":") {
                return Err(Failure::Invalid);
            }
            let value = self.parse(true)?;
            keys.merge(Some(&key));
            values.merge(value.as_ref());
            // A LinkedHashMap: a repeated key keeps its place and takes the new value.
            match entries.iter_mut().find(|((schema, k), _)| *k == key.1 && schema.name == key.0.name) {
                Some(entry) => entry.1 = value,
                None => entries.push((key, value)),
            }
            self.tokens.can_consume(",");
        }
        Err(Failure::Invalid) // no closing '}'
    }
}

fn value_of(item: Option<Parsed>) -> Value {
    item.map_or(Value::Null, |(_, value)| value)
}

/// A map schema with the inferred key and value schemas (either may be missing), and the
/// entries converted to them.
fn map_of(
    entries: Vec<(Parsed, Option<Parsed>)>,
    keys: Option<SchemaRef>,
    values: Option<SchemaRef>,
) -> Result<Parsed, Failure> {
    let mut map = (*Schema::builder(SchemaType::Map).build()).clone();
    let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let (key, value) = match (&keys, &values) {
            (Some(k), Some(v)) => (align(k, Some(key))?, align(v, value)?),
            (Some(k), None) => (align(k, Some(key))?, value_of(value)),
            _ => (key.1, value_of(value)),
        };
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => out.push((key, value)),
        }
    }
    map.key_schema = keys;
    map.value_schema = if map.key_schema.is_some() { values } else { None };
    Ok((map.into(), Value::Map(out)))
}

/// `new BigDecimal(token)` typed as Kafka Connect types it: a whole number within `long` as the
/// narrowest of int8..int64; otherwise, unless the scale is 0, float32 or (beyond its range)
/// float64; otherwise a Decimal of the number's own scale.
fn number(token: &str) -> Option<Parsed> {
    let decimal = BigDecimal::parse(token)?;
    let primitive = |t, v| Some((Schema::primitive(t), v));
    if let Some(n) = decimal.integral() {
        return if let Ok(v) = i8::try_from(n) {
            primitive(SchemaType::Int8, Value::Int8(v))
        } else if let Ok(v) = i16::try_from(n) {
            primitive(SchemaType::Int16, Value::Int16(v))
        } else if let Ok(v) = i32::try_from(n) {
            primitive(SchemaType::Int32, Value::Int32(v))
        } else {
            primitive(SchemaType::Int64, Value::Int64(n))
        };
    }
    if decimal.scale() != 0 {
        if let Some(f) = token.parse::<f32>().ok().filter(|f| f.is_finite()) {
            return primitive(SchemaType::Float32, Value::Float32(f));
        }
        if let Some(f) = token.parse::<f64>().ok().filter(|f| f.is_finite()) {
            return primitive(SchemaType::Float64, Value::Float64(f));
        }
    }
    Some((logical::decimal(decimal.scale()).build(), Value::Bytes(decimal.to_bytes())))
}

/// `Values.SchemaMerger`: the schema common to the non-null values seen, if there is one.
#[derive(Default)]
struct Merger {
    common: Option<SchemaRef>,
    incompatible: bool,
}

impl Merger {
    fn merge(&mut self, latest: Option<&Parsed>) {
        let Some((schema, _)) = latest else { return };
        if self.incompatible {
            return;
        }
        self.common = match self.common.take() {
            None => Some(schema.clone()),
            Some(previous) => merge_schemas(&previous, schema),
        };
        self.incompatible = self.common.is_none();
    }
    fn schema(&self) -> Option<SchemaRef> {
        self.common.clone()
    }
}

fn numeric_rank(t: SchemaType) -> Option<u8> {
    use SchemaType::*;
    Some(match t {
        Int8 => 0,
        Int16 => 1,
        Int32 => 2,
        Int64 => 3,
        Float32 => 4,
        Float64 => 5,
        _ => return None,
    })
}

/// `Values.mergeSchemas`: of two numeric types the wider one (logical types count by their
/// physical type, so int8 and Date give Date); of one type the latest schema, except that Date
/// with Time gives Timestamp and two Decimals the larger scale (see the module docs).
fn merge_schemas(previous: &SchemaRef, latest: &SchemaRef) -> Option<SchemaRef> {
    if previous.schema_type != latest.schema_type {
        let wider = numeric_rank(latest.schema_type)? > numeric_rank(previous.schema_type)?;
        return Some(if wider { latest } else { previous }.clone());
    }
    match (previous.name.as_deref(), latest.name.as_deref()) {
        (Some(logical::DATE), Some(logical::TIME)) | (Some(logical::TIME), Some(logical::DATE)) => {
            Some(logical::timestamp().build())
        }
        (Some(logical::DECIMAL), Some(logical::DECIMAL))
            if logical::decimal_scale(previous) > logical::decimal_scale(latest) =>
        {
            Some(previous.clone())
        }
        _ => Some(latest.clone()),
    }
}

/// `Values.convertTo(target, null, value)` for one element of an array or map: the value
/// re-encoded for the common schema, or `Invalid` where Java throws (a null, a Date or Time
/// into a plain number, a number of milliseconds beyond a day into a Time).
fn align(target: &SchemaRef, item: Option<Parsed>) -> Result<Value, Failure> {
    let Some((schema, value)) = item else { return Err(Failure::Invalid) };
    if schema == *target {
        return Ok(value);
    }
    let millis = temporal::millis_of(&schema, &value);
    let number = value.as_i64().filter(|_| schema.name.is_none());
    let converted = match (target.name.as_deref(), target.schema_type, value) {
        (Some(name @ (logical::DATE | logical::TIME | logical::TIMESTAMP)), _, _) => match (millis, number) {
            (Some(ms), _) => temporal::encode(name, ms),
            (None, Some(n)) if name == logical::DATE => Some(Value::Int32(n as i32)),
            (None, Some(n)) if name == logical::TIME => {
                Some(Value::Int32(n as i32)).filter(|_| (0..=temporal::MILLIS_PER_DAY).contains(&i64::from(n as i32)))
            }
            (None, Some(n)) => Some(Value::Int64(n)),
            _ => None,
        },
        (Some(logical::DECIMAL), _, Value::Bytes(bytes)) => logical::decimal_scale(&schema)
            .and_then(|scale| BigDecimal::from_bytes(&bytes, scale))
            .zip(logical::decimal_scale(target))
            .and_then(|(decimal, scale)| decimal.rescaled(scale))
            .map(|decimal| Value::Bytes(decimal.to_bytes())),
        (Some(_), _, _) => None,
        _ if millis.is_some() => None,
        (None, SchemaType::Int16, _) => number.map(|n| Value::Int16(n as i16)),
        (None, SchemaType::Int32, _) => number.map(|n| Value::Int32(n as i32)),
        (None, SchemaType::Int64, _) => number.map(Value::Int64),
        (None, SchemaType::Float32, Value::Float32(f)) => Some(Value::Float32(f)),
        (None, SchemaType::Float32, _) => number.map(|n| Value::Float32(n as f64 as f32)),
        (None, SchemaType::Float64, Value::Float32(f)) => Some(Value::Float64(f64::from(f))),
        (None, SchemaType::Float64, Value::Float64(f)) => Some(Value::Float64(f)),
        (None, SchemaType::Float64, _) => number.map(|n| Value::Float64(n as f64)),
        // Strings, booleans, arrays and maps are kept as they are (Java does not look inside).
        (None, t, value) => Some(value).filter(|v| v.schema_type() == Some(t)),
    };
    converted.ok_or(Failure::Invalid)
}
