//! What the other operations report per target, engine-neutral: a stack's failure, applying,
//! destroying, status and drift. Their entries in the commands' JSON documents are in
//! [`super::entries`].

use crate::runner::{Failed, Failure};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// The first failed resource event of an operation: what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FailedEvent {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
}

impl std::fmt::Display for FailedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) {}: {}",
            self.logical_id, self.resource_type, self.status, self.reason
        )
    }
}

/// A failure of one target's stack: the classified failure, and what the engine said of the
/// stack when it ended (its status, the first failed resource event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackFailure {
    pub stack: String,
    pub failure: Failure,
    pub status: Option<String>,
    pub first_failure: Option<Box<FailedEvent>>,
}

impl StackFailure {
    pub fn new(stack: &str, failure: impl Into<Failure>) -> Self {
        StackFailure {
            stack: stack.to_string(),
            failure: failure.into(),
            status: None,
            first_failure: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.failure.hint = Some(hint.into());
        self
    }

    pub fn message(&self) -> &str {
        &self.failure.message
    }
}

impl Failed for StackFailure {
    fn failure(&self) -> &Failure {
        &self.failure
    }
}

/// How a target's apply ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Updated,
    Recreated,
    Unchanged,
    /// The target's stack was deleted (StackSets: an instance no longer wanted).
    Deleted,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Recreated => "recreated",
            Outcome::Unchanged => "unchanged",
            Outcome::Deleted => "deleted",
        }
    }
}

/// A target applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Applied {
    pub stack_name: String,
    pub result: Outcome,
    pub status: Option<String>,
    /// Why the target is in its status, in the engine's words (StackSets: the instance's).
    pub status_reason: Option<String>,
    /// The engine's operation that reached the target (StackSets).
    pub operation_id: Option<String>,
    pub warnings: Vec<String>,
}

/// A resource of a stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct StackResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// `DeletionPolicy: Retain` (or `RetainExceptOnCreate`): it outlives the stack.
    pub retained: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DestroyResult {
    Deleted,
    NotDeployed,
}

/// A target destroyed (or found without a stack).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Destroyed {
    pub result: DestroyResult,
    /// Resources left behind on purpose (buckets and keys with their data).
    pub retained: Vec<StackResource>,
}

/// A target's stack as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct StackStatus {
    pub stack_name: String,
    pub deployed: bool,
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub last_updated: Option<String>,
    pub termination_protection: Option<bool>,
    pub drift_status: Option<String>,
    /// StackSets: the instance's detailed status (SUCCEEDED, FAILED, RUNNING, ...).
    pub detailed_status: Option<String>,
    /// StackSets: the set's operation that last touched the instance.
    pub last_operation: Option<LastOperation>,
    pub outputs: BTreeMap<String, String>,
}

/// An engine operation, as a status report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct LastOperation {
    pub id: String,
    /// CREATE, UPDATE, DELETE, DETECT_DRIFT.
    pub action: String,
    /// SUCCEEDED, FAILED, STOPPED, RUNNING, ...
    pub status: String,
    pub ended: Option<String>,
}

impl StackStatus {
    /// No stack there.
    pub fn not_deployed(stack_name: &str) -> Self {
        StackStatus {
            stack_name: stack_name.to_string(),
            deployed: false,
            status: None,
            status_reason: None,
            last_updated: None,
            termination_protection: None,
            drift_status: None,
            detailed_status: None,
            last_operation: None,
            outputs: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PropertyDiff {
    pub path: String,
    pub kind: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// MODIFIED or DELETED.
    pub status: String,
    pub differences: Vec<PropertyDiff>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DriftState {
    InSync,
    Drifted,
    NotDeployed,
}

/// A target's drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct StackDrift {
    pub state: DriftState,
    pub drifted: Vec<ResourceDrift>,
    /// Some resources could not be checked (the others' results are valid).
    pub note: Option<String>,
}

/// How to apply: the command line's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Keep a failed stack as it is instead of rolling back.
    pub no_rollback: bool,
    /// Delete and create again a stack whose first creation failed.
    pub recreate_failed: bool,
    /// Turn termination protection on for stacks this run creates.
    pub termination_protection: bool,
}

/// What a target holds, read before destroying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    pub status: String,
    pub resources: Vec<StackResource>,
    pub engine: EngineStack,
}

/// The engine's handle on what it destroys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineStack {
    CloudFormation {
        stack_id: String,
        termination_protection: bool,
    },
    /// The target's resources in the Terraform state (one state holds every target).
    Terraform,
    /// A stack instance; its stack, when CloudFormation names it.
    StackSetInstance { stack_id: Option<String> },
}

impl Inventory {
    pub fn retained(&self) -> Vec<StackResource> {
        self.resources
            .iter()
            .filter(|r| r.retained)
            .cloned()
            .collect()
    }
}

/// Why a saved plan's target cannot be applied as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// Something moved since the plan: refuse the whole plan.
    Stale(String),
    /// The target could not be read: it fails, the others go on.
    Failed(StackFailure),
}
