//! Plan files (`plan --out plan.json`): the kept change sets, the template hashes and the
//! parameters, so that `apply plan.json` executes exactly what was reviewed, or refuses when
//! anything moved since.

use super::cfn::{self, describe_stack};
use super::plan::{Action, PlanInput, RegionPlan, RegionResult};
use super::wait::{self, ChangeSetOutcome};
use super::{DeployError, RegionFailure, Target};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const PLAN_FILE_SCHEMA: &str = "provision.planfile/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub schema: String,
    pub stack_name: String,
    pub regions: Vec<PlannedRegion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedRegion {
    pub region: String,
    pub action: Action,
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
}

impl PlanFile {
    /// The plan file of successful region plans (the caller refuses to write incomplete ones).
    pub fn new(stack_name: &str, targets: &[Target], results: &[RegionResult]) -> Self {
        let regions = results
            .iter()
            .flatten()
            .filter_map(|p| {
                let t = targets.iter().find(|t| t.region == p.region)?;
                Some(PlannedRegion {
                    region: p.region.clone(),
                    action: p.action,
                    change_set_arn: p.change_set_arn.clone(),
                    stack_id: p.stack_id.clone(),
                    template_sha256: t.template_sha256.clone(),
                    parameters: t.parameters.clone(),
                    stack_changed_at: p.stack_changed_at.clone(),
                })
            })
            .collect();
        PlanFile {
            schema: PLAN_FILE_SCHEMA.into(),
            stack_name: stack_name.to_string(),
            regions,
        }
    }

    pub fn write(&self, path: &Path) -> Result<(), DeployError> {
        let text = serde_json::to_string_pretty(self).map_err(|e| DeployError::WritePlan {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        std::fs::write(path, text + "\n").map_err(|e| DeployError::WritePlan {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    pub fn read(path: &Path) -> Result<PlanFile, DeployError> {
        let err = |message: String| DeployError::PlanFile {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(format!("cannot read the plan file: {e}")))?;
        let file: PlanFile = serde_json::from_str(&text)
            .map_err(|e| err(format!("not a plan written by `provision plan --out`: {e}")))?;
        if file.schema != PLAN_FILE_SCHEMA {
            return Err(err(format!(
                "plan file schema `{}` is not supported (expected `{PLAN_FILE_SCHEMA}`)",
                file.schema
            )));
        }
        Ok(file)
    }

    /// Checks what can be checked offline against the current targets: same stack, same
    /// regions, same templates and parameters. Returns the reason when stale.
    pub fn offline_staleness(&self, stack_name: &str, targets: &[Target]) -> Option<String> {
        if self.stack_name != stack_name {
            return Some(format!(
                "it is for stack `{}`, the configuration deploys `{stack_name}`",
                self.stack_name
            ));
        }
        for planned in &self.regions {
            let Some(t) = targets.iter().find(|t| t.region == planned.region) else {
                return Some(format!(
                    "region {} is no longer in the configuration",
                    planned.region
                ));
            };
            if t.template_sha256 != planned.template_sha256 {
                return Some(format!(
                    "the template of {} changed since the plan (configuration or templates edited)",
                    planned.region
                ));
            }
            if t.parameters != planned.parameters {
                return Some(format!(
                    "the parameters of {} changed since the plan (a principal's IAM ID, or another deploying identity than the planner's)",
                    planned.region
                ));
            }
        }
        None
    }
}

/// Why a planned region cannot be applied as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    Stale(String),
    Failed(RegionFailure),
}

/// Re-reads a planned region: the change set must still exist and be executable, and the
/// stack must not have changed since; then it is described again for display.
pub async fn load_region(
    cf: &Client,
    planned: &PlannedRegion,
    input: &PlanInput<'_>,
) -> Result<RegionPlan, LoadError> {
    let target = input.target;
    let region = &planned.region;
    let stack = describe_stack(cf, &target.stack_name)
        .await
        .map_err(|m| LoadError::Failed(target.failure(m)))?;
    let changed_at = stack
        .as_ref()
        .and_then(|s| s.changed_at().map(str::to_string));
    if planned.action != Action::Create && changed_at != planned.stack_changed_at {
        return Err(LoadError::Stale(format!(
            "the stack in {region} changed since the plan (last change {})",
            changed_at.as_deref().unwrap_or("none: it was deleted")
        )));
    }
    let mut plan = RegionPlan {
        region: region.clone(),
        stack_name: target.stack_name.clone(),
        action: planned.action,
        stack_status: stack.as_ref().map(|s| s.status.clone()),
        change_set_arn: planned.change_set_arn.clone(),
        stack_id: planned.stack_id.clone(),
        changes: Vec::new(),
        security: Vec::new(),
        stack_changed_at: changed_at,
        created_review_stack: planned.action == Action::Create,
    };
    match planned.action {
        Action::NoChanges => return Ok(plan),
        Action::Recreate => {
            if plan.stack_status.as_deref() != Some("ROLLBACK_COMPLETE") {
                return Err(LoadError::Stale(format!(
                    "the stack in {region} is no longer in ROLLBACK_COMPLETE"
                )));
            }
            let fresh = super::plan::plan_region(cf, input)
                .await
                .map_err(LoadError::Failed)?;
            plan.changes = fresh.changes;
            plan.security = fresh.security;
            return Ok(plan);
        }
        Action::Create | Action::Update => {}
    }
    let Some(arn) = &planned.change_set_arn else {
        return Err(LoadError::Stale(format!(
            "no change set recorded for {region}"
        )));
    };
    match wait::describe_change_set(cf, arn).await {
        Ok(Some(ChangeSetOutcome::Ready {
            changes,
            execution_status,
            ..
        })) if execution_status == "AVAILABLE" => {
            plan.changes = changes;
        }
        Ok(Some(ChangeSetOutcome::Ready {
            execution_status, ..
        })) => {
            return Err(LoadError::Stale(format!(
                "the change set in {region} can no longer be executed ({execution_status})"
            )));
        }
        Ok(_) => {
            return Err(LoadError::Stale(format!(
                "the change set in {region} is not available"
            )));
        }
        Err(e) if e.code() == Some("ChangeSetNotFound") || cfn::is_stack_missing(&e) => {
            return Err(LoadError::Stale(format!(
                "the change set in {region} no longer exists"
            )));
        }
        Err(e) => {
            return Err(LoadError::Failed(target.failure(format!(
                "cloudformation:DescribeChangeSet: {}",
                cfn::describe(&e)
            ))));
        }
    }
    plan.security = super::plan::security_for_loaded(cf, input, stack.as_ref())
        .await
        .map_err(LoadError::Failed)?;
    Ok(plan)
}
