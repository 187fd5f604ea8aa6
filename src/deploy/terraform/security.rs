//! The security table of a Terraform plan: the statements of the bucket, key and IAM policy
//! documents before and after, from the plan's own values, compared by the shared security
//! diff (`deploy::security::diff_statements`) that the CloudFormation engine uses.
//!
//! A document whose value Terraform knows only after apply (a new bucket's policy names the
//! bucket's ID) is shown as the configuration's policy template, placeholders and all
//! (`arn:${Partition}:s3:::${Bucket}/*`), as the CloudFormation engine shows a new template.

use crate::deploy::model::SecurityChange;
use crate::deploy::security::{Statements, diff_statements, document_statements};
use crate::render::{PolicyKind, region_suffix};
use crate::terraform::json::ResourceChange as TfChange;
use serde_json::Value;

/// The configuration's policy documents with their placeholders, by kind.
#[derive(Debug, Clone, Default)]
pub struct PolicyTemplates(pub Vec<(PolicyKind, Value)>);

impl PolicyTemplates {
    fn get(&self, kind: PolicyKind) -> Option<&Value> {
        self.0.iter().find(|(k, _)| *k == kind).map(|(_, v)| v)
    }

    #[cfg(test)]
    pub fn minimal_for_tests() -> Self {
        let cfg = crate::config::parse(
            std::path::Path::new("t.yaml"),
            "version: 1\norganisation: acme\nregions: [eu-west-1]\n",
        )
        .unwrap();
        PolicyTemplates(
            crate::render::policy_templates(&cfg, &crate::render::Templates::default()).unwrap(),
        )
    }
}

/// The attribute holding a resource type's policy document.
fn policy_attribute(resource_type: &str) -> Option<&'static str> {
    match resource_type {
        "aws_s3_bucket_policy"
        | "aws_iam_policy"
        | "aws_kms_key"
        | "aws_iam_role_policy"
        | "aws_iam_group_policy"
        | "aws_iam_user_policy" => Some("policy"),
        "aws_iam_role" => Some("assume_role_policy"),
        _ => None,
    }
}

/// Which of the configuration's documents a resource of the rendered module holds
/// (`aws_iam_policy.read_eu_west_1` holds the read policy).
fn template_kind(change: &TfChange, region: &str) -> Option<PolicyKind> {
    let suffix = format!("_{}", region_suffix(region));
    let name = change.name.strip_suffix(&suffix).unwrap_or(&change.name);
    Some(match (change.resource_type.as_str(), name) {
        ("aws_iam_policy", "read") => PolicyKind::Read,
        ("aws_iam_policy", "write") => PolicyKind::Write,
        ("aws_iam_policy", "configure") => PolicyKind::Configure,
        ("aws_iam_policy", "manage") => PolicyKind::Manage,
        ("aws_s3_bucket_policy", "artifacts") => PolicyKind::Bucket,
        ("aws_s3_bucket_policy", "logs") => PolicyKind::LogBucket,
        ("aws_kms_key", "artifacts") => PolicyKind::Key,
        _ => return None,
    })
}

/// A document's statements in one spelling: a list of one string is that string, and lists
/// of strings are sorted (AWS hands back `"s3:GetObject"` for `["s3:GetObject"]`, and keeps
/// no order), so that only real differences show.
fn normalized(value: &Value) -> Value {
    match value {
        Value::Array(items) if items.len() == 1 && items[0].is_string() => items[0].clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let mut sorted = items.clone();
            sorted.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            Value::Array(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn statements_of(document: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(document)
        .map(|d| document_statements(&d).iter().map(normalized).collect())
        .unwrap_or_default()
}

/// Statements added or removed by one region's changes.
pub fn security_changes(
    changes: &[&TfChange],
    region: &str,
    templates: &PolicyTemplates,
    describe_principal: &dyn Fn(&str) -> Option<String>,
) -> Vec<SecurityChange> {
    let mut before = Statements::new();
    let mut after = Statements::new();
    for c in changes {
        let Some(attribute) = policy_attribute(&c.resource_type) else {
            continue;
        };
        if let Some(doc) = c.change.before.str(attribute) {
            before.insert(
                c.address.clone(),
                (c.resource_type.clone(), statements_of(doc)),
            );
        }
        let unknown = c.change.after_unknown.get(attribute) == Some(&Value::Bool(true));
        let known = c.change.after.str(attribute).map(statements_of);
        let statements = match (known, unknown) {
            (Some(s), _) => Some(s),
            (None, true) => template_kind(c, region)
                .and_then(|k| templates.get(k))
                .map(|doc| document_statements(doc).iter().map(normalized).collect()),
            (None, false) => None,
        };
        if let Some(s) = statements {
            after.insert(c.address.clone(), (c.resource_type.clone(), s));
        }
    }
    diff_statements(&before, &after, None, describe_principal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_spelling_for_what_aws_hands_back() {
        let configured = json!({"Action": ["s3:GetObject"], "Resource": ["b", "a"]});
        let returned = json!({"Action": "s3:GetObject", "Resource": ["a", "b"]});
        assert_eq!(normalized(&configured), normalized(&returned));
    }
}
