//! The StackSets engine: what the shared commands ask of an engine, done with one stack set.
//! The set's work happens once ([`StackSets::prepare`], [`StackSets::run_all`]); the
//! per-target methods read each instance's part of it.

use super::prepare;
use super::set::{SetState, StackSets};
use super::{apply, destroy, drift, saved, status};
use crate::deploy::error::DeployError;
use crate::deploy::model::{AllTargets, Operation};
use crate::deploy::model::{
    Applied, Destroyed, Inventory, LoadError, StackDrift, StackFailure, StackSetOverview,
    StackStatus, TargetPlan,
};
use crate::deploy::planfile::{PlanFile, SavedTarget};
use crate::deploy::session::Session;
use crate::exit::UsageError;
use crate::runner::Target;
use crate::ui::Progress;
use serde_json::{Map, Value};
use std::path::Path;

impl StackSets {
    /// A stack set is planned, applied and destroyed as a whole: `--region` would leave
    /// instances out of an operation that reaches them anyway.
    fn whole(&self, session: &Session, what: &str) -> Result<(), UsageError> {
        if session.targets.len() == self.cfg.regions.len() {
            return Ok(());
        }
        Err(UsageError::new(format!(
            "--region: `engine: stacksets` {what} the stack set {} as a whole, in every region of the configuration",
            self.name()
        ))
        .with_hint("leave out --region (status and drift take it, to show some regions only)"))
    }

    pub async fn prepare(
        &mut self,
        session: &Session,
        templates_dir: Option<&Path>,
    ) -> Result<(), DeployError> {
        self.whole(session, "plans and applies")?;
        let prepared =
            prepare::prepare(&self.clients, &self.member, &self.cfg, templates_dir).await?;
        self.prepared = Some(prepared);
        Ok(())
    }

    /// The targets of `operation`: the instances the plan concerns (plan, apply), or those
    /// that exist (destroy; status and drift in the selected regions). Without a set, the
    /// regions (each reported as not deployed).
    pub async fn targets(
        &mut self,
        session: &Session,
        operation: Operation,
    ) -> Result<Vec<Target>, DeployError> {
        if let (Operation::Plan | Operation::Apply, Some(p)) = (operation, &self.prepared) {
            return Ok(p.plans.iter().map(|(t, _)| t.clone()).collect());
        }
        if operation == Operation::Destroy {
            self.whole(session, "destroys")?;
        }
        let state = SetState::read(&self.cloudformation(), self.name()).await?;
        let wanted = |region: &String| session.targets.iter().any(|t| &t.region == region);
        let mut keys: Vec<(String, String)> = state
            .instances
            .iter()
            .filter(|i| operation == Operation::Destroy || wanted(&i.key.region))
            .map(|i| (i.key.account.clone(), i.key.region.clone()))
            .collect();
        super::plan::order(&mut keys, &self.cfg.regions);
        let targets = if state.info.is_none() {
            session.targets.clone()
        } else {
            keys.iter().map(|(a, r)| Target::in_account(a, r)).collect()
        };
        self.state = Some(state);
        Ok(targets)
    }

    pub fn overview(&self) -> Option<StackSetOverview> {
        self.prepared.as_ref().map(|p| p.overview.clone())
    }

    pub async fn plan(&self, target: &Target) -> Result<TargetPlan, StackFailure> {
        self.prepared()?
            .plans
            .iter()
            .find(|(t, _)| t == target)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| self.failure(format!("{target} is not an instance of the plan")))
    }

    pub async fn apply(&self, target: &Target, plan: &TargetPlan) -> Result<Applied, StackFailure> {
        match self.applied.get() {
            Some(report) => apply::outcome(self, report.as_ref(), target, plan),
            None => Err(self.failure("the stack set was not applied")),
        }
    }

    pub fn save(&self, plan: &TargetPlan) -> Map<String, Value> {
        match &self.prepared {
            Some(p) => saved::payload(&p.fingerprint, plan),
            None => Map::new(),
        }
    }

    pub fn check_saved(&self, file: &PlanFile, path: &Path) -> Result<(), DeployError> {
        match &self.prepared {
            Some(p) => saved::check(p, file, path),
            None => Ok(()),
        }
    }

    pub async fn load(&self, saved: &SavedTarget) -> Result<TargetPlan, LoadError> {
        let prepared = self.prepared().map_err(LoadError::Failed)?;
        saved::load(prepared, saved)
    }

    pub async fn inventory(&self, target: &Target) -> Result<Option<Inventory>, StackFailure> {
        destroy::inventory(self, target).await
    }

    pub async fn destroy(
        &self,
        target: &Target,
        inventory: &Inventory,
    ) -> Result<Destroyed, StackFailure> {
        match self.destroyed.get() {
            Some(report) => destroy::outcome(self, report.as_ref(), target, inventory),
            None => Err(self.failure("the stack set was not destroyed")),
        }
    }

    pub async fn status(&self, target: &Target) -> Result<StackStatus, StackFailure> {
        Ok(status::instance_status(self, target))
    }

    pub async fn drift(&self, target: &Target) -> Result<StackDrift, StackFailure> {
        match self.drifted.get() {
            Some(report) => drift::outcome(self, report.as_ref(), target),
            None => Err(self.failure("drift was not detected")),
        }
    }

    /// The set's operation, once for every target: the apply, the deletion of every
    /// instance and of the set, or drift detection. What concerns the set as a whole (an
    /// operation already running, a role CloudFormation cannot use, a wait given up) fails
    /// the command here, once.
    pub async fn run_all(
        &self,
        work: AllTargets<'_>,
        progress: &Progress,
    ) -> Result<(), DeployError> {
        let label = format!("stack set {}", self.name());
        match work {
            AllTargets::Apply { .. } => {
                let prepared = self.prepared.as_ref().ok_or_else(|| {
                    UsageError::new(format!("stack set {}: applied without a plan", self.name()))
                })?;
                let report = apply::run(self, prepared, &|| progress.line(&label)).await?;
                let _ = self.applied.set(report);
            }
            AllTargets::Destroy { found } => {
                let report = destroy::run(self, found, &|| progress.line(&label)).await?;
                let _ = self.destroyed.set(report);
            }
            AllTargets::Drift => {
                let report = drift::run(self, &|| progress.line(&label)).await?;
                let _ = self.drifted.set(report);
            }
        }
        Ok(())
    }
}
