//! What a plan is, engine-neutral: per target an action, the resource changes and the
//! security changes, what the engine needs to apply it (its payload), and the summary over all
//! targets; the data-loss guard reads it. The engines produce it, the display prints it and
//! the plan file records it.

use super::change::{ChangeKind, ResourceChange};
use super::guard::DataLoss;
use super::results::StackFailure;
use super::stackset::{StackSetOverview, StackSetPlan};
use crate::runner::{Reports, Target, TargetOutcome};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// What deploys the storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// One CloudFormation stack per region, through change sets.
    #[default]
    CloudFormation,
    /// The rendered Terraform root module, one state for every region, through the CLI.
    Terraform,
    /// One stack set: a stack instance per target account and region.
    StackSets,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::CloudFormation => "cloudformation",
            EngineKind::Terraform => "terraform",
            EngineKind::StackSets => "stacksets",
        }
    }

    /// What one target is, in words (`3 regions`, `6 stack instances`).
    pub fn target_noun(self) -> &'static str {
        match self {
            EngineKind::StackSets => "stack instance",
            _ => "region",
        }
    }
}

/// What a target's deployment needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    NoChanges,
    /// The first creation failed (CloudFormation: ROLLBACK_COMPLETE): delete, create again.
    Recreate,
    /// The target is no longer wanted: its stack is deleted (StackSets: an instance removed).
    Delete,
    /// The last operation did not bring the target up to date (StackSets: OUTDATED): it is
    /// tried again with what is deployed elsewhere.
    Retry,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create stack",
            Action::Update => "update stack",
            Action::NoChanges => "no changes",
            Action::Recreate => "recreate stack (its first creation failed: ROLLBACK_COMPLETE)",
            Action::Delete => "delete stack",
            Action::Retry => "retry stack (OUTDATED: the last operation did not complete here)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sign {
    Added,
    Removed,
}

impl Sign {
    pub fn symbol(self) -> &'static str {
        match self {
            Sign::Added => "+",
            Sign::Removed => "-",
        }
    }
}

/// One security-relevant difference: a policy statement or an allowed principal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SecurityChange {
    pub change: Sign,
    /// Logical id of the policy resource, or the principals parameter.
    pub resource: String,
    pub resource_type: String,
    /// A statement in one line, or a principal pattern.
    pub detail: String,
}

/// One allowed `aws:userId` pattern and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// `AROA…:*` (any session of a role), `AROA…:session`, `AIDA…` (a user), or the account ID.
    pub pattern: String,
    /// What it is: `account root`, `deploying identity arn:…`, `role ci-runner (access.roles)`.
    pub source: String,
}

/// The resolved allow list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principals {
    pub account: String,
    pub deployer_arn: String,
    pub entries: Vec<Principal>,
}

impl Principals {
    /// The stack parameter's value: the patterns, comma-joined, in a stable order.
    pub fn parameter_value(&self) -> String {
        self.patterns().join(",")
    }

    pub fn patterns(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.pattern.clone()).collect()
    }

    /// What a pattern stands for, when it is one of ours.
    pub fn describe(&self, pattern: &str) -> Option<String> {
        self.entries
            .iter()
            .find(|e| e.pattern == pattern)
            .map(|e| e.source.clone())
    }

    /// Adds a pattern once (the first source wins).
    pub fn push(&mut self, pattern: String, source: String) {
        if !self.entries.iter().any(|e| e.pattern == pattern) {
            self.entries.push(Principal { pattern, source });
        }
    }
}

/// What the CloudFormation engine needs to apply a plan: the change set and the stack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSetPlan {
    /// The stack's status before the plan (absent: no stack).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    /// When the stack last changed at plan time (a plan file is stale when it moved).
    #[serde(skip)]
    pub stack_changed_at: Option<String>,
    /// The plan created an empty stack (REVIEW_IN_PROGRESS) to hold a CREATE change set.
    #[serde(skip)]
    pub created_review_stack: bool,
    /// The change set is an IMPORT of existing resources (an adopted bucket): once it
    /// completes, the full template is applied by an UPDATE change set made then.
    #[serde(skip)]
    pub import: bool,
}

