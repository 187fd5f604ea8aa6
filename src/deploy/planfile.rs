//! Plan files (`plan --out plan.json`): the kept change sets, the template hashes and the
//! parameters, so that `apply plan.json` executes exactly what was reviewed, or refuses when
//! anything moved since.

use super::error::DeployError;
use super::model::{Action, RegionResult};
use super::session::Target;
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
