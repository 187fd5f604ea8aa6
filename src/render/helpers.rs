//! Quoting and Handlebars helpers: every user string reaches a rendered document through one
//! of these functions, so no value can break the YAML, JSON or HCL around it.
//!
//! The escape function of each registry escapes for the inside of a double-quoted string of
//! its language (`Name: "{{name}}"`); the helpers below print whole values (`{{json v}}`,
//! `{{yaml v indent=8}}`, `{{hcl v indent=4}}`).

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason,
};
use serde_json::Value;

/// Escapes `s` for the inside of a JSON (and YAML) double-quoted string.
pub fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_string()
}

/// A JSON (and YAML) double-quoted string.
pub fn json_string(s: &str) -> String {
    format!("\"{}\"", json_escape(s))
}

/// Escapes `s` for the inside of an HCL quoted template string: quotes, backslashes, control
/// characters, and the template sequences `${` and `%{`, which would otherwise interpolate.
pub fn hcl_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// An HCL quoted string.
pub fn hcl_string(s: &str) -> String {
    format!("\"{}\"", hcl_escape(s))
}

/// Words YAML 1.1 (PyYAML, moto, older tools) reads as booleans or null when unquoted.
const YAML_SPECIAL_WORDS: &[&str] = &[
    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~",
];

/// A YAML scalar for `s`: plain when no YAML 1.1 or 1.2 reader can take it for anything but
/// this string, double-quoted otherwise (dates such as `2012-10-17`, numbers, `yes`, `: `...).
pub fn yaml_scalar(s: &str) -> String {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '/' | '*' | '-'))
        && !s.ends_with(':')
        && !YAML_SPECIAL_WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain { s.to_string() } else { json_string(s) }
}

/// A YAML mapping key: plain when safe (`Fn::Sub`, `aws:SecureTransport`), quoted otherwise.
fn yaml_key(s: &str) -> String {
    yaml_scalar(s)
}

/// The short form of a CloudFormation intrinsic (`!Ref X`, `!Sub "..."`, `!GetAtt A.B`) when
/// `v` is one that has a scalar short form.
fn cfn_short_form(v: &Value) -> Option<String> {
    let Value::Object(map) = v else { return None };
    if map.len() != 1 {
        return None;
    }
    let (k, arg) = map.iter().next()?;
    match (k.as_str(), arg) {
        ("Ref", Value::String(s)) => Some(format!("!Ref {}", yaml_scalar(s))),
        ("Fn::Sub", Value::String(s)) => Some(format!("!Sub {}", json_string(s))),
        ("Fn::GetAtt", Value::Array(parts))
            if parts.len() == 2 && parts.iter().all(Value::is_string) =>
        {
            Some(format!(
                "!GetAtt {}.{}",
                parts[0].as_str().unwrap_or_default(),
                parts[1].as_str().unwrap_or_default()
            ))
        }
        _ => None,
    }
}

