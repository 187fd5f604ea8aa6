//! The per-target entries of the deploy commands' JSON documents (`runner::TargetOutcome`):
//! what a succeeded target shows (the result, `apply` with how long it took) and what a failed
//! one shows, in the shapes docs/commands/*.md describe and `schema/*.schema.json` records.

use super::results::{
    Applied, DestroyResult, Destroyed, DriftState, FailedEvent, ResourceDrift, StackDrift,
    StackFailure, StackResource, StackStatus,
};
use crate::runner::{Target, TargetOutcome};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

impl StackFailure {
    /// The `error` of a target's JSON entry.
    pub fn entry(&self, target: &Target) -> StackError {
        StackError {
            region: target.region.clone(),
            stack: self.stack.clone(),
            message: self.failure.message.clone(),
            hint: self.failure.hint.clone(),
        }
    }
}

/// A target's failure in a JSON document: where, which stack, what, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct StackError {
    pub region: String,
    pub stack: String,
    pub message: String,
    pub hint: Option<String>,
}

/// The `result` (or `state`) of a failed target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailedResult {
    Failed,
}

/// A target applied, as its entry shows it: with how long it took.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TimedApplied<'a> {
    #[serde(flatten)]
    pub applied: &'a Applied,
    pub seconds: f64,
}

/// A target whose apply failed: the stack's status and first failed event, when known.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApplyFailed {
    pub stack_name: String,
    pub result: FailedResult,
    pub status: Option<String>,
    pub first_failure: Option<FailedEvent>,
    pub seconds: f64,
}

impl TargetOutcome for Applied {
    type Error = StackFailure;
    type Entry<'a> = TimedApplied<'a>;
    type FailedEntry = ApplyFailed;
    type ErrorEntry = StackError;

    fn summary(&self) -> String {
        format!(
            "{} ({})",
            self.result.word(),
            self.status.clone().unwrap_or_default()
        )
    }

    fn entry(&self, elapsed: Duration) -> TimedApplied<'_> {
        TimedApplied {
            applied: self,
            seconds: elapsed.as_secs_f64(),
        }
    }

    fn failed_entry(
        target: &Target,
        e: &StackFailure,
        elapsed: Duration,
    ) -> (ApplyFailed, StackError) {
        let failed = ApplyFailed {
            stack_name: e.stack.clone(),
            result: FailedResult::Failed,
            status: e.status.clone(),
            first_failure: e.first_failure.as_deref().cloned(),
            seconds: elapsed.as_secs_f64(),
        };
        (failed, e.entry(target))
    }
}

/// A target whose destroy failed: nothing retained, the first failed event when known.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DestroyFailed {
    pub result: FailedResult,
    pub retained: Vec<StackResource>,
    pub first_failure: Option<FailedEvent>,
}

impl TargetOutcome for Destroyed {
    type Error = StackFailure;
    type Entry<'a> = &'a Destroyed;
    type FailedEntry = DestroyFailed;
    type ErrorEntry = StackError;

    fn summary(&self) -> String {
        match self.result {
            DestroyResult::Deleted => "deleted".into(),
            DestroyResult::NotDeployed => "not deployed".into(),
        }
    }

    fn entry(&self, _: Duration) -> &Destroyed {
        self
    }

    fn failed_entry(target: &Target, e: &StackFailure, _: Duration) -> (DestroyFailed, StackError) {
        let failed = DestroyFailed {
            result: FailedResult::Failed,
            retained: Vec::new(),
            first_failure: e.first_failure.as_deref().cloned(),
        };
        (failed, e.entry(target))
    }
}

/// A target whose status could not be read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusFailed {
    pub stack_name: String,
    pub deployed: bool,
    pub outputs: BTreeMap<String, String>,
}

impl TargetOutcome for StackStatus {
    type Error = StackFailure;
    type Entry<'a> = &'a StackStatus;
    type FailedEntry = StatusFailed;
    type ErrorEntry = StackError;

    fn summary(&self) -> String {
        self.status.clone().unwrap_or_else(|| "not deployed".into())
    }

    fn entry(&self, _: Duration) -> &StackStatus {
        self
    }

    fn failed_entry(target: &Target, e: &StackFailure, _: Duration) -> (StatusFailed, StackError) {
        let failed = StatusFailed {
            stack_name: e.stack.clone(),
            deployed: false,
            outputs: BTreeMap::new(),
        };
        (failed, e.entry(target))
    }
}

/// A target whose drift could not be detected.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DriftFailed {
    pub state: FailedResult,
    pub drifted: Vec<ResourceDrift>,
    pub note: Option<String>,
}

impl TargetOutcome for StackDrift {
    type Error = StackFailure;
    type Entry<'a> = &'a StackDrift;
    type FailedEntry = DriftFailed;
    type ErrorEntry = StackError;

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

    fn entry(&self, _: Duration) -> &StackDrift {
        self
    }

    fn failed_entry(target: &Target, e: &StackFailure, _: Duration) -> (DriftFailed, StackError) {
        let failed = DriftFailed {
            state: FailedResult::Failed,
            drifted: Vec::new(),
            note: None,
        };
        (failed, e.entry(target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::model::Outcome;
    use crate::runner::{Reports, TargetReport};
    use serde_json::{Value, json};

    fn keys(v: Value) -> Vec<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The per-region entries of `apply`, `destroy`, `status` and `drift` keep the fields
    /// docs/commands/*.md describe, failed or not, every one always present.
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
        let d = Duration::from_millis(1500);
        fn failed<T: TargetOutcome<Error = StackFailure>>(
            target: &Target,
            e: &StackFailure,
        ) -> Vec<String> {
            let reports = Reports::<T>(vec![TargetReport::new(target.clone(), Err(e.clone()))]);
            keys(serde_json::to_value(&reports).expect("JSON")[0].clone())
        }
        assert_eq!(
            failed::<Applied>(&target, &failure),
            [
                "region",
                "account",
                "stack_name",
                "result",
                "status",
                "first_failure",
                "seconds",
                "error"
            ]
        );
        assert_eq!(
            failed::<Destroyed>(&target, &failure),
            [
                "region",
                "account",
                "result",
                "retained",
                "first_failure",
                "error"
            ]
        );
        assert_eq!(
            failed::<StackStatus>(&target, &failure),
            [
                "region",
                "account",
                "stack_name",
                "deployed",
                "outputs",
                "error"
            ]
        );
        assert_eq!(
            failed::<StackDrift>(&target, &failure),
            ["region", "account", "state", "drifted", "note", "error"]
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
            json!([{"region": "eu-west-1", "account": null, "stack_name": "artifact-storage",
                    "result": "updated", "status": "UPDATE_COMPLETE", "status_reason": null,
                    "operation_id": null, "warnings": [], "seconds": 1.5, "error": null}])
        );
    }
}
