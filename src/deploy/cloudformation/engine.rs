//! The CloudFormation engine: one stack per region, created and updated through change sets.
//! What the shared commands ask of an engine (`deploy::engine::Engine`), done with
//! CloudFormation.

use super::destroy::{destroy_region, forget_missing_buckets, inventory};
use super::drift::detect_region;
use super::execute::{Execution, apply_region};
use super::import;
use super::plan::{PlanInput, discard, plan_region};
use super::saved::{ChangeSetRecord, load_region};
use super::stack::StackError;
use super::status::region_status;
use super::target::{StackTarget, stack_targets};
use super::wait::Polling;
use crate::aws::Clients;
use crate::config::Config;
use crate::deploy::error::DeployError;
use crate::deploy::model::{
    Applied, ApplyOptions, DestroyResult, Destroyed, Inventory, LoadError, Principals, StackDrift,
    StackFailure, StackStatus, TargetPlan,
};
use crate::deploy::planfile::{PlanFile, SavedTarget};
use crate::deploy::principals;
use crate::render::{self, Templates};
use crate::runner::Target;
use crate::ui::ProgressLine;
use serde_json::{Map, Value};
use std::path::Path;

pub struct CloudFormation {
    clients: Clients,
    stack_name: String,
    /// The stacks the configuration asks for: rendered by [`CloudFormation::prepare`].
    stacks: Vec<StackTarget>,
    principals: Option<Principals>,
}

impl CloudFormation {
    pub fn new(cfg: &Config, clients: &Clients) -> Self {
        CloudFormation {
            clients: clients.clone(),
            stack_name: cfg.stack_name.clone(),
            stacks: Vec::new(),
            principals: None,
        }
    }

    /// Renders the targets' templates (once) and resolves the access lists when a template
    /// needs the principals (IAM and STS of the home region).
    pub async fn prepare(
        &mut self,
        cfg: &Config,
        targets: &[Target],
        templates_dir: Option<&Path>,
    ) -> Result<(), DeployError> {
        let templates = Templates::load(templates_dir)?;
        let rendered: Vec<_> = render::cloudformation(cfg, &templates)?
            .into_iter()
            .filter(|t| targets.iter().any(|x| x.region == t.region))
            .collect();
        if rendered.iter().any(|t| t.needs_principals) {
            let home = cfg.home_region();
            self.principals = Some(
                principals::resolve(
                    &self.clients.iam(home),
                    &self.clients.sts(home),
                    &cfg.access,
                )
                .await?,
            );
        }
        self.stacks = stack_targets(
            &cfg.stack_name,
            &cfg.tags,
            rendered,
            self.principals.as_ref(),
        );
        for stack in &mut self.stacks {
            stack.adopted_bucket = cfg.adopted_bucket(&stack.region).map(str::to_string);
        }
        Ok(())
    }

    pub fn principals(&self) -> Option<&Principals> {
        self.principals.as_ref()
    }

    fn cloudformation(&self, target: &Target) -> aws_sdk_cloudformation::Client {
        self.clients.cloudformation(target)
    }

    /// Poll intervals for a region: short against an emulator (endpoint override) or a test
    /// plug, the production ones against AWS.
    fn polling(&self, target: &Target) -> Polling {
        if self.clients.is_local(&target.region) {
            Polling::emulator()
        } else {
            Polling::stack_operations()
        }
    }

    fn stack(&self, target: &Target) -> Result<&StackTarget, StackFailure> {
        self.stacks
            .iter()
            .find(|s| s.region == target.region)
            .ok_or_else(|| StackFailure::new(&self.stack_name, "no template"))
    }

    fn input<'a>(&'a self, target: &Target, stack: &'a StackTarget) -> PlanInput<'a> {
        PlanInput {
            target: stack,
            principals: self.principals.as_ref(),
            polling: self.polling(target),
            parameter_in_ssm: None,
        }
    }

