//! The StackSets engine's part of a plan file.
//!
//! StackSets keeps nothing between a plan and an apply (no change set), so a saved plan is
//! what the plan was computed from: the rendered template's hash, the set's template hash and
//! its most recent operation at plan time, and each instance's action. `apply FILE` plans
//! again and applies only when the new plan is the saved one: when the configuration, the
//! set (another apply, an operation by hand) or the organisation (an account joined or left
//! an OU) moved, the plan is stale.

use super::prepare::{Fingerprint, Prepared};
use crate::deploy::error::DeployError;
use crate::deploy::model::{LoadError, TargetPlan};
use crate::deploy::planfile::{PlanFile, SavedTarget};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

/// One instance's payload in a plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceRecord {
    /// SHA-256 (hex) of the rendered stack-set template.
    pub template_sha256: String,
    /// SHA-256 of the set's template at plan time (absent: no set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_set_template_sha256: Option<String>,
    /// The set's most recent operation at plan time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_operation_id: Option<String>,
}

impl InstanceRecord {
    fn of(f: &Fingerprint) -> Self {
        InstanceRecord {
            template_sha256: f.template_sha256.clone(),
            stack_set_template_sha256: f.set_template_sha256.clone(),
            last_operation_id: f.last_operation_id.clone(),
        }
    }

    fn read(saved: &SavedTarget) -> Result<Self, String> {
        serde_json::from_value(Value::Object(saved.payload.clone()))
            .map_err(|e| format!("not a stack-set plan written by `provision plan --out`: {e}"))
    }
}

pub fn payload(fingerprint: &Fingerprint, _plan: &TargetPlan) -> Map<String, Value> {
    match serde_json::to_value(InstanceRecord::of(fingerprint)) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Compares the plan file with the plan made now: the same template, the same set, the
/// same instances with the same actions.
pub fn check(prepared: &Prepared, file: &PlanFile, path: &Path) -> Result<(), DeployError> {
    let stale = |reason: String| DeployError::StalePlan {
        path: path.to_path_buf(),
        reason,
    };
    let now = InstanceRecord::of(&prepared.fingerprint);
    for saved in &file.regions {
        let record = InstanceRecord::read(saved).map_err(|message| DeployError::PlanFile {
            path: path.to_path_buf(),
            message,
        })?;
        if record.template_sha256 != now.template_sha256 {
            return Err(stale(
                "the stack set's template changed since the plan (configuration or templates edited)".into(),
            ));
        }
        if record.stack_set_template_sha256 != now.stack_set_template_sha256
            || record.last_operation_id != now.last_operation_id
        {
            return Err(stale(format!(
                "the stack set {} changed since the plan{}",
                prepared.spec.name,
                now.last_operation_id
                    .as_ref()
                    .filter(|_| record.last_operation_id != now.last_operation_id)
                    .map(|id| format!(" (operation {id} ran)"))
                    .unwrap_or_default()
            )));
        }
    }
    for (target, plan) in &prepared.plans {
        let saved = file.regions.iter().find(|s| &s.target() == target);
        match saved {
            None if plan.has_changes() => {
                return Err(stale(format!(
                    "{target} would now be planned to {}, which the plan does not say (an account joined the OUs, or an instance changed)",
                    plan.action.word()
                )));
            }
            Some(s) if s.action != plan.action => {
                return Err(stale(format!(
                    "{target} would now be planned to {}, the plan says {}",
                    plan.action.word(),
                    s.action.word()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A saved instance's plan: the plan made now, which [`check`] found identical.
pub fn load(prepared: &Prepared, saved: &SavedTarget) -> Result<TargetPlan, LoadError> {
    let target = saved.target();
    prepared
        .plans
        .iter()
        .find(|(t, _)| *t == target)
        .map(|(_, p)| p.clone())
        .ok_or_else(|| {
            LoadError::Stale(format!(
                "{target} is no longer an instance of the stack set's plan (an account left the OUs)"
            ))
        })
}
