//! What the other operations report per target, engine-neutral: a stack's failure, applying,
//! destroying, status and drift. Each result knows its entry in its command's JSON document
//! (`runner::TargetOutcome`), in the shape docs/commands/*.md describe.

use crate::runner::{Failed, Failure, Target, TargetOutcome};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// The first failed resource event of an operation: what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

    /// The `error` of a target's JSON entry: `{region, stack, message, hint}`.
    pub fn json(&self, target: &Target) -> Value {
        let mut e = json!({
            "region": target.region,
            "stack": self.stack,
            "message": self.failure.message,
        });
        if let (Some(hint), Value::Object(m)) = (&self.failure.hint, &mut e) {
            m.insert("hint".into(), hint.clone().into());
        }
        e
    }
}

impl Failed for StackFailure {
    fn failure(&self) -> &Failure {
        &self.failure
    }
}

/// How a target's apply ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub stack_name: String,
    pub result: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why the target is in its status, in the engine's words (StackSets: the instance's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// The engine's operation that reached the target (StackSets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl TargetOutcome for Applied {
    type Error = StackFailure;

    fn summary(&self) -> String {
        format!(
            "{} ({})",
            self.result.word(),
            self.status.clone().unwrap_or_default()
        )
    }

    fn entry(&self, elapsed: Duration) -> Map<String, Value> {
        let mut m = match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        m.insert("seconds".into(), json!(elapsed.as_secs_f64()));
        m
    }

    fn failed_entry(target: &Target, e: &StackFailure, elapsed: Duration) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("stack_name".into(), e.stack.clone().into());
        m.insert("result".into(), "failed".into());
        if let Some(s) = &e.status {
            m.insert("status".into(), s.clone().into());
        }
        if let Some(f) = &e.first_failure {
            m.insert("first_failure".into(), json!(f));
        }
        m.insert("error".into(), e.json(target));
        m.insert("seconds".into(), json!(elapsed.as_secs_f64()));
        m
    }
}

/// A resource of a stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// `DeletionPolicy: Retain` (or `RetainExceptOnCreate`): it outlives the stack.
    pub retained: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DestroyResult {
    Deleted,
    NotDeployed,
}

/// A target destroyed (or found without a stack).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destroyed {
    pub result: DestroyResult,
    /// Resources left behind on purpose (buckets and keys with their data).
    pub retained: Vec<StackResource>,
}

impl TargetOutcome for Destroyed {
    type Error = StackFailure;

    fn summary(&self) -> String {
        match self.result {
            DestroyResult::Deleted => "deleted".into(),
            DestroyResult::NotDeployed => "not deployed".into(),
        }
    }

    fn failed_entry(target: &Target, e: &StackFailure, _: Duration) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("result".into(), "failed".into());
        m.insert("retained".into(), json!([]));
        if let Some(f) = &e.first_failure {
            m.insert("first_failure".into(), json!(f));
        }
        m.insert("error".into(), e.json(target));
        m
    }
}

/// A target's stack as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackStatus {
    pub stack_name: String,
    pub deployed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_protection: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_status: Option<String>,
    /// StackSets: the instance's detailed status (SUCCEEDED, FAILED, RUNNING, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detailed_status: Option<String>,
    /// StackSets: the set's operation that last touched the instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_operation: Option<LastOperation>,
    pub outputs: BTreeMap<String, String>,
}

/// An engine operation, as a status report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastOperation {
    pub id: String,
    /// CREATE, UPDATE, DELETE, DETECT_DRIFT.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action: String,
    /// SUCCEEDED, FAILED, STOPPED, RUNNING, ...
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
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

impl TargetOutcome for StackStatus {
    type Error = StackFailure;

    fn summary(&self) -> String {
        self.status.clone().unwrap_or_else(|| "not deployed".into())
    }

    fn failed_entry(target: &Target, e: &StackFailure, _: Duration) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("stack_name".into(), e.stack.clone().into());
        m.insert("deployed".into(), false.into());
        m.insert("outputs".into(), json!({}));
        m.insert("error".into(), e.json(target));
        m
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropertyDiff {
    pub path: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// MODIFIED or DELETED.
    pub status: String,
    pub differences: Vec<PropertyDiff>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftState {
    InSync,
    Drifted,
    NotDeployed,
}

/// A target's drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackDrift {
    pub state: DriftState,
    pub drifted: Vec<ResourceDrift>,
    /// Some resources could not be checked (the others' results are valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl TargetOutcome for StackDrift {
    type Error = StackFailure;

    fn exit(&self) -> crate::exit::Exit {
        if self.state == DriftState::Drifted {
            crate::exit::Exit::Changes
        } else {
            crate::exit::Exit::Success
        }
    }

    fn summary(&self) -> String {
        match self.state {
            DriftState::InSync => "in sync".into(),
            DriftState::Drifted => format!("drifted ({} resources)", self.drifted.len()),
            DriftState::NotDeployed => "not deployed".into(),
        }
    }

    fn failed_entry(target: &Target, e: &StackFailure, _: Duration) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("state".into(), "failed".into());
        m.insert("drifted".into(), json!([]));
        m.insert("error".into(), e.json(target));
        m
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Reports, TargetReport};

    /// The per-region entries of `apply`, `destroy`, `status` and `drift` keep the fields
    /// docs/commands/*.md describe, failed or not.
    #[test]
    fn failed_entries_keep_their_commands_shapes() {
        let target = Target::region("eu-west-1");
        let mut failure = StackFailure::new("artifact-storage", "the update failed");
        failure.status = Some("UPDATE_ROLLBACK_COMPLETE".into());
        failure.first_failure = Some(Box::new(FailedEvent {
            logical_id: "Bucket".into(),
            resource_type: "AWS::S3::Bucket".into(),
            status: "UPDATE_FAILED".into(),
            reason: "Access Denied".into(),
        }));
        let entry = |fields: Map<String, Value>| -> Vec<String> {
            let mut keys = vec!["region".to_string()];
            keys.extend(fields.keys().cloned());
            keys
        };
        let d = Duration::from_millis(1500);
        assert_eq!(
            entry(Applied::failed_entry(&target, &failure, d)),
            [
                "region",
                "stack_name",
                "result",
                "status",
                "first_failure",
                "error",
                "seconds"
            ]
        );
        assert_eq!(
            entry(Destroyed::failed_entry(&target, &failure, d)),
            ["region", "result", "retained", "first_failure", "error"]
        );
        assert_eq!(
            entry(StackStatus::failed_entry(&target, &failure, d)),
            ["region", "stack_name", "deployed", "outputs", "error"]
        );
        assert_eq!(
            entry(StackDrift::failed_entry(&target, &failure, d)),
            ["region", "state", "drifted", "error"]
        );
        let applied = Reports(vec![TargetReport {
            target: target.clone(),
            outcome: Ok(Applied {
                stack_name: "artifact-storage".into(),
                result: Outcome::Updated,
                status: Some("UPDATE_COMPLETE".into()),
                status_reason: None,
                operation_id: None,
                warnings: vec![],
            }),
            elapsed: d,
        }]);
        assert_eq!(
            serde_json::to_value(&applied).expect("JSON"),
            json!([{"region": "eu-west-1", "stack_name": "artifact-storage",
                    "result": "updated", "status": "UPDATE_COMPLETE", "seconds": 1.5}])
        );
    }
}
