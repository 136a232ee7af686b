//! A subset of Java's `SimpleDateFormat`, always in UTC (as `TimestampConverter` and
//! `TimestampRouter` set it).
//!
//! Supported pattern letters: `y` (year; `yy` two digits), `M` (month; `MMM` `Jan`, `MMMM`
//! `January`), `d`, `H` (0-23), `h` (1-12), `a` (AM/PM), `m`, `s`, `S` (milliseconds, as Java:
//! a number, not a fraction), `E` (`Mon`, `EEEE` `Monday`), `Z` (`+0000`), `X` (`Z`), `z`
//! (`UTC`), and quoted literals (`'T'`, `''` for a quote). Java's other letters (`G k K D F w W
//! Y u L`) are rejected as unsupported, other ASCII letters as illegal, as Java does.
//!
//! Parsing is lenient as Java's default: out-of-range fields roll over (month 13 is January of the
//! next year), missing fields default to 1970-01-01T00:00:00.000, text after the pattern is
//! ignored, and adjacent numeric fields (`yyyyMMdd`) take their pattern width.

use std::fmt::Write as _;

use aqueduct_sdk::logical::{civil_from_days, days_from_civil};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MILLIS_PER_DAY: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq)]
enum Element {
    Literal(String),
    Field(char, usize),
}

/// A parsed `SimpleDateFormat` pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct DateFormat {
    pattern: String,
    elements: Vec<Element>,
}

impl DateFormat {
    /// Parses a pattern; the error says which letter or quote is wrong.
    pub fn parse(pattern: &str) -> Result<DateFormat, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut elements = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("Unterminated quote".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            literal.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&q) => {
                            literal.push(q);
                            i += 1;
                        }
                    }
                }
            } else if c.is_ascii_alphabetic() {
                let count = chars[i..].iter().take_while(|&&x| x == c).count();
                match c {
                    'y' | 'M' | 'd' | 'H' | 'h' | 'a' | 'm' | 's' | 'S' | 'E' | 'Z' | 'X' | 'z' => {}
                    'G' | 'k' | 'K' | 'D' | 'F' | 'w' | 'W' | 'Y' | 'u' | 'L' => {
                        return Err(format!("pattern letter '{c}' is not supported"))
                    }
                    _ => return Err(format!("Illegal pattern character '{c}'")),
                }
                if c == 'X' && count > 3 {
                    return Err("invalid ISO 8601 format: length=4".into());
                }
                if !literal.is_empty() {
                    elements.push(Element::Literal(std::mem::take(&mut literal)));
                }
                elements.push(Element::Field(c, count));
                i += count;
            } else {
                literal.push(c);
                i += 1;
            }
        }
        if !literal.is_empty() {
            elements.push(Element::Literal(literal));
        }
        Ok(DateFormat { pattern: pattern.to_owned(), elements })
    }

    /// The pattern as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats milliseconds since the epoch, in UTC.
    pub fn format(&self, millis: i64) -> String {
        let days = millis.div_euclid(MILLIS_PER_DAY);
        let in_day = millis.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let hour = in_day / 3_600_000;
        let mut out = String::new();
        for element in &self.elements {
            let (letter, count) = match element {
                Element::Literal(s) => {
                    out.push_str(s);
                    continue;
                }
                Element::Field(letter, count) => (*letter, *count),
            };
            let number = |out: &mut String, n: i64| {
                let _ = write!(out, "{n:0count$}");
            };
            match letter {
                'y' if count == 2 => {
                    let _ = write!(out, "{:02}", year.rem_euclid(100));
                }
                'y' => number(&mut out, year),
                'M' if count >= 4 => out.push_str(MONTHS[(month - 1) as usize]),
                'M' if count == 3 => out.push_str(&MONTHS[(month - 1) as usize][..3]),
                'M' => number(&mut out, month),
                'd' => number(&mut out, day),
                'H' => number(&mut out, hour),
                'h' => number(&mut out, if hour % 12 == 0 { 12 } else { hour % 12 }),
                'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                'm' => number(&mut out, in_day / 60_000 % 60),
                's' => number(&mut out, in_day / 1000 % 60),
                'S' => number(&mut out, in_day % 1000),
                'E' => {
                    let name = DAYS[(days + 3).rem_euclid(7) as usize];
                    out.push_str(if count >= 4 { name } else { &name[..3] });
                }
                'Z' => out.push_str("+0000"),
                'X' => out.push('Z'),
                'z' => out.push_str(if count >= 4 { "Coordinated Universal Time" } else { "UTC" }),
                _ => {}
            }
        }
        out
    }

    /// Parses a date as Java's lenient `SimpleDateFormat.parse`; the error is Java's
    /// `Unparseable date: "<text>"`.
    pub fn parse_millis(&self, text: &str) -> Result<i64, String> {
        self.parse_fields(text).ok_or_else(|| format!("Unparseable date: \"{text}\""))
    }

    fn parse_fields(&self, text: &str) -> Option<i64> {
        let chars: Vec<char> = text.chars().collect();
        let mut pos = 0;
        let (mut year, mut month, mut day) = (1970i64, 1i64, 1i64);
        let (mut hour, mut minute, mut second, mut milli) = (0i64, 0i64, 0i64, 0i64);
        let (mut pm, mut hour12, mut offset_ms) = (None, None, 0i64);
        for (index, element) in self.elements.iter().enumerate() {
            let (letter, count) = match element {
                Element::Literal(s) => {
                    for expected in s.chars() {
                        if chars.get(pos) != Some(&expected) {
                            return None;
                        }
                        pos += 1;
                    }
                    continue;
                }
                Element::Field(letter, count) => (*letter, *count),
            };
            let abutting = matches!(
                self.elements.get(index + 1),
                Some(Element::Field(next, n)) if is_numeric(*next, *n)
            );
            match letter {
                'M' if count >= 3 => month = names(&chars, &mut pos, &MONTHS)? as i64 + 1,
                'E' => {
                    names(&chars, &mut pos, &DAYS)?;
                }
                'a' => pm = Some(names(&chars, &mut pos, &["AM", "PM"])? == 1),
                'Z' | 'X' | 'z' => offset_ms = zone(&chars, &mut pos)?,
                _ => {
                    let (value, digits) = digits(&chars, &mut pos, abutting.then_some(count))?;
                    match letter {
                        'y' if count <= 2 && digits == 2 => year = two_digit_year(value),
                        'y' => year = value,
                        'M' => month = value,
                        'd' => day = value,
                        'H' => hour = value,
                        'h' => hour12 = Some(value),
                        'm' => minute = value,
                        's' => second = value,
                        'S' => milli = value,
                        _ => return None,
                    }
                }
            }
        }
        if let Some(h) = hour12 {
            hour = h % 12 + if pm == Some(true) { 12 } else { 0 };
        } else if pm == Some(true) && hour < 12 {
            hour += 12;
        }
        if year.abs() > 1_000_000_000 || month.abs() > 1_000_000_000 || day.abs() > 1_000_000_000_000 {
            return None;
        }
        let year = year.checked_add((month - 1).div_euclid(12))?;
        let month = (month - 1).rem_euclid(12) + 1;
        let days = days_from_civil(year, month, 1).checked_add(day - 1)?;
        let time = hour
            .checked_mul(3_600_000)?
            .checked_add(minute.checked_mul(60_000)?)?
            .checked_add(second.checked_mul(1000)?)?
            .checked_add(milli)?;
        days.checked_mul(MILLIS_PER_DAY)?.checked_add(time)?.checked_sub(offset_ms)
    }
}

