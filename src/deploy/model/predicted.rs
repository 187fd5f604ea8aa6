//! Replacement predicted by `provision` itself, wired into the plan model for every engine.
//!
//! An engine diffs the template it deployed against the one it is about to deploy with
//! [`predict`] (which resolves each side's intrinsics with what is known offline, see
//! [`Known`]) and hands the result to [`merge`] with its own changes. [`merge`] makes the plan
//! say what replaces a resource and why (`replaces Staging: BucketName changed`), keeps what
//! the engine itself answered beside it (`engine_replacement`: CloudFormation's `True`,
//! `Conditional` or `False`), and adds the resources the engine did not list but the
//! prediction replaces (a resource that refers to a replaced one). The data-loss guard then
//! reads the merged changes.
//!
//! The prediction and the engine's answer are combined so that the stronger one wins: a
//! certain prediction makes a modification a replacement even when the change set said
//! `False` or nothing (the emulator never says anything); a replacement the engine reports
//! and the prediction does not stays a replacement.

use super::change::{ChangeKind, ResourceChange};
use crate::replacement::{self, Certainty, Replacement};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

pub use crate::replacement::Known;

/// The pseudo parameters of one stack, as far as they are known offline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pseudo<'a> {
    pub region: &'a str,
    pub partition: &'a str,
    pub url_suffix: &'a str,
    pub stack_name: &'a str,
    /// Known once the stack exists (from its ARN).
    pub account_id: Option<&'a str>,
}

