//! The ISO-8601 literals of Kafka Connect's `Values`: parsed as a lenient `SimpleDateFormat`
//! in UTC parses them, printed as `Values.dateFormatFor` picks the pattern.

use crate::logical;
use crate::schema::{SchemaRef, SchemaType};
use crate::Value;

/// Milliseconds in a day.
pub(super) const MILLIS_PER_DAY: i64 = 86_400_000;

/// Days from 1970-01-01 to 1582-10-15, the first Gregorian day of `java.util.GregorianCalendar`.
const GREGORIAN_CUTOVER_DAY: i64 = -141_427;

/// One element of a pattern: a number field or a literal character.
#[derive(Clone, Copy)]
enum Part {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Milli,
    Literal(u8),
}

use Part::*;

const DATE: &[Part] = &[Year, Literal(b'-'), Month, Literal(b'-'), Day];
const TIME: &[Part] = &[Hour, Literal(b':'), Minute, Literal(b':'), Second, Literal(b'.'), Milli, Literal(b'Z')];
const TIMESTAMP: &[Part] = &[
    Year,
    Literal(b'-'),
    Month,
    Literal(b'-'),
    Day,
    Literal(b'T'),
    Hour,
    Literal(b':'),
    Minute,
    Literal(b':'),
    Second,
    Literal(b'.'),
    Milli,
    Literal(b'Z'),
];

/// `parseAsTemporal`: a Date, Time or Timestamp when `token` (with `\:` read as `:`) has the
/// length of one of the three patterns and parses as it. Parsing is lenient, as Java's is: a
/// field is any run of digits after optional spaces and an optional `-`, out-of-range fields
/// roll over (`2019-13-01` is 2020-01-01), and text after the pattern is ignored.
pub(super) fn parse(token: &str) -> Option<(SchemaRef, Value)> {
    let token = token.replace("\\:", ":");
    match token.encode_utf16().count() {
        13 => {
            let millis = i32::try_from(fields(&token, TIME)?.millis()?).ok()?;
            Some((logical::time().build(), Value::Int32(millis)))
        }
        24 => Some((logical::timestamp().build(), Value::Int64(fields(&token, TIMESTAMP)?.millis()?))),
        10 => {
            let days = i32::try_from(fields(&token, DATE)?.days()?).ok()?;
            Some((logical::date().build(), Value::Int32(days)))
        }
        _ => None,
    }
}

/// The calendar fields read from a literal; unset fields are those of 1970-01-01T00:00:00.000.
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    time_of_day: i64,
}

impl Fields {
    /// Days since the epoch: the Julian calendar before the 1582 cutover, as `GregorianCalendar`.
    fn days(&self) -> Option<i64> {
        let month0 = self.month - 1;
        let year = self.year + month0.div_euclid(12);
        let month = month0.rem_euclid(12) + 1;
        let gregorian = days_from_civil(year, month, 1, false)? + self.day - 1;
        if self.year >= 1582 && gregorian >= GREGORIAN_CUTOVER_DAY {
            return Some(gregorian);
        }
        Some(days_from_civil(year, month, 1, true)? + self.day - 1)
    }

    fn millis(&self) -> Option<i64> {
        self.days()?.checked_mul(MILLIS_PER_DAY)?.checked_add(self.time_of_day)
    }
}

/// Reads `text` as `pattern`; `None` when a literal or field does not match.
fn fields(text: &str, pattern: &[Part]) -> Option<Fields> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let mut f = Fields { year: 1970, month: 1, day: 1, time_of_day: 0 };
    let (mut hour, mut minute, mut second, mut milli) = (0, 0, 0, 0);
    for part in pattern {
        if let Literal(c) = *part {
            if bytes.get(pos) != Some(&c) {
                return None;
            }
            pos += 1;
            continue;
        }
        while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        let start = pos;
        if bytes.get(pos) == Some(&b'-') {
            pos += 1;
        }
        let digits = pos;
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        if pos == digits || pos - digits > 18 {
            return None;
        }
        // Java keeps the `int` value of the parsed number.
        let value = i64::from(text[start..pos].parse::<i64>().ok()? as i32);
        match part {
            Year => f.year = value,
            Month => f.month = value,
            Day => f.day = value,
            Hour => hour = value,
            Minute => minute = value,
            Second => second = value,
            _ => milli = value,
        }
    }
    f.time_of_day = ((hour * 60 + minute) * 60 + second) * 1000 + milli;
    Some(f)
}

/// Days from 1970-01-01 to a proleptic Gregorian (or Julian) date, after Howard Hinnant's
/// `days_from_civil`; `month` is 1..=12.
fn days_from_civil(year: i64, month: i64, day: i64, julian: bool) -> Option<i64> {
    let year = if month <= 2 { year - 1 } else { year };
    let (cycle_years, cycle_days, epoch) = if julian { (4, 1461, 719_470) } else { (400, 146_097, 719_468) };
    let era = year.div_euclid(cycle_years);
    let year_of_era = year - era * cycle_years;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let leap_days = if julian { year_of_era / 4 } else { year_of_era / 4 - year_of_era / 100 };
    let day_of_era = year_of_era * 365 + leap_days + day_of_year;
    era.checked_mul(cycle_days)?.checked_add(day_of_era - epoch)
}

/// `Values.dateFormatFor(date).format(date)` in UTC: `HH:mm:ss.SSS'Z'` below one day after the
/// epoch (so every instant before 1970 too), `yyyy-MM-dd` at a midnight, else the timestamp.
pub(super) fn format(millis: i64) -> String {
    let ms = millis.rem_euclid(MILLIS_PER_DAY);
    let time = format!("{:02}:{:02}:{:02}.{:03}Z", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    if millis < MILLIS_PER_DAY {
        return time;
    }
    let (year, month, day) = logical::civil_from_days(millis.div_euclid(MILLIS_PER_DAY));
    let date = format!("{year:04}-{month:02}-{day:02}");
    if ms == 0 {
        date
    } else {
        format!("{date}T{time}")
    }
}

/// The milliseconds since the epoch of a Date, Time or Timestamp value of `schema`.
pub(super) fn millis_of(schema: &crate::Schema, value: &Value) -> Option<i64> {
    match (schema.name.as_deref()?, schema.schema_type, value) {
        (logical::DATE, SchemaType::Int32, Value::Int32(days)) => Some(i64::from(*days) * MILLIS_PER_DAY),
        (logical::TIME, SchemaType::Int32, Value::Int32(ms)) => Some(i64::from(*ms)),
        (logical::TIMESTAMP, SchemaType::Int64, Value::Int64(ms)) => Some(*ms),
        _ => None,
    }
}

/// A Date, Time or Timestamp value of the logical type `name` for an instant.
pub(super) fn encode(name: &str, millis: i64) -> Option<Value> {
    match name {
        logical::DATE => i32::try_from(millis.div_euclid(MILLIS_PER_DAY)).ok().map(Value::Int32),
        logical::TIME => i32::try_from(millis).ok().map(Value::Int32),
        logical::TIMESTAMP => Some(Value::Int64(millis)),
        _ => None,
    }
}
