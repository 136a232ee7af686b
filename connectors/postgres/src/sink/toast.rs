//! Unchanged TOAST values. With `REPLICA IDENTITY DEFAULT`, PostgreSQL does not send a TOASTed
//! value an UPDATE left alone, and Debezium (like our CDC source) writes a placeholder instead:
//! the string `__debezium_unavailable_value` for text and JSON columns, its UTF-8 bytes for
//! `bytea`, and an array of that one string for arrays. Such a column must be left out of the
//! write, so the stored value stays (and a new row gets the column's default).

use std::borrow::Cow;

use aqueduct_sdk::Value;

/// True when `value` is the placeholder for an unavailable value, in any of its forms.
pub fn is_placeholder(value: &Value, placeholder: &str) -> bool {
    match value {
        Value::String(s) => s == placeholder,
        Value::Bytes(b) => b.as_slice() == placeholder.as_bytes(),
        Value::Array(items) => matches!(items.as_slice(), [only] if is_placeholder(only, placeholder)),
        _ => false,
    }
}

/// The indexes of the values after the first `key_len` (key columns are always sent) that hold
/// the placeholder; empty when `placeholder` is `None` or no value holds it.
pub fn unavailable_columns(values: &[Cow<'_, Value>], key_len: usize, placeholder: Option<&str>) -> Vec<usize> {
    let Some(placeholder) = placeholder else { return Vec::new() };
    values.iter().enumerate().skip(key_len).filter(|(_, v)| is_placeholder(v, placeholder)).map(|(i, _)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "__debezium_unavailable_value";

    #[test]
    fn recognises_every_form_of_the_placeholder() {
        assert!(is_placeholder(&Value::from(P), P));
        assert!(is_placeholder(&Value::Bytes(P.as_bytes().to_vec()), P));
        assert!(is_placeholder(&Value::Array(vec![Value::from(P)]), P));
        assert!(!is_placeholder(&Value::Array(vec![Value::from(P), Value::from("x")]), P));
        assert!(!is_placeholder(&Value::from("x"), P));
        assert!(!is_placeholder(&Value::Null, P));
        let values = [Value::from(P), Value::from("a"), Value::from(P)];
        let values: Vec<Cow<'_, Value>> = values.iter().map(Cow::Borrowed).collect();
        assert_eq!(unavailable_columns(&values, 1, Some(P)), vec![2], "key columns are never left out");
        assert!(unavailable_columns(&values, 0, None).is_empty());
    }
}
