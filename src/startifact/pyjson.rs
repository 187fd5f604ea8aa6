//! JSON exactly as Python's `json.dumps(value, indent=2, sort_keys=True)` writes it.
//!
//! Startifact writes the organisation configuration and artifact metadata that way, so the
//! bytes `provision` writes are the bytes Startifact would have written: keys sorted by code
//! point, two-space indentation, `": "` between key and value, no trailing newline, and
//! `ensure_ascii` escaping (everything outside printable ASCII as lowercase `\uXXXX`,
//! astral characters as surrogate pairs).

use serde_json::Value;
use std::fmt::Write;

/// A JSON value rendered like Python (metadata documents are `{str: str}`; the configuration's
/// unknown keys may hold any JSON).
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            // serde_json's map is ordered by `String`'s `Ord`: UTF-8 byte order, which is
            // code point order, which is what Python's `sort_keys` uses.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("{\n");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, depth + 1);
                write_str(out, k);
                out.push_str(": ");
                write_value(out, &map[k], depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push('}');
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Python's `float.__repr__`: shortest round-trip digits, scientific notation below 1e-4
/// and from 1e16 on, with a signed exponent of at least two digits.
fn write_number(out: &mut String, n: &serde_json::Number) {
    if n.is_i64() || n.is_u64() {
        let _ = write!(out, "{n}");
        return;
    }
    let Some(f) = n.as_f64() else {
        let _ = write!(out, "{n}");
        return;
    };
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let plain = format!("{f}");
        out.push_str(&plain);
        if !plain.contains('.') {
            out.push_str(".0");
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "{mantissa}e{sign}{:02}", exp.abs());
    }
}

/// A string with Python's `ensure_ascii` escaping.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn dumps_str_map(d: &BTreeMap<String, String>) -> String {
        dumps(&serde_json::to_value(d).unwrap())
    }

    // Expected strings were produced by Python 3.11's
    // `json.dumps(d, indent=2, sort_keys=True)` (the interpreter Startifact 1.0a10 runs on).

    #[test]
    fn metadata_is_byte_identical_with_python() {
        let mut d = BTreeMap::new();
        d.insert(
            "b".to_string(),
            "quote\" back\\ slash/ nl\n tab\t cr\r bell\u{07} del\u{7f} é € 😀 \u{0}".to_string(),
        );
        d.insert("a".into(), "".into());
        d.insert("startifact:filename".into(), "dist.tar.gz".into());
        d.insert("Z".into(), "upper".into());
        assert_eq!(
            dumps_str_map(&d),
            "{\n  \"Z\": \"upper\",\n  \"a\": \"\",\n  \"b\": \"quote\\\" back\\\\ slash/ nl\\n tab\\t cr\\r bell\\u0007 del\\u007f \\u00e9 \\u20ac \\ud83d\\ude00 \\u0000\",\n  \"startifact:filename\": \"dist.tar.gz\"\n}"
        );
    }

    #[test]
    fn empty_map_is_braces() {
        assert_eq!(dumps_str_map(&BTreeMap::new()), "{}");
        assert_eq!(dumps(&serde_json::json!({})), "{}");
    }

    #[test]
    fn keys_sort_by_code_point() {
        let v = serde_json::json!({"é": "1", "e": "2", "z": "3", "É": "4"});
        assert_eq!(
            dumps(&v),
            "{\n  \"e\": \"2\",\n  \"z\": \"3\",\n  \"\\u00c9\": \"4\",\n  \"\\u00e9\": \"1\"\n}"
        );
    }

    #[test]
    fn nested_values_like_python() {
        let v: Value = serde_json::from_str(
            r#"{"x": {"n": [1, 2.5, 1e16, 1.5e-05, true, null, [], {}], "e": {}}}"#,
        )
        .unwrap();
        assert_eq!(
            dumps(&v),
            "{\n  \"x\": {\n    \"e\": {},\n    \"n\": [\n      1,\n      2.5,\n      1e+16,\n      1.5e-05,\n      true,\n      null,\n      [],\n      {}\n    ]\n  }\n}"
        );
    }

    #[test]
    fn line_separator_is_escaped() {
        let v = serde_json::json!({"k": "v\u{2028}"});
        assert_eq!(dumps(&v), "{\n  \"k\": \"v\\u2028\"\n}");
    }
}