fn is_numeric(letter: char, count: usize) -> bool {
    matches!(letter, 'y' | 'd' | 'H' | 'h' | 'm' | 's' | 'S') || (letter == 'M' && count < 3)
}

/// Reads digits (exactly `width` when given); the value and how many digits were read.
fn digits(chars: &[char], pos: &mut usize, width: Option<usize>) -> Option<(i64, usize)> {
    let start = *pos;
    let limit = width.unwrap_or(18).min(18);
    while *pos < chars.len() && *pos - start < limit && chars[*pos].is_ascii_digit() {
        *pos += 1;
    }
    if *pos == start || width.is_some_and(|w| *pos - start != w.min(18)) {
        return None;
    }
    let text: String = chars[start..*pos].iter().collect();
    Some((text.parse().ok()?, *pos - start))
}

/// Matches one of `options` (or its three-letter abbreviation), case-insensitively.
fn names(chars: &[char], pos: &mut usize, options: &[&str]) -> Option<usize> {
    let rest: String = chars[*pos..].iter().collect::<String>().to_ascii_lowercase();
    let mut best: Option<(usize, usize)> = None;
    for (i, name) in options.iter().enumerate() {
        let name = name.to_ascii_lowercase();
        for candidate in [name.as_str(), &name[..name.len().min(3)]] {
            if rest.starts_with(candidate) && best.is_none_or(|(_, len)| candidate.len() > len) {
                best = Some((i, candidate.len()));
            }
        }
    }
    let (index, len) = best?;
    *pos += len;
    Some(index)
}

