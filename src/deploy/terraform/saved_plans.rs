//! The Terraform engine's side of saved plans (`plan --out`, `apply FILE`): Terraform's own
//! plan kept beside the plan file, recorded with the module's and the state's fingerprints,
//! checked offline and again against the state before it is applied.

use super::engine::{TerraformEngine, blocking, unwrap_shared};
use super::saved::{Stale, TerraformRecord, sha256_hex};
use crate::deploy::error::DeployError;
use crate::deploy::model::{LoadError, TargetPlan};
use crate::deploy::planfile::{PlanFile, SavedTarget};
use crate::runner::Target;
use crate::terraform::TerraformError;
use std::path::Path;
use std::sync::Arc;

impl TerraformEngine {
    /// Copies the fresh plan's Terraform plan beside the plan file (`FILE.tfplan`), for
    /// [`TerraformEngine::save`] to record.
    pub fn keep_plan(&self, path: &Path) -> Result<(), DeployError> {
        let terraform = self.terraform().map_err(unwrap_shared)?;
        let name = format!(
            "{}.tfplan",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "plan".into())
        );
        let to = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join(&name);
        let from = terraform.dir().plan_file();
        let bytes = std::fs::read(&from).map_err(|source| TerraformError::Io {
            path: from.clone(),
            context: "reading the Terraform plan".into(),
            source,
        })?;
        std::fs::write(&to, &bytes).map_err(|source| TerraformError::Io {
            path: to.clone(),
            context: "writing the Terraform plan beside the plan file".into(),
            source,
        })?;
        if let Ok(mut kept) = self.kept.lock() {
            *kept = Some((name, sha256_hex(&bytes)));
        }
        Ok(())
    }

    pub fn save(
        &self,
        _target: &Target,
        _plan: &TargetPlan,
    ) -> serde_json::Map<String, serde_json::Value> {
        let (terraform_plan, terraform_plan_sha256) = self
            .kept
            .lock()
            .ok()
            .and_then(|k| k.clone())
            .unwrap_or_default();
        let state = self
            .planned
            .get()
            .and_then(|p| p.as_ref().ok())
            .and_then(|p| p.state.clone());
        TerraformRecord {
            terraform_plan,
            terraform_plan_sha256,
            module_sha256: self.module_sha256.clone(),
            state_lineage: state.as_ref().map(|s| s.0.clone()),
            state_serial: state.map(|s| s.1),
            dependency_lock: None,
        }
        .payload()
    }

    /// Offline: every payload is the engine's, the module is the planned one and Terraform's
    /// plan is the recorded one; that plan is what `apply` will apply.
    pub fn check_saved(&self, file: &PlanFile, path: &Path) -> Result<(), DeployError> {
        for saved in &file.regions {
            let record = TerraformRecord::read(saved).map_err(|message| DeployError::PlanFile {
                path: path.to_path_buf(),
                message,
            })?;
            match record.staleness(&self.module_sha256, path) {
                Ok(()) => {}
                Err(Stale::Outdated(reason)) => {
                    return Err(DeployError::StalePlan {
                        path: path.to_path_buf(),
                        reason,
                    });
                }
                Err(Stale::Invalid(message)) => {
                    return Err(DeployError::PlanFile {
                        path: path.to_path_buf(),
                        message,
                    });
                }
            }
            // Absolute: Terraform runs in the working directory.
            let plan_path = record.plan_path(path);
            let plan_path = std::path::absolute(&plan_path).unwrap_or(plan_path);
            if let Ok(mut plan) = self.saved_plan.lock() {
                *plan = Some(plan_path);
            }
        }
        Ok(())
    }

    /// A saved region's plan: refused when the state moved since; else the saved Terraform
    /// plan, read and split.
    pub async fn load(&self, saved: &SavedTarget) -> Result<TargetPlan, LoadError> {
        let record = TerraformRecord::read(saved).map_err(LoadError::Stale)?;
        let file = self
            .saved_plan
            .lock()
            .ok()
            .and_then(|p| p.clone())
            .ok_or_else(|| LoadError::Stale("the plan file was not checked".into()))?;
        let region = saved.region.clone();
        let planned = self
            .planned
            .get_or_init(|| async {
                let terraform = self.terraform()?;
                let (plan, state) = blocking("show", move || {
                    Ok((terraform.show_plan(&file)?, terraform.state_pull()?))
                })
                .await
                .map_err(Arc::new)?;
                Ok(self.planned_from(&plan, state))
            })
            .await
            .clone()
            .map_err(|e| LoadError::Failed(self.shared_failure(&e, &region)))?;
        let now = planned.state.as_ref().map(|(l, s)| (l.as_str(), *s));
        if let Some(reason) = record.state_moved(now) {
            return Err(LoadError::Stale(reason));
        }
        planned
            .plans
            .get(&region)
            .cloned()
            .ok_or_else(|| LoadError::Stale(format!("{region} is not a region of the plan")))
    }
}
