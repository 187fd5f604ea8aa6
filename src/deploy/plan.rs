//! `provision plan`: per region a change set (CREATE for a new stack, UPDATE otherwise),
//! waited for and described, with the security changes computed from the templates.

use super::cfn::{self, StackError, StackInfo, describe_stack};
use super::error::{DeployError, RegionFailure};
use super::model::{
    Action, Change, ChangeKind, PlanReport, Principals, RegionPlan, RegionResult, SecurityChange,
};
use super::planfile::{self, PlannedRegion};
use super::session::{Session, Target};
use super::wait::{self, ChangeSetOutcome, Polling};
use super::{display, security};
use crate::aws::SdkResultExt;
use crate::context::Context;
use crate::exit::Exit;
use crate::render::PRINCIPALS_PARAMETER;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, Tag, TemplateStage};

pub use super::session::PLAN_CONCURRENCY;

/// CloudFormation refuses a `TemplateBody` longer than this (bytes); larger templates must be
/// uploaded to S3 first, which `provision` does not do.
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// What `plan` needs to know about one region beyond the target.
pub struct PlanInput<'a> {
    pub target: &'a Target,
    pub principals: Option<&'a Principals>,
    pub polling: Polling,
}

/// Plans one region: describes the stack, creates a change set and waits for it. The change
/// set is left in place (the caller keeps or discards it); a change set without changes is
/// deleted at once.
pub async fn plan_region(cf: &Client, input: &PlanInput<'_>) -> Result<RegionPlan, RegionFailure> {
    let target = input.target;
    let new_template = security::parse_template(&target.template)
        .map_err(|m| target.failure(format!("rendered template: {m}")))?;
    if target.template.len() > MAX_TEMPLATE_BODY {
        return Err(target.failure(format!(
            "the template is {} bytes; CloudFormation accepts at most {} inline",
            target.template.len(),
            MAX_TEMPLATE_BODY
        )));
    }
    let existing = describe_stack(cf, &target.stack_name)
        .await
        .map_err(|e| target.failure(StackError::from(e)))?;
    let status = existing.as_ref().map(|s| s.status.clone());
    let mut plan = RegionPlan {
        region: target.region.clone(),
        stack_name: target.stack_name.clone(),
        action: Action::Create,
        stack_status: status.clone(),
        change_set_arn: None,
        stack_id: existing.as_ref().map(|s| s.stack_id.clone()),
        changes: Vec::new(),
        security: Vec::new(),
        stack_changed_at: existing
            .as_ref()
            .and_then(|s| s.changed_at().map(str::to_string)),
        created_review_stack: false,
    };
    let change_set_type = match status.as_deref() {
        None | Some("REVIEW_IN_PROGRESS") => ChangeSetType::Create,
        Some("ROLLBACK_COMPLETE") => {
            plan.action = Action::Recreate;
            plan.changes = template_resources(&new_template);
            plan.security = security_changes(&serde_json::Value::Null, &new_template, None, input);
            return Ok(plan);
        }
        Some(s) if !wait::is_settled(s) => {
            return Err(target
                .failure(format!("the stack is busy ({s})"))
                .with_hint("wait until the running operation ends, then plan again"));
        }
        Some(s @ ("ROLLBACK_FAILED" | "DELETE_FAILED" | "UPDATE_ROLLBACK_FAILED")) => {
            return Err(target
                .failure(format!("the stack is in {s} and cannot be updated"))
                .with_hint(unrecoverable_hint(s)));
        }
        Some(_) => ChangeSetType::Update,
    };
    let (old_template, old_info) = match (&change_set_type, &existing) {
        (ChangeSetType::Update, Some(info)) => (deployed_template(cf, target).await?, Some(info)),
        _ => (serde_json::Value::Null, None),
    };
    let created = cf
        .create_change_set()
        .stack_name(&target.stack_name)
        .change_set_name(cfn::change_set_name())
        .change_set_type(change_set_type.clone())
        .description("provision plan")
        .template_body(&target.template)
        .set_parameters(Some(
            target
                .parameters
                .iter()
                .map(|(k, v)| {
                    Parameter::builder()
                        .parameter_key(k)
                        .parameter_value(v)
                        .build()
                })
                .collect(),
        ))
        .set_tags(Some(
            target
                .tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .send()
        .await
        .classify("cloudformation:CreateChangeSet", cf)
        .map_err(|e| target.failure(StackError::from(e)))?;
    let arn = created.id().unwrap_or_default().to_string();
    plan.change_set_arn = Some(arn.clone());
    plan.created_review_stack = existing.is_none();
    if let Some(id) = created.stack_id() {
        plan.stack_id = Some(id.to_string());
    }
    let outcome = match wait::wait_change_set(cf, &arn, &input.polling).await {
        Ok(o) => o,
        Err(m) => {
            let _ = discard(cf, &plan).await;
            return Err(target.failure(m));
        }
    };
    match outcome {
        ChangeSetOutcome::Ready { changes, .. } => {
            plan.action = if change_set_type == ChangeSetType::Create {
                Action::Create
            } else {
                Action::Update
            };
            plan.changes = changes;
            plan.security = security_changes(&old_template, &new_template, old_info, input);
            Ok(plan)
        }
        ChangeSetOutcome::NoChanges => {
            // Nothing to keep: a failed change set only clutters the stack.
            let _ = discard(cf, &plan).await;
            plan.action = Action::NoChanges;
            plan.change_set_arn = None;
            Ok(plan)
        }
        ChangeSetOutcome::Failed(reason) => {
            let _ = discard(cf, &plan).await;
            Err(target.failure(format!("the change set failed: {reason}")))
        }
    }
}

fn unrecoverable_hint(status: &str) -> String {
    match status {
        "UPDATE_ROLLBACK_FAILED" => "continue the rollback first (`aws cloudformation continue-update-rollback`), then plan again".into(),
        _ => "inspect the stack's events in the CloudFormation console; delete the stack (resources are retained) and apply again".into(),
    }
}

/// The deployed template, parsed (the original, as submitted).
async fn deployed_template(
    cf: &Client,
    target: &Target,
) -> Result<serde_json::Value, RegionFailure> {
    let out = cf
        .get_template()
        .stack_name(&target.stack_name)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .classify("cloudformation:GetTemplate", cf)
        .map_err(|e| target.failure(StackError::from(e)))?;
    security::parse_template(out.template_body().unwrap_or_default())
        .map_err(|m| target.failure(format!("deployed template: {m}")))
}

fn security_changes(
    old: &serde_json::Value,
    new: &serde_json::Value,
    old_info: Option<&StackInfo>,
    input: &PlanInput<'_>,
) -> Vec<SecurityChange> {
    let old_ids = old_info
        .and_then(|i| i.parameters.get(PRINCIPALS_PARAMETER))
        .map(|v| cfn::split_list_parameter(v))
        .unwrap_or_default();
    let new_ids = input
        .target
        .parameters
        .get(PRINCIPALS_PARAMETER)
        .map(|v| cfn::split_list_parameter(v))
        .unwrap_or_default();
    let principals = (!old_ids.is_empty() || !new_ids.is_empty()).then_some((
        PRINCIPALS_PARAMETER,
        old_ids.as_slice(),
        new_ids.as_slice(),
    ));
    security::diff(old, new, principals, &|id| {
        input.principals.and_then(|p| p.describe(id))
    })
}

/// The security changes of a change set made earlier (a plan file): the deployed template
/// against the target's.
pub async fn security_for_loaded(
    cf: &Client,
    input: &PlanInput<'_>,
    stack: Option<&StackInfo>,
) -> Result<Vec<SecurityChange>, RegionFailure> {
    let target = input.target;
    let new_template = security::parse_template(&target.template)
        .map_err(|m| target.failure(format!("rendered template: {m}")))?;
    let deployed = stack.filter(|s| s.status != "REVIEW_IN_PROGRESS");
    let old_template = match deployed {
        Some(_) => deployed_template(cf, target).await?,
        None => serde_json::Value::Null,
    };
    Ok(security_changes(
        &old_template,
        &new_template,
        deployed,
        input,
    ))
}

/// Every resource of a template as an addition (a stack created from scratch).
pub fn template_resources(template: &serde_json::Value) -> Vec<Change> {
    template
        .get("Resources")
        .and_then(|r| r.as_object())
        .map(|m| {
            m.iter()
                .map(|(logical, r)| Change {
                    action: ChangeKind::Add,
                    resource_type: r
                        .get("Type")
                        .and_then(|t| t.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    logical_id: logical.clone(),
                    physical_id: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Deletes a plan's change set, and the empty stack a CREATE change set made.
pub async fn discard(cf: &Client, plan: &RegionPlan) -> Result<(), StackError> {
    if let Some(arn) = &plan.change_set_arn {
        cf.delete_change_set()
            .change_set_name(arn)
            .send()
            .await
            .classify("cloudformation:DeleteChangeSet", cf)?;
    }
    if plan.created_review_stack
        && let Some(id) = &plan.stack_id
    {
        cf.delete_stack()
            .stack_name(id)
            .send()
            .await
            .classify("cloudformation:DeleteStack", cf)?;
    }
    Ok(())
}

/// Plans every target concurrently; results in the targets' order.
pub async fn plan_all(
    session: &Session,
    targets: &[Target],
    principals: Option<&Principals>,
    concurrency: usize,
) -> Vec<RegionResult> {
    let regions: Vec<String> = targets.iter().map(|t| t.region.clone()).collect();
    crate::aws::for_each_region(&regions, concurrency, |region| {
        let cf = session.cloudformation(&region);
        let polling = session.polling(&region);
        let target = targets.iter().find(|t| t.region == region);
        async move {
            let target = target.ok_or_else(|| RegionFailure::new(&region, "", "no template"))?;
            plan_region(
                &cf,
                &PlanInput {
                    target,
                    principals,
                    polling,
                },
            )
            .await
        }
    })
    .await
    .into_iter()
    .map(|(_, r)| r)
    .collect()
}

/// Discards every successful plan's change set (warning on failures).
pub async fn discard_all(ctx: &Context, session: &Session, results: &[RegionResult]) {
    for plan in results.iter().flatten() {
        if let Err(m) = discard(&session.cloudformation(&plan.region), plan).await {
            ctx.ui.warn(format!(
                "{} (stack {}): could not delete the plan's change set: {m}",
                plan.region, plan.stack_name
            ));
        }
    }
}

/// Why a planned region cannot be applied as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    Stale(String),
    Failed(RegionFailure),
}

/// Re-reads a planned region: the change set must still exist and be executable, and the
/// stack must not have changed since; then it is described again for display.
pub async fn load_region(
    cf: &Client,
    planned: &PlannedRegion,
    input: &PlanInput<'_>,
) -> Result<RegionPlan, LoadError> {
    let target = input.target;
    let region = &planned.region;
    let stack = describe_stack(cf, &target.stack_name)
        .await
        .map_err(|e| LoadError::Failed(target.failure(StackError::from(e))))?;
    let changed_at = stack
        .as_ref()
        .and_then(|s| s.changed_at().map(str::to_string));
    if planned.action != Action::Create && changed_at != planned.stack_changed_at {
        return Err(LoadError::Stale(format!(
            "the stack in {region} changed since the plan (last change {})",
            changed_at.as_deref().unwrap_or("none: it was deleted")
        )));
    }
    let mut plan = RegionPlan {
        region: region.clone(),
        stack_name: target.stack_name.clone(),
        action: planned.action,
        stack_status: stack.as_ref().map(|s| s.status.clone()),
        change_set_arn: planned.change_set_arn.clone(),
        stack_id: planned.stack_id.clone(),
        changes: Vec::new(),
        security: Vec::new(),
        stack_changed_at: changed_at,
        created_review_stack: planned.action == Action::Create,
    };
    match planned.action {
        Action::NoChanges => return Ok(plan),
        Action::Recreate => {
            if plan.stack_status.as_deref() != Some("ROLLBACK_COMPLETE") {
                return Err(LoadError::Stale(format!(
                    "the stack in {region} is no longer in ROLLBACK_COMPLETE"
                )));
            }
            let fresh = plan_region(cf, input).await.map_err(LoadError::Failed)?;
            plan.changes = fresh.changes;
            plan.security = fresh.security;
            return Ok(plan);
        }
        Action::Create | Action::Update => {}
    }
    let Some(arn) = &planned.change_set_arn else {
        return Err(LoadError::Stale(format!(
            "no change set recorded for {region}"
        )));
    };
    match wait::describe_change_set(cf, arn).await {
        Ok(Some(ChangeSetOutcome::Ready {
            changes,
            execution_status,
            ..
        })) if execution_status == "AVAILABLE" => {
            plan.changes = changes;
        }
        Ok(Some(ChangeSetOutcome::Ready {
            execution_status, ..
        })) => {
            return Err(LoadError::Stale(format!(
                "the change set in {region} can no longer be executed ({execution_status})"
            )));
        }
        Ok(_) => {
            return Err(LoadError::Stale(format!(
                "the change set in {region} is not available"
            )));
        }
        Err(e) if e.is_not_found() => {
            return Err(LoadError::Stale(format!(
                "the change set in {region} no longer exists"
            )));
        }
        Err(e) => {
            return Err(LoadError::Failed(target.failure(StackError::from(e))));
        }
    }
    plan.security = security_for_loaded(cf, input, stack.as_ref())
        .await
        .map_err(LoadError::Failed)?;
    Ok(plan)
}

pub async fn cmd_plan(ctx: &Context, args: &crate::cli::PlanArgs) -> Result<Exit, DeployError> {
    let session = Session::open(ctx, &args.regions.regions).await?;
    let (targets, principals) = session.targets(args.templates.as_deref()).await?;
    let results = plan_all(&session, &targets, principals.as_ref(), PLAN_CONCURRENCY).await;
    let mut report = PlanReport::new(&session.cfg.stack_name, &results, principals);
    let mut write_error = None;
    match &args.out {
        Some(path) if !report.failures().is_empty() => {
            discard_all(ctx, &session, &results).await;
            write_error = Some(DeployError::IncompletePlan {
                path: path.clone(),
                regions: report.failures().iter().map(|f| f.region.clone()).collect(),
            });
        }
        Some(path) => {
            let file = planfile::PlanFile::new(&session.cfg.stack_name, &targets, &results);
            match file.write(path) {
                Ok(()) => report.plan_file = Some(path.display().to_string()),
                Err(e) => {
                    discard_all(ctx, &session, &results).await;
                    write_error = Some(e);
                }
            }
        }
        None => discard_all(ctx, &session, &results).await,
    }
    ctx.ui
        .emit("plan", &report, || display::plan_text(&report, &ctx.ui))?;
    for f in report.failures() {
        super::error::report_failure(&ctx.ui, f);
    }
    if let Some(e) = write_error {
        return Err(e);
    }
    Ok(if !report.failures().is_empty() {
        Exit::Failure
    } else if args.detailed_exitcode && report.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    })
}