/// What the Terraform engine needs to apply a target's part of the plan: nothing of its own
/// in the plan document (one Terraform plan covers every region; the plan file records it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TerraformPlan {
    /// The resource addresses of this target that change (its part of the apply).
    #[serde(skip)]
    pub addresses: Vec<String>,
}

/// The engine's part of a target's plan: what it needs to apply or discard it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum EnginePlan {
    CloudFormation(ChangeSetPlan),
    Terraform(TerraformPlan),
    StackSets(StackSetPlan),
}

/// One target's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetPlan {
    pub stack_name: String,
    pub action: Action,
    #[serde(flatten)]
    pub engine: EnginePlan,
    pub changes: Vec<ResourceChange>,
    pub security: Vec<SecurityChange>,
}

/// Resource types whose replacement or removal loses data (a bucket's objects, what a key
/// encrypted), in either engine's spelling.
pub fn holds_data(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "AWS::S3::Bucket" | "AWS::KMS::Key" | "aws_s3_bucket" | "aws_kms_key"
    )
}

/// Resource types whose removal loses something users rely on: the data (bucket, key), the
/// bucket-name parameter clients find the bucket by, the managed policies whose ARNs others
/// attach. (Buckets and keys outlive their stack by DeletionPolicy, but are orphaned.)
pub fn removal_loses(resource_type: &str) -> bool {
    holds_data(resource_type)
        || matches!(
            resource_type,
            "AWS::SSM::Parameter" | "AWS::IAM::ManagedPolicy"
        )
}

/// The CloudFormation payload of a plan of another engine: nothing kept.
const NO_CHANGE_SET: &ChangeSetPlan = &ChangeSetPlan {
    stack_status: None,
    change_set_arn: None,
    stack_id: None,
    stack_changed_at: None,
    created_review_stack: false,
    import: false,
};

impl TargetPlan {
    pub fn has_changes(&self) -> bool {
        self.action != Action::NoChanges
    }

    /// The data-loss guard ([`super::guard`]): removals and replacements of buckets, keys,
    /// the bucket-name parameter and managed policies.
    pub fn data_loss(&self, target: &Target) -> Vec<DataLoss> {
        super::guard::data_loss(target, &self.changes)
    }

    /// The CloudFormation engine's part (nothing for another engine's plan).
    pub fn change_set(&self) -> &ChangeSetPlan {
        match &self.engine {
            EnginePlan::CloudFormation(c) => c,
            _ => NO_CHANGE_SET,
        }
    }

    /// The StackSets engine's part.
    pub fn stack_set(&self) -> Option<&StackSetPlan> {
        match &self.engine {
            EnginePlan::StackSets(s) => Some(s),
            _ => None,
        }
    }
}

impl TargetOutcome for TargetPlan {
    type Error = StackFailure;

    fn summary(&self) -> String {
        self.action.word().to_string()
    }

    fn failed_entry(target: &Target, error: &StackFailure, _: Duration) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("error".into(), error.json(target));
        m
    }
}

/// The plan of every target, as `plan` prints it and `apply` shows it before asking.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub stack_name: String,
    pub engine: EngineKind,
    pub regions: Reports<TargetPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principals: Option<Principals>,
    /// The stack set as a whole (StackSets): its targets resolved, what changes set-wide.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_set: Option<Box<StackSetOverview>>,
    pub summary: Summary,
    /// What the data-loss guard refuses (shown by `plan`, refused by `plan` and `apply`
    /// without `--allow-replace`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_loss: Vec<DataLoss>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<String>,
}

impl PlanReport {
    pub fn new(
        stack_name: &str,
        engine: EngineKind,
        regions: Reports<TargetPlan>,
        principals: Option<Principals>,
    ) -> Self {
        let data_loss = regions
            .succeeded()
            .flat_map(|(t, p)| p.data_loss(t))
            .collect();
        PlanReport {
            stack_name: stack_name.to_string(),
            engine,
            summary: Summary::of(&regions),
            regions,
            principals,
            data_loss,
            stack_set: None,
            plan_file: None,
        }
    }

    pub fn has_changes(&self) -> bool {
        self.regions.succeeded().any(|(_, p)| p.has_changes())
    }

