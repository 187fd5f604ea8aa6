//! Planning one region: a change set (CREATE for a new stack, UPDATE otherwise), waited for
//! and described, with the security changes computed from the templates.

use super::import;
use super::security;
use super::stack::{self, StackError, StackInfo, describe_stack};
use super::target::StackTarget;
use super::wait::{self, ChangeSetOutcome, Polling};
use crate::aws::SdkResultExt;
use crate::deploy::model::predicted::{self, Pseudo};
use crate::deploy::model::{
    Action, ChangeKind, ChangeSetPlan, EnginePlan, Principals, ResourceChange, SecurityChange,
    StackFailure, TargetPlan,
};
use crate::render::PRINCIPALS_PARAMETER;
use crate::replacement::Replacement;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{ChangeSetType, Parameter, TemplateStage};
use serde_json::Value;
use std::collections::BTreeMap;

/// CloudFormation refuses a `TemplateBody` longer than this (bytes); larger templates must be
/// uploaded to S3 first, which `provision` does not do.
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// What `plan` needs to know about one region beyond the target.
pub struct PlanInput<'a> {
    pub target: &'a StackTarget,
    pub principals: Option<&'a Principals>,
    pub polling: Polling,
    /// The bucket-name parameter's value where it exists in SSM, read at plan time for a
    /// region with an adopted bucket (imported with it: creating it would fail).
    pub parameter_in_ssm: Option<String>,
}

/// A plan being made: what is known before the change set.
struct Planning<'a> {
    input: &'a PlanInput<'a>,
    new_template: Value,
    existing: Option<StackInfo>,
}