    pub async fn plan(&self, target: &Target) -> Result<TargetPlan, StackFailure> {
        let stack = self.stack(target)?;
        let mut input = self.input(target, stack);
        if stack.adopted_bucket.is_some() {
            input.parameter_in_ssm =
                import::parameter_in_ssm(&self.clients.ssm_reads(target), stack).await?;
        }
        plan_region(&self.cloudformation(target), &input).await
    }

    pub async fn discard(&self, target: &Target, plan: &TargetPlan) -> Result<(), StackFailure> {
        discard(&self.cloudformation(target), plan.change_set())
            .await
            .map_err(|e| StackFailure::new(&self.stack_name, e))
    }

    pub async fn apply(
        &self,
        target: &Target,
        plan: &TargetPlan,
        options: &ApplyOptions,
        line: &ProgressLine,
    ) -> Result<Applied, StackFailure> {
        let stack = self.stack(target)?;
        let how = Execution {
            options: *options,
            polling: self.polling(target),
        };
        let progress = |m: String| line.set(m);
        apply_region(&self.cloudformation(target), plan, stack, &how, &progress).await
    }

    /// A plan's payload in a plan file.
    pub fn save(&self, target: &Target, plan: &TargetPlan) -> Map<String, Value> {
        match self.stack(target) {
            Ok(stack) => ChangeSetRecord::of(plan.change_set(), stack).payload(),
            Err(_) => Map::new(),
        }
    }

    /// What moved offline since a plan file was written (templates, parameters), or a payload
    /// that is not one of ours.
    pub fn check_saved(&self, file: &PlanFile, path: &Path) -> Result<(), DeployError> {
        for saved in &file.regions {
            let record = ChangeSetRecord::read(saved).map_err(|message| DeployError::PlanFile {
                path: path.to_path_buf(),
                message,
            })?;
            let stale = match self.stack(&saved.target()) {
                Ok(stack) => record.staleness(&saved.region, stack),
                Err(_) => Some(format!(
                    "region {} is no longer in the configuration",
                    saved.region
                )),
            };
            if let Some(reason) = stale {
                return Err(DeployError::StalePlan {
                    path: path.to_path_buf(),
                    reason,
                });
            }
        }
        Ok(())
    }

    /// A saved target's plan, checked against the change set and the stack.
    pub async fn load(&self, saved: &SavedTarget) -> Result<TargetPlan, LoadError> {
        let target = saved.target();
        let stack = self.stack(&target).map_err(LoadError::Failed)?;
        let record = ChangeSetRecord::read(saved).map_err(LoadError::Stale)?;
        let input = self.input(&target, stack);
        load_region(&self.cloudformation(&target), saved, &record, &input).await
    }

    /// What a region's stack holds; `None`: no stack. A retained bucket deleted by hand is not
    /// retained.
    pub async fn inventory(&self, target: &Target) -> Result<Option<Inventory>, StackFailure> {
        let mut found = inventory(&self.cloudformation(target), &self.stack_name)
            .await
            .map_err(|e: StackError| StackFailure::new(&self.stack_name, e))?;
        if let Some(inv) = &mut found {
            forget_missing_buckets(&self.clients.s3_reads(target), &mut inv.resources).await;
        }
        Ok(found)
    }

    /// Deletes a region's stack (what it retains stays).
    pub async fn destroy(
        &self,
        target: &Target,
        inventory: &Inventory,
        line: &ProgressLine,
    ) -> Result<Destroyed, StackFailure> {
        let progress = |m: String| line.set(m);
        let cf = self.cloudformation(target);
        destroy_region(&cf, inventory, &self.polling(target), &progress).await?;
        Ok(Destroyed {
            result: DestroyResult::Deleted,
            retained: inventory.retained(),
        })
    }

    pub async fn status(&self, target: &Target) -> Result<StackStatus, StackFailure> {
        region_status(&self.cloudformation(target), &self.stack_name).await
    }

    pub async fn drift(&self, target: &Target) -> Result<StackDrift, StackFailure> {
        detect_region(
            &self.cloudformation(target),
            &self.stack_name,
            &self.polling(target),
        )
        .await
    }
}