/// Block YAML for `v`. The first line is not indented (the template places it); every later
/// line is indented by `indent` spaces. Strings are quoted unless plainly safe, CloudFormation
/// intrinsics use their short forms.
pub fn to_yaml(v: &Value, indent: usize) -> String {
    let mut lines = Vec::new();
    yaml_block(v, 0, &mut lines);
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

fn yaml_inline(v: &Value) -> Option<String> {
    if let Some(short) = cfn_short_form(v) {
        return Some(short);
    }
    match v {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(yaml_scalar(s)),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(o) if o.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn yaml_block(v: &Value, level: usize, lines: &mut Vec<String>) {
    let pad = "  ".repeat(level);
    if let Some(inline) = yaml_inline(v) {
        lines.push(format!("{pad}{inline}"));
        return;
    }
    match v {
        Value::Array(items) => {
            for item in items {
                if let Some(inline) = yaml_inline(item) {
                    lines.push(format!("{pad}- {inline}"));
                } else {
                    // The item's first line shares the dash; the rest align under it.
                    let mut inner = Vec::new();
                    yaml_block(item, 0, &mut inner);
                    for (i, l) in inner.iter().enumerate() {
                        let lead = if i == 0 { "- " } else { "  " };
                        lines.push(format!("{pad}{lead}{l}"));
                    }
                }
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let key = yaml_key(k);
                if let Some(inline) = yaml_inline(item) {
                    lines.push(format!("{pad}{key}: {inline}"));
                } else {
                    lines.push(format!("{pad}{key}:"));
                    yaml_block(item, level + 1, lines);
                }
            }
        }
        _ => {}
    }
}

/// Key of an object that marks a raw HCL expression in a value tree (see `policy.rs`).
pub const HCL_EXPRESSION: &str = "$hcl";

/// An HCL expression for `v` (for `jsonencode(...)`): objects and lists over several lines,
/// strings quoted and escaped, `{"$hcl": "expr"}` written as the raw expression `expr`.
/// The first line is not indented; later lines are indented by `indent` spaces.
pub fn to_hcl(v: &Value, indent: usize) -> String {
    let mut out = String::new();
    hcl_value(v, indent, &mut out);
    out
}

fn hcl_key(k: &str) -> String {
    let ident = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ident { k.to_string() } else { hcl_string(k) }
}

fn is_hcl_expression(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key(HCL_EXPRESSION))
}

/// A value written on one line: not a list, not an object (a raw expression counts as one).
fn is_hcl_scalar(v: &Value) -> bool {
    match v {
        Value::Array(_) => false,
        Value::Object(_) => is_hcl_expression(v),
        _ => true,
    }
}

fn hcl_value(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let inner = " ".repeat(indent + 2);
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(&b.to_string()),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&hcl_string(s)),
        Value::Object(map) if is_hcl_expression(v) => {
            out.push_str(map[HCL_EXPRESSION].as_str().unwrap_or("null"))
        }
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Array(items) if items.iter().all(is_hcl_scalar) => {
            hcl_scalar_list(items, indent, out)
        }
        Value::Array(items) => {
            out.push_str("[\n");
            for item in items {
                out.push_str(&inner);
                hcl_value(item, indent + 2, out);
                out.push_str(",\n");
            }
            out.push_str(&pad);
            out.push(']');
        }
        Value::Object(map) => hcl_object(map, indent, out),
    }
}

/// A short list of scalars stays on one line: `["s3:GetObject", "s3:PutObject"]`; a long
/// one gets a line per item.
fn hcl_scalar_list(items: &[Value], indent: usize, out: &mut String) {
    let inline: Vec<String> = items
        .iter()
        .map(|item| {
            let mut s = String::new();
            hcl_value(item, indent, &mut s);
            s
        })
        .collect();
    let one_line = format!("[{}]", inline.join(", "));
    if one_line.len() <= 80 {
        out.push_str(&one_line);
        return;
    }
    out.push_str("[\n");
    for item in inline {
        out.push_str(&" ".repeat(indent + 2));
        out.push_str(&item);
        out.push_str(",\n");
    }
    out.push_str(&" ".repeat(indent));
    out.push(']');
}

/// An object's attributes. As `terraform fmt` does: the `=` of consecutive one-line
/// attributes line up; an attribute whose value spans lines ends the run.
fn hcl_object(map: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    let inner = " ".repeat(indent + 2);
    let rendered: Vec<(String, String)> = map
        .iter()
        .map(|(k, item)| {
            let mut value = String::new();
            hcl_value(item, indent + 2, &mut value);
            (hcl_key(k), value)
        })
        .collect();
    out.push_str("{\n");
    let mut run_start = 0;
    while run_start < rendered.len() {
        let run_end = rendered[run_start..]
            .iter()
            .position(|(_, v)| v.contains('\n'))
            .map_or(rendered.len(), |p| run_start + p + 1);
        let width = rendered[run_start..run_end]
            .iter()
            .filter(|(_, v)| !v.contains('\n'))
            .map(|(k, _)| k.len())
            .max()
            .unwrap_or(0);
        for (key, value) in &rendered[run_start..run_end] {
            out.push_str(&inner);
            if value.contains('\n') {
                out.push_str(key);
            } else {
                out.push_str(&format!("{key:width$}"));
            }
            out.push_str(" = ");
            out.push_str(value);
            out.push('\n');
        }
        run_start = run_end;
    }
    out.push_str(&" ".repeat(indent));
    out.push('}');
}

/// The helper's first parameter, refusing a missing one (strict mode does not cover helper
/// parameters that are literals or subexpressions).
fn first_param<'a>(h: &'a Helper<'_>) -> Result<&'a Value, RenderError> {
    let p = h
        .param(0)
        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("value", 0))?;
    if p.is_value_missing() {
        return Err(RenderErrorReason::MissingVariable(p.relative_path().cloned()).into());
    }
    Ok(p.value())
}

fn indent_param(h: &Helper<'_>) -> usize {
    h.hash_get("indent")
        .and_then(|v| v.value().as_u64())
        .unwrap_or(0) as usize
}

