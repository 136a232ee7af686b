//! Parsers for PostgreSQL's text output formats, as the server writes them with the session
//! settings this connector sets (`DateStyle=ISO`, `TimeZone=UTC`, `IntervalStyle=iso_8601`,
//! `bytea_output=hex`): dates, times, timestamps, numerics, intervals, arrays, bytea and bits.
//!
//! Every function returns `None` on input it does not understand; callers turn that into a data
//! error naming the column.

use aqueduct_sdk::logical::{civil_from_days, days_from_civil};

/// Microseconds per second.
const MICROS_PER_SECOND: i64 = 1_000_000;
/// Microseconds per day.
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Splits a trailing ` BC` off: (rest, is_bc).
fn strip_bc(text: &str) -> (&str, bool) {
    match text.strip_suffix(" BC") {
        Some(rest) => (rest, true),
        None => (text, false),
    }
}

/// `YYYY-MM-DD` (any number of year digits) into days since the epoch, without era.
fn parse_ymd(text: &str, bc: bool) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // 1 BC is year 0 in the proleptic calendar.
    let year = if bc { 1 - year } else { year };
    Some(days_from_civil(year, i64::from(month), i64::from(day)))
}

/// A `date` as days since the epoch; `infinity`/`-infinity` become `i32::MAX`/`i32::MIN`.
pub fn parse_date(text: &str) -> Option<i32> {
    match text {
        "infinity" => return Some(i32::MAX),
        "-infinity" => return Some(i32::MIN),
        _ => {}
    }
    let (text, bc) = strip_bc(text);
    i32::try_from(parse_ymd(text, bc)?).ok()
}

/// `HH:MM:SS[.ffffff]` into microseconds since midnight (`24:00:00` allowed).
pub fn parse_time(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, ':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next()?.parse().ok()?;
    let seconds = parts.next()?;
    let (whole, frac) = seconds.split_once('.').unwrap_or((seconds, ""));
    let whole: i64 = whole.parse().ok()?;
    Some((hours * 3600 + minutes * 60 + whole) * MICROS_PER_SECOND + parse_fraction_micros(frac)?)
}

/// Up to 6 fraction digits as microseconds (`"5"` is 500000).
fn parse_fraction_micros(frac: &str) -> Option<i64> {
    if frac.is_empty() {
        return Some(0);
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    digits.parse().ok()
}

/// Splits a UTC offset (`+HH`, `+HH:MM`, `+HH:MM:SS`, or `-`) off the end of a time: (time, offset seconds).
fn split_offset(text: &str) -> Option<(&str, i64)> {
    let pos = text.rfind(['+', '-'])?;
    let (time, offset) = text.split_at(pos);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let mut secs = 0i64;
    for (i, part) in offset[1..].split(':').enumerate() {
        let n: i64 = part.parse().ok()?;
        secs += n * [3600, 60, 1].get(i)?;
    }
    Some((time, sign * secs))
}

/// A `timestamp` (without time zone) as microseconds since the epoch; infinities saturate.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    match text {
        "infinity" => return Some(i64::MAX),
        "-infinity" => return Some(i64::MIN),
        _ => {}
    }
    let (text, bc) = strip_bc(text);
    let (date, time) = text.split_once(' ').or_else(|| text.split_once('T'))?;
    let days = parse_ymd(date, bc)?;
    days.checked_mul(MICROS_PER_DAY)?.checked_add(parse_time(time)?)
}

/// A `timestamptz` as microseconds since the epoch (UTC); `None` for infinities.
pub fn parse_timestamptz_micros(text: &str) -> Option<i64> {
    let (text, bc) = strip_bc(text);
    let (date, time) = text.split_once(' ').or_else(|| text.split_once('T'))?;
    let (time, offset) = split_offset(time)?;
    let days = parse_ymd(date, bc)?;
    let local = days.checked_mul(MICROS_PER_DAY)?.checked_add(parse_time(time)?)?;
    local.checked_sub(offset * MICROS_PER_SECOND)
}

