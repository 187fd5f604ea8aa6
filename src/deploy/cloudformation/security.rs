//! Security changes: policy statements and allowed principals added or removed between the
//! deployed template (GetTemplate) and the new one.
//!
//! Templates are read as YAML (JSON is YAML too). CloudFormation's short-form tags
//! (`!Ref X`, `!GetAtt A.B`, `!Sub ...`) become their long form (`{"Ref": "X"}`, ...), so a
//! YAML and a JSON template of the same content compare equal.

use crate::deploy::model::{SecurityChange, Sign};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A parsed template node in long form.
struct Node(Value);

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let serde_saphyr::Tagged(Plain(value), tag) =
            serde_saphyr::Tagged::<Plain>::deserialize(d)?;
        Ok(Node(
            match tag.as_deref().and_then(|t| t.strip_prefix('!')) {
                Some(name) if !name.starts_with('!') => long_form(name, value),
                _ => value,
            },
        ))
    }
}

/// `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`; `!Ref X` is `{"Ref": "X"}`; `!Name v` is
/// `{"Fn::Name": v}`.
fn long_form(name: &str, value: Value) -> Value {
    let (key, value) = match name {
        "Ref" => ("Ref".to_string(), value),
        "Condition" => ("Condition".to_string(), value),
        "GetAtt" => (
            "Fn::GetAtt".to_string(),
            match value {
                Value::String(s) => match s.split_once('.') {
                    Some((a, b)) => Value::Array(vec![a.into(), b.into()]),
                    None => Value::String(s),
                },
                other => other,
            },
        ),
        other => (format!("Fn::{other}"), value),
    };
    let mut m = Map::new();
    m.insert(key, value);
    Value::Object(m)
}

struct Plain(Value);

impl<'de> Deserialize<'de> for Plain {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PlainVisitor)
    }
}

struct PlainVisitor;