/// Plans one region: describes the stack, creates a change set and waits for it. The change
/// set is left in place (the caller keeps or discards it); a change set without changes is
/// deleted at once.
pub async fn plan_region(cf: &Client, input: &PlanInput<'_>) -> Result<TargetPlan, StackFailure> {
    let target = input.target;
    let new_template = rendered_template(target)?;
    let existing = describe_stack(cf, &target.stack_name)
        .await
        .map_err(|e| target.failure(StackError::from(e)))?;
    let planning = Planning {
        input,
        new_template,
        existing,
    };
    let change_set_type = match planning.existing.as_ref().map(|s| s.status.as_str()) {
        None | Some("REVIEW_IN_PROGRESS") => ChangeSetType::Create,
        Some("ROLLBACK_COMPLETE") => return Ok(planning.recreate()),
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
    planning.with_change_set(cf, change_set_type).await
}

/// The rendered template, parsed, and within CloudFormation's inline limit.
fn rendered_template(target: &StackTarget) -> Result<Value, StackFailure> {
    let template = security::parse_template(&target.template)
        .map_err(|m| target.failure(format!("rendered template: {m}")))?;
    if target.template.len() > MAX_TEMPLATE_BODY {
        return Err(target.failure(format!(
            "the template is {} bytes; CloudFormation accepts at most {} inline",
            target.template.len(),
            MAX_TEMPLATE_BODY
        )));
    }
    Ok(template)
}

impl Planning<'_> {
    fn plan(&self, action: Action, engine: ChangeSetPlan) -> TargetPlan {
        TargetPlan {
            stack_name: self.input.target.stack_name.clone(),
            action,
            engine: EnginePlan::CloudFormation(engine),
            changes: Vec::new(),
            security: Vec::new(),
        }
    }

    /// The stack as it is, before any change set.
    fn stack(&self) -> ChangeSetPlan {
        let existing = self.existing.as_ref();
        ChangeSetPlan {
            stack_status: existing.map(|s| s.status.clone()),
            change_set_arn: None,
            stack_id: existing.map(|s| s.stack_id.clone()),
            stack_changed_at: existing.and_then(|s| s.changed_at().map(str::to_string)),
            created_review_stack: false,
            import: false,
        }
    }

    /// Plans a region whose stack must import first ([`import`]): the IMPORT change set,
    /// waited for and checked, then the update that follows it, predicted.
    async fn with_import(
        self,
        cf: &Client,
        old_template: Value,
        imports: Vec<import::Imported>,
    ) -> Result<TargetPlan, StackFailure> {
        let input = self.input;
        let deployed = self
            .existing
            .as_ref()
            .filter(|s| s.status != "REVIEW_IN_PROGRESS");
        let (created, described) = import::create_and_describe(
            cf,
            input.target,
            deployed,
            &old_template,
            &imports,
            &input.polling,
        )
        .await;
        let mut engine = self.stack();
        engine.import = true;
        if let Some(created) = &created {
            engine.change_set_arn = created.id().map(str::to_string);
            // A stack made for this change set (none existed) goes when the plan is discarded.
            let made = created
                .stack_id()
                .filter(|id| Some(*id) != engine.stack_id.as_deref());
            engine.created_review_stack = made.is_some();
            if let Some(id) = made {
                engine.stack_id = Some(id.to_string());
            }
        }
        let mut changes = match described {
            Ok(changes) => changes,
            Err(failure) => {
                let _ = discard(cf, &engine).await;
                return Err(failure);
            }
        };
        let imported: Vec<String> = imports.iter().map(|i| i.logical_id.clone()).collect();
        let mut update = import::update_changes(&old_template, &imported, &self.new_template);
        if let Some(info) = deployed {
            let predictions = predict_replacements(&old_template, info, &self.new_template, input);
            predicted::merge(&mut update, &predictions, &self.new_template);
        }
        changes.extend(update);
        let action = match deployed {
            Some(_) => Action::Update,
            None => Action::Create,
        };
        let mut plan = self.plan(action, engine);
        plan.changes = changes;
        plan.security = security_changes(&old_template, &self.new_template, deployed, input);
        Ok(plan)
    }

    /// A stack whose first creation failed: every resource is created again.
    fn recreate(&self) -> TargetPlan {
        let mut plan = self.plan(Action::Recreate, self.stack());
        plan.changes = template_resources(&self.new_template);
        plan.security = security_changes(&Value::Null, &self.new_template, None, self.input);
        plan
    }

    /// Creates the change set, waits for it and describes it.
    async fn with_change_set(
        self,
        cf: &Client,
        change_set_type: ChangeSetType,
    ) -> Result<TargetPlan, StackFailure> {
        let target = self.input.target;
        let old_template = match (&change_set_type, &self.existing) {
            (ChangeSetType::Update, Some(_)) => deployed_template(cf, target).await?,
            _ => Value::Null,
        };
        let imports = import::wanted(
            target,
            &self.new_template,
            &old_template,
            self.input.parameter_in_ssm.as_deref(),
        );
        if !imports.is_empty() {
            return self.with_import(cf, old_template, imports).await;
        }
        let old_info = self
            .existing
            .as_ref()
            .filter(|_| change_set_type == ChangeSetType::Update);
        let mut engine = self.stack();
        let created = create_change_set(cf, target, &change_set_type).await?;
        engine.change_set_arn = created.id().map(str::to_string);
        engine.created_review_stack = self.existing.is_none();
        if let Some(id) = created.stack_id() {
            engine.stack_id = Some(id.to_string());
        }
        let arn = engine.change_set_arn.clone().unwrap_or_default();
        let outcome = match wait::wait_change_set(cf, &arn, &self.input.polling).await {
            Ok(o) => o,
            Err(e) => {
                let _ = discard(cf, &engine).await;
                return Err(target.failure(e));
            }
        };
        let action = if change_set_type == ChangeSetType::Create {
            Action::Create
        } else {
            Action::Update
        };
        match outcome {
            ChangeSetOutcome::Ready { mut changes, .. } => {
                let security =
                    security_changes(&old_template, &self.new_template, old_info, self.input);
                if let Some(info) = old_info {
                    let predictions =
                        predict_replacements(&old_template, info, &self.new_template, self.input);
                    predicted::merge(&mut changes, &predictions, &self.new_template);
                }
                let mut plan = self.plan(action, engine);
                plan.changes = changes;
                plan.security = security;
                Ok(plan)
            }
            ChangeSetOutcome::NoChanges => {
                // Nothing to keep: a failed change set only clutters the stack.
                let _ = discard(cf, &engine).await;
                engine.change_set_arn = None;
                Ok(self.plan(Action::NoChanges, engine))
            }
            ChangeSetOutcome::Failed(reason) => {
                let _ = discard(cf, &engine).await;
                Err(target.failure(format!("the change set failed: {reason}")))
            }
        }
    }
}

