//! Drift from a refresh-only plan (`terraform plan -refresh-only`): the resources changed or
//! deleted outside Terraform, with the attributes that changed, per region.
//!
//! A refresh also fills in attributes the configuration does not set (an `aws_s3_bucket`'s
//! computed `policy` and `logging` once their own resources exist, `tags` from null to `{}`),
//! which is not drift. Only the arguments the configuration sets, and `tags_all` (the
//! provider's `default_tags`), count; a value null on one side and empty on the other is the
//! same value. Sensitive values are never shown.

use super::json::{Action, Configuration, Plan, ResourceChange};
use super::regions::ResourceRegions;
use serde::Serialize;
use serde_json::Value;

/// One drifted resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub address: String,
    pub region: Option<String>,
    /// `changed` or `deleted`.
    pub kind: DriftKind,
    pub attributes: Vec<AttributeDrift>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftKind {
    Changed,
    Deleted,
}

/// One attribute, as the state had it and as AWS has it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeDrift {
    /// `versioning_configuration[0].status`.
    pub path: String,
    /// The value, or null when Terraform marks it sensitive (then `sensitive` is true).
    pub before: Value,
    pub after: Value,
    pub sensitive: bool,
}

/// The drift a refresh-only plan found.
pub fn drift(plan: &Plan, regions: &ResourceRegions) -> Vec<Drift> {
    let mut out = Vec::new();
    for change in &plan.resource_drift {
        let actions = &change.change.actions;
        let region = regions.region_of(&change.address).map(str::to_string);
        if actions.contains(&Action::Delete) && !actions.contains(&Action::Create) {
            out.push(Drift {
                address: change.address.clone(),
                region,
                kind: DriftKind::Deleted,
                attributes: Vec::new(),
            });
            continue;
        }
        if !actions.contains(&Action::Update) {
            continue;
        }
        let expressions = configured(plan.configuration.as_ref(), change);
        let mut attributes = Vec::new();
        compare(change, &expressions, &mut Vec::new(), &mut attributes);
        if !attributes.is_empty() {
            out.push(Drift {
                address: change.address.clone(),
                region,
                kind: DriftKind::Changed,
                attributes,
            });
        }
    }
    out
}

/// The expressions the configuration sets for the resource of `change`, plus `tags_all`.
fn configured(config: Option<&Configuration>, change: &ResourceChange) -> Value {
    let resource = change
        .address
        .split_once('[')
        .map_or(change.address.as_str(), |(a, _)| a);
    let mut expressions = config
        .and_then(|c| {
            c.root_module
                .resources
                .iter()
                .find(|r| r.address == resource)
        })
        .map(|r| r.expressions.clone())
        .unwrap_or(Value::Object(Default::default()));
    if let Value::Object(map) = &mut expressions {
        map.entry("tags_all")
            .or_insert_with(|| serde_json::json!({}));
    }
    expressions
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn lookup<'a>(value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.get(k),
        Step::Index(i) => v.get(i),
    })
}

fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Walks the configured expressions: an object of expressions is a (nested) block body, an
/// array of them the instances of a block; anything else is an argument, compared whole.
fn compare(
    change: &ResourceChange,
    expressions: &Value,
    path: &mut Vec<Step>,
    out: &mut Vec<AttributeDrift>,
) {
    let Value::Object(map) = expressions else {
        return;
    };
    for (key, expression) in map {
        path.push(Step::Key(key.clone()));
        match expression {
            Value::Array(blocks) => {
                let count = [&change.change.before.0, &change.change.after.0]
                    .iter()
                    .filter_map(|v| lookup(v, path).and_then(Value::as_array).map(Vec::len))
                    .max()
                    .unwrap_or(0)
                    .max(blocks.len());
                for i in 0..count {
                    path.push(Step::Index(i));
                    match blocks.get(i).or(blocks.first()) {
                        Some(body) => compare(change, body, path, out),
                        None => compare_argument(change, path, out),
                    }
                    path.pop();
                }
            }
            _ => compare_argument(change, path, out),
        }
        path.pop();
    }
}

