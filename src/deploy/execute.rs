//! Executing one region's plan: ExecuteChangeSet, then waiting for the stack with capped
//! backoff while reporting progress; ROLLBACK_COMPLETE stacks deleted and created again on
//! request; termination protection on new stacks.

use super::cfn::StackError;
use super::error::RegionFailure;
use super::model::{Action, RegionPlan};
use super::plan::{self, PlanInput};
use super::session::Target;
use super::wait::{self, EventTracker, FailedEvent, Polling};
use crate::aws::SdkResultExt;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudformation::Client;
use serde::Serialize;
use std::time::Duration;

/// How to execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyOptions {
    pub no_rollback: bool,
    pub recreate_failed: bool,
    pub termination_protection: bool,
    pub polling: Polling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Updated,
    Recreated,
    Unchanged,
    Failed,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Recreated => "recreated",
            Outcome::Unchanged => "unchanged",
            Outcome::Failed => "failed",
        }
    }
}

/// A successful execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    pub outcome: Outcome,
    pub status: Option<String>,
    pub warnings: Vec<String>,
}

/// A failed execution, with the first failed event when CloudFormation reported one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionFailure {
    pub failure: RegionFailure,
    pub status: Option<String>,
    pub first_failure: Option<FailedEvent>,
}

impl From<RegionFailure> for ExecutionFailure {
    fn from(failure: RegionFailure) -> Self {
        ExecutionFailure {
            failure,
            status: None,
            first_failure: None,
        }
    }
}

/// Executes one region's plan and waits for the stack.
pub async fn apply_region(
    cf: &Client,
    plan: &RegionPlan,
    target: &Target,
    opts: &ApplyOptions,
    progress: &dyn Fn(String),
) -> Result<Executed, ExecutionFailure> {
    let mut plan = plan.clone();
    let mut outcome = match plan.action {
        Action::NoChanges => {
            return Ok(Executed {
                outcome: Outcome::Unchanged,
                status: plan.stack_status.clone(),
                warnings: vec![],
            });
        }
        Action::Create => Outcome::Created,
        Action::Update => Outcome::Updated,
        Action::Recreate => Outcome::Recreated,
    };
    if plan.action == Action::Recreate {
        if !opts.recreate_failed {
            return Err(target
                .failure("the stack's first creation failed (ROLLBACK_COMPLETE); it cannot be updated, only deleted and created again")
                .with_hint("pass --recreate-failed to delete the failed stack and create it again")
                .into());
        }
        plan = recreate(cf, &plan, target, opts, progress).await?;
        outcome = Outcome::Recreated;
    }
    let arn = plan
        .change_set_arn
        .clone()
        .ok_or_else(|| target.failure("no change set to execute"))?;
    let stack_id = stack_id(&plan, target);
    let mut tracker = EventTracker::from_now(cf, &stack_id, &target.stack_name)
        .await
        .map_err(|e| target.failure(e))?;
    let mut execute = cf.execute_change_set().change_set_name(&arn);
    if opts.no_rollback {
        execute = execute.disable_rollback(true);
    }
    if let Err(e) = execute
        .send()
        .await
        .classify("cloudformation:ExecuteChangeSet", cf)
    {
        // Nothing ran: remove the change set (and the empty stack a first plan made) so that
        // the next run starts clean.
        let _ = plan::discard(cf, &plan).await;
        return Err(target.failure(StackError::from(e)).into());
    }
    progress("executing the change set".into());
    let end = wait::wait_stack(
        cf,
        &stack_id,
        &mut tracker,
        plan.changes.len(),
        &opts.polling,
        progress,
    )
    .await
    .map_err(|e| target.failure(e))?;
    let creating = outcome != Outcome::Updated;
    if end.status == "CREATE_COMPLETE" || end.status == "UPDATE_COMPLETE" {
        let mut warnings = Vec::new();
        if creating
            && opts.termination_protection
            && let Err(m) = protect(cf, &stack_id).await
        {
            warnings.push(format!(
                "termination protection was not enabled: {m}; enable it with `aws cloudformation update-termination-protection --enable-termination-protection --stack-name {} --region {}`",
                target.stack_name, target.region
            ));
        }
        return Ok(Executed {
            outcome,
            status: Some(end.status),
            warnings,
        });
    }
    Err(execution_failure(target, &end, creating))
}