impl<'de> Visitor<'de> for PlainVisitor {
    type Value = Plain;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a template value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Plain, E> {
        Ok(Plain(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Plain, E> {
        Ok(Plain(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Plain, E> {
        Ok(Plain(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Plain, E> {
        Ok(Plain(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Plain, E> {
        Ok(Plain(Value::String(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Plain, E> {
        Ok(Plain(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Plain, E> {
        Ok(Plain(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Plain, D::Error> {
        Node::deserialize(d).map(|n| Plain(n.0))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Plain, A::Error> {
        let mut out = Vec::new();
        while let Some(Node(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Plain(Value::Array(out)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Plain, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Node(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Plain(Value::Object(out)))
    }
}

/// Parses a CloudFormation template (YAML or JSON) into long-form JSON.
pub fn parse_template(body: &str) -> Result<Value, String> {
    if body.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_saphyr::from_str::<Node>(body)
        .map(|n| n.0)
        .map_err(|e| format!("cannot read the template: {e}"))
}

/// Where each resource type keeps its policy documents.
fn policy_documents(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy" | "AWS::S3::BucketPolicy" => {
            &["PolicyDocument"]
        }
        "AWS::KMS::Key" => &["KeyPolicy"],
        "AWS::IAM::Role" => &["AssumeRolePolicyDocument"],
        _ => &[],
    }
}

/// Every policy statement of a template, by logical id (with its resource type).
pub fn statements(template: &Value) -> Statements {
    let mut out = BTreeMap::new();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return out;
    };
    for (logical, res) in resources {
        let rtype = res.get("Type").and_then(Value::as_str).unwrap_or_default();
        let props = res.get("Properties");
        let mut list = Vec::new();
        for field in policy_documents(rtype) {
            if let Some(document) = props.and_then(|p| p.get(*field)) {
                list.extend(document_statements(document));
            }
        }
        if !policy_documents(rtype).is_empty() {
            out.insert(logical.clone(), (rtype.to_string(), list));
        }
    }
    out
}

/// Every policy statement of one resource, by resource (logical ID or address), with the
/// resource's type: what [`diff_statements`] compares.
pub type Statements = BTreeMap<String, (String, Vec<Value>)>;

/// Statements added or removed per policy resource, then allowed principals added or removed.
/// `principals_parameter`: the parameter holding the allow list, with its old and new value.
pub fn diff(
    old: &Value,
    new: &Value,
    principals: Option<(&str, &[String], &[String])>,
    describe_principal: &dyn Fn(&str) -> Option<String>,
) -> Vec<SecurityChange> {
    diff_statements(
        &statements(old),
        &statements(new),
        principals,
        describe_principal,
    )
}

/// The security changes between two sets of policy statements, whatever engine read them
/// (a CloudFormation template's, a Terraform plan's before and after), then the allowed
/// principals added or removed.
pub fn diff_statements(
    before: &Statements,
    after: &Statements,
    principals: Option<(&str, &[String], &[String])>,
    describe_principal: &dyn Fn(&str) -> Option<String>,
) -> Vec<SecurityChange> {
    let mut out = Vec::new();
    let logicals: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for logical in logicals {
        let (rtype, old_list) = before
            .get(logical)
            .map(|(t, l)| (t.as_str(), l.as_slice()))
            .unwrap_or(("", &[]));
        let (new_type, new_list) = after
            .get(logical)
            .map(|(t, l)| (t.as_str(), l.as_slice()))
            .unwrap_or(("", &[]));
        let rtype = if new_type.is_empty() { rtype } else { new_type };
        for (sign, from, against) in [
            (Sign::Removed, old_list, new_list),
            (Sign::Added, new_list, old_list),
        ] {
            for s in from {
                if !against.contains(s) {
                    out.push(SecurityChange {
                        change: sign,
                        resource: logical.clone(),
                        resource_type: rtype.to_string(),
                        detail: summarize_statement(s),
                    });
                }
            }
        }
    }
    if let Some((name, old_ids, new_ids)) = principals {
        for (sign, from, against) in [
            (Sign::Removed, old_ids, new_ids),
            (Sign::Added, new_ids, old_ids),
        ] {
            for id in from {
                if !against.contains(id) {
                    let detail = match describe_principal(id) {
                        Some(what) => format!("{id} ({what})"),
                        None => id.clone(),
                    };
                    out.push(SecurityChange {
                        change: sign,
                        resource: name.to_string(),
                        resource_type: "principals".into(),
                        detail,
                    });
                }
            }
        }
    }
    out
}

/// The statements of a policy document (`Statement` as a list, or a single statement).
pub fn document_statements(document: &Value) -> Vec<Value> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => Vec::new(),
    }
}

/// A statement in one line: `Allow s3:GetObject on X/* for AWS:... if StringLike aws:userId ...`.
pub fn summarize_statement(s: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(sid) = s.get("Sid").and_then(Value::as_str) {
        parts.push(format!("[{sid}]"));
    }
    parts.push(s.get("Effect").map(compact).unwrap_or_else(|| "?".into()));
    for (key, label) in [
        ("Action", ""),
        ("NotAction", "not "),
        ("Resource", "on "),
        ("NotResource", "not on "),
        ("Principal", "for "),
        ("NotPrincipal", "except "),
    ] {
        if let Some(v) = s.get(key) {
            parts.push(format!("{label}{}", compact(v)));
        }
    }
    if let Some(Value::Object(cond)) = s.get("Condition") {
        for (op, kv) in cond {
            parts.push(format!("if {op} {}", compact(kv)));
        }
    }
    parts.join(" ")
}

/// A value in short text: lists comma-joined, intrinsic functions in short form.
pub fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(compact).collect::<Vec<_>>().join(","),
        Value::Object(m) if m.len() == 1 => {
            let (k, inner) = m
                .iter()
                .next()
                .map(|(k, v)| (k.as_str(), v))
                .unwrap_or(("", v));
            match (k, inner) {
                ("Ref", Value::String(r)) => format!("!Ref {r}"),
                ("Fn::GetAtt", Value::Array(a)) => format!(
                    "!GetAtt {}",
                    a.iter().map(compact).collect::<Vec<_>>().join(".")
                ),
                ("Fn::Sub", Value::String(s)) => s.clone(),
                ("Fn::Join", Value::Array(a)) if a.len() == 2 => {
                    let sep = a[0].as_str().unwrap_or_default();
                    match &a[1] {
                        Value::Array(parts) => {
                            parts.iter().map(compact).collect::<Vec<_>>().join(sep)
                        }
                        other => compact(other),
                    }
                }
                _ => {
                    let inner_text = compact(inner);
                    if let Some(name) = k.strip_prefix("Fn::") {
                        format!("!{name}({inner_text})")
                    } else {
                        format!("{k}={inner_text}")
                    }
                }
            }
        }
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", compact(v)))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"
Parameters:
  AllowedUserIds:
    Type: CommaDelimitedList
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  ReadPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: Read
            Effect: Allow
            Action: [s3:GetObject]
            Resource: !Sub "${Bucket.Arn}/*"
"#;

    #[test]
    fn short_form_tags_become_long_form() {
        let v = parse_template("A: !Ref Bucket\nB: !GetAtt Bucket.Arn\nC: !Sub x-${AWS::Region}\n")
            .unwrap();
        assert_eq!(v["A"], serde_json::json!({"Ref": "Bucket"}));
        assert_eq!(v["B"], serde_json::json!({"Fn::GetAtt": ["Bucket", "Arn"]}));
        assert_eq!(v["C"], serde_json::json!({"Fn::Sub": "x-${AWS::Region}"}));
    }

    #[test]
    fn yaml_and_json_of_the_same_template_have_no_differences() {
        let yaml = parse_template(OLD).unwrap();
        let json = parse_template(&serde_json::to_string(&yaml).unwrap()).unwrap();
        assert_eq!(diff(&yaml, &json, None, &|_| None), vec![]);
    }

    #[test]
    fn added_and_removed_statements_and_principals() {
        let old = parse_template(OLD).unwrap();
        let new_body = OLD.replace("s3:GetObject]", "s3:GetObject, s3:PutObject]");
        let new = parse_template(&new_body).unwrap();
        let old_ids = vec!["123456789012".to_string(), "AROAOLD:*".to_string()];
        let new_ids = vec!["123456789012".to_string(), "AROANEW:*".to_string()];
        let changes = diff(
            &old,
            &new,
            Some(("AllowedUserIds", &old_ids, &new_ids)),
            &|id| (id == "AROANEW:*").then(|| "role ci (access.roles)".to_string()),
        );
        let text: Vec<String> = changes
            .iter()
            .map(|c| format!("{} {} {}", c.change.symbol(), c.resource, c.detail))
            .collect();
        assert_eq!(
            text,
            [
                "- ReadPolicy [Read] Allow s3:GetObject on ${Bucket.Arn}/*",
                "+ ReadPolicy [Read] Allow s3:GetObject,s3:PutObject on ${Bucket.Arn}/*",
                "- AllowedUserIds AROAOLD:*",
                "+ AllowedUserIds AROANEW:* (role ci (access.roles))",
            ]
        );
    }

    #[test]
    fn a_new_stack_adds_every_statement() {
        let new = parse_template(OLD).unwrap();
        let changes = diff(&Value::Null, &new, None, &|_| None);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].change, Sign::Added);
        assert_eq!(changes[0].resource_type, "AWS::IAM::ManagedPolicy");
    }

    #[test]
    fn key_policy_principals_and_conditions_are_summarized() {
        let s = serde_json::json!({
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {"StringNotLike": {"aws:userId": {"Ref": "AllowedUserIds"}}}
        });
        assert_eq!(
            summarize_statement(&s),
            "Deny kms:* on * for AWS=* if StringNotLike aws:userId=!Ref AllowedUserIds"
        );
    }
}