/// What is known about one side of a template diff: the template's parameter defaults, the
/// given parameter values over them, and the pseudo parameters.
pub fn known(template: &Value, parameters: &BTreeMap<String, String>, pseudo: &Pseudo) -> Known {
    let mut out: Known = HashMap::new();
    if let Some(declared) = template.get("Parameters").and_then(Value::as_object) {
        for (name, decl) in declared {
            let default = match decl.get("Default") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(Value::Bool(b)) => Some(b.to_string()),
                _ => None,
            };
            if let Some(d) = default {
                out.insert(name.clone(), d);
            }
        }
    }
    for (k, v) in parameters {
        out.insert(k.clone(), v.clone());
    }
    for (k, v) in [
        ("AWS::Region", Some(pseudo.region)),
        ("AWS::Partition", Some(pseudo.partition)),
        ("AWS::URLSuffix", Some(pseudo.url_suffix)),
        ("AWS::StackName", Some(pseudo.stack_name)),
        ("AWS::AccountId", pseudo.account_id),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// The account of a CloudFormation stack ARN (`arn:aws:cloudformation:REGION:ACCOUNT:stack/...`).
pub fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Every resource present in both templates with the causes of its replacement.
pub fn predict(
    old: &Value,
    old_known: &Known,
    new: &Value,
    new_known: &Known,
) -> BTreeMap<String, Replacement> {
    replacement::predict_template(old, old_known, new, new_known)
}

/// Merges the predictions into an engine's changes (see the module's documentation).
/// `new_template` gives the types of resources the engine did not list.
pub fn merge(
    changes: &mut Vec<ResourceChange>,
    predictions: &BTreeMap<String, Replacement>,
    new_template: &Value,
) {
    for change in changes.iter_mut() {
        if let Some(p) = predictions.get(&change.logical_id) {
            apply(change, p);
        }
    }
    for (logical_id, p) in predictions {
        if p.certainty().is_none() || changes.iter().any(|c| &c.logical_id == logical_id) {
            continue;
        }
        let resource_type = new_template["Resources"][logical_id]["Type"]
            .as_str()
            .unwrap_or_default();
        let mut change = ResourceChange::new(ChangeKind::Modify, resource_type, logical_id);
        apply(&mut change, p);
        changes.push(change);
    }
}

/// One change with its prediction: the stronger verdict wins, the prediction names the cause.
fn apply(change: &mut ResourceChange, prediction: &Replacement) {
    let Some(certainty) = prediction.certainty() else {
        return;
    };
    if matches!(change.action, ChangeKind::Add | ChangeKind::Remove) {
        return;
    }
    change.action = match (certainty, change.action) {
        (Certainty::Replaces, _) => ChangeKind::Replace,
        (Certainty::MayReplace, ChangeKind::Replace) => ChangeKind::Replace,
        (Certainty::MayReplace, _) => ChangeKind::MayReplace,
    };
    change.cause = Some(prediction.reasons());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(bucket_props: Value) -> Value {
        json!({"Resources": {
            "Staging": {"Type": "AWS::S3::Bucket", "Properties": bucket_props},
            "StagingParameter": {"Type": "AWS::SSM::Parameter",
                "Properties": {"Name": {"Ref": "BucketParameterName"}, "Type": "String", "Value": {"Ref": "Staging"}}},
        }})
    }

    fn pseudo() -> Pseudo<'static> {
        Pseudo {
            region: "eu-west-1",
            partition: "aws",
            url_suffix: "amazonaws.com",
            stack_name: "guide",
            account_id: Some("123456789012"),
        }
    }

    #[test]
    fn parameters_override_defaults_and_pseudo_parameters_are_known() {
        let t = json!({"Parameters": {"A": {"Type": "String", "Default": "/a"}, "B": {"Type": "String"}}});
        let k = known(
            &t,
            &BTreeMap::from([("B".to_string(), "/b".to_string())]),
            &pseudo(),
        );
        assert_eq!(k["A"], "/a");
        assert_eq!(k["B"], "/b");
        assert_eq!(k["AWS::AccountId"], "123456789012");
        assert_eq!(k["AWS::Region"], "eu-west-1");
        assert_eq!(
            account_of_arn("arn:aws:cloudformation:eu-west-1:123456789012:stack/guide/x"),
            Some("123456789012")
        );
    }

    #[test]
    fn a_change_set_that_says_modify_becomes_a_replacement_with_its_cause() {
        let old = template(json!({}));
        let new = template(json!({"BucketName": "acme-eu-west-1"}));
        let k = known(&old, &BTreeMap::new(), &pseudo());
        let mut changes = vec![ResourceChange::new(
            ChangeKind::Modify,
            "AWS::S3::Bucket",
            "Staging",
        )];
        merge(&mut changes, &predict(&old, &k, &new, &k), &new);
        assert_eq!(changes[0].action, ChangeKind::Replace);
        assert_eq!(changes[0].cause.as_deref(), Some("BucketName added"));
        // The parameter's Value refers to the replaced bucket, but Value is not create-only:
        // only create-only references carry a replacement along.
        assert_eq!(changes.len(), 1);
    }

    #[test]
    fn a_parameter_given_by_reference_or_literally_is_the_same_name() {
        let old = template(json!({}));
        let mut new = template(json!({"VersioningConfiguration": {"Status": "Enabled"}}));
        new["Resources"]["StagingParameter"]["Properties"]["Name"] = json!("/buckets/staging");
        let old_known = known(
            &old,
            &BTreeMap::from([("BucketParameterName".into(), "/buckets/staging".into())]),
            &pseudo(),
        );
        let new_known = known(&new, &BTreeMap::new(), &pseudo());
        let mut changes = vec![
            ResourceChange::new(ChangeKind::Modify, "AWS::S3::Bucket", "Staging"),
            ResourceChange::new(
                ChangeKind::Modify,
                "AWS::SSM::Parameter",
                "StagingParameter",
            ),
        ];
        merge(
            &mut changes,
            &predict(&old, &old_known, &new, &new_known),
            &new,
        );
        assert!(changes.iter().all(|c| c.action == ChangeKind::Modify));
        assert!(changes.iter().all(|c| c.cause.is_none()));
    }

    #[test]
    fn the_engines_replacement_stays_and_unlisted_replacements_are_added() {
        let old = json!({"Resources": {
            "Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Description": "a"}},
            "Other": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Description": "x"}},
        }});
        let new = json!({"Resources": {
            "Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Description": "b"}},
            "Other": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Description": "x"}},
        }});
        let k = Known::new();
        let mut said_replace =
            ResourceChange::new(ChangeKind::Replace, "AWS::IAM::ManagedPolicy", "Other");
        said_replace.engine_replacement = Some("True".into());
        let mut changes = vec![said_replace];
        merge(&mut changes, &predict(&old, &k, &new, &k), &new);
        assert_eq!(changes[0].action, ChangeKind::Replace);
        assert_eq!(changes[0].cause, None);
        assert_eq!(changes[1].logical_id, "Policy");
        assert_eq!(changes[1].action, ChangeKind::Replace);
        assert_eq!(changes[1].cause.as_deref(), Some("Description changed"));
        assert_eq!(changes[1].resource_type, "AWS::IAM::ManagedPolicy");
    }
}
