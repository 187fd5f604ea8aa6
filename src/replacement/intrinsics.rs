//! Template values as far as they can be known offline: intrinsic functions are recognised,
//! resolved where every input is known (`Ref` to a known name, `Fn::Sub`, `Fn::Join`), and
//! otherwise kept as they are, to be reported as unresolved.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

use super::Known;

/// The intrinsic function `value` is, if it is one: a one-key object whose key is `Ref`,
/// `Condition` or starts with `Fn::`.
pub fn function_name(value: &Value) -> Option<&str> {
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    let key = object.keys().next()?;
    (key == "Ref" || key == "Condition" || key.starts_with("Fn::")).then_some(key.as_str())
}

/// `{"Ref": "AWS::NoValue"}`: the property is absent.
pub fn is_no_value(value: &Value) -> bool {
    value.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue")
        && function_name(value).is_some()
}

/// The names of the intrinsic functions anywhere in `value`, sorted.
pub fn functions(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_functions(value, &mut out);
    out
}

fn collect_functions(value: &Value, out: &mut BTreeSet<String>) {
    if let Some(name) = function_name(value) {
        out.insert(name.to_string());
    }
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_functions(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_functions(v, out)),
        _ => {}
    }
}

/// The logical IDs and parameter names `value` refers to: `Ref`, `Fn::GetAtt` and the
/// variables of `Fn::Sub` (`${Name}`, `${Name.Attribute}`), pseudo parameters excluded.
pub fn references(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_references(value, &mut out);
    out.retain(|name| !name.starts_with("AWS::"));
    out
}

fn collect_references(value: &Value, out: &mut BTreeSet<String>) {
    match function_name(value) {
        Some("Ref") => {
            if let Some(name) = value["Ref"].as_str() {
                out.insert(name.to_string());
            }
        }
        Some("Fn::GetAtt") => match &value["Fn::GetAtt"] {
            Value::String(s) => {
                out.insert(s.split('.').next().unwrap_or(s).to_string());
            }
            Value::Array(parts) => {
                if let Some(name) = parts.first().and_then(Value::as_str) {
                    out.insert(name.to_string());
                }
            }
            _ => {}
        },
        Some("Fn::Sub") => {
            let (template, variables) = sub_parts(&value["Fn::Sub"]);
            let defined: BTreeSet<&str> = variables
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            if let Some(template) = template {
                for name in sub_variables(template) {
                    let base = name.split('.').next().unwrap_or(&name).to_string();
                    if !defined.contains(base.as_str()) {
                        out.insert(base);
                    }
                }
            }
        }
        _ => {}
    }
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

/// `value` with every intrinsic that `known` fully determines replaced by its string.
pub fn resolve(value: &Value, known: &Known) -> Value {
    let value = match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, known)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, known)))
                .collect(),
        ),
        other => other.clone(),
    };
    resolve_function(&value, known).unwrap_or(value)
}

fn resolve_function(value: &Value, known: &Known) -> Option<Value> {
    match function_name(value)? {
        "Ref" => known
            .get(value["Ref"].as_str()?)
            .cloned()
            .map(Value::String),
        "Fn::Sub" => {
            let (template, variables) = sub_parts(&value["Fn::Sub"]);
            substitute(template?, variables, known).map(Value::String)
        }
        "Fn::Join" => {
            let parts = value["Fn::Join"].as_array()?;
            let delimiter = parts.first()?.as_str()?;
            let items = parts.get(1)?.as_array()?;
            let strings: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            Some(Value::String(strings?.join(delimiter)))
        }
        _ => None,
    }
}

/// The template string and the variable map of an `Fn::Sub` (string or list form).
fn sub_parts(argument: &Value) -> (Option<&str>, Option<&Map<String, Value>>) {
    match argument {
        Value::String(s) => (Some(s), None),
        Value::Array(parts) => (
            parts.first().and_then(Value::as_str),
            parts.get(1).and_then(Value::as_object),
        ),
        _ => (None, None),
    }
}

/// The variable names of an `Fn::Sub` template (`${Name}`; `${!Literal}` is not one).
fn sub_variables(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            out.push(name.trim().to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

/// An `Fn::Sub` template with every variable replaced, when each one is known: from the
/// function's own map (already resolved to a string) or from `known`.
fn substitute(
    template: &str,
    variables: Option<&Map<String, Value>>,
    known: &Known,
) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else {
            let name = name.trim();
            let value = match variables.and_then(|m| m.get(name)) {
                Some(v) => v.as_str()?.to_string(),
                None => known.get(name)?.clone(),
            };
            out.push_str(&value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The part of `value` at `path` (`A/B`, `*` for every item of a list), for comparison: `None`
/// when absent. An intrinsic function met on the way stands for everything under it.
pub fn project(value: &Value, path: &[&str]) -> Option<Value> {
    if is_no_value(value) {
        return None;
    }
    let Some((first, rest)) = path.split_first() else {
        return Some(normalise(value));
    };
    if function_name(value).is_some() {
        return Some(normalise(value));
    }
    match (*first, value) {
        ("*", Value::Array(items)) => Some(Value::Array(
            items
                .iter()
                .map(|item| project(item, rest).unwrap_or(Value::Null))
                .collect(),
        )),
        (key, Value::Object(map)) => project(map.get(key)?, rest),
        _ => None,
    }
}

/// Scalars as CloudFormation passes them to a resource handler: `1`, `true` and `"1"`,
/// `"true"` are the same value.
fn normalise(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalise(v))).collect())
        }
        other => other.clone(),
    }
}
