//! Joda-Time patterns as Confluent's `path.format` uses them (`'year'=YYYY/'month'=MM/...`):
//! quoted literals, `''` for a quote, and the date-time letters below.

use chrono::{DateTime, Datelike, TimeZone, Timelike};

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct PathFormat {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    /// A pattern letter repeated `width` times.
    Field(char, usize),
}

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

impl PathFormat {
    /// Parses a pattern; a letter outside `y Y x M d D H h k K m s S E e a` is an error naming it.
    pub fn parse(pattern: &str) -> Result<PathFormat, String> {
        let mut parts = Vec::new();
        let mut chars = pattern.chars().peekable();
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    literal.push('\'');
                    continue;
                }
                loop {
                    match chars.next() {
                        None => return Err(format!("unterminated quote in '{pattern}'")),
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            literal.push('\'');
                        }
                        Some('\'') => break,
                        Some(other) => literal.push(other),
                    }
                }
            } else if c.is_ascii_alphabetic() {
                if !"yYxMdDHhkKmsSEea".contains(c) {
                    return Err(format!("pattern letter '{c}' in '{pattern}' is not supported"));
                }
                let mut width = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    width += 1;
                }
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Field(c, width));
            } else {
                literal.push(c);
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(PathFormat { parts })
    }

    /// Formats an instant in its time zone.
    pub fn format<Tz: TimeZone>(&self, time: &DateTime<Tz>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Field(letter, width) => push_field(&mut out, time, *letter, *width),
            }
        }
        out
    }
}

fn push_field<Tz: TimeZone>(out: &mut String, t: &DateTime<Tz>, letter: char, width: usize) {
    let number = |out: &mut String, n: i64| out.push_str(&format!("{n:0width$}"));
    match letter {
        // Joda: y year, Y year of era, x week year; two letters print the last two digits.
        'y' | 'Y' | 'x' => {
            let year = if letter == 'x' { i64::from(t.iso_week().year()) } else { i64::from(t.year()) };
            if width == 2 {
                number(out, year.rem_euclid(100));
            } else {
                number(out, year);
            }
        }
        'M' if width >= 4 => out.push_str(MONTHS[t.month0() as usize]),
        'M' if width == 3 => out.push_str(&MONTHS[t.month0() as usize][..3]),
        'M' => number(out, i64::from(t.month())),
        'd' => number(out, i64::from(t.day())),
        'D' => number(out, i64::from(t.ordinal())),
        'H' => number(out, i64::from(t.hour())),
        'k' => number(out, i64::from(if t.hour() == 0 { 24 } else { t.hour() })),
        'h' => number(out, i64::from(if t.hour12().1 == 0 { 12 } else { t.hour12().1 })),
        'K' => number(out, i64::from(t.hour12().1 % 12)),
        'm' => number(out, i64::from(t.minute())),
        's' => number(out, i64::from(t.second())),
        'S' => {
            let millis = format!("{:03}", t.timestamp_subsec_millis());
            out.push_str(&format!("{millis:0<width$}")[..width]);
        }
        'E' if width >= 4 => out.push_str(DAYS[t.weekday().num_days_from_monday() as usize]),
        'E' => out.push_str(&DAYS[t.weekday().num_days_from_monday() as usize][..3]),
        'e' => number(out, i64::from(t.weekday().number_from_monday())),
        'a' => out.push_str(if t.hour12().0 { "PM" } else { "AM" }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn at(millis: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(millis).single().expect("valid instant")
    }

    #[test]
    fn formats_confluents_hourly_pattern() {
        let format = PathFormat::parse("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH").expect("parses");
        // 2024-03-05T07:08:09.010Z
        assert_eq!(format.format(&at(1_709_622_489_010)), "year=2024/month=03/day=05/hour=07");
    }

    #[test]
    fn quotes_months_and_fractions() {
        let format = PathFormat::parse("yy-MMM-MMMM 'it''s' HH:mm:ss.SSS EEE a").expect("parses");
        assert_eq!(format.format(&at(1_709_622_489_010)), "24-Mar-March it's 07:08:09.010 Tue AM");
    }

    #[test]
    fn time_zone_moves_the_day() {
        let format = PathFormat::parse("YYYY-MM-dd HH").expect("parses");
        let tz: chrono_tz::Tz = "America/Los_Angeles".parse().expect("zone");
        assert_eq!(format.format(&at(1_709_622_489_010).with_timezone(&tz)), "2024-03-04 23");
    }

    #[test]
    fn unknown_letters_and_open_quotes_are_refused() {
        assert!(PathFormat::parse("YYYY/qq").expect_err("refused").contains("'q'"));
        assert!(PathFormat::parse("'year=YYYY").expect_err("refused").contains("unterminated"));
    }
}
