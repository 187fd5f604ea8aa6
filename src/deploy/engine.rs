//! The engine seam. An engine turns the configuration's targets into a [`TargetPlan`] each,
//! applies a plan, and destroys, reads the status of and detects drift in what it deployed;
//! everything around that — the display, the security table, the JSON documents,
//! `--detailed-exitcode`, the confirmation, the data-loss guard, the saved-plan envelope and the
//! per-target runner — is shared (`plan`, `apply`, `destroy`, `status`, `drift`).
//!
//! Engines are dispatched by enum: one variant per [`EngineKind`]. A new engine adds its
//! variant here, its kind to `EngineKind`, and its payload to `model::EnginePlan`.
//!
//! An engine whose one operation covers every target (StackSets: a stack set's operation
//! reaches every instance) does that work once in [`Engine::run_all`], before the
//! per-target methods read each target's part; it also says which targets a command has
//! ([`Engine::targets`]: the instances, account × region). Per-target engines return the
//! session's targets and do nothing in `run_all`.

use super::cloudformation::CloudFormation;
use super::error::DeployError;
use super::model::{
    AllTargets, Applied, ApplyOptions, Destroyed, EngineKind, Inventory, LoadError, Operation,
    Principals, StackDrift, StackFailure, StackSetOverview, StackStatus, TargetPlan,
};
use super::planfile::{PlanFile, SavedTarget};
use super::session::{Request, Session};
use super::stacksets::StackSets;
use super::terraform::TerraformEngine;
use crate::context::Context;
use crate::runner::Target;
use crate::ui::{Progress, ProgressLine};
use serde_json::{Map, Value};
use std::path::Path;

pub enum Engine {
    CloudFormation(CloudFormation),
    StackSets(Box<StackSets>),
    Terraform(Box<TerraformEngine>),
}

impl Engine {
    /// What every deploy command starts with: the session, the engine ready for the command
    /// (the rendered templates prepared for plan and apply; the existing deployment reached for
    /// the others) and the targets it works on.
    pub async fn start(
        ctx: &Context,
        request: &Request<'_>,
    ) -> Result<(Session, Engine, Vec<Target>), DeployError> {
        let session = Session::open(ctx, request).await?;
        let mut engine = Engine::open(&session);
        match request.operation {
            Operation::Plan | Operation::Apply => {
                engine.prepare(&session, request.templates).await?
            }
            Operation::Destroy | Operation::Status | Operation::Drift => {
                engine.connect(&session).await?
            }
        }
        let targets = engine.targets(&session, request.operation).await?;
        Ok((session, engine, targets))
    }

    /// The engine of a session's configuration.
    pub fn open(session: &Session) -> Engine {
        match session.engine {
            EngineKind::StackSets => {
                Engine::StackSets(Box::new(StackSets::new(&session.cfg, &session.clients)))
            }
            EngineKind::Terraform => Engine::Terraform(Box::new(TerraformEngine::new(session))),
            EngineKind::CloudFormation => {
                Engine::CloudFormation(CloudFormation::new(&session.cfg, &session.clients))
            }
        }
    }

    /// Readies the engine to read what it deployed (destroy, status, drift): nothing for
    /// CloudFormation and StackSets; the Terraform engine writes its working directory and
    /// runs `init`.
    pub async fn connect(&mut self, _session: &Session) -> Result<(), DeployError> {
        match self {
            Engine::CloudFormation(_) | Engine::StackSets(_) => Ok(()),
            Engine::Terraform(e) => e.connect(None).await,
        }
    }

    /// `plan --out PATH`: keeps what the engine's payloads refer to beside the plan file
    /// (Terraform's own plan); nothing for the others, whose plans live in AWS or the file.
    pub fn keep_plan(&self, path: &Path) -> Result<(), DeployError> {
        match self {
            Engine::CloudFormation(_) | Engine::StackSets(_) => Ok(()),
            Engine::Terraform(e) => e.keep_plan(path),
        }
    }

    pub fn kind(&self) -> EngineKind {
        match self {
            Engine::CloudFormation(_) => EngineKind::CloudFormation,
            Engine::StackSets(_) => EngineKind::StackSets,
            Engine::Terraform(_) => EngineKind::Terraform,
        }
    }