/// A `timestamptz` as Debezium's ZonedTimestamp: ISO-8601 in UTC, e.g. `2024-01-02T03:04:05.5Z`.
/// Infinities stay `infinity` / `-infinity`.
pub fn timestamptz_to_iso(text: &str) -> Option<String> {
    if text == "infinity" || text == "-infinity" {
        return Some(text.to_owned());
    }
    Some(format_iso_utc(parse_timestamptz_micros(text)?))
}

/// Formats microseconds since the epoch as ISO-8601 UTC (`Z`), fraction digits trimmed.
pub fn format_iso_utc(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let time = micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("+{y}")
    };
    format!("{year}-{m:02}-{d:02}T{}Z", format_time(time))
}

/// Formats microseconds since midnight as `HH:MM:SS[.fraction]`, trailing zeros trimmed.
pub fn format_time(micros: i64) -> String {
    let secs = micros / MICROS_PER_SECOND;
    let frac = micros % MICROS_PER_SECOND;
    let base = format!("{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
    if frac == 0 {
        return base;
    }
    let digits = format!("{frac:06}");
    format!("{base}.{}", digits.trim_end_matches('0'))
}

/// A `timetz` as Debezium's ZonedTime: the time in UTC, ISO-8601, e.g. `10:15:30Z`.
pub fn timetz_to_iso(text: &str) -> Option<String> {
    let (time, offset) = split_offset(text)?;
    let utc = (parse_time(time)? - offset * MICROS_PER_SECOND).rem_euclid(MICROS_PER_DAY);
    Some(format!("{}Z", format_time(utc)))
}

/// An ISO-8601 interval (`IntervalStyle=iso_8601`, e.g. `P1Y2M3DT4H5M6.5S`) as microseconds,
/// counting a month as 365.25/12 days like Debezium's MicroDuration.
pub fn parse_interval_micros(text: &str) -> Option<i64> {
    let body = text.strip_prefix('P')?;
    let (date, time) = body.split_once('T').unwrap_or((body, ""));
    let mut total = 0f64;
    for (part, units) in [
        (
            date,
            [("Y", 12.0 * 30.4375 * 86_400e6), ("M", 30.4375 * 86_400e6), ("W", 7.0 * 86_400e6), ("D", 86_400e6)]
                .as_slice(),
        ),
        (time, [("H", 3_600e6), ("M", 60e6), ("S", 1e6)].as_slice()),
    ] {
        let mut rest = part;
        while !rest.is_empty() {
            let end = rest.find(|c: char| c.is_ascii_alphabetic())?;
            let (number, tail) = rest.split_at(end);
            let unit = &tail[..1];
            let n: f64 = number.parse().ok()?;
            let factor = units.iter().find(|(u, _)| *u == unit)?.1;
            total += n * factor;
            rest = &tail[1..];
        }
    }
    Some(total.round() as i64)
}

/// The elements of a one-dimensional array literal (`{1,NULL,"a,b"}`); `None` for NULL.
/// Multi-dimensional arrays are refused.
pub fn parse_array(text: &str) -> Option<Vec<Option<String>>> {
    // Arrays with non-default bounds start with a dimension decoration: `[0:1]={...}`.
    let text = match text.strip_prefix('[') {
        Some(_) => &text[text.find('=')? + 1..],
        None => text,
    };
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    if inner.is_empty() {
        return Some(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        match chars.peek() {
            Some('"') => {
                chars.next();
                let mut item = String::new();
                loop {
                    match chars.next()? {
                        '\\' => item.push(chars.next()?),
                        '"' => break,
                        c => item.push(c),
                    }
                }
                items.push(Some(item));
            }
            Some('{') => return None,
            _ => {
                let mut item = String::new();
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    item.push(c);
                    chars.next();
                }
                let item = item.trim();
                items.push(if item.eq_ignore_ascii_case("NULL") { None } else { Some(item.to_owned()) });
            }
        }
        match chars.next() {
            None => return Some(items),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

/// `bytea` in hex output format (`\x0aff`).
pub fn parse_bytea(text: &str) -> Option<Vec<u8>> {
    let hex = text.strip_prefix("\\x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// Lower-case hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A bit string (`0101`) as Java's `BitSet.toByteArray()`: little-endian, the right-most bit
/// being bit 0, trailing zero bytes dropped (Debezium's `io.debezium.data.Bits`).
pub fn parse_bits(text: &str) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; text.len().div_ceil(8)];
    for (i, c) in text.bytes().rev().enumerate() {
        match c {
            b'1' => bytes[i / 8] |= 1 << (i % 8),
            b'0' => {}
            _ => return None,
        }
    }
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    Some(bytes)
}

/// A decimal text split into (negative, integer digits, fraction digits); `None` for NaN,
/// infinities and anything that is not a plain decimal.
fn split_decimal(text: &str) -> Option<(bool, &str, &str)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty()) || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((negative, int, frac))
}

/// A decimal text as (unscaled big-endian two's complement bytes, scale), keeping every digit.
/// `scale` forces that scale (rounding half up, like PostgreSQL); `None` keeps the text's.
pub fn decimal_to_unscaled(text: &str, scale: Option<u32>) -> Option<(Vec<u8>, u32)> {
    let (negative, int, frac) = split_decimal(text)?;
    let scale = scale.unwrap_or(u32::try_from(frac.len()).ok()?);
    let keep = (scale as usize).min(frac.len());
    let mut digits: Vec<u8> = int.bytes().chain(frac[..keep].bytes()).map(|b| b - b'0').collect();
    digits.extend(std::iter::repeat_n(0, scale as usize - keep));
    let round_up = frac.as_bytes().get(keep).is_some_and(|b| *b >= b'5');
    let mut magnitude = digits_to_magnitude(&digits);
    if round_up {
        add_one(&mut magnitude);
    }
    Some((twos_complement(magnitude, negative), scale))
}

/// Decimal digits (0-9 each) into a big-endian unsigned magnitude.
fn digits_to_magnitude(digits: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = vec![0];
    for &d in digits {
        let mut carry = u32::from(d);
        for byte in out.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    out
}

fn add_one(magnitude: &mut Vec<u8>) {
    for byte in magnitude.iter_mut().rev() {
        let (v, overflow) = byte.overflowing_add(1);
        *byte = v;
        if !overflow {
            return;
        }
    }
    magnitude.insert(0, 1);
}

/// The minimal big-endian two's complement encoding of ±magnitude (Java's `BigInteger.toByteArray`).
fn twos_complement(magnitude: Vec<u8>, negative: bool) -> Vec<u8> {
    let mut bytes: Vec<u8> = magnitude.into_iter().skip_while(|b| *b == 0).collect();
    if bytes.is_empty() {
        return vec![0];
    }
    if bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    if negative {
        for b in bytes.iter_mut() {
            *b = !*b;
        }
        add_one(&mut bytes);
        // Drop redundant leading 0xff bytes.
        while bytes.len() > 1 && bytes[0] == 0xff && bytes[1] & 0x80 != 0 {
            bytes.remove(0);
        }
    }
    bytes
}

/// A `money` text (`$1,234.56`, `-$0.50`) as a plain decimal text.
pub fn money_to_decimal(text: &str) -> Option<String> {
    let negative = text.starts_with('-') || (text.starts_with('(') && text.ends_with(')'));
    let digits: String = text.chars().filter(|c| c.is_ascii_digit() || *c == '.').collect();
    split_decimal(&digits)?;
    Some(if negative { format!("-{digits}") } else { digits })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aqueduct_sdk::logical::{decimal_bytes, decimal_unscaled};

    #[test]
    fn dates_and_times() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-03-01"), Some(19783));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
        assert_eq!(parse_date("0001-01-01 BC"), Some(days_from_civil(0, 1, 1) as i32));
        assert_eq!(parse_date("infinity"), Some(i32::MAX));
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(civil_from_days(19783), (2024, 3, 1));
        assert_eq!(parse_time("00:00:01.5"), Some(1_500_000));
        assert_eq!(parse_time("24:00:00"), Some(MICROS_PER_DAY));
        assert_eq!(parse_timestamp("1970-01-02 00:00:00.000001"), Some(MICROS_PER_DAY + 1));
        assert_eq!(parse_timestamp("1969-12-31 23:59:59"), Some(-MICROS_PER_SECOND));
        assert_eq!(timestamptz_to_iso("2024-01-02 03:04:05.123+00").as_deref(), Some("2024-01-02T03:04:05.123Z"));
        assert_eq!(timestamptz_to_iso("2024-01-02 03:04:05+05:30").as_deref(), Some("2024-01-01T21:34:05Z"));
        assert_eq!(timestamptz_to_iso("2024-01-02 03:04:05.000001-01").as_deref(), Some("2024-01-02T04:04:05.000001Z"));
        assert_eq!(timestamptz_to_iso("infinity").as_deref(), Some("infinity"));
        assert_eq!(timetz_to_iso("01:00:00+02").as_deref(), Some("23:00:00Z"));
        assert_eq!(timestamptz_to_iso("garbage"), None);
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval_micros("PT0S"), Some(0));
        assert_eq!(parse_interval_micros("P1DT2H3M4.5S"), Some(86_400_000_000 + 7_384_500_000));
        assert_eq!(parse_interval_micros("P1M"), Some(2_629_800_000_000));
        assert_eq!(parse_interval_micros("P-1Y"), Some(-31_557_600_000_000));
        assert_eq!(parse_interval_micros("1 day"), None);
    }

    #[test]
    fn arrays_bytea_bits() {
        assert_eq!(parse_array("{}"), Some(vec![]));
        assert_eq!(
            parse_array(r#"{1,NULL,"a,b","q\"uote",  x  }"#),
            Some(vec![Some("1".into()), None, Some("a,b".into()), Some("q\"uote".into()), Some("x".into())])
        );
        assert_eq!(parse_array("[0:1]={5,6}"), Some(vec![Some("5".into()), Some("6".into())]));
        assert_eq!(parse_array("{{1,2},{3,4}}"), None);
        assert_eq!(parse_array(r#"{"NULL"}"#), Some(vec![Some("NULL".into())]));
        assert_eq!(parse_bytea("\\x00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(parse_bytea("\\x0"), None);
        assert_eq!(parse_bits("101"), Some(vec![5]));
        assert_eq!(parse_bits("100000000"), Some(vec![0, 1]));
    }

    #[test]
    fn decimals_keep_every_digit() {
        let check = |text: &str, scale: Option<u32>, unscaled: i128, want_scale: u32| {
            let (bytes, s) = decimal_to_unscaled(text, scale).expect(text);
            assert_eq!((decimal_unscaled(&bytes), s), (Some(unscaled), want_scale), "{text}");
            assert_eq!(bytes, decimal_bytes(unscaled), "{text} minimal encoding");
        };
        check("123.45", None, 12345, 2);
        check("-0.01", None, -1, 2);
        check("128", Some(0), 128, 0);
        check("-128", Some(0), -128, 0);
        check("1.005", Some(2), 101, 2);
        check("7", Some(3), 7000, 3);
        check("-32768.5", None, -327685, 1);
        check("0", None, 0, 0);
        let (big, _) = decimal_to_unscaled("123456789012345678901234567890123456789012345", None).expect("big");
        assert_eq!(big.len(), 19);
        assert_eq!(decimal_to_unscaled("NaN", None), None);
        assert_eq!(money_to_decimal("-$1,234.50").as_deref(), Some("-1234.50"));
    }
}
