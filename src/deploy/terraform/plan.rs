//! A Terraform plan (`terraform show -json`) split into one [`TargetPlan`] per region: the
//! region of each resource comes from its provider alias, account-global resources (IAM
//! group and users, the look-ups) belong to the home region, and a resource whose region
//! cannot be told (there should be none) is reported in the home region too.

use super::security::{PolicyTemplates, security_changes};
use crate::deploy::model::{
    Action, ChangeKind, EnginePlan, ResourceChange, SecurityChange, TargetPlan, TerraformPlan,
};
use crate::terraform::ResourceRegions;
use crate::terraform::json::{Action as TfAction, Mode, Plan, ResourceChange as TfChange};
use serde_json::Value;
use std::collections::BTreeMap;

/// What splitting a plan needs besides the plan.
pub struct Split<'a> {
    pub stack_name: &'a str,
    /// The configuration's home region: account-global resources, and any resource whose
    /// region cannot be told.
    pub home: &'a str,
    /// The region of each resource (from the plan's configuration, or the module's files).
    pub regions: &'a ResourceRegions,
    pub templates: &'a PolicyTemplates,
    /// What an allowed `aws:userId` pattern stands for, for the security table.
    pub describe_principal: &'a dyn Fn(&str) -> Option<String>,
}

/// One plan per region of `targets` (regions without changes: `no changes`).
pub fn target_plans(
    plan: &Plan,
    split: &Split<'_>,
    targets: &[String],
) -> BTreeMap<String, TargetPlan> {
    let mut by_region: BTreeMap<&str, Vec<&TfChange>> = BTreeMap::new();
    for change in plan
        .resource_changes
        .iter()
        .filter(|c| c.mode == Mode::Managed)
    {
        let region = split
            .regions
            .region_of(&change.address)
            .filter(|r| targets.iter().any(|t| t == r))
            .unwrap_or(split.home);
        by_region.entry(region).or_default().push(change);
    }
    targets
        .iter()
        .map(|region| {
            let changes = by_region
                .get(region.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            (region.clone(), region_plan(changes, region, split))
        })
        .collect()
}

fn region_plan(changes: &[&TfChange], region: &str, split: &Split<'_>) -> TargetPlan {
    let shown: Vec<ResourceChange> = changes.iter().filter_map(|c| shown_change(c)).collect();
    // A region is new when the state holds nothing of it yet: every resource of it is
    // created or imported (an adopted bucket).
    let exists = changes
        .iter()
        .any(|c| c.change.actions != [TfAction::Create] && c.change.importing.is_none());
    let action = if shown.is_empty() {
        Action::NoChanges
    } else if exists {
        Action::Update
    } else {
        Action::Create
    };
    let security: Vec<SecurityChange> = if shown.is_empty() {
        Vec::new()
    } else {
        security_changes(changes, region, split.templates, split.describe_principal)
    };
    TargetPlan {
        stack_name: split.stack_name.to_string(),
        action,
        engine: EnginePlan::Terraform(TerraformPlan {
            addresses: shown.iter().map(|c| c.logical_id.clone()).collect(),
        }),
        changes: shown,
        security,
    }
}

/// The change as `plan` shows it, or None when it changes nothing (no-op, a read). An import
/// (an `import {}` block: the object exists and is brought under management) is shown as one,
/// naming what is imported; an import that Terraform would replace stays a replacement, which
/// the data-loss guard refuses.
fn shown_change(c: &TfChange) -> Option<ResourceChange> {
    let actions = c.change.actions.as_slice();
    let imported = c.change.importing.as_ref().map(|i| {
        i.get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    });
    let action = match actions {
        [TfAction::Create] => ChangeKind::Add,
        [TfAction::Delete] => ChangeKind::Remove,
        [TfAction::Delete, TfAction::Create] | [TfAction::Create, TfAction::Delete] => {
            ChangeKind::Replace
        }
        _ if imported.is_some() => ChangeKind::Import,
        [TfAction::Update] => ChangeKind::Modify,
        [TfAction::NoOp] | [TfAction::Read] | [] => return None,
        _ => ChangeKind::Other,
    };
    let cause = match (&imported, action) {
        (Some(id), ChangeKind::Import) => Some(import_note(c, id)),
        _ => action.replaces().then(|| cause(c)).flatten(),
    };
    Some(ResourceChange {
        action,
        resource_type: c.resource_type.clone(),
        logical_id: c.address.clone(),
        physical_id: imported
            .filter(|id| !id.is_empty())
            .or_else(|| c.change.before.str("id").map(str::to_string)),
        cause,
        engine_replacement: None,
    })
}

/// What an import brings in (`import: bucket hand-made-bucket`, `import: parameter
/// /buckets/staging`), as the CloudFormation engine says it, and
/// whether the same apply then updates it to the configuration.
fn import_note(c: &TfChange, id: &str) -> String {
    let what = match c.resource_type.as_str() {
        "aws_s3_bucket" => "bucket",
        "aws_ssm_parameter" => "parameter",
        "aws_s3_bucket_policy" => "policy of bucket",
        other => other,
    };
    if c.change.actions.contains(&TfAction::Update) {
        format!("import: {what} {id}, then updated")
    } else {
        format!("import: {what} {id}")
    }
}

/// Why Terraform replaces a resource: the attributes that force it (`replace_paths`), or the
/// reason it gives (a tainted object).
fn cause(c: &TfChange) -> Option<String> {
    let paths: Vec<String> = c
        .change
        .replace_paths
        .iter()
        .map(|p| path_text(p))
        .collect();
    if !paths.is_empty() {
        return Some(format!("{} changed", paths.join(", ")));
    }
    match c.action_reason.as_deref() {
        Some("replace_because_tainted") => {
            Some("tainted by an earlier failed or interrupted apply".into())
        }
        Some("replace_by_request") => Some("replacement requested".into()),
        Some(other) => Some(other.replace('_', " ")),
        None => None,
    }
}

/// `["rule", 0, "id"]` is `rule[0].id`.
fn path_text(path: &[Value]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Value::String(s) if out.is_empty() => out.push_str(s),
            Value::String(s) => {
                out.push('.');
                out.push_str(s);
            }
            Value::Number(n) => out.push_str(&format!("[{n}]")),
            other => out.push_str(&format!("[{other}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::json::Plan;

    fn recorded(name: &str) -> Plan {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/terraform/fixtures")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn split_with<'a>(regions: &'a ResourceRegions, templates: &'a PolicyTemplates) -> Split<'a> {
        Split {
            stack_name: "artifact-storage",
            home: "eu-west-1",
            regions,
            templates,
            describe_principal: &|_| None,
        }
    }

    #[test]
    fn a_first_plan_creates_every_resource_of_the_region_with_the_security_table() {
        let plan = recorded("show-plan-create.json");
        let regions = plan.regions();
        let templates = PolicyTemplates::minimal_for_tests();
        let plans = target_plans(
            &plan,
            &split_with(&regions, &templates),
            &["eu-west-1".into()],
        );
        let p = &plans["eu-west-1"];
        assert_eq!(p.action, Action::Create);
        assert_eq!(p.changes.len(), 18);
        assert!(p.changes.iter().all(|c| c.action == ChangeKind::Add));
        assert!(
            p.changes
                .iter()
                .any(|c| c.logical_id == "aws_s3_bucket.artifacts_eu_west_1"
                    && c.resource_type == "aws_s3_bucket")
        );
        assert!(
            p.data_loss(&crate::runner::Target::region("eu-west-1"))
                .is_empty()
        );
        let EnginePlan::Terraform(tf) = &p.engine else {
            panic!("a Terraform plan")
        };
        assert_eq!(tf.addresses.len(), 18);
        // The policies' values are known only after apply: the table shows the templates.
        let bucket_policy: Vec<&str> = p
            .security
            .iter()
            .filter(|s| s.resource == "aws_s3_bucket_policy.artifacts_eu_west_1")
            .map(|s| s.detail.as_str())
            .collect();
        assert!(
            bucket_policy.iter().any(|d| d.contains("[DenyInsecureTransport] Deny s3:*")
                && d.contains("${Bucket}")),
            "{bucket_policy:?}"
        );
    }

    #[test]
    fn a_plan_after_apply_has_no_changes() {
        let plan = recorded("show-plan-noop.json");
        let regions = plan.regions();
        let templates = PolicyTemplates::minimal_for_tests();
        let plans = target_plans(
            &plan,
            &split_with(&regions, &templates),
            &["eu-west-1".into(), "us-east-1".into()],
        );
        assert_eq!(plans["eu-west-1"].action, Action::NoChanges);
        assert!(plans["eu-west-1"].changes.is_empty() && plans["eu-west-1"].security.is_empty());
        assert_eq!(plans["us-east-1"].action, Action::NoChanges);
    }

    /// A change of the bucket's name replaces it (the cause named) and the parameter is
    /// updated; a removed bucket is destroyed by Terraform: the data-loss guard lists both.
    #[test]
    fn replacements_name_their_cause_and_the_guard_sees_them() {
        let mut plan = recorded("show-plan-noop.json");
        for c in &mut plan.resource_changes {
            if c.address == "aws_s3_bucket.artifacts_eu_west_1" {
                c.change.actions = vec![TfAction::Delete, TfAction::Create];
                c.change.replace_paths = vec![vec![Value::from("bucket")]];
            }
            if c.address == "aws_iam_policy.write_eu_west_1"
                || c.address == "aws_s3_bucket.logs_eu_west_1"
            {
                c.change.actions = vec![TfAction::Delete];
            }
        }
        let regions = plan.regions();
        let templates = PolicyTemplates::minimal_for_tests();
        let plans = target_plans(
            &plan,
            &split_with(&regions, &templates),
            &["eu-west-1".into()],
        );
        let p = &plans["eu-west-1"];
        assert_eq!(p.action, Action::Update);
        let bucket = p
            .changes
            .iter()
            .find(|c| c.logical_id == "aws_s3_bucket.artifacts_eu_west_1")
            .unwrap();
        assert_eq!(bucket.action, ChangeKind::Replace);
        assert_eq!(bucket.cause.as_deref(), Some("bucket changed"));
        assert!(bucket.physical_id.is_some());
        assert_eq!(
            p.data_loss(&crate::runner::Target::region("eu-west-1"))
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "aws_iam_policy aws_iam_policy.write_eu_west_1 (remove) in eu-west-1",
                "aws_s3_bucket aws_s3_bucket.artifacts_eu_west_1 (replace: bucket changed) in eu-west-1",
                "aws_s3_bucket aws_s3_bucket.logs_eu_west_1 (remove) in eu-west-1"
            ]
        );
        // The removed policy's statements leave; nothing is added for it.
        assert!(
            p.security
                .iter()
                .filter(|s| s.resource == "aws_iam_policy.write_eu_west_1")
                .all(|s| s.change == crate::deploy::model::Sign::Removed)
        );
        assert_eq!(
            path_text(&[Value::from("rule"), Value::from(0), Value::from("id")]),
            "rule[0].id"
        );
    }

    /// Import blocks (an adopted bucket and its parameter) are shown as imports naming what is
    /// imported, count as changes, and are not data loss; an import Terraform would replace
    /// stays a replacement, which the guard refuses.
    #[test]
    fn imports_are_shown_named_and_safe_unless_replaced() {
        let mut plan = recorded("show-plan-create.json");
        for c in &mut plan.resource_changes {
            if c.address == "aws_s3_bucket.artifacts_eu_west_1" {
                c.change.actions = vec![TfAction::Update];
                c.change.importing = Some(serde_json::json!({"id": "hand-made-bucket"}));
            }
            if c.address == "aws_ssm_parameter.bucket_name_eu_west_1" {
                c.change.actions = vec![TfAction::NoOp];
                c.change.importing = Some(serde_json::json!({"id": "/buckets/staging"}));
            }
        }
        let regions = plan.regions();
        let templates = PolicyTemplates::minimal_for_tests();
        let split = split_with(&regions, &templates);
        let p = &target_plans(&plan, &split, &["eu-west-1".into()])["eu-west-1"];
        // Nothing of the region is in the state yet: it is created, with two imports.
        assert_eq!(p.action, Action::Create);
        let imports: Vec<(&str, Option<&str>, Option<&str>)> = p
            .changes
            .iter()
            .filter(|c| c.action == ChangeKind::Import)
            .map(|c| {
                (
                    c.logical_id.as_str(),
                    c.physical_id.as_deref(),
                    c.cause.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            imports,
            [
                (
                    "aws_s3_bucket.artifacts_eu_west_1",
                    Some("hand-made-bucket"),
                    Some("import: bucket hand-made-bucket, then updated")
                ),
                (
                    "aws_ssm_parameter.bucket_name_eu_west_1",
                    Some("/buckets/staging"),
                    Some("import: parameter /buckets/staging")
                )
            ]
        );
        let target = crate::runner::Target::region("eu-west-1");
        assert!(p.data_loss(&target).is_empty());

        for c in &mut plan.resource_changes {
            if c.address == "aws_s3_bucket.artifacts_eu_west_1" {
                c.change.actions = vec![TfAction::Delete, TfAction::Create];
                c.change.replace_paths = vec![vec![Value::from("bucket")]];
            }
        }
        let p = &target_plans(&plan, &split, &["eu-west-1".into()])["eu-west-1"];
        assert_eq!(
            p.data_loss(&target)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "aws_s3_bucket aws_s3_bucket.artifacts_eu_west_1 (replace: bucket changed) in eu-west-1"
            ]
        );
    }
}
