//! Plugin versions (KIP-891): ordering them, and the version requirements of
//! `connector.plugin.version`, `transforms.<alias>.plugin.version`,
//! `predicates.<alias>.plugin.version` and `key.converter.plugin.version` /
//! `value.converter.plugin.version` / `header.converter.plugin.version`, read as Kafka Connect reads them (Maven version ranges).

use std::cmp::Ordering;

/// Orders versions by their dot- or dash-separated parts, numerically where both are numbers
/// (`1.10.0` > `1.9.2`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let mut left = a.split(['.', '-', '+']);
    let mut right = b.split(['.', '-', '+']);
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                };
                if order.is_ne() {
                    return order;
                }
            }
        }
    }
}

/// One bound of a range: a version, and whether it is included.
#[derive(Debug, Clone, PartialEq)]
struct Bound {
    version: String,
    inclusive: bool,
}

/// One range of a requirement; an absent bound is open.
#[derive(Debug, Clone, PartialEq)]
struct Range {
    lower: Option<Bound>,
    upper: Option<Bound>,
}

impl Range {
    fn contains(&self, version: &str) -> bool {
        let above = self.lower.as_ref().is_none_or(|b| match compare_versions(version, &b.version) {
            Ordering::Greater => true,
            Ordering::Equal => b.inclusive,
            Ordering::Less => false,
        });
        let below = self.upper.as_ref().is_none_or(|b| match compare_versions(version, &b.version) {
            Ordering::Less => true,
            Ordering::Equal => b.inclusive,
            Ordering::Greater => false,
        });
        above && below
    }
}

/// What versions a config accepts: any (absent, empty or `latest`: the newest is taken), or the
/// versions in one of its ranges. A bare version (`1.2.0`) is that version only, as Kafka
/// Connect makes it (`[1.2.0]`); ranges are Maven's: `[1.0,2.0)`, `(,1.5]`, `[2.0,)`, and
/// several separated by commas, `[1.0,1.2],[1.5,)`.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRequirement {
    /// No ranges: any version.
    ranges: Vec<Range>,
    /// As configured, for messages.
    text: String,
}

impl VersionRequirement {
    /// Any version.
    pub fn any() -> Self {
        VersionRequirement { ranges: Vec::new(), text: String::new() }
    }

    /// Reads a requirement; the error says what is wrong with it.
    pub fn parse(spec: Option<&str>) -> Result<Self, String> {
        let text = spec.map(str::trim).unwrap_or_default();
        if text.is_empty() || text == "latest" {
            return Ok(Self::any());
        }
        if !text.starts_with(['[', '(']) {
            if text.contains([',', '[', ']', '(', ')']) {
                return Err(format!("{text} is neither a version nor a version range"));
            }
            let exact = Bound { version: text.to_owned(), inclusive: true };
            let ranges = vec![Range { lower: Some(exact.clone()), upper: Some(exact) }];
            return Ok(VersionRequirement { ranges, text: text.to_owned() });
        }
        let mut ranges = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let open = rest.chars().next().unwrap_or('[');
            let close = rest.find([']', ')']).ok_or_else(|| format!("{text}: a range is not closed"))?;
            let inner = &rest[1..close];
            let upper_inclusive = rest[close..].starts_with(']');
            let bound = |v: &str, inclusive: bool| {
                let v = v.trim();
                (!v.is_empty()).then(|| Bound { version: v.to_owned(), inclusive })
            };
            let range = match inner.split_once(',') {
                Some((low, high)) => Range { lower: bound(low, open == '['), upper: bound(high, upper_inclusive) },
                None if open == '[' && upper_inclusive && !inner.trim().is_empty() => {
                    Range { lower: bound(inner, true), upper: bound(inner, true) }
                }
                None => return Err(format!("{text}: a single version must be written [version]")),
            };
            ranges.push(range);
            rest = rest[close + 1..].trim_start();
            if let Some(next) = rest.strip_prefix(',') {
                rest = next.trim_start();
                if rest.is_empty() {
                    return Err(format!("{text}: a range is missing after the last comma"));
                }
            } else if !rest.is_empty() {
                return Err(format!("{text}: ranges are separated by commas"));
            }
        }
        Ok(VersionRequirement { ranges, text: text.to_owned() })
    }

    /// Whether `version` meets it.
    pub fn accepts(&self, version: &str) -> bool {
        self.ranges.is_empty() || self.ranges.iter().any(|r| r.contains(version))
    }

    /// The requirement as configured.
    pub fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(spec: &str, version: &str) -> bool {
        VersionRequirement::parse(Some(spec)).expect("a valid spec").accepts(version)
    }

    #[test]
    fn versions_order_by_their_numeric_parts() {
        assert!(compare_versions("1.10.0", "1.9.2").is_gt());
        assert!(compare_versions("2.0.0", "2.0.0").is_eq());
        assert!(compare_versions("2.0", "2.0.1").is_lt());
    }

    #[test]
    fn requirements_are_maven_ranges_and_a_bare_version_is_exact() {
        assert!(VersionRequirement::parse(None).expect("any").accepts("0.0.1"));
        assert!(VersionRequirement::parse(Some("latest")).expect("any").accepts("0.0.1"));
        assert!(accepts("1.2.0", "1.2.0") && !accepts("1.2.0", "1.2.1"));
        assert!(accepts("[1.0,2.0)", "1.9.9") && accepts("[1.0,2.0)", "1.0") && !accepts("[1.0,2.0)", "2.0"));
        assert!(accepts("(1.0,2.0]", "2.0") && !accepts("(1.0,2.0]", "1.0"));
        assert!(accepts("[2.0,)", "10.1") && !accepts("[2.0,)", "1.9"));
        assert!(accepts("(,1.5]", "0.1") && !accepts("(,1.5]", "1.6"));
        assert!(accepts("[0.1.0]", "0.1.0") && !accepts("[0.1.0]", "0.1.1"));
        assert!(accepts("[1.0,1.2],[1.5,)", "1.6") && !accepts("[1.0,1.2],[1.5,)", "1.3"));
        for bad in ["[1.0,2.0", "1.0,2.0", "(1.0)", "[1.0,2.0),", "[1.0] [2.0]"] {
            assert!(VersionRequirement::parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
