//! Plan files (`plan --out plan.json`): a shared envelope — the engine, the stack, per target
//! the action — around each target's engine payload (CloudFormation: the kept change set, the
//! template's hash, the parameters), so that `apply plan.json` executes exactly what was
//! reviewed, or refuses when anything moved since. The engine checks its payloads for
//! staleness; the envelope checks what every engine shares.

use super::error::DeployError;
use super::model::{Action, EngineKind};
use crate::exit::UsageError;
use crate::runner::Target;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

pub const PLAN_FILE_SCHEMA: &str = "provision.planfile/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub schema: String,
    /// Absent in files written before there was a choice: CloudFormation.
    #[serde(default)]
    pub engine: EngineKind,
    pub stack_name: String,
    pub regions: Vec<SavedTarget>,
}

/// One target of a saved plan: where, what, and the engine's payload (its own fields, which
/// the engine reads and checks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedTarget {
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub action: Action,
    #[serde(flatten)]
    pub payload: Map<String, Value>,
}

impl SavedTarget {
    pub fn target(&self) -> Target {
        Target {
            account: self.account.clone(),
            region: self.region.clone(),
        }
    }
}

impl PlanFile {
    pub fn new(stack_name: &str, engine: EngineKind, regions: Vec<SavedTarget>) -> Self {
        PlanFile {
            schema: PLAN_FILE_SCHEMA.into(),
            engine,
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

    /// Keeps the regions of `--region` (each must be in the plan); all when none are given.
    pub fn select(&mut self, wanted: &[String], path: &Path) -> Result<(), UsageError> {
        for w in wanted {
            if !self.regions.iter().any(|r| &r.region == w) {
                return Err(UsageError::new(format!(
                    "--region {w}: not in the plan {}",
                    path.display()
                )));
            }
        }
        if !wanted.is_empty() {
            self.regions.retain(|r| wanted.contains(&r.region));
        }
        Ok(())
    }

    /// What every engine checks offline: the same engine, the same stack, targets that are
    /// still configured. The reason when stale.
    pub fn staleness(
        &self,
        engine: EngineKind,
        stack_name: &str,
        targets: &[Target],
    ) -> Option<String> {
        if self.engine != engine {
            return Some(format!(
                "it was made by the {} engine, the configuration deploys with {}",
                self.engine.name(),
                engine.name()
            ));
        }
        if self.stack_name != stack_name {
            return Some(format!(
                "it is for stack `{}`, the configuration deploys `{stack_name}`",
                self.stack_name
            ));
        }
        self.regions
            .iter()
            .find(|r| !targets.contains(&r.target()))
            .map(|r| format!("region {} is no longer in the configuration", r.region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan file as `provision` wrote it before plans had an engine.
    const BEFORE_ENGINES: &str = r#"{
  "schema": "provision.planfile/v1",
  "stack_name": "artifact-storage",
  "regions": [
    {
      "region": "eu-west-1",
      "action": "create",
      "change_set_arn": "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/x/1",
      "stack_id": "arn:aws:cloudformation:eu-west-1:123456789012:stack/artifact-storage/1",
      "template_sha256": "ab",
      "parameters": {}
    }
  ]
}"#;

    #[test]
    fn a_file_written_before_engines_is_a_cloudformation_plan_and_writes_back_with_one() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("plan.json");
        std::fs::write(&path, BEFORE_ENGINES).expect("write");
        let file = PlanFile::read(&path).expect("an old plan file reads");
        assert_eq!(file.engine, EngineKind::CloudFormation);
        assert_eq!(file.regions[0].target(), Target::region("eu-west-1"));
        assert_eq!(file.regions[0].payload["template_sha256"], "ab");
        file.write(&path).expect("write");
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        let keys: Vec<&str> = written
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["schema", "engine", "stack_name", "regions"]);
        let region: Vec<&str> = written["regions"][0]
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            region,
            [
                "region",
                "action",
                "change_set_arn",
                "stack_id",
                "template_sha256",
                "parameters"
            ]
        );
    }

    #[test]
    fn another_engine_another_stack_or_a_removed_region_is_stale() {
        let file: PlanFile = serde_json::from_str(BEFORE_ENGINES).expect("a plan file");
        let here = [Target::region("eu-west-1")];
        assert_eq!(
            file.staleness(EngineKind::CloudFormation, "artifact-storage", &here),
            None
        );
        assert!(
            file.staleness(EngineKind::CloudFormation, "other", &here)
                .is_some_and(|r| r.contains("for stack `artifact-storage`"))
        );
        assert_eq!(
            file.staleness(
                EngineKind::CloudFormation,
                "artifact-storage",
                &[Target::region("us-east-1")]
            )
            .as_deref(),
            Some("region eu-west-1 is no longer in the configuration")
        );
    }
}
