//! Applying a plan that imports first ([`super::import`]): once `execute` has run the IMPORT
//! change set like any other and the stack settled, anything but `IMPORT_COMPLETE` is a
//! failure naming the region, the stack and what was imported, with the stack events'
//! reason; then the update is planned with the full template, and `execute` runs it as any
//! other.

use super::import::noun;
use super::plan::{PlanInput, discard, plan_region};
use super::target::StackTarget;
use super::wait::{Polling, StackOutcome};
use crate::deploy::model::{ChangeKind, StackFailure, TargetPlan};
use aws_sdk_cloudformation::Client;

/// After a plan's IMPORT change set was executed and the stack settled (`end`): a status
/// other than `IMPORT_COMPLETE` is a failure naming the region, the stack and what was
/// imported (`what`), with the stack events' reason (CloudFormation rolled it back and the
/// retained resources stay as they were). Otherwise plans the update with the full template,
/// which must lose nothing the plan did not show, and returns that update's plan (or no
/// changes).
pub async fn plan_after_import(
    cf: &Client,
    plan: &TargetPlan,
    target: &StackTarget,
    polling: &Polling,
    end: &StackOutcome,
    what: &str,
    progress: &dyn Fn(String),
) -> Result<TargetPlan, StackFailure> {
    if end.status != "IMPORT_COMPLETE" {
        let mut failure = target
            .failure(format!(
                "{}: importing {what} into stack {} ended in {}: {}",
                target.region,
                target.stack_name,
                end.status,
                end.cause()
            ))
            .with_hint("nothing was deleted: what was to be imported is as it was; fix the cause and apply again");
        failure.status = Some(end.status.clone());
        failure.first_failure = end.first_failure.clone().map(Box::new);
        return Err(failure);
    }
    progress("planning the update after the import".into());
    let input = PlanInput {
        target,
        principals: None,
        polling: *polling,
        parameter_in_ssm: None,
    };
    let fresh = plan_region(cf, &input).await?;
    let unforeseen = unforeseen_loss(plan, &fresh, &target.region);
    if fresh.change_set().import || !unforeseen.is_empty() {
        let _ = discard(cf, fresh.change_set()).await;
        let why = if unforeseen.is_empty() {
            "the stack still does not manage it".to_string()
        } else {
            format!("the update would now {unforeseen}, which the plan did not show")
        };
        return Err(target
            .failure(format!(
                "{}: {what} imported into stack {}, but {why}",
                target.region, target.stack_name
            ))
            .with_hint("plan again to see the update, then apply it"));
    }
    Ok(fresh)
}

/// What the plan imports, in words (`bucket hand-made-bucket and parameter /buckets/staging`).
pub fn imported_names(plan: &TargetPlan) -> String {
    let names: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == ChangeKind::Import)
        .map(|c| {
            let id = c.physical_id.as_deref().unwrap_or(&c.logical_id);
            format!("{} {id}", noun(&c.resource_type))
        })
        .collect();
    names.join(" and ")
}

/// The data loss the fresh update would cause that the plan did not show (and so was not
/// allowed by `--allow-replace`).
fn unforeseen_loss(plan: &TargetPlan, fresh: &TargetPlan, region: &str) -> String {
    let target = crate::runner::Target::region(region);
    let shown = plan.data_loss(&target);
    fresh
        .data_loss(&target)
        .into_iter()
        .filter(|l| !shown.iter().any(|s| s.logical_id == l.logical_id))
        .map(|l| format!("{} {} ({})", l.resource_type, l.logical_id, l.action.word()))
        .collect::<Vec<_>>()
        .join(", ")
}
