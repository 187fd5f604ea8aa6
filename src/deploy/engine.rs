//! The engine seam. An engine turns the configuration's targets into a [`TargetPlan`] each,
//! applies a plan, and destroys, reads the status of and detects drift in what it deployed;
//! everything around that — the display, the security table, the JSON documents,
//! `--detailed-exitcode`, the confirmation, the data-loss guard, the saved-plan envelope and the
//! per-target runner — is shared (`plan`, `apply`, `destroy`, `status`, `drift`).
//!
//! Engines are dispatched by enum: one variant per [`EngineKind`]. A new engine adds its
//! variant here, its kind to `EngineKind`, and its payload to `model::EnginePlan`.

use super::cloudformation::CloudFormation;
use super::error::DeployError;
use super::model::{
    Applied, ApplyOptions, Destroyed, EngineKind, Inventory, LoadError, Principals, StackDrift,
    StackFailure, StackStatus, TargetPlan,
};
use super::planfile::{PlanFile, SavedTarget};
use super::session::Session;
use super::terraform::TerraformEngine;
use crate::runner::Target;
use crate::ui::ProgressLine;
use serde_json::{Map, Value};
use std::path::Path;

pub enum Engine {
    CloudFormation(CloudFormation),
    Terraform(Box<TerraformEngine>),
}

impl Engine {
    /// The engine of a session's configuration.
    pub fn open(session: &Session) -> Engine {
        match session.engine {
            EngineKind::CloudFormation => {
                Engine::CloudFormation(CloudFormation::new(&session.cfg, &session.clients))
            }
            EngineKind::Terraform => Engine::Terraform(Box::new(TerraformEngine::new(session))),
        }
    }

    /// Readies the engine to read what it deployed (destroy, status, drift): nothing for
    /// CloudFormation; the Terraform engine writes its working directory and runs `init`.
    pub async fn connect(&mut self, _session: &Session) -> Result<(), DeployError> {
        match self {
            Engine::CloudFormation(_) => Ok(()),
            Engine::Terraform(e) => e.connect(None).await,
        }
    }

    /// `plan --out PATH`: keeps what the engine's payloads refer to beside the plan file
    /// (Terraform's own plan); nothing for CloudFormation, whose change sets stay in AWS.
    pub fn keep_plan(&self, path: &Path) -> Result<(), DeployError> {
        match self {
            Engine::CloudFormation(_) => Ok(()),
            Engine::Terraform(e) => e.keep_plan(path),
        }
    }

    pub fn kind(&self) -> EngineKind {
        match self {
            Engine::CloudFormation(_) => EngineKind::CloudFormation,
            Engine::Terraform(_) => EngineKind::Terraform,
        }
    }

    /// Readies the engine to plan and apply: renders what the targets should be and
    /// resolves what that needs (the access lists' principals).
    pub async fn prepare(
        &mut self,
        session: &Session,
        templates_dir: Option<&Path>,
    ) -> Result<(), DeployError> {
        match self {
            Engine::CloudFormation(e) => {
                e.prepare(&session.cfg, &session.targets, templates_dir)
                    .await
            }
            Engine::Terraform(e) => e.connect(templates_dir).await,
        }
    }

    /// The allow list the plan shows, when the configuration has access lists.
    pub fn principals(&self) -> Option<&Principals> {
        match self {
            Engine::CloudFormation(e) => e.principals(),
            Engine::Terraform(_) => None,
        }
    }

    /// Plans one target. What the plan keeps (a change set) stays until applied or discarded.
    pub async fn plan(&self, target: &Target) -> Result<TargetPlan, StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.plan(target).await,
            Engine::Terraform(e) => e.plan(target).await,
        }
    }

    /// Drops what a plan kept (a change set, the empty stack that holds it).
    pub async fn discard(&self, target: &Target, plan: &TargetPlan) -> Result<(), StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.discard(target, plan).await,
            Engine::Terraform(_) => Ok(()),
        }
    }

    /// Applies one target's plan, reporting progress on `line`.
    pub async fn apply(
        &self,
        target: &Target,
        plan: &TargetPlan,
        options: &ApplyOptions,
        line: &ProgressLine,
    ) -> Result<Applied, StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.apply(target, plan, options, line).await,
            Engine::Terraform(e) => e.apply(target, plan, line).await,
        }
    }

    /// The engine's payload of a target's plan in a plan file.
    pub fn save(&self, target: &Target, plan: &TargetPlan) -> Map<String, Value> {
        match self {
            Engine::CloudFormation(e) => e.save(target, plan),
            Engine::Terraform(e) => e.save(target, plan),
        }
    }

    /// Checks a plan file's payloads offline: a payload that is not the engine's is an
    /// invalid plan file, one that no longer matches the configuration a stale plan.
    pub fn check_saved(&self, file: &PlanFile, path: &Path) -> Result<(), DeployError> {
        match self {
            Engine::CloudFormation(e) => e.check_saved(file, path),
            Engine::Terraform(e) => e.check_saved(file, path),
        }
    }

    /// A saved target's plan, checked against what is deployed now.
    pub async fn load(&self, saved: &SavedTarget) -> Result<TargetPlan, LoadError> {
        match self {
            Engine::CloudFormation(e) => e.load(saved).await,
            Engine::Terraform(e) => e.load(saved).await,
        }
    }

    /// What a target holds before it is destroyed; `None`: nothing deployed.
    pub async fn inventory(&self, target: &Target) -> Result<Option<Inventory>, StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.inventory(target).await,
            Engine::Terraform(e) => e.inventory(target).await,
        }
    }

    pub async fn destroy(
        &self,
        target: &Target,
        inventory: &Inventory,
        line: &ProgressLine,
    ) -> Result<Destroyed, StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.destroy(target, inventory, line).await,
            Engine::Terraform(e) => e.destroy(target, inventory, line).await,
        }
    }

    pub async fn status(&self, target: &Target) -> Result<StackStatus, StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.status(target).await,
            Engine::Terraform(e) => e.status(target).await,
        }
    }

    pub async fn drift(&self, target: &Target) -> Result<StackDrift, StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.drift(target).await,
            Engine::Terraform(e) => e.drift(target).await,
        }
    }
}
