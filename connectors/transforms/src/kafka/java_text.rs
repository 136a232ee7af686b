//! Java's `toString` of numbers and bytes, as Kafka Connect's casts print them.

/// Java's `Double.toString` (or `Float.toString` for a float32 widened losslessly when
/// `float32` is set), as the SDK prints it for Kafka Connect's `Values`.
pub use aqueduct_sdk::values::java_float_to_string as java_float;

/// Java's `BigDecimal.toString` of an unscaled value and scale.
pub fn java_big_decimal(unscaled: i128, scale: i32) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let adjusted = -i64::from(scale) + (digits.len() as i64 - 1);
    if scale >= 0 && adjusted >= -6 {
        return aqueduct_sdk::logical::decimal_to_string(unscaled, scale);
    }
    let sign = if unscaled < 0 { "-" } else { "" };
    let (first, rest) = digits.split_at(1);
    let point = if rest.is_empty() { String::new() } else { format!(".{rest}") };
    let exp_sign = if adjusted >= 0 { "+" } else { "" };
    format!("{sign}{first}{point}E{exp_sign}{adjusted}")
}

/// Standard base64 with padding (Java's `Base64.getEncoder()`).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_java() {
        assert_eq!(java_float(1.0, false), "1.0");
        assert_eq!(java_float(42.5, false), "42.5");
        assert_eq!(java_float(0.1, true), "0.1", "a float32 prints its own shortest digits");
        assert_eq!(java_float(f64::from(0.1f32), true), "0.1");
        assert_eq!(java_float(1e7, false), "1.0E7");
        assert_eq!(java_float(1234567.0, false), "1234567.0");
        assert_eq!(java_float(0.001, false), "0.001");
        assert_eq!(java_float(0.0001, false), "1.0E-4");
        assert_eq!(java_float(-1.5e-10, false), "-1.5E-10");
        assert_eq!(java_float(f64::NAN, false), "NaN");
        assert_eq!(java_float(f64::NEG_INFINITY, false), "-Infinity");
        assert_eq!(java_float(-0.0, false), "-0.0");
    }

    #[test]
    fn big_decimals_print_as_java() {
        assert_eq!(java_big_decimal(12345, 2), "123.45");
        assert_eq!(java_big_decimal(-1, 2), "-0.01");
        assert_eq!(java_big_decimal(42, 0), "42");
        assert_eq!(java_big_decimal(1234, -2), "1.234E+5");
        assert_eq!(java_big_decimal(1, 10), "1E-10");
        assert_eq!(java_big_decimal(12, 8), "1.2E-7");
        assert_eq!(java_big_decimal(12, 7), "0.0000012");
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xff, 0xfe, 0x00, 0x01]), "//4AAQ==");
    }
}