fn compare_argument(change: &ResourceChange, path: &[Step], out: &mut Vec<AttributeDrift>) {
    let before = lookup(&change.change.before.0, path)
        .cloned()
        .unwrap_or(Value::Null);
    let after = lookup(&change.change.after.0, path)
        .cloned()
        .unwrap_or(Value::Null);
    if same(&before, &after) {
        return;
    }
    let sensitive = [
        &change.change.before_sensitive.0,
        &change.change.after_sensitive.0,
    ]
    .iter()
    .any(|mask| marks_sensitive(mask, path));
    out.push(AttributeDrift {
        path: display(path),
        before: if sensitive { Value::Null } else { before },
        after: if sensitive { Value::Null } else { after },
        sensitive,
    });
}

/// Whether a sensitivity mask marks `path` (or a parent of it) sensitive.
fn marks_sensitive(mask: &Value, path: &[Step]) -> bool {
    (0..=path.len()).any(|n| lookup(mask, &path[..n]) == Some(&Value::Bool(true)))
}

/// Equal, treating null and empty alike and JSON documents (policies) by content.
fn same(a: &Value, b: &Value) -> bool {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if a == b || (empty(a) && empty(b)) {
        return true;
    }
    if let (Value::String(x), Value::String(y)) = (a, b)
        && let (Ok(x), Ok(y)) = (
            serde_json::from_str::<Value>(x),
            serde_json::from_str::<Value>(y),
        )
        && (x.is_object() || x.is_array())
    {
        return x == y;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded() -> Plan {
        serde_json::from_str(&crate::terraform::fixture("show-plan-refresh-only.json")).unwrap()
    }

    #[test]
    fn only_what_the_configuration_sets_counts_as_drift() {
        let plan = recorded();
        assert!(
            plan.resource_drift.len() > 3,
            "the refresh also reports computed attributes"
        );
        let regions = ResourceRegions::from_configuration(plan.configuration.as_ref().unwrap());
        let found = drift(&plan, &regions);
        assert_eq!(
            found,
            [Drift {
                address: "aws_s3_bucket_versioning.artifacts_eu_west_1".into(),
                region: Some("eu-west-1".into()),
                kind: DriftKind::Changed,
                attributes: vec![AttributeDrift {
                    path: "versioning_configuration[0].status".into(),
                    before: "Enabled".into(),
                    after: "Suspended".into(),
                    sensitive: false,
                }],
            }]
        );
    }

    fn change(
        before: Value,
        after: Value,
        sensitive: Value,
        expressions: Value,
    ) -> (Plan, ResourceRegions) {
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "format_version": "1.2",
            "terraform_version": "1.11.4",
            "resource_drift": [{
                "address": "aws_ssm_parameter.p", "mode": "managed", "type": "aws_ssm_parameter",
                "name": "p", "provider_name": "registry.terraform.io/hashicorp/aws",
                "change": {"actions": ["update"], "before": before, "after": after,
                           "before_sensitive": sensitive, "after_sensitive": sensitive}
            }],
            "configuration": {"root_module": {"resources": [{
                "address": "aws_ssm_parameter.p", "mode": "managed", "type": "aws_ssm_parameter",
                "name": "p", "provider_config_key": "aws.eu_west_1", "expressions": expressions
            }]}}
        }))
        .unwrap();
        (plan, ResourceRegions::default())
    }

    #[test]
    fn sensitive_values_are_never_shown() {
        let (plan, regions) = change(
            serde_json::json!({"value": "old-secret", "name": "/p"}),
            serde_json::json!({"value": "new-secret", "name": "/p"}),
            serde_json::json!({"value": true}),
            serde_json::json!({"value": {"constant_value": "x"}, "name": {"constant_value": "/p"}}),
        );
        let found = drift(&plan, &regions);
        assert_eq!(found.len(), 1);
        let attr = &found[0].attributes[0];
        assert_eq!(attr.path, "value");
        assert!(attr.sensitive);
        assert_eq!((&attr.before, &attr.after), (&Value::Null, &Value::Null));
        assert!(!format!("{found:?}").contains("secret"));
    }

    #[test]
    fn policies_compare_by_content_and_tags_all_counts() {
        let (plan, regions) = change(
            serde_json::json!({"policy": "{\"a\": 1, \"b\": [2]}", "tags_all": {"team": "x"}}),
            serde_json::json!({"policy": "{\"b\":[2],\"a\":1}", "tags_all": {"team": "y"}}),
            serde_json::json!({}),
            serde_json::json!({"policy": {"references": []}}),
        );
        let found = drift(&plan, &regions);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].attributes.len(), 1);
        assert_eq!(found[0].attributes[0].path, "tags_all");
    }
}
