//! What a plan is, engine-neutral: per region an action, the resource changes and the
//! security changes, and the summary over all regions. The operations produce it, the display
//! prints it and the plan file records it; this module depends on none of them.

use super::error::RegionFailure;
use serde::{Deserialize, Serialize};

/// What a region's stack needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    NoChanges,
    /// The stack's first creation failed (ROLLBACK_COMPLETE): delete it and create it again.
    Recreate,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create stack",
            Action::Update => "update stack",
            Action::NoChanges => "no changes",
            Action::Recreate => "recreate stack (its first creation failed: ROLLBACK_COMPLETE)",
        }
    }
}

/// One region's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionPlan {
    pub region: String,
    pub stack_name: String,
    pub action: Action,
    /// The stack's status before the plan (absent: no stack).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    pub changes: Vec<Change>,
    pub security: Vec<SecurityChange>,
    /// When the stack last changed at plan time (a plan file is stale when it moved).
    #[serde(skip)]
    pub stack_changed_at: Option<String>,
    /// The plan created an empty stack (REVIEW_IN_PROGRESS) to hold a CREATE change set.
    #[serde(skip)]
    pub created_review_stack: bool,
}

impl RegionPlan {
    pub fn has_changes(&self) -> bool {
        self.action != Action::NoChanges
    }

    /// Replacements of stateful resources: data loss.
    pub fn data_loss(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| matches!(c.action, ChangeKind::Replace | ChangeKind::MayReplace))
            .filter(|c| {
                matches!(
                    c.resource_type.as_str(),
                    "AWS::S3::Bucket" | "AWS::KMS::Key"
                )
            })
            .map(|c| {
                format!(
                    "{} {} ({}) in {}",
                    c.resource_type,
                    c.logical_id,
                    c.action.word(),
                    self.region
                )
            })
            .collect()
    }
}

pub type RegionResult = Result<RegionPlan, RegionFailure>;

/// The plan of every region, as `plan` prints it and `apply` shows it before asking.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    pub stack_name: String,
    pub regions: Vec<PlanEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principals: Option<Principals>,
    pub summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanEntry {
    pub region: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub plan: Option<RegionPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RegionFailure>,
}

impl PlanReport {
    pub fn new(stack_name: &str, results: &[RegionResult], principals: Option<Principals>) -> Self {
        let regions: Vec<PlanEntry> = results
            .iter()
            .map(|r| match r {
                Ok(p) => PlanEntry {
                    region: p.region.clone(),
                    plan: Some(p.clone()),
                    error: None,
                },
                Err(f) => PlanEntry {
                    region: f.region.clone(),
                    plan: None,
                    error: Some(f.clone()),
                },
            })
            .collect();
        PlanReport {
            stack_name: stack_name.to_string(),
            summary: Summary::of(&regions),
            regions,
            principals,
            plan_file: None,
        }
    }

    pub fn failures(&self) -> Vec<&RegionFailure> {
        self.regions
            .iter()
            .filter_map(|r| r.error.as_ref())
            .collect()
    }

    pub fn has_changes(&self) -> bool {
        self.regions
            .iter()
            .filter_map(|r| r.plan.as_ref())
            .any(RegionPlan::has_changes)
    }
}

/// Counts over all regions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub regions: usize,
    pub create: usize,
    pub update: usize,
    pub recreate: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub add: usize,
    pub modify: usize,
    pub remove: usize,
    pub replace: usize,
    pub security_changes: usize,
}

impl Summary {
    pub fn of(entries: &[PlanEntry]) -> Self {
        let mut s = Summary {
            regions: entries.len(),
            ..Default::default()
        };
        for e in entries {
            let Some(p) = &e.plan else {
                s.failed += 1;
                continue;
            };
            match p.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Recreate => s.recreate += 1,
                Action::NoChanges => s.unchanged += 1,
            }
            for c in &p.changes {
                match c.action {
                    ChangeKind::Add => s.add += 1,
                    ChangeKind::Modify | ChangeKind::Other => s.modify += 1,
                    ChangeKind::Replace | ChangeKind::MayReplace => s.replace += 1,
                    ChangeKind::Remove => s.remove += 1,
                }
            }
            s.security_changes += p.security.len();
        }
        s
    }

    pub fn line(&self) -> String {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let mut stacks = vec![];
        for (n, what) in [
            (self.create, "to create"),
            (self.update, "to update"),
            (self.recreate, "to recreate"),
            (self.unchanged, "unchanged"),
            (self.failed, "failed"),
        ] {
            if n > 0 {
                stacks.push(format!("{n} {what}"));
            }
        }
        format!(
            "Plan: {} region{} ({}); resources: {} to add, {} to modify, {} to replace, {} to remove; {} security change{}.",
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

/// One resource change of a change set, as `plan` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: ChangeKind,
    pub resource_type: String,
    pub logical_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Add,
    Modify,
    /// Modified, and CloudFormation may replace it depending on a value known only at runtime.
    MayReplace,
    Replace,
    Remove,
    /// Import, Dynamic, SyncWithActual: shown as modifications.
    Other,
}

impl ChangeKind {
    pub fn symbol(self) -> &'static str {
        match self {
            ChangeKind::Add => "+",
            ChangeKind::Modify | ChangeKind::Other => "~",
            ChangeKind::MayReplace => "±?",
            ChangeKind::Replace => "±",
            ChangeKind::Remove => "-",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            ChangeKind::Add => "add",
            ChangeKind::Modify | ChangeKind::Other => "modify",
            ChangeKind::MayReplace => "may replace",
            ChangeKind::Replace => "replace",
            ChangeKind::Remove => "remove",
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

/// One security-relevant difference.
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