    /// The targets of `operation` (after [`Engine::prepare`] for plan and apply): the
    /// session's regions, or the engine's own (StackSets: the instances).
    pub async fn targets(
        &mut self,
        session: &Session,
        operation: Operation,
    ) -> Result<Vec<Target>, DeployError> {
        match self {
            Engine::CloudFormation(_) | Engine::Terraform(_) => Ok(session.targets.clone()),
            Engine::StackSets(e) => e.targets(session, operation).await,
        }
    }

    /// The stack set as a whole, as the plan shows it (StackSets).
    pub fn overview(&self) -> Option<StackSetOverview> {
        match self {
            Engine::CloudFormation(_) | Engine::Terraform(_) => None,
            Engine::StackSets(e) => e.overview(),
        }
    }

    /// The work done once for every target, before the per-target results are read; a
    /// failure here concerns every target and ends the command.
    pub async fn run_all(
        &self,
        work: AllTargets<'_>,
        progress: &Progress,
    ) -> Result<(), DeployError> {
        match self {
            Engine::CloudFormation(_) | Engine::Terraform(_) => Ok(()),
            Engine::StackSets(e) => e.run_all(work, progress).await,
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
            Engine::StackSets(e) => e.prepare(session, templates_dir).await,
            Engine::Terraform(e) => e.connect(templates_dir).await,
        }
    }

    /// The allow list the plan shows, when the configuration has access lists.
    pub fn principals(&self) -> Option<&Principals> {
        match self {
            Engine::CloudFormation(e) => e.principals(),
            Engine::StackSets(_) => None,
            Engine::Terraform(_) => None,
        }
    }

    /// Plans one target. What the plan keeps (a change set) stays until applied or discarded.
    pub async fn plan(&self, target: &Target) -> Result<TargetPlan, StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.plan(target).await,
            Engine::StackSets(e) => e.plan(target).await,
            Engine::Terraform(e) => e.plan(target).await,
        }
    }

    /// Drops what a plan kept (a change set, the empty stack that holds it).
    pub async fn discard(&self, target: &Target, plan: &TargetPlan) -> Result<(), StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.discard(target, plan).await,
            // StackSets keeps nothing between plan and apply.
            Engine::StackSets(_) => Ok(()),
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
            Engine::StackSets(e) => e.apply(target, plan).await,
            Engine::Terraform(e) => e.apply(target, plan, line).await,
        }
    }

    /// The engine's payload of a target's plan in a plan file.
    pub fn save(&self, target: &Target, plan: &TargetPlan) -> Map<String, Value> {
        match self {
            Engine::CloudFormation(e) => e.save(target, plan),
            Engine::StackSets(e) => e.save(plan),
            Engine::Terraform(e) => e.save(target, plan),
        }
    }

    /// Checks a plan file's payloads offline: a payload that is not the engine's is an
    /// invalid plan file, one that no longer matches the configuration a stale plan.
    pub fn check_saved(&self, file: &PlanFile, path: &Path) -> Result<(), DeployError> {
        match self {
            Engine::CloudFormation(e) => e.check_saved(file, path),
            Engine::StackSets(e) => e.check_saved(file, path),
            Engine::Terraform(e) => e.check_saved(file, path),
        }
    }

    /// A saved target's plan, checked against what is deployed now.
    pub async fn load(&self, saved: &SavedTarget) -> Result<TargetPlan, LoadError> {
        match self {
            Engine::CloudFormation(e) => e.load(saved).await,
            Engine::StackSets(e) => e.load(saved).await,
            Engine::Terraform(e) => e.load(saved).await,
        }
    }

    /// What a target holds before it is destroyed; `None`: nothing deployed.
    pub async fn inventory(&self, target: &Target) -> Result<Option<Inventory>, StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.inventory(target).await,
            Engine::StackSets(e) => e.inventory(target).await,
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
            Engine::StackSets(e) => e.destroy(target).await,
            Engine::Terraform(e) => e.destroy(target, inventory, line).await,
        }
    }

    pub async fn status(&self, target: &Target) -> Result<StackStatus, StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.status(target).await,
            Engine::StackSets(e) => e.status(target).await,
            Engine::Terraform(e) => e.status(target).await,
        }
    }

    pub async fn drift(&self, target: &Target) -> Result<StackDrift, StackFailure> {
        match self {
            Engine::CloudFormation(e) => e.drift(target).await,
            Engine::StackSets(e) => e.drift(target).await,
            Engine::Terraform(e) => e.drift(target).await,
        }
    }
}
