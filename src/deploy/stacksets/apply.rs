//! Applying the set: one run of the driver's apply for every instance (create or update the
//! set with the configured preferences, create, retry and delete instances, each operation
//! polled to its end), then each target's outcome read from its report.

use super::prepare::Prepared;
use super::set::{OpenLine, StackSets};
use crate::deploy::error::DeployError;
use crate::deploy::model::{Action, Applied, Outcome, StackFailure, TargetPlan};
use crate::runner::{Failure, Target};
use crate::stacksets::{
    self, ApplyOptions, ApplyReport, InstanceKey, InstanceOutcome, InstanceSummary, StackSetError,
};

/// Runs the set's apply (`None`: nothing to do). Removal of instances was allowed by the
/// data-loss guard before this runs (or is harmless: their stacks are retained).
pub async fn run(
    engine: &StackSets,
    prepared: &Prepared,
    open_line: &OpenLine<'_>,
) -> Result<Option<ApplyReport>, DeployError> {
    if !prepared.preview.has_changes() {
        return Ok(None);
    }
    let cf = engine.cloudformation();
    if prepared.preview.exists {
        // Checked again now: the plan may be minutes old.
        let operations = stacksets::list_operations(&cf, engine.name()).await?;
        if let Some(running) = operations.iter().rev().find(|o| o.is_running()) {
            return Err(StackSetError::OperationInProgress {
                stack_set: engine.name().to_string(),
                running: Some(Box::new(running.running())),
                message: String::new(),
            }
            .into());
        }
    }
    let line = open_line();
    let options = ApplyOptions {
        remove_instances: true,
    };
    let progress = |m: String| line.set(m);
    let result = stacksets::apply(
        &cf,
        &prepared.spec,
        &prepared.preview,
        options,
        &engine.polling(),
        &progress,
    )
    .await;
    match result {
        Ok(report) => {
            line.finish(if report.succeeded() {
                "done"
            } else {
                "done, with failed instances"
            });
            Ok(Some(report))
        }
        Err(e) => {
            line.finish("failed");
            Err(e.into())
        }
    }
}

/// One target's outcome of the set's apply.
pub fn outcome(
    engine: &StackSets,
    report: Option<&ApplyReport>,
    target: &Target,
    plan: &TargetPlan,
) -> Result<Applied, StackFailure> {
    let payload = plan.stack_set().cloned().unwrap_or_default();
    let applied = |result: Outcome,
                   status: Option<String>,
                   reason: Option<String>,
                   op: Option<String>| Applied {
        stack_name: engine.name().to_string(),
        result,
        status,
        status_reason: reason,
        operation_id: op,
        warnings: Vec::new(),
    };
    let Some(report) = report else {
        return Ok(applied(
            Outcome::Unchanged,
            payload.instance_status,
            None,
            None,
        ));
    };
    let key = InstanceKey::new(target.account.clone().unwrap_or_default(), &target.region);
    let last = last_outcome(report, &key);
    let now = report.instances.iter().find(|i| i.key == key);
    let operation_id = last
        .and_then(|o| o.last_operation_id.clone())
        .or_else(|| now.and_then(|i| i.last_operation_id.clone()));
    if plan.action == Action::Delete {
        return match now {
            None => Ok(applied(
                Outcome::Deleted,
                Some("deleted".into()),
                None,
                operation_id,
            )),
            Some(i) => Err(not_deleted(engine, i, last)),
        };
    }
    if report.failed_instances().contains(&key) {
        return Err(instance_failed(engine, now, last));
    }
    let result = match plan.action {
        Action::Create => Outcome::Created,
        Action::Update | Action::Retry | Action::Recreate => Outcome::Updated,
        Action::NoChanges | Action::Delete => Outcome::Unchanged,
    };
    Ok(applied(
        result,
        now.map(|i| i.status.clone()),
        now.and_then(|i| i.status_reason.clone()),
        operation_id,
    ))
}

/// An instance a delete left in place.
fn not_deleted(
    engine: &StackSets,
    now: &InstanceSummary,
    last: Option<&InstanceOutcome>,
) -> StackFailure {
    let why = last
        .and_then(InstanceOutcome::reason)
        .or(now.status_reason.as_deref());
    failed(
        engine,
        format!(
            "the instance was not deleted ({}{})",
            now.status,
            reason(why)
        ),
        Some(now.status.clone()),
        last,
    )
}

/// An instance the operation failed or cancelled: what its last operation said, and what
/// it is now.
fn instance_failed(
    engine: &StackSets,
    now: Option<&InstanceSummary>,
    last: Option<&InstanceOutcome>,
) -> StackFailure {
    let status = now.map(|i| i.status.clone());
    let what = match (last.and_then(|o| o.result.as_deref()), &status) {
        (Some(result @ ("FAILED" | "CANCELLED")), Some(s)) => format!("{result}, now {s}"),
        (Some(result @ ("FAILED" | "CANCELLED")), None) => result.to_string(),
        (_, Some(s)) => s.clone(),
        (_, None) => "no instance".into(),
    };
    let why = last
        .and_then(InstanceOutcome::reason)
        .or(now.and_then(|i| i.status_reason.as_deref()));
    failed(
        engine,
        format!("the instance is {what}{}", reason(why)),
        status,
        last,
    )
}

/// The outcome of the last operation that reported on the instance.
fn last_outcome<'a>(report: &'a ApplyReport, key: &InstanceKey) -> Option<&'a InstanceOutcome> {
    report
        .operations
        .iter()
        .rev()
        .flat_map(|o| o.instances.iter())
        .find(|i| &i.key == key && i.result.is_some())
        .or_else(|| {
            report
                .operations
                .iter()
                .rev()
                .flat_map(|o| o.instances.iter())
                .find(|i| &i.key == key)
        })
}

fn reason(why: Option<&str>) -> String {
    why.map(|w| format!(": {w}")).unwrap_or_default()
}

fn failed(
    engine: &StackSets,
    message: String,
    status: Option<String>,
    last: Option<&InstanceOutcome>,
) -> StackFailure {
    let mut failure = Failure::new(message);
    if let Some(problem) = last.and_then(|o| o.problem.as_ref()) {
        failure = failure.with_hint(problem.explain());
    } else {
        failure = failure.with_hint(
            "fix the cause, then run `provision apply` again: it retries only the instances that are not CURRENT",
        );
    }
    let mut f = StackFailure::new(engine.name(), failure);
    f.status = status;
    f
}
