//! `RegexRouter` and `TimestampRouter`: change a record's topic.

use aqueduct_sdk::{ConfigDef, ConfigType, ConnectError, ConnectRecord, Importance, Props, Result, Transform};
use regex::Regex;

use super::date_format::DateFormat;
use super::util::{invalid, valid_regex, whole_match_regex, JavaReplacement};

/// `RegexRouter`: when `regex` matches the whole topic, the first match is replaced by
/// `replacement` (Java's `Matcher.replaceFirst`: `$1`, `${name}`, `\$` for a literal dollar).
///
/// The regex is a Rust `regex` (no look-around or back-references; such a pattern is a config
/// error). A replacement naming a group the regex does not have is a config error naming
/// `replacement` (Kafka Connect would fail on each record instead).
#[derive(Debug, Default)]
pub struct RegexRouter {
    whole: Option<Regex>,
    first: Option<Regex>,
    replacement: JavaReplacement,
    /// The last topic routed and its result: a task's records mostly share their topic, and
    /// the result depends on nothing else.
    last: Option<(String, String)>,
}

single_descriptor!(
    REGEX_ROUTER,
    "RegexRouter",
    RegexRouter,
    "Update the record topic using the configured regular expression and replacement string."
);

impl Transform for RegexRouter {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define("regex", ConfigType::String, None, Importance::High, "Regular expression to use for matching.")
            .validator(valid_regex())
            .define("replacement", ConfigType::String, None, Importance::High, "Replacement string.")
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        let pattern = config.string("regex").unwrap_or_default();
        let bad_regex = |e: regex::Error| invalid("regex", pattern, format!("Invalid regex: {e}"));
        let first = Regex::new(pattern).map_err(bad_regex)?;
        self.whole = Some(whole_match_regex(pattern).map_err(bad_regex)?);
        let replacement = config.string("replacement").unwrap_or_default();
        self.replacement =
            JavaReplacement::parse(replacement, &first).map_err(|e| invalid("replacement", replacement, e))?;
        self.first = Some(first);
        self.last = None;
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        if let Some((from, to)) = &self.last {
            if *from == record.topic {
                record.topic.clone_from(to);
                return Ok(Some(record));
            }
        }
        let (Some(whole), Some(first)) = (&self.whole, &self.first) else {
            return Err(ConnectError::fatal("RegexRouter is not configured"));
        };
        let mut routed = None;
        if whole.is_match(&record.topic) {
            if let Some(captures) = first.captures(&record.topic) {
                let range = captures.get(0).map_or(0..0, |m| m.range());
                let replaced = self.replacement.expand(&captures);
                routed = Some(format!("{}{replaced}{}", &record.topic[..range.start], &record.topic[range.end..]));
            }
        }
        let from = record.topic.clone();
        if let Some(to) = routed {
            record.topic = to;
        }
        self.last = Some((from, record.topic.clone()));
        Ok(Some(record))
    }
}

/// `TimestampRouter`: the topic becomes `topic.format` with `${topic}` and `${timestamp}`
/// (the record timestamp in UTC, as `timestamp.format`, a `SimpleDateFormat` pattern)
/// replaced; a record without a timestamp is a data error.
#[derive(Debug, Default)]
pub struct TimestampRouter {
    topic_format: String,
    timestamp_format: Option<DateFormat>,
}

single_descriptor!(
    TIMESTAMP_ROUTER,
    "TimestampRouter",
    TimestampRouter,
    "Update the record's topic field as a function of the original topic value and the record timestamp."
);

impl Transform for TimestampRouter {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                "topic.format",
                ConfigType::String,
                Some("${topic}-${timestamp}"),
                Importance::High,
                "Format string which can contain ${topic} and ${timestamp} as placeholders for the topic and \
                 timestamp, respectively.",
            )
            .define(
                "timestamp.format",
                ConfigType::String,
                Some("yyyyMMdd"),
                Importance::High,
                "Format string for the timestamp that is compatible with java.text.SimpleDateFormat.",
            )
    }
    fn configure(&mut self, props: &Props) -> Result<()> {
        let config = self.config_def().parse(props)?;
        self.topic_format = config.string("topic.format").unwrap_or_default().to_owned();
        let pattern = config.string("timestamp.format").unwrap_or_default();
        self.timestamp_format = Some(DateFormat::parse(pattern).map_err(|e| invalid("timestamp.format", pattern, &e))?);
        Ok(())
    }
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>> {
        let Some(format) = &self.timestamp_format else {
            return Err(ConnectError::fatal("TimestampRouter is not configured"));
        };
        let Some(timestamp) = record.timestamp else {
            return Err(ConnectError::data(format!("Timestamp missing on record: {record:?}")));
        };
        let formatted = format.format(timestamp);
        record.topic = self.topic_format.replace("${topic}", &record.topic).replace("${timestamp}", &formatted);
        Ok(Some(record))
    }
}

#[cfg(test)]
#[path = "routers_tests.rs"]
mod tests;
