//! The template diff of one stack instance: the set's current template against the new one,
//! as they are in that account and region.
//!
//! Every instance runs the same template, but not the same resources: a resource with a
//! `Condition` exists only where it holds (the IAM identities: `InHomeRegion`). So each
//! template is first narrowed to what exists in the target ([`in_target`]: the conditions
//! evaluated with `AWS::Region`, `AWS::AccountId` and `AWS::Partition` known), then compared
//! resource by resource, with replacement predicted from the create-only properties
//! (`replacement::predict_template`). The security changes compare the narrowed templates
//! unresolved, so that the same statement reads the same in every target (the table merges
//! identical rows).

use crate::deploy::cloudformation::security;
use crate::deploy::model::{ChangeKind, ResourceChange, SecurityChange};
use crate::replacement::{self, Certainty, Known};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The values CloudFormation gives a stack instance's pseudo parameters, as far as they are
/// known before it exists (its stack name and ID are not).
pub fn known(account: &str, region: &str) -> Known {
    let partition = crate::region::partition_of(region);
    Known::from([
        ("AWS::Region".to_string(), region.to_string()),
        ("AWS::AccountId".to_string(), account.to_string()),
        ("AWS::Partition".to_string(), partition.id.to_string()),
        (
            "AWS::URLSuffix".to_string(),
            partition.dns_suffix.to_string(),
        ),
    ])
}

/// The template with only the resources that exist in the target: those without a
/// condition, and those whose condition holds (or cannot be decided offline).
pub fn in_target(template: &Value, known: &Known) -> Value {
    let conditions = evaluate_conditions(template, known);
    let mut out = template.clone();
    if let Some(resources) = out.get_mut("Resources").and_then(Value::as_object_mut) {
        resources.retain(|_, r| match r.get("Condition").and_then(Value::as_str) {
            Some(name) => conditions.get(name).copied().flatten() != Some(false),
            None => true,
        });
    }
    out
}

/// Every condition of the template: true, false, or `None` when it cannot be decided offline.
pub fn evaluate_conditions(template: &Value, known: &Known) -> BTreeMap<String, Option<bool>> {
    let Some(conditions) = template.get("Conditions").and_then(Value::as_object) else {
        return BTreeMap::new();
    };
    let resolved: Map<String, Value> = conditions
        .iter()
        .map(|(k, v)| (k.clone(), replacement::resolve(v, known)))
        .collect();
    resolved
        .keys()
        .map(|name| (name.clone(), condition(&resolved, name, 0)))
        .collect()
}

/// Conditions refer to conditions; more levels than this is a cycle.
const MAX_DEPTH: usize = 32;

fn condition(all: &Map<String, Value>, name: &str, depth: usize) -> Option<bool> {
    if depth > MAX_DEPTH {
        return None;
    }
    evaluate(all, all.get(name)?, depth + 1)
}

fn evaluate(all: &Map<String, Value>, v: &Value, depth: usize) -> Option<bool> {
    let object = v.as_object().filter(|o| o.len() == 1)?;
    let (function, args) = object.iter().next()?;
    let list = || args.as_array().cloned().unwrap_or_default();
    match function.as_str() {
        "Fn::Equals" => match list().as_slice() {
            [a, b] if plain(a) && plain(b) => Some(a == b),
            _ => None,
        },
        "Fn::Not" => list()
            .first()
            .and_then(|c| evaluate(all, c, depth))
            .map(|b| !b),
        "Fn::And" => {
            let values: Vec<Option<bool>> =
                list().iter().map(|c| evaluate(all, c, depth)).collect();
            if values.contains(&Some(false)) {
                Some(false)
            } else if values.iter().all(|v| *v == Some(true)) {
                Some(true)
            } else {
                None
            }
        }
        "Fn::Or" => {
            let values: Vec<Option<bool>> =
                list().iter().map(|c| evaluate(all, c, depth)).collect();
            if values.contains(&Some(true)) {
                Some(true)
            } else if values.iter().all(|v| *v == Some(false)) {
                Some(false)
            } else {
                None
            }
        }
        "Condition" => args.as_str().and_then(|n| condition(all, n, depth)),
        _ => None,
    }
}

/// A value without intrinsic functions left in it.
fn plain(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            let function = m.len() == 1
                && m.keys()
                    .all(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"));
            !function && m.values().all(plain)
        }
        Value::Array(items) => items.iter().all(plain),
        _ => true,
    }
}

