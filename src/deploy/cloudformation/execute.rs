//! Executing one region's plan: ExecuteChangeSet, then waiting for the stack with capped
//! backoff while reporting progress; ROLLBACK_COMPLETE stacks deleted and created again on
//! request; termination protection on new stacks.

use super::import_apply;
use super::plan::{self, PlanInput};
use super::stack::StackError;
use super::target::StackTarget;
use super::wait::{self, EventTracker, Polling};
use crate::aws::SdkResultExt;
use crate::deploy::model::{
    Action, Applied, ApplyOptions, ChangeSetPlan, Outcome, StackFailure, TargetPlan,
};
use aws_config::retry::RetryConfig;
use aws_sdk_cloudformation::Client;
use std::time::Duration;

/// How to execute: the command line's choices, and how to poll this region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Execution {
    pub options: ApplyOptions,
    pub polling: Polling,
}

/// Executes one region's plan and waits for the stack.
pub async fn apply_region(
    cf: &Client,
    plan: &TargetPlan,
    target: &StackTarget,
    how: &Execution,
    progress: &dyn Fn(String),
) -> Result<Applied, StackFailure> {
    let applied = |result: Outcome, status: Option<String>, warnings: Vec<String>| Applied {
        stack_name: target.stack_name.clone(),
        result,
        status,
        status_reason: None,
        operation_id: None,
        warnings,
    };
    let mut plan = plan.clone();
    let outcome = match plan.action {
        Action::NoChanges => {
            let status = plan.change_set().stack_status.clone();
            return Ok(applied(Outcome::Unchanged, status, vec![]));
        }
        Action::Create => Outcome::Created,
        Action::Update => Outcome::Updated,
        Action::Recreate => {
            if !how.options.recreate_failed {
                return Err(target
                    .failure("the stack's first creation failed (ROLLBACK_COMPLETE); it cannot be updated, only deleted and created again")
                    .with_hint("pass --recreate-failed to delete the failed stack and create it again"));
            }
            plan = recreate(cf, plan.change_set(), target, how, progress).await?;
            Outcome::Recreated
        }
        Action::Delete | Action::Retry => {
            return Err(target.failure(format!(
                "`{}` is not an action of the cloudformation engine",
                plan.action.word()
            )));
        }
    };
    if plan.change_set().import {
        // The import runs as it was planned: with CloudFormation's rollback, whatever
        // --no-rollback says of the update.
        let importing = Execution {
            options: ApplyOptions {
                no_rollback: false,
                ..how.options
            },
            polling: how.polling,
        };
        let what = import_apply::imported_names(&plan);
        let end = execute(
            cf,
            plan.change_set(),
            0,
            target,
            &importing,
            format!("importing {what}"),
            progress,
        )
        .await?;
        plan =
            import_apply::plan_after_import(cf, &plan, target, &how.polling, &end, &what, progress)
                .await?;
        if plan.action == Action::NoChanges {
            return Ok(applied(outcome, Some("IMPORT_COMPLETE".into()), vec![]));
        }
    }
    let change_set = plan.change_set();
    let stack_id = stack_id(change_set, target);
    let end = execute(
        cf,
        change_set,
        plan.changes.len(),
        target,
        how,
        "executing the change set".into(),
        progress,
    )
    .await?;
    let creating = outcome != Outcome::Updated;
    if end.status != "CREATE_COMPLETE" && end.status != "UPDATE_COMPLETE" {
        return Err(execution_failure(target, &end, creating));
    }
    let mut warnings = Vec::new();
    if creating
        && how.options.termination_protection
        && let Err(m) = protect(cf, &stack_id).await
    {
        warnings.push(format!(
            "termination protection was not enabled: {m}; enable it with `aws cloudformation update-termination-protection --enable-termination-protection --stack-name {} --region {}`",
            target.stack_name, target.region
        ));
    }
    Ok(applied(outcome, Some(end.status), warnings))
}

/// Executes the change set (an update's or an import's), says `doing`, and waits until the
/// stack settles.
async fn execute(
    cf: &Client,
    plan: &ChangeSetPlan,
    total: usize,
    target: &StackTarget,
    how: &Execution,
    doing: String,
    progress: &dyn Fn(String),
) -> Result<wait::StackOutcome, StackFailure> {
    let kind = if plan.import {
        "IMPORT change set"
    } else {
        "change set"
    };
    let arn = plan
        .change_set_arn
        .clone()
        .ok_or_else(|| target.failure(format!("no {kind} to execute")))?;
    let stack_id = &stack_id(plan, target);
    let mut tracker = EventTracker::from_now(cf, stack_id, &target.stack_name)
        .await
        .map_err(|e| target.failure(e))?;
    let mut execute = cf.execute_change_set().change_set_name(&arn);
    if how.options.no_rollback {
        execute = execute.disable_rollback(true);
    }
    if let Err(e) = execute
        .send()
        .await
        .classify("cloudformation:ExecuteChangeSet", cf)
    {
        // Nothing ran: remove the change set (and the empty stack a first plan made) so that
        // the next run starts clean.
        let _ = plan::discard(cf, plan).await;
        return Err(target.failure(StackError::from(e)));
    }
    progress(doing);
    wait::wait_stack(cf, stack_id, &mut tracker, total, &how.polling, progress)
        .await
        .map_err(|e| target.failure(e))
}

/// The stack's ID from the plan, or its name when the plan has none (a new stack).
fn stack_id(plan: &ChangeSetPlan, target: &StackTarget) -> String {
    plan.stack_id
        .clone()
        .unwrap_or_else(|| target.stack_name.clone())
}

/// Deletes a stack left in ROLLBACK_COMPLETE, waits, and plans its creation again.
async fn recreate(
    cf: &Client,
    plan: &ChangeSetPlan,
    target: &StackTarget,
    how: &Execution,
    progress: &dyn Fn(String),
) -> Result<TargetPlan, StackFailure> {
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
    let end = wait::wait_stack(cf, &stack_id, &mut tracker, 0, &how.polling, progress)
        .await
        .map_err(|e| target.failure(e))?;
    if end.status != "DELETE_COMPLETE" {
        let mut failure = target.failure(format!(
            "deleting the failed stack ended in {}{}",
            end.status,
            end.first_failure
                .as_ref()
                .map(|f| format!(": {f}"))
                .unwrap_or_default()
        ));
        failure.status = Some(end.status);
        failure.first_failure = end.first_failure.map(Box::new);
        return Err(failure);
    }
    progress("planning the new stack".into());
    let fresh = plan::plan_region(
        cf,
        &PlanInput {
            target,
            principals: None,
            polling: how.polling,
            parameter_in_ssm: None,
        },
    )
    .await?;
    if fresh.action != Action::Create {
        return Err(target.failure(format!(
            "expected a new stack after the deletion, found {:?}",
            fresh.action
        )));
    }
    Ok(fresh)
}

fn execution_failure(
    target: &StackTarget,
    end: &wait::StackOutcome,
    creating: bool,
) -> StackFailure {
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
    let mut failure = target.failure(message).with_hint(hint);
    failure.status = Some(end.status.clone());
    failure.first_failure = end.first_failure.clone().map(Box::new);
    failure
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
