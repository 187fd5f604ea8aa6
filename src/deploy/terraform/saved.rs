//! The Terraform engine's part of a plan file (`plan --out plan.json`): Terraform's own plan
//! is copied beside it (`plan.json.tfplan`), and each region's payload records that file and
//! its SHA-256, the SHA-256 of the files the module was planned from, the state's lineage and
//! serial at plan time, and the dependency lock file. So the two files can move to another
//! checkout (a CI job that applies what another one planned), and `apply` refuses them when
//! the configuration or the rendered module changed, when the state moved, or when the
//! Terraform plan is not the one recorded.

use crate::deploy::planfile::SavedTarget;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One region's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerraformRecord {
    /// Terraform's plan, a file name beside the plan file.
    pub terraform_plan: String,
    pub terraform_plan_sha256: String,
    /// SHA-256 over the files written into the working directory (module, endpoints, imports).
    pub module_sha256: String,
    /// The state at plan time (absent: no state yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_lineage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_serial: Option<u64>,
    /// `.terraform.lock.hcl` of the plan: the exact provider versions and checksums, so that
    /// another checkout installs the providers the plan was made with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency_lock: Option<String>,
}

impl TerraformRecord {
    pub fn payload(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// Reads a saved target's payload; the message when it is not one.
    pub fn read(saved: &SavedTarget) -> Result<Self, String> {
        serde_json::from_value(Value::Object(saved.payload.clone())).map_err(|e| {
            format!(
                "region {}: not a Terraform plan written by `provision plan --out`: {e}",
                saved.region
            )
        })
    }

    /// Where Terraform's plan is: beside the plan file.
    pub fn plan_path(&self, plan_file: &Path) -> PathBuf {
        plan_file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join(&self.terraform_plan)
    }

    /// What moved since the plan, offline: the module, or Terraform's plan file.
    pub fn staleness(&self, module_sha256: &str, plan_file: &Path) -> Result<(), Stale> {
        if self.module_sha256 != module_sha256 {
            return Err(Stale::Outdated(
                "the rendered Terraform module changed since the plan (configuration or templates edited)".into(),
            ));
        }
        let path = self.plan_path(plan_file);
        let bytes = std::fs::read(&path).map_err(|e| {
            Stale::Invalid(format!(
                "Terraform's plan {} cannot be read ({e}): keep it beside the plan file",
                path.display()
            ))
        })?;
        if sha256_hex(&bytes) != self.terraform_plan_sha256 {
            return Err(Stale::Invalid(format!(
                "{} is not the Terraform plan this plan file was written with (SHA-256 differs)",
                path.display()
            )));
        }
        Ok(())
    }

    /// Whether the state moved since the plan: the reason when it did.
    pub fn state_moved(&self, now: Option<(&str, u64)>) -> Option<String> {
        let then = self.state_lineage.as_deref().zip(self.state_serial);
        match (then, now) {
            (None, None) => None,
            (Some((l1, s1)), Some((l2, s2))) if l1 == l2 && s1 == s2 => None,
            (Some((l1, _)), Some((l2, _))) if l1 != l2 => Some(
                "the Terraform state is another one than at plan time (lineage differs)".into(),
            ),
            (Some((_, s1)), Some((_, s2))) => Some(format!(
                "the Terraform state changed since the plan (serial {s1}, now {s2})"
            )),
            (None, Some((_, s))) => Some(format!(
                "the Terraform state changed since the plan (it had none, now serial {s})"
            )),
            (Some((_, s)), None) => Some(format!(
                "the Terraform state of the plan (serial {s}) is not here: another state backend, or a local state left in another checkout"
            )),
        }
    }
}

/// Why a saved Terraform plan cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// Something moved since the plan.
    Outdated(String),
    /// The plan files do not belong together.
    Invalid(String),
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(dir: &Path) -> TerraformRecord {
        std::fs::write(dir.join("plan.json.tfplan"), b"zip").unwrap();
        TerraformRecord {
            terraform_plan: "plan.json.tfplan".into(),
            terraform_plan_sha256: sha256_hex(b"zip"),
            module_sha256: "m1".into(),
            state_lineage: Some("l".into()),
            state_serial: Some(4),
            dependency_lock: None,
        }
    }

    #[test]
    fn the_module_and_the_terraform_plan_must_be_the_planned_ones() {
        let dir = tempfile::tempdir().unwrap();
        let r = record(dir.path());
        let plan_file = dir.path().join("plan.json");
        assert_eq!(r.staleness("m1", &plan_file), Ok(()));
        assert!(
            matches!(r.staleness("m2", &plan_file), Err(Stale::Outdated(m)) if m.contains("module changed"))
        );
        std::fs::write(dir.path().join("plan.json.tfplan"), b"other").unwrap();
        assert!(
            matches!(r.staleness("m1", &plan_file), Err(Stale::Invalid(m)) if m.contains("SHA-256"))
        );
        std::fs::remove_file(dir.path().join("plan.json.tfplan")).unwrap();
        assert!(
            matches!(r.staleness("m1", &plan_file), Err(Stale::Invalid(m)) if m.contains("beside the plan file"))
        );
        let saved = SavedTarget {
            region: "eu-west-1".into(),
            account: None,
            action: crate::deploy::model::Action::Update,
            payload: r.payload(),
        };
        assert_eq!(TerraformRecord::read(&saved), Ok(r));
    }

    #[test]
    fn a_state_that_moved_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let r = record(dir.path());
        assert_eq!(r.state_moved(Some(("l", 4))), None);
        assert!(
            r.state_moved(Some(("l", 5)))
                .is_some_and(|m| m.contains("serial 4, now 5"))
        );
        assert!(
            r.state_moved(Some(("x", 4)))
                .is_some_and(|m| m.contains("lineage"))
        );
        assert!(r.state_moved(None).is_some_and(|m| m.contains("not here")));
        let fresh = TerraformRecord {
            state_lineage: None,
            state_serial: None,
            ..r
        };
        assert_eq!(fresh.state_moved(None), None);
        assert!(fresh.state_moved(Some(("l", 1))).is_some());
    }
}
