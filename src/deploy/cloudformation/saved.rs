//! The CloudFormation engine's part of a plan file: the kept change set, the template's hash
//! and the parameters of each region; checked offline against the current templates and
//! online against the change set and the stack.

use super::plan::{PlanInput, compare_loaded, plan_region};
use super::stack::{StackError, describe_stack};
use super::target::StackTarget;
use super::wait::{self, ChangeSetOutcome};
use crate::deploy::model::{Action, ChangeSetPlan, EnginePlan, LoadError, TargetPlan};
use crate::deploy::planfile::SavedTarget;
use aws_sdk_cloudformation::Client;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One region's payload in a plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSetRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_set_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    /// SHA-256 (hex) of the template body the change set was made from.
    pub template_sha256: String,
    pub parameters: BTreeMap<String, String>,
    /// When the stack last changed at plan time (absent: no stack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_changed_at: Option<String>,
    /// The change set imports existing resources; the update follows at apply time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub import: bool,
}

impl ChangeSetRecord {
    /// The record of a region's plan.
    pub fn of(plan: &ChangeSetPlan, stack: &StackTarget) -> Self {
        ChangeSetRecord {
            change_set_arn: plan.change_set_arn.clone(),
            stack_id: plan.stack_id.clone(),
            template_sha256: stack.template_sha256.clone(),
            parameters: stack.parameters.clone(),
            stack_changed_at: plan.stack_changed_at.clone(),
            import: plan.import,
        }
    }

    pub fn payload(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// Reads a saved target's payload; the message when it is not one.
    pub fn read(saved: &SavedTarget) -> Result<Self, String> {
        serde_json::from_value(Value::Object(saved.payload.clone()))
            .map_err(|e| format!("not a plan written by `provision plan --out`: {e}"))
    }

    /// What moved offline since the plan: the template or the parameters of its region.
    pub fn staleness(&self, region: &str, stack: &StackTarget) -> Option<String> {
        if stack.template_sha256 != self.template_sha256 {
            return Some(format!(
                "the template of {region} changed since the plan (configuration or templates edited)"
            ));
        }
        if stack.parameters != self.parameters {
            return Some(format!(
                "the parameters of {region} changed since the plan (a principal's IAM ID, or another deploying identity than the planner's)"
            ));
        }
        None
    }
}

/// Re-reads a planned region: the change set must still exist and be executable, and the
/// stack must not have changed since; then it is described again for display.
pub async fn load_region(
    cf: &Client,
    saved: &SavedTarget,
    record: &ChangeSetRecord,
    input: &PlanInput<'_>,
) -> Result<TargetPlan, LoadError> {
    let target = input.target;
    let region = &saved.region;
    let stack = describe_stack(cf, &target.stack_name)
        .await
        .map_err(|e| LoadError::Failed(target.failure(StackError::from(e))))?;
    let changed_at = stack
        .as_ref()
        .and_then(|s| s.changed_at().map(str::to_string));
    if saved.action != Action::Create && changed_at != record.stack_changed_at {
        return Err(LoadError::Stale(format!(
            "the stack in {region} changed since the plan (last change {})",
            changed_at.as_deref().unwrap_or("none: it was deleted")
        )));
    }
    let mut plan = TargetPlan {
        stack_name: target.stack_name.clone(),
        action: saved.action,
        engine: EnginePlan::CloudFormation(ChangeSetPlan {
            stack_status: stack.as_ref().map(|s| s.status.clone()),
            change_set_arn: record.change_set_arn.clone(),
            stack_id: record.stack_id.clone(),
            stack_changed_at: changed_at,
            created_review_stack: saved.action == Action::Create,
            import: record.import,
        }),
        changes: Vec::new(),
        security: Vec::new(),
    };
    match saved.action {
        Action::NoChanges => return Ok(plan),
        Action::Recreate => {
            if plan.change_set().stack_status.as_deref() != Some("ROLLBACK_COMPLETE") {
                return Err(LoadError::Stale(format!(
                    "the stack in {region} is no longer in ROLLBACK_COMPLETE"
                )));
            }
            let fresh = plan_region(cf, input).await.map_err(LoadError::Failed)?;
            plan.changes = fresh.changes;
            plan.security = fresh.security;
            return Ok(plan);
        }
        Action::Create | Action::Update => {}
        Action::Delete | Action::Retry => {
            return Err(LoadError::Stale(format!(
                "{region}: `{}` is not an action of the cloudformation engine",
                saved.action.word()
            )));
        }
    }
    let mut changes = executable_changes(cf, region, record, target).await?;
    if record.import {
        let deployed = match stack.as_ref().filter(|s| s.status != "REVIEW_IN_PROGRESS") {
            Some(_) => super::plan::deployed_template(cf, target).await,
            None => Ok(serde_json::Value::Null),
        };
        deployed
            .and_then(|d| super::import::loaded_changes(target, &d, &mut changes))
            .map_err(LoadError::Failed)?;
    }
    plan.security = compare_loaded(cf, input, stack.as_ref(), &mut changes)
        .await
        .map_err(LoadError::Failed)?;
    plan.changes = changes;
    Ok(plan)
}

/// The changes of the recorded change set, which must still be executable.
async fn executable_changes(
    cf: &Client,
    region: &str,
    record: &ChangeSetRecord,
    target: &StackTarget,
) -> Result<Vec<crate::deploy::model::ResourceChange>, LoadError> {
    let stale = |why: String| Err(LoadError::Stale(why));
    let Some(arn) = &record.change_set_arn else {
        return stale(format!("no change set recorded for {region}"));
    };
    match wait::describe_change_set(cf, arn).await {
        Ok(Some(ChangeSetOutcome::Ready {
            changes,
            execution_status,
            ..
        })) if execution_status == "AVAILABLE" => Ok(changes),
        Ok(Some(ChangeSetOutcome::Ready {
            execution_status, ..
        })) => stale(format!(
            "the change set in {region} can no longer be executed ({execution_status})"
        )),
        Ok(_) => stale(format!("the change set in {region} is not available")),
        Err(e) if e.is_not_found() => stale(format!("the change set in {region} no longer exists")),
        Err(e) => Err(LoadError::Failed(target.failure(StackError::from(e)))),
    }
}