fn resources(template: &Value) -> Map<String, Value> {
    template
        .get("Resources")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn resource_type(entry: &Value) -> String {
    entry
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A resource entry as it is compared: resolved with what is known, without its condition
/// (which [`in_target`] already applied).
fn comparable(entry: &Value, known: &Known) -> Value {
    let mut entry = replacement::resolve(entry, known);
    if let Some(m) = entry.as_object_mut() {
        m.remove("Condition");
    }
    entry
}

/// The resource changes of one target: `old` and `new` narrowed with [`in_target`] (`old`:
/// `Value::Null` when there is no instance yet).
pub fn resource_changes(old: &Value, new: &Value, known: &Known) -> Vec<ResourceChange> {
    let (before, after) = (resources(old), resources(new));
    let predicted = replacement::predict_template(old, known, new, known);
    let mut out = Vec::new();
    for (id, entry) in &after {
        let change = |action, cause| ResourceChange {
            action,
            resource_type: resource_type(entry),
            logical_id: id.clone(),
            physical_id: None,
            cause,
        };
        match before.get(id) {
            None => out.push(change(ChangeKind::Add, None)),
            Some(previous) if comparable(previous, known) == comparable(entry, known) => {}
            Some(_) => {
                let replacement = predicted.get(id).cloned().unwrap_or_default();
                let (kind, cause) = match replacement.certainty() {
                    Some(Certainty::Replaces) => (ChangeKind::Replace, Some(replacement.reasons())),
                    Some(Certainty::MayReplace) => {
                        (ChangeKind::MayReplace, Some(replacement.reasons()))
                    }
                    None => (ChangeKind::Modify, None),
                };
                out.push(change(kind, cause));
            }
        }
    }
    for (id, entry) in &before {
        if !after.contains_key(id) {
            out.push(ResourceChange {
                action: ChangeKind::Remove,
                resource_type: resource_type(entry),
                logical_id: id.clone(),
                physical_id: None,
                cause: retention(entry),
            });
        }
    }
    out
}

/// Every resource of a deleted instance's stack (`template` narrowed to the target), with
/// what becomes of those a DeletionPolicy keeps.
pub fn removals(template: &Value) -> Vec<ResourceChange> {
    resources(template)
        .iter()
        .map(|(id, entry)| ResourceChange {
            action: ChangeKind::Remove,
            resource_type: resource_type(entry),
            logical_id: id.clone(),
            physical_id: None,
            cause: retention(entry),
        })
        .collect()
}

/// What happens to a resource removed from its stack that its DeletionPolicy keeps.
fn retention(entry: &Value) -> Option<String> {
    match entry.get("DeletionPolicy").and_then(Value::as_str) {
        Some("Retain" | "RetainExceptOnCreate") => {
            Some("DeletionPolicy Retain: kept with its data, outside any stack".into())
        }
        _ => None,
    }
}

/// Every resource of a new instance's stack, added.
pub fn additions(template: &Value) -> Vec<ResourceChange> {
    resource_changes(&Value::Null, template, &Known::new())
}

/// Policy statements added and removed in the target (templates narrowed, not resolved).
pub fn security_changes(old: &Value, new: &Value) -> Vec<SecurityChange> {
    security::diff(old, new, None, &|_| None)
}

/// The physical names of the retained resources of a deleted instance, as far as the
/// template says them (a fixed bucket name, resolved for the target).
pub fn physical_names(template: &Value, known: &Known) -> BTreeMap<String, String> {
    let resolved = replacement::resolve(&template["Resources"], known);
    let mut out = BTreeMap::new();
    for (id, entry) in resolved.as_object().into_iter().flatten() {
        let name = match entry.get("Type").and_then(Value::as_str) {
            Some("AWS::S3::Bucket") => entry["Properties"]["BucketName"].as_str(),
            Some("AWS::SSM::Parameter") => entry["Properties"]["Name"].as_str(),
            Some("AWS::KMS::Alias") => entry["Properties"]["AliasName"].as_str(),
            _ => None,
        };
        if let Some(name) = name {
            out.insert(id.clone(), name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(extra: &str) -> Value {
        let cfg = crate::config::parse(
            std::path::Path::new("p.yaml"),
            &format!(
                "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\nhome_region: eu-west-1\nengine: stacksets\nstacksets: {{targets: {{accounts: [\"111122223333\"]}}}}\nidentities: {{group: Apps, users: [bot], policy: read}}\n{extra}"
            ),
        )
        .expect("valid");
        let t =
            crate::render::stack_set(&cfg, &crate::render::Templates::default()).expect("renders");
        security::parse_template(&t.body).expect("parses")
    }

    fn summary(changes: &[ResourceChange]) -> Vec<String> {
        changes
            .iter()
            .map(|c| {
                format!(
                    "{} {}{}",
                    c.action.symbol(),
                    c.logical_id,
                    c.cause
                        .as_ref()
                        .map(|c| format!(" ({c})"))
                        .unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn the_identities_exist_only_in_the_home_region() {
        let t = template("");
        let home = in_target(&t, &known("111122223333", "eu-west-1"));
        let other = in_target(&t, &known("111122223333", "us-east-1"));
        for id in ["IdentityGroup", "UserBot"] {
            assert!(home["Resources"].get(id).is_some(), "{id} at home");
            assert!(other["Resources"].get(id).is_none(), "{id} elsewhere");
        }
        let added = summary(&additions(&other));
        assert!(added.contains(&"+ Bucket".to_string()), "{added:?}");
        assert!(!added.iter().any(|a| a.contains("UserBot")), "{added:?}");
    }

    #[test]
    fn a_renamed_bucket_is_replaced_with_its_cause_and_unchanged_resources_are_left_out() {
        let k = known("111122223333", "us-east-1");
        let old = in_target(
            &template("bucket: {name: \"old-{account_id}-{region}\"}\n"),
            &k,
        );
        let new = in_target(
            &template("bucket: {name: \"new-{account_id}-{region}\"}\n"),
            &k,
        );
        let changes = summary(&resource_changes(&old, &new, &k));
        assert!(
            changes.contains(&"± Bucket (BucketName changed)".to_string()),
            "{changes:?}"
        );
        assert!(
            !changes.iter().any(|c| c.contains("KeyAlias")),
            "{changes:?}"
        );
        assert_eq!(
            physical_names(&old, &k).get("Bucket").map(String::as_str),
            Some("old-111122223333-us-east-1")
        );
    }

    #[test]
    fn moving_the_home_region_adds_and_removes_the_identities() {
        let account = "111122223333";
        let west = template("");
        let east = template("")
            .to_string()
            .replace("\"eu-west-1\"", "\"us-east-1\"");
        let east: Value = serde_json::from_str(&east).expect("JSON");
        let k = known(account, "eu-west-1");
        let changes = summary(&resource_changes(
            &in_target(&west, &k),
            &in_target(&east, &k),
            &k,
        ));
        assert!(changes.contains(&"- UserBot".to_string()), "{changes:?}");
        let removed = removals(&in_target(&west, &k));
        assert!(
            removed.iter().any(|c| c.logical_id == "Bucket"
                && c.cause.as_deref().is_some_and(|c| c.contains("Retain"))),
            "{removed:?}"
        );
        assert!(
            removed
                .iter()
                .any(|c| c.logical_id == "BucketNameParameter" && c.cause.is_none())
        );
    }

    #[test]
    fn conditions_that_cannot_be_decided_keep_their_resources() {
        let t = serde_json::json!({
            "Conditions": {
                "Home": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]},
                "NotHome": {"Fn::Not": [{"Condition": "Home"}]},
                "Flag": {"Fn::Equals": [{"Ref": "Unknown"}, "yes"]},
                "Both": {"Fn::And": [{"Condition": "Home"}, {"Condition": "Flag"}]},
                "Loop": {"Condition": "Loop"}
            },
            "Resources": {
                "A": {"Type": "X", "Condition": "NotHome"},
                "B": {"Type": "X", "Condition": "Flag"},
                "C": {"Type": "X", "Condition": "Both"},
                "D": {"Type": "X", "Condition": "Loop"}
            }
        });
        let west = in_target(&t, &known("111122223333", "eu-west-1"));
        let kept: Vec<&String> = west["Resources"].as_object().unwrap().keys().collect();
        assert_eq!(kept, ["B", "C", "D"]);
        let east = in_target(&t, &known("111122223333", "us-east-1"));
        let kept: Vec<&String> = east["Resources"].as_object().unwrap().keys().collect();
        assert_eq!(kept, ["A", "B", "D"]);
    }
}