/// Parses `Z`, `UTC`, `GMT`, `+HH`, `+HHMM`, `+HH:MM` (optionally after `UTC`/`GMT`) into an
/// offset in milliseconds.
fn zone(chars: &[char], pos: &mut usize) -> Option<i64> {
    if chars.get(*pos) == Some(&'Z') {
        *pos += 1;
        return Some(0);
    }
    let rest: String = chars[*pos..].iter().take(3).collect();
    let named = rest == "UTC" || rest == "GMT";
    if named {
        *pos += 3;
    }
    let sign = match chars.get(*pos) {
        Some('+') => 1,
        Some('-') => -1,
        _ if named => return Some(0),
        _ => return None,
    };
    *pos += 1;
    let (hours, _) = digits(chars, pos, Some(2))?;
    if chars.get(*pos) == Some(&':') {
        *pos += 1;
    }
    let minutes = if chars.get(*pos).is_some_and(char::is_ascii_digit) { digits(chars, pos, Some(2))?.0 } else { 0 };
    Some(sign * (hours * 3_600_000 + minutes * 60_000))
}

/// Java's two-digit year: within 80 years before and 20 after now.
fn two_digit_year(value: i64) -> i64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    let (now_year, _, _) = civil_from_days(now_ms / MILLIS_PER_DAY);
    let start = now_year - 80;
    let candidate = start - start.rem_euclid(100) + value;
    if candidate < start {
        candidate + 100
    } else {
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE_PLUS_TIME: i64 = MILLIS_PER_DAY + 1234;

    fn fmt(pattern: &str) -> DateFormat {
        DateFormat::parse(pattern).expect("valid pattern")
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-719_468, -1, 0, 1, 59, 365, 10_957, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(19_724), (2024, 1, 2));
    }

    #[test]
    fn formats_as_simple_date_format() {
        assert_eq!(fmt("yyyy MM dd HH mm ss SSS z").format(DATE_PLUS_TIME), "1970 01 02 00 00 01 234 UTC");
        assert_eq!(fmt("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").format(1_483_425_001_864), "2017-01-03T06:30:01.864Z");
        assert_eq!(fmt("yyMMdd Z").format(1_483_425_001_864), "170103 +0000");
        assert_eq!(fmt("EEE, d MMM yyyy h:mm a").format(1_483_425_001_864), "Tue, 3 Jan 2017 6:30 AM");
        assert_eq!(fmt("EEEE MMMM ''yy'' 'o''clock'").format(0), "Thursday January '70' o'clock");
        assert_eq!(fmt("S").format(7), "7");
        assert_eq!(fmt("yyyy-MM-dd HH:mm").format(-1), "1969-12-31 23:59");
    }

    #[test]
    fn parses_as_simple_date_format() {
        assert_eq!(fmt("yyyy MM dd HH mm ss SSS z").parse_millis("1970 01 02 00 00 01 234 UTC"), Ok(DATE_PLUS_TIME));
        assert_eq!(fmt("yyyyMMdd").parse_millis("20170103"), Ok(1_483_401_600_000));
        assert_eq!(fmt("yyyy-MM-dd'T'HH:mm:ss.SSSX").parse_millis("2017-01-03T06:30:01.864Z"), Ok(1_483_425_001_864));
        assert_eq!(fmt("yyyy-MM-dd HH:mmZ").parse_millis("2017-01-03 08:30+0200"), Ok(1_483_425_000_000));
        assert_eq!(fmt("yyyy-MM-dd").parse_millis("2016-13-01"), fmt("yyyy-MM-dd").parse_millis("2017-01-01"));
        assert_eq!(fmt("d MMM yyyy h a").parse_millis("3 jan 2017 6 PM"), Ok(1_483_466_400_000));
        assert_eq!(fmt("yyyy-MM-dd").parse_millis("2017-01-03 and more"), Ok(1_483_401_600_000));
        assert_eq!(fmt("yyyy-MM-dd").parse_millis("2017/01/03"), Err("Unparseable date: \"2017/01/03\"".into()));
        assert!(fmt("yyyy").parse_millis("").is_err());
        assert!(fmt("yyyy").parse_millis("99999999999999999999").is_err(), "an absurd year is refused, not a panic");
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert_eq!(DateFormat::parse("yyyy-qq"), Err("Illegal pattern character 'q'".into()));
        assert_eq!(DateFormat::parse("'abc"), Err("Unterminated quote".into()));
        assert!(DateFormat::parse("GGG").is_err());
        assert!(DateFormat::parse("XXXX").is_err());
    }
}