    /// What the plan would lose (the data-loss guard), over every target, one line each.
    pub fn data_loss(&self) -> Vec<String> {
        self.data_loss.iter().map(ToString::to_string).collect()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Counts over all targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub regions: usize,
    pub create: usize,
    pub update: usize,
    pub recreate: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub delete: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub retry: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub add: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub import: usize,
    pub modify: usize,
    pub remove: usize,
    pub replace: usize,
    pub security_changes: usize,
}

impl Summary {
    pub fn of(reports: &Reports<TargetPlan>) -> Self {
        let mut s = Summary {
            regions: reports.0.len(),
            failed: reports.failures().count(),
            ..Default::default()
        };
        for (_, p) in reports.succeeded() {
            match p.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Recreate => s.recreate += 1,
                Action::Delete => s.delete += 1,
                Action::Retry => s.retry += 1,
                Action::NoChanges => s.unchanged += 1,
            }
            for c in &p.changes {
                match c.action {
                    ChangeKind::Add => s.add += 1,
                    ChangeKind::Import => s.import += 1,
                    ChangeKind::Modify | ChangeKind::Other => s.modify += 1,
                    ChangeKind::Replace | ChangeKind::MayReplace => s.replace += 1,
                    ChangeKind::Remove => s.remove += 1,
                }
            }
            s.security_changes += p.security.len();
        }
        s
    }

    /// The summary line; `noun` is what a target is (`region`, `stack instance`).
    pub fn line(&self, noun: &str) -> String {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let mut stacks = vec![];
        for (n, what) in [
            (self.create, "to create"),
            (self.update, "to update"),
            (self.recreate, "to recreate"),
            (self.retry, "to retry"),
            (self.delete, "to delete"),
            (self.unchanged, "unchanged"),
            (self.failed, "failed"),
        ] {
            if n > 0 {
                stacks.push(format!("{n} {what}"));
            }
        }
        let imports = if self.import > 0 {
            format!("{} to import, ", self.import)
        } else {
            String::new()
        };
        format!(
            "Plan: {} {noun}{} ({}); resources: {imports}{} to add, {} to modify, {} to replace, {} to remove; {} security change{}.",
            self.regions,
            plural(self.regions),
            stacks.join(", "),
            self.add,
            self.modify,
            self.replace,
            self.remove,
            self.security_changes,
            plural(self.security_changes)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::TargetReport;
    use serde_json::json;

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect()
    }

    /// `provision.plan/v1` keeps its fields and their order; `engine` is new.
    #[test]
    fn the_plan_document_keeps_its_shape_with_the_engine_added() {
        let plan = TargetPlan {
            stack_name: "artifact-storage".into(),
            action: Action::Update,
            engine: EnginePlan::CloudFormation(ChangeSetPlan {
                stack_status: Some("UPDATE_COMPLETE".into()),
                change_set_arn: Some("arn:cs".into()),
                stack_id: Some("arn:stack".into()),
                stack_changed_at: Some("2026-01-01T00:00:00Z".into()),
                created_review_stack: false,
                import: false,
            }),
            changes: vec![],
            security: vec![],
        };
        let failed = StackFailure::new("artifact-storage", "cannot connect").with_hint("retry");
        let report = PlanReport::new(
            "artifact-storage",
            EngineKind::CloudFormation,
            Reports(vec![
                TargetReport::new(Target::region("eu-west-1"), Ok(plan)),
                TargetReport::new(Target::region("us-east-1"), Err(failed)),
            ]),
            None,
        );
        let doc = serde_json::to_value(&report).expect("JSON");
        assert_eq!(keys(&doc), ["stack_name", "engine", "regions", "summary"]);
        assert_eq!(doc["engine"], "cloudformation");
        assert_eq!(
            keys(&doc["regions"][0]),
            [
                "region",
                "stack_name",
                "action",
                "stack_status",
                "change_set_arn",
                "stack_id",
                "changes",
                "security"
            ]
        );
        assert_eq!(
            doc["regions"][1],
            json!({"region": "us-east-1", "error": {
                "region": "us-east-1", "stack": "artifact-storage",
                "message": "cannot connect", "hint": "retry"
            }})
        );
        assert_eq!(doc["summary"]["failed"], 1);
    }
}