/// The stack's ID from the plan, or its name when the plan has none (a new stack).
fn stack_id(plan: &RegionPlan, target: &Target) -> String {
    plan.stack_id
        .clone()
        .unwrap_or_else(|| target.stack_name.clone())
}

/// Deletes a stack left in ROLLBACK_COMPLETE, waits, and plans its creation again.
async fn recreate(
    cf: &Client,
    plan: &RegionPlan,
    target: &Target,
    opts: &ApplyOptions,
    progress: &dyn Fn(String),
) -> Result<RegionPlan, ExecutionFailure> {
    let stack_id = stack_id(plan, target);
    let mut tracker = EventTracker::from_now(cf, &stack_id, &target.stack_name)
        .await
        .map_err(|e| target.failure(e))?;
    cf.delete_stack()
        .stack_name(&stack_id)
        .send()
        .await
        .classify("cloudformation:DeleteStack", cf)
        .map_err(|e| target.failure(StackError::from(e)))?;
    progress("deleting the failed stack".into());
    let end = wait::wait_stack(cf, &stack_id, &mut tracker, 0, &opts.polling, progress)
        .await
        .map_err(|e| target.failure(e))?;
    if end.status != "DELETE_COMPLETE" {
        return Err(ExecutionFailure {
            failure: target.failure(format!(
                "deleting the failed stack ended in {}{}",
                end.status,
                end.first_failure
                    .as_ref()
                    .map(|f| format!(": {f}"))
                    .unwrap_or_default()
            )),
            status: Some(end.status),
            first_failure: end.first_failure,
        });
    }
    progress("planning the new stack".into());
    let fresh = plan::plan_region(
        cf,
        &PlanInput {
            target,
            principals: None,
            polling: opts.polling,
        },
    )
    .await?;
    if fresh.action != Action::Create {
        return Err(target
            .failure(format!(
                "expected a new stack after the deletion, found {:?}",
                fresh.action
            ))
            .into());
    }
    Ok(fresh)
}

fn execution_failure(
    target: &Target,
    end: &wait::StackOutcome,
    creating: bool,
) -> ExecutionFailure {
    let cause = end.cause();
    let (message, hint) = match end.status.as_str() {
        "UPDATE_ROLLBACK_COMPLETE" => (
            format!("the update failed and was rolled back: {cause}"),
            "the stack is unchanged; fix the cause and apply again".to_string(),
        ),
        "ROLLBACK_COMPLETE" => (
            format!("the creation failed and was rolled back: {cause}"),
            "fix the cause, then `provision apply --recreate-failed` deletes the failed stack and creates it again".to_string(),
        ),
        "CREATE_FAILED" | "UPDATE_FAILED" => (
            format!(
                "the {} failed and was kept as it is (--no-rollback): {cause}",
                if creating { "creation" } else { "update" }
            ),
            "fix the cause and apply again, or roll back in the CloudFormation console".to_string(),
        ),
        other => (
            format!("the stack ended in {other}: {cause}"),
            "inspect the stack's events in the CloudFormation console".to_string(),
        ),
    };
    ExecutionFailure {
        failure: target.failure(message).with_hint(hint),
        status: Some(end.status.clone()),
        first_failure: end.first_failure.clone(),
    }
}

/// Turns termination protection on. A follow-up to a successful creation: retried once
/// quickly, and a failure is only a warning (the stack itself is fine).
pub async fn protect(cf: &Client, stack_id: &str) -> Result<(), StackError> {
    let quick = aws_sdk_cloudformation::config::Builder::default().retry_config(
        RetryConfig::standard()
            .with_max_attempts(2)
            .with_initial_backoff(Duration::from_millis(200)),
    );
    cf.update_termination_protection()
        .stack_name(stack_id)
        .enable_termination_protection(true)
        .customize()
        .config_override(quick)
        .send()
        .await
        .map(|_| ())
        .classify("cloudformation:UpdateTerminationProtection", cf)
        .map_err(|e| {
            if e.is_unimplemented() {
                StackError::Unsupported(
                    "this endpoint does not implement UpdateTerminationProtection".into(),
                )
            } else {
                e.into()
            }
        })
}