/// `v` as compact JSON (strings quoted). JSON is written on one line: no indentation.
pub fn to_json(v: &Value, _indent: usize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A helper that prints its first parameter through a formatting function, which receives
/// the `indent=N` hash parameter (0 without one): `{{json v}}` ([`to_json`]),
/// `{{yaml v indent=N}}` ([`to_yaml`]), `{{hcl v indent=N}}` ([`to_hcl`]).
pub struct ValueHelper(pub fn(&Value, usize) -> String);

impl HelperDef for ValueHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let v = first_param(h)?;
        out.write(&(self.0)(v, indent_param(h)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_scalars_quote_what_a_reader_would_misread() {
        assert_eq!(yaml_scalar("s3:GetObject"), "s3:GetObject");
        assert_eq!(yaml_scalar("2012-10-17"), "\"2012-10-17\"");
        assert_eq!(yaml_scalar("yes"), "\"yes\"");
        assert_eq!(yaml_scalar("Off"), "\"Off\"");
        assert_eq!(yaml_scalar("123"), "\"123\"");
        assert_eq!(yaml_scalar("a: b"), "\"a: b\"");
        assert_eq!(yaml_scalar("x #y"), "\"x #y\"");
        assert_eq!(yaml_scalar("key:"), "\"key:\"");
        assert_eq!(yaml_scalar("*alias"), "\"*alias\"");
        assert_eq!(yaml_scalar(""), "\"\"");
        assert_eq!(yaml_scalar("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
    }

    #[test]
    fn yaml_blocks_use_intrinsic_short_forms_and_parse_back() {
        let doc = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/*"}],
                "Condition": {"StringLike": {"aws:userId": {"Ref": "AllowedUserIds"}}}
            }],
            "Key": {"Fn::GetAtt": ["Key", "Arn"]},
            "Odd key: yes": "value: with colon"
        });
        let yaml = to_yaml(&doc, 4);
        assert!(yaml.contains("Version: \"2012-10-17\""), "{yaml}");
        assert!(
            yaml.contains("- !Sub \"arn:${AWS::Partition}:s3:::${Bucket}/*\""),
            "{yaml}"
        );
        assert!(yaml.contains("aws:userId: !Ref AllowedUserIds"), "{yaml}");
        assert!(yaml.contains("Key: !GetAtt Key.Arn"), "{yaml}");
        assert!(
            yaml.contains("\n    Statement:\n      - Effect: Allow\n        Action:"),
            "{yaml}"
        );
        let back: Value = serde_saphyr::from_str(&format!("Doc:\n    {yaml}\n")).unwrap();
        assert_eq!(back["Doc"]["Odd key: yes"], "value: with colon");
        assert_eq!(back["Doc"]["Version"], "2012-10-17");
        assert_eq!(back["Doc"]["Statement"][0]["Action"][0], "s3:GetObject");
    }

    #[test]
    fn hcl_strings_cannot_interpolate_or_escape() {
        assert_eq!(hcl_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(hcl_string("${var.x} %{if}"), "\"$${var.x} %%{if}\"");
        assert_eq!(hcl_string("$5 100%"), "\"$5 100%\"");
        assert_eq!(hcl_string("line\nbreak"), "\"line\\nbreak\"");
        let original = "${evil} \" \\ %{x}\n";
        let body = format!("x = {}\n", hcl_string(original));
        let evaluated: Value = hcl::eval::from_str(&body, &hcl::eval::Context::new()).unwrap();
        assert_eq!(evaluated["x"], original);
    }

    #[test]
    fn hcl_values_render_objects_lists_and_raw_expressions() {
        let v = json!({
            "Version": "2012-10-17",
            "aws:userId": {"$hcl": "local.allowed_user_ids"},
            "List": ["a", 1, true],
        });
        let text = to_hcl(&v, 2);
        assert!(text.contains("Version      = \"2012-10-17\""), "{text}");
        assert!(
            text.contains("\"aws:userId\" = local.allowed_user_ids"),
            "{text}"
        );
        assert!(text.contains("List         = [\"a\", 1, true]"), "{text}");
        let parsed = hcl::parse(&format!("locals {{\n  x = {text}\n}}\n"));
        assert!(parsed.is_ok(), "{text}: {parsed:?}");
    }

    #[test]
    fn json_escape_round_trips() {
        for s in [
            "plain",
            "quote \" backslash \\",
            "newline\n tab\t",
            "ünïcødé",
            "\u{1}",
        ] {
            let back: String = serde_json::from_str(&json_string(s)).unwrap();
            assert_eq!(back, s);
        }
    }
}
