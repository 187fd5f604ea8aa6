//! `provision plan`: per region a change set (CREATE for a new stack, UPDATE otherwise),
//! waited for and described, with the security changes computed from the templates.

use super::cfn::{self, StackInfo, describe, describe_stack};
use super::principals::Principals;
use super::security::{self, SecurityChange};
use super::wait::{self, Change, ChangeKind, ChangeSetOutcome, Polling};
use super::{DeployError, RegionFailure, Session, Target, display, planfile};
use crate::Context;
use crate::error::{Error, Exit};
use crate::render::PRINCIPALS_PARAMETER;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, Tag, TemplateStage};
use serde::{Deserialize, Serialize};

/// How many regions are planned at once (plans only read and compute).
pub const PLAN_CONCURRENCY: usize = 16;

/// What a region's stack needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    NoChanges,
    /// The stack's first creation failed (ROLLBACK_COMPLETE): delete it and create it again.
    Recreate,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create stack",
            Action::Update => "update stack",
            Action::NoChanges => "no changes",
            Action::Recreate => "recreate stack (its first creation failed: ROLLBACK_COMPLETE)",
        }
    }
}

/// One region's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionPlan {
    pub region: String,
    pub stack_name: String,
    pub action: Action,
    /// The stack's status before the plan (absent: no stack).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    pub changes: Vec<Change>,
    pub security: Vec<SecurityChange>,
    /// When the stack last changed at plan time (a plan file is stale when it moved).
    #[serde(skip)]
    pub stack_changed_at: Option<String>,
    /// The plan created an empty stack (REVIEW_IN_PROGRESS) to hold a CREATE change set.
    #[serde(skip)]
    pub created_review_stack: bool,
}

impl RegionPlan {
    pub fn has_changes(&self) -> bool {
        self.action != Action::NoChanges
    }

    /// Replacements of stateful resources: data loss.
    pub fn data_loss(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| matches!(c.action, ChangeKind::Replace | ChangeKind::MayReplace))
            .filter(|c| {
                matches!(
                    c.resource_type.as_str(),
                    "AWS::S3::Bucket" | "AWS::KMS::Key"
                )
            })
            .map(|c| {
                format!(
                    "{} {} ({}) in {}",
                    c.resource_type,
                    c.logical_id,
                    c.action.word(),
                    self.region
                )
            })
            .collect()
    }
}

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
    if target.template.len() > super::MAX_TEMPLATE_BODY {
        return Err(target.failure(format!(
            "the template is {} bytes; CloudFormation accepts at most {} inline",
            target.template.len(),
            super::MAX_TEMPLATE_BODY
        )));
    }
    let existing = describe_stack(cf, &target.stack_name)
        .await
        .map_err(|m| target.failure(m))?;
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
        .map_err(|e| target.failure(format!("cloudformation:CreateChangeSet: {}", describe(&e))))?;
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
        .map_err(|e| target.failure(format!("cloudformation:GetTemplate: {}", describe(&e))))?;
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
pub async fn discard(cf: &Client, plan: &RegionPlan) -> Result<(), String> {
    if let Some(arn) = &plan.change_set_arn {
        cf.delete_change_set()
            .change_set_name(arn)
            .send()
            .await
            .map_err(|e| format!("cloudformation:DeleteChangeSet: {}", describe(&e)))?;
    }
    if plan.created_review_stack
        && let Some(id) = &plan.stack_id
    {
        cf.delete_stack()
            .stack_name(id)
            .send()
            .await
            .map_err(|e| format!("cloudformation:DeleteStack: {}", describe(&e)))?;
    }
    Ok(())
}

pub type RegionResult = Result<RegionPlan, RegionFailure>;

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

/// The plan of every region, as `plan` prints it and `apply` shows it before asking.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    pub stack_name: String,
    pub regions: Vec<PlanEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principals: Option<Principals>,
    pub summary: display::Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanEntry {
    pub region: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub plan: Option<RegionPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RegionFailure>,
}

impl PlanReport {
    pub fn new(stack_name: &str, results: &[RegionResult], principals: Option<Principals>) -> Self {
        let regions: Vec<PlanEntry> = results
            .iter()
            .map(|r| match r {
                Ok(p) => PlanEntry {
                    region: p.region.clone(),
                    plan: Some(p.clone()),
                    error: None,
                },
                Err(f) => PlanEntry {
                    region: f.region.clone(),
                    plan: None,
                    error: Some(f.clone()),
                },
            })
            .collect();
        PlanReport {
            stack_name: stack_name.to_string(),
            summary: display::Summary::of(&regions),
            regions,
            principals,
            plan_file: None,
        }
    }

    pub fn failures(&self) -> Vec<&RegionFailure> {
        self.regions
            .iter()
            .filter_map(|r| r.error.as_ref())
            .collect()
    }

    pub fn has_changes(&self) -> bool {
        self.regions
            .iter()
            .filter_map(|r| r.plan.as_ref())
            .any(RegionPlan::has_changes)
    }
}

pub async fn cmd_plan(ctx: &Context, args: &crate::cli::PlanArgs) -> Result<Exit, Error> {
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
        .emit("plan", &report, || display::plan_text(&report, &ctx.ui));
    for f in report.failures() {
        super::report_failure(&ctx.ui, f);
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }
    Ok(if !report.failures().is_empty() {
        Exit::Failure
    } else if args.detailed_exitcode && report.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    })
}