async fn create_change_set(
    cf: &Client,
    target: &StackTarget,
    change_set_type: &ChangeSetType,
) -> Result<aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput, StackFailure>
{
    let parameters = target
        .parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect();
    let request = cf
        .create_change_set()
        .change_set_type(change_set_type.clone())
        .description("provision plan")
        .template_body(&target.template)
        .set_parameters(Some(parameters));
    stack::create_change_set(cf, target, request).await
}

fn unrecoverable_hint(status: &str) -> String {
    match status {
        "UPDATE_ROLLBACK_FAILED" => "continue the rollback first (`aws cloudformation continue-update-rollback`), then plan again".into(),
        _ => "inspect the stack's events in the CloudFormation console; delete the stack (resources are retained) and apply again".into(),
    }
}

/// The deployed template, parsed (the original, as submitted).
pub(super) async fn deployed_template(
    cf: &Client,
    target: &StackTarget,
) -> Result<Value, StackFailure> {
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
    old: &Value,
    new: &Value,
    old_info: Option<&StackInfo>,
    input: &PlanInput<'_>,
) -> Vec<SecurityChange> {
    let old_ids = old_info
        .and_then(|i| i.parameters.get(PRINCIPALS_PARAMETER))
        .map(|v| stack::split_list_parameter(v))
        .unwrap_or_default();
    let new_ids = input
        .target
        .parameters
        .get(PRINCIPALS_PARAMETER)
        .map(|v| stack::split_list_parameter(v))
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

/// Which resources the new template replaces and why, predicted by `provision` from the
/// deployed template (its parameters and the stack's pseudo parameters resolved) against the
/// new one (the target's parameters resolved).
pub fn predict_replacements(
    old_template: &Value,
    deployed: &StackInfo,
    new_template: &Value,
    input: &PlanInput<'_>,
) -> BTreeMap<String, Replacement> {
    let target = input.target;
    let partition = crate::region::partition_of(&target.region);
    let pseudo = Pseudo {
        region: &target.region,
        partition: partition.id,
        url_suffix: partition.dns_suffix,
        stack_name: &target.stack_name,
        account_id: predicted::account_of_arn(&deployed.stack_id),
    };
    let old_known = predicted::known(old_template, &deployed.parameters, &pseudo);
    let new_known = predicted::known(new_template, &target.parameters, &pseudo);
    predicted::predict(old_template, &old_known, new_template, &new_known)
}

/// What a change set made earlier (a plan file) changes beyond its own list: the security
/// changes and the predicted replacements, from the deployed template against the target's.
pub async fn compare_loaded(
    cf: &Client,
    input: &PlanInput<'_>,
    stack: Option<&StackInfo>,
    changes: &mut Vec<ResourceChange>,
) -> Result<Vec<SecurityChange>, StackFailure> {
    let target = input.target;
    let new_template = security::parse_template(&target.template)
        .map_err(|m| target.failure(format!("rendered template: {m}")))?;
    let deployed = stack.filter(|s| s.status != "REVIEW_IN_PROGRESS");
    let old_template = match deployed {
        Some(_) => deployed_template(cf, target).await?,
        None => Value::Null,
    };
    if let Some(info) = deployed {
        let predictions = predict_replacements(&old_template, info, &new_template, input);
        predicted::merge(changes, &predictions, &new_template);
    }
    Ok(security_changes(
        &old_template,
        &new_template,
        deployed,
        input,
    ))
}

/// Every resource of a template as an addition (a stack created from scratch).
pub fn template_resources(template: &Value) -> Vec<ResourceChange> {
    template
        .get("Resources")
        .and_then(|r| r.as_object())
        .map(|m| {
            m.iter()
                .map(|(logical, r)| {
                    let resource_type = r.get("Type").and_then(|t| t.as_str());
                    ResourceChange::new(ChangeKind::Add, resource_type.unwrap_or_default(), logical)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Deletes a plan's change set, and the empty stack a CREATE change set made.
pub async fn discard(cf: &Client, plan: &ChangeSetPlan) -> Result<(), StackError> {
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
