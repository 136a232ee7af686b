//! Field paths (KIP-821): `field.syntax.version` `V1` names a top-level field; `V2` a dotted
//! path into nested structs or maps, with backticks around names holding dots
//! (`` `foo.bar`.baz ``) and `` \` `` for a backtick inside them.

use aqueduct_sdk::{ConfigDef, ConfigType, Field, Importance, Schema, Value};

use super::util::{map_get, require_map, require_struct};

/// The key choosing the syntax.
pub const FIELD_SYNTAX_VERSION_CONFIG: &str = "field.syntax.version";

/// Adds `field.syntax.version` (`V1` or `V2`, default `V1`, any case).
pub fn with_field_syntax_version(def: ConfigDef) -> ConfigDef {
    def.define(
        FIELD_SYNTAX_VERSION_CONFIG,
        ConfigType::String,
        Some("V1"),
        Importance::High,
        "Defines the version of the syntax to access fields. If set to `V1`, then the field paths are limited to \
         access the elements at the root level of the struct or map. If set to `V2`, the syntax will support \
         accessing nested elements. To access nested elements, dotted notation is used. If dots are already \
         included in the field name, then backtick pairs can be used to wrap field names containing dots.",
    )
    .validator(aqueduct_sdk::Validator::one_of(&["V1", "V2"]))
}

/// A path to one field: one step for `V1`, one or more for `V2`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SingleFieldPath {
    steps: Vec<String>,
}

impl SingleFieldPath {
    /// A path of `text` in the syntax `version` names (`V1`/`V2`, any case); the error is the
    /// reason (an unknown version, an unpaired backtick).
    pub fn new(text: &str, version: &str) -> Result<SingleFieldPath, String> {
        if version.eq_ignore_ascii_case("V1") {
            Ok(SingleFieldPath::top_level(text))
        } else if version.eq_ignore_ascii_case("V2") {
            Ok(SingleFieldPath { steps: parse_v2(text)? })
        } else {
            Err("Unrecognized field syntax version".into())
        }
    }

    /// A `V1` path: the top-level field `name`.
    pub fn top_level(name: &str) -> SingleFieldPath {
        SingleFieldPath { steps: vec![name.to_owned()] }
    }

    /// The steps of the path.
    pub fn steps(&self) -> &[String] {
        &self.steps
    }

    /// The field the path names in a struct schema, if any.
    pub fn field_from<'a>(&self, schema: &'a Schema) -> Option<&'a Field> {
        let (last, parents) = self.steps.split_last()?;
        let mut current = schema;
        for step in parents {
            current = &current.field(step)?.schema;
        }
        current.field(last)
    }

    /// The value at the path in a struct (the field default standing in for null when
    /// `with_default`); `Null` where the path is missing or crosses a null. A non-struct in
    /// the middle is Kafka Connect's "nested field access" data error.
    pub fn value_from_struct(&self, value: &Value, with_default: bool) -> aqueduct_sdk::Result<Value> {
        let Some((last, parents)) = self.steps.split_last() else { return Ok(Value::Null) };
        let mut current = require_struct(value, "nested field access")?;
        for step in parents {
            if current.schema().field(step).is_none() {
                return Ok(Value::Null);
            }
            match current.get_or_default(step) {
                Some(Value::Null) | None => return Ok(Value::Null),
                Some(next) => current = require_struct(next, "nested field access")?,
            }
        }
        let found = if with_default { current.get_or_default(last) } else { current.get(last) };
        Ok(found.cloned().unwrap_or(Value::Null))
    }

    /// The value at the path in a string-keyed map; `Null` where the path is missing.
    pub fn value_from_map(&self, value: &Value) -> aqueduct_sdk::Result<Value> {
        let Some((last, parents)) = self.steps.split_last() else { return Ok(Value::Null) };
        let mut current = require_map(value, "nested field access")?;
        for step in parents {
            match map_get(current, step) {
                Some(Value::Null) | None => return Ok(Value::Null),
                Some(next) => current = require_map(next, "nested field access")?,
            }
        }
        Ok(map_get(current, last).cloned().unwrap_or(Value::Null))
    }
}

fn incomplete(path: &str, at: usize) -> String {
    format!(
        "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to escape it"
    )
}

/// Kafka Connect's `SingleFieldPath.buildFieldPathV2`.
fn parse_v2(path: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = path.chars().collect();
    let find = |c: char, from: usize| chars.iter().skip(from).position(|&x| x == c).map(|p| p + from);
    let text = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    let mut steps = Vec::new();
    let mut idx = 0;
    while idx < chars.len() {
        if chars[idx] != '`' {
            match find('.', idx) {
                Some(dot) => {
                    steps.push(text(idx, dot));
                    idx = dot + 1;
                }
                None => {
                    steps.push(text(idx, chars.len()));
                    idx = chars.len();
                }
            }
            continue;
        }
        let backtick_at = idx;
        idx += 1;
        let mut field = String::new();
        let mut start = idx;
        loop {
            let Some(close) = find('`', idx) else { return Err(incomplete(path, backtick_at)) };
            idx = close;
            let escaped = chars[idx - 1] == '\\';
            if idx >= chars.len() - 1 {
                if escaped {
                    return Err(incomplete(path, backtick_at));
                }
                field.push_str(&text(start, idx));
                steps.push(std::mem::take(&mut field));
                idx += 1;
                break;
            }
            if chars[idx + 1] != '.' {
                idx += 1;
                continue;
            }
            if escaped {
                field.push_str(&text(start, idx - 1));
                field.push('`');
                idx += 1;
                start = idx;
                continue;
            }
            field.push_str(&text(start, idx));
            steps.push(std::mem::take(&mut field));
            idx += 2;
            break;
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(path: &str) -> Vec<String> {
        SingleFieldPath::new(path, "V2").expect("valid path").steps
    }

    // SingleFieldPathTest / FieldPathNotationTest cases.
    #[test]
    fn v2_paths_split_on_dots_outside_backticks() {
        assert_eq!(v2("foo"), ["foo"]);
        assert_eq!(v2("foo.bar"), ["foo", "bar"]);
        assert_eq!(v2("foo.bar.baz"), ["foo", "bar", "baz"]);
        assert_eq!(v2("`foo.bar`.baz"), ["foo.bar", "baz"]);
        assert_eq!(v2("foo.`bar.baz`"), ["foo", "bar.baz"]);
        assert_eq!(v2("`foo\\`.bar`.baz"), ["foo`.bar", "baz"]);
        assert_eq!(v2("foo`bar"), ["foo`bar"]);
        assert_eq!(v2("`foo`bar`.baz"), ["foo`bar", "baz"]);
        assert_eq!(v2("foo."), ["foo", ""]);
        assert_eq!(v2(".foo"), ["", "foo"]);
        assert_eq!(SingleFieldPath::new("foo.bar", "v1").expect("v1").steps, ["foo.bar"]);
    }

    #[test]
    fn unpaired_backticks_are_refused() {
        assert_eq!(
            SingleFieldPath::new("`foo.bar", "V2"),
            Err("Incomplete backtick pair in path: [`foo.bar], consider adding a backslash before backtick at position 0 to escape it".into())
        );
        assert!(SingleFieldPath::new("foo.`bar\\`", "V2").is_err());
        assert!(SingleFieldPath::new("x", "V3").is_err());
    }
}
