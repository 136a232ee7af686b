//! Decimals of any size as `java.math.BigDecimal` holds them: an unscaled integer and a scale.

/// Rescaling appends one zero per step; a decimal never grows by more than this many digits.
const MAX_RESCALE_DIGITS: i64 = 4096;

/// `unscaled × 10^-scale`, the unscaled integer kept as decimal digits.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BigDecimal {
    negative: bool,
    /// No leading zeros; `"0"` for zero.
    digits: String,
    scale: i32,
}

impl BigDecimal {
    /// `new BigDecimal(text)`: a sign, digits with at most one point (at least one digit) and an
    /// exponent that fits an `int`, the resulting scale fitting an `int` too. ASCII digits only.
    pub(super) fn parse(text: &str) -> Option<BigDecimal> {
        let (negative, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], parse_exponent(&rest[at + 1..])?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if (int.is_empty() && frac.is_empty()) || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let scale = i32::try_from(i64::try_from(frac.len()).ok()? - exponent).ok()?;
        Some(BigDecimal::new(negative, format!("{int}{frac}"), scale))
    }

    fn new(negative: bool, digits: String, scale: i32) -> BigDecimal {
        let digits = match digits.trim_start_matches('0') {
            "" => "0".to_owned(),
            trimmed => trimmed.to_owned(),
        };
        BigDecimal { negative: negative && digits != "0", digits, scale }
    }

    /// The scale.
    pub(super) fn scale(&self) -> i32 {
        self.scale
    }

    /// The value, when it is a whole number within `i64` (`1.0`, `1E+3`, `-0`).
    pub(super) fn integral(&self) -> Option<i64> {
        let whole = if self.scale <= 0 {
            if self.digits == "0" {
                return Some(0);
            }
            let zeros = usize::try_from(self.scale.unsigned_abs()).ok()?;
            if self.digits.len() + zeros > 19 {
                return None;
            }
            format!("{}{}", self.digits, "0".repeat(zeros))
        } else {
            let fraction_len = usize::try_from(self.scale).ok()?;
            let int_len = self.digits.len().saturating_sub(fraction_len);
            if self.digits[int_len..].bytes().any(|b| b != b'0') || int_len > 19 {
                return None;
            }
            match &self.digits[..int_len] {
                "" => return Some(0),
                int => int.to_owned(),
            }
        };
        let magnitude: i128 = whole.parse().ok()?;
        i64::try_from(if self.negative { -magnitude } else { magnitude }).ok()
    }

    /// The same value at a larger scale (`12` at scale 2 is `1200`), exactly.
    pub(super) fn rescaled(&self, scale: i32) -> Option<BigDecimal> {
        let zeros = i64::from(scale) - i64::from(self.scale);
        if !(0..=MAX_RESCALE_DIGITS).contains(&zeros) {
            return None;
        }
        let digits = format!("{}{}", self.digits, "0".repeat(usize::try_from(zeros).ok()?));
        Some(BigDecimal::new(self.negative, digits, scale))
    }

    /// The Decimal physical value: the unscaled integer as minimal big-endian two's complement
    /// (`BigInteger.toByteArray`).
    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0u8];
        for digit in self.digits.bytes() {
            let mut carry = u32::from(digit - b'0');
            for byte in bytes.iter_mut().rev() {
                let v = u32::from(*byte) * 10 + carry;
                *byte = (v & 0xff) as u8;
                carry = v >> 8;
            }
            if carry > 0 {
                bytes.insert(0, carry as u8);
            }
        }
        if bytes[0] & 0x80 != 0 {
            bytes.insert(0, 0);
        }
        if self.negative {
            negate(&mut bytes);
        }
        while bytes.len() > 1 && ((bytes[0] == 0 && bytes[1] & 0x80 == 0) || (bytes[0] == 0xff && bytes[1] & 0x80 != 0))
        {
            bytes.remove(0);
        }
        bytes
    }

    /// Reads a Decimal physical value of `scale`; `None` for no bytes.
    pub(super) fn from_bytes(bytes: &[u8], scale: i32) -> Option<BigDecimal> {
        let negative = bytes.first()? & 0x80 != 0;
        let mut magnitude = bytes.to_vec();
        if negative {
            negate(&mut magnitude);
        }
        let mut digits = Vec::new();
        while magnitude.iter().any(|&b| b != 0) {
            let mut remainder = 0u32;
            for byte in magnitude.iter_mut() {
                let v = (remainder << 8) | u32::from(*byte);
                *byte = (v / 10) as u8;
                remainder = v % 10;
            }
            digits.push(b'0' + remainder as u8);
        }
        digits.reverse();
        Some(BigDecimal::new(negative, String::from_utf8(digits).ok()?, scale))
    }

    /// `BigDecimal.toString`: plain digits unless the scale is negative or the exponent is below
    /// -6, then `d.dddE±n`.
    pub(super) fn to_java_string(&self) -> String {
        let sign = if self.negative { "-" } else { "" };
        let digits = &self.digits;
        let scale = i64::from(self.scale);
        let adjusted = -scale + (digits.len() as i64 - 1);
        if scale == 0 {
            format!("{sign}{digits}")
        } else if scale > 0 && adjusted >= -6 {
            let scale = scale as usize;
            if digits.len() > scale {
                let (int, frac) = digits.split_at(digits.len() - scale);
                format!("{sign}{int}.{frac}")
            } else {
                format!("{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
            }
        } else {
            let (first, rest) = digits.split_at(1);
            let point = if rest.is_empty() { String::new() } else { format!(".{rest}") };
            let exp_sign = if adjusted > 0 { "+" } else { "" };
            format!("{sign}{first}{point}E{exp_sign}{adjusted}")
        }
    }
}

/// An exponent of `new BigDecimal`: optional sign and digits, within `int`.
fn parse_exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > 10 {
        return None;
    }
    let value: i64 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    let value = if negative { -value } else { value };
    i32::try_from(value).ok().map(i64::from)
}

/// Two's complement negation in place (invert, add one).
fn negate(bytes: &mut [u8]) {
    let mut carry = true;
    for byte in bytes.iter_mut().rev() {
        let (v, overflow) = (!*byte).overflowing_add(u8::from(carry));
        *byte = v;
        carry = carry && overflow;
    }
}
