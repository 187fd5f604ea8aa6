//! Importing what exists but no stack manages: an adopted bucket (`adopted.buckets`), and the
//! bucket-name parameter with it when that parameter exists in SSM (creating it would fail
//! with AlreadyExists).
//!
//! CloudFormation imports through an IMPORT change set whose template is the stack's deployed
//! template (none: an empty one) plus the imported resources, and nothing else: an import may
//! not add, change or remove any other resource or output. Each imported resource carries
//! `DeletionPolicy: Retain` (required) and `UpdateReplacePolicy: Retain`, its identifier
//! (`BucketName`, `Name`) and the properties its type requires, all literal, so that nothing
//! in it refers to a resource the stack does not have yet.
//!
//! `plan` creates the IMPORT change set and shows its Import changes, then the update that
//! follows (predicted from the templates: it cannot be a change set before the import exists).
//! `apply` executes the import, waits for `IMPORT_COMPLETE`, then plans the update with the
//! full template and executes it as any update. An endpoint that does not implement IMPORT
//! (moto answers Add) is refused at plan time, before anything runs.

use super::plan::{Planning, discard, predict_replacements};
use super::stack::{self, StackError, StackInfo};
use super::target::StackTarget;
use super::wait::{self, ChangeSetOutcome};
use crate::aws::SdkResultExt;
use crate::deploy::model::predicted;
use crate::deploy::model::{Action, ChangeKind, ResourceChange, StackFailure, TargetPlan};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, ResourceToImport, Tag};
use serde_json::{Map, Value, json};

/// One existing resource to import.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub logical_id: String,
    pub resource_type: String,
    /// The identifier property and its value (`BucketName`, `Name`).
    pub key: &'static str,
    pub id: String,
    /// The resource's properties in the import template (identifier and required ones).
    pub properties: Map<String, Value>,
}

impl Imported {
    /// `bucket hand-made-bucket`, `parameter /buckets/staging`.
    pub fn describe(&self) -> String {
        format!("{} {}", noun(&self.resource_type), self.id)
    }
}

/// What an imported resource is, in words.
fn noun(resource_type: &str) -> &'static str {
    match resource_type {
        "AWS::S3::Bucket" => "bucket",
        _ => "parameter",
    }
}

/// What a region's stack must import before its update: the adopted bucket where the
/// deployed template (`Null`: no stack) has no resource of its logical ID, and the bucket-name
/// parameter where it exists in SSM (`parameter_value`) and the stack does not have it.
pub fn wanted(
    target: &StackTarget,
    rendered: &Value,
    deployed: &Value,
    parameter_value: Option<&str>,
) -> Vec<Imported> {
    let Some(bucket) = &target.adopted_bucket else {
        return Vec::new();
    };
    let managed = |id: &str| deployed["Resources"].get(id).is_some();
    let mut out = Vec::new();
    let named = |r: &Value| r["Properties"]["BucketName"].as_str() == Some(bucket.as_str());
    if let Some(id) = find(rendered, "AWS::S3::Bucket", named)
        && !managed(&id)
    {
        out.push(Imported {
            logical_id: id,
            resource_type: "AWS::S3::Bucket".into(),
            key: "BucketName",
            id: bucket.clone(),
            properties: Map::from_iter([("BucketName".into(), json!(bucket))]),
        });
    }
    let parameter = find(rendered, "AWS::SSM::Parameter", |_| true);
    if let (Some(id), Some(value)) = (parameter, parameter_value)
        && !out.is_empty()
        && !managed(&id)
    {
        let name = rendered["Resources"][&id]["Properties"]["Name"].as_str();
        if let Some(name) = name {
            out.push(Imported {
                logical_id: id,
                resource_type: "AWS::SSM::Parameter".into(),
                key: "Name",
                id: name.to_string(),
                properties: Map::from_iter([
                    ("Name".into(), json!(name)),
                    ("Type".into(), json!("String")),
                    ("Value".into(), json!(value)),
                ]),
            });
        }
    }
    out
}

/// The logical ID of the first resource of `resource_type` that `matches`.
fn find(template: &Value, resource_type: &str, matches: impl Fn(&Value) -> bool) -> Option<String> {
    template["Resources"]
        .as_object()?
        .iter()
        .find(|(_, r)| r["Type"].as_str() == Some(resource_type) && matches(r))
        .map(|(id, _)| id.clone())
}

/// The import template: the deployed one (or an empty one) plus the imported resources.
pub fn import_template(deployed: &Value, imports: &[Imported]) -> String {
    let mut template = match deployed {
        Value::Object(m) if !m.is_empty() => m.clone(),
        _ => Map::from_iter([("AWSTemplateFormatVersion".into(), json!("2010-09-09"))]),
    };
    let resources = template
        .entry("Resources")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(resources) = resources {
        for i in imports {
            resources.insert(
                i.logical_id.clone(),
                json!({
                    "Type": i.resource_type,
                    "DeletionPolicy": "Retain",
                    "UpdateReplacePolicy": "Retain",
                    "Properties": i.properties,
                }),
            );
        }
    }
    Value::Object(template).to_string()
}

/// Creates the IMPORT change set. A deployed stack's parameters keep their values.
async fn create(
    cf: &Client,
    target: &StackTarget,
    deployed: Option<&StackInfo>,
    template: &Value,
    imports: &[Imported],
) -> Result<CreateChangeSetOutput, StackFailure> {
    let parameters = deployed.map(|d| {
        d.parameters
            .keys()
            .map(|k| {
                Parameter::builder()
                    .parameter_key(k)
                    .use_previous_value(true)
                    .build()
            })
            .collect()
    });
    let resources = imports
        .iter()
        .map(|i| {
            ResourceToImport::builder()
                .resource_type(&i.resource_type)
                .logical_resource_id(&i.logical_id)
                .resource_identifier(i.key, &i.id)
                .build()
        })
        .collect();
    cf.create_change_set()
        .stack_name(&target.stack_name)
        .change_set_name(stack::change_set_name())
        .change_set_type(ChangeSetType::Import)
        .description("provision plan: import existing resources")
        .template_body(import_template(template, imports))
        .set_parameters(parameters)
        .set_resources_to_import(Some(resources))
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
        .map_err(|e| target.failure(StackError::from(e)))
}

/// The change set's changes must be exactly the imports; an endpoint without IMPORT (moto)
/// answers with additions, which would create a second bucket rather than adopt the first.
fn check_described(
    target: &StackTarget,
    imports: &[Imported],
    changes: &mut [ResourceChange],
) -> Result<(), StackFailure> {
    for i in imports {
        match changes.iter_mut().find(|c| c.logical_id == i.logical_id) {
            Some(c) if c.action == ChangeKind::Import => {
                c.physical_id.get_or_insert_with(|| i.id.clone());
                c.cause = Some(format!("import: {}", i.describe()));
            }
            other => {
                let answered = other.map_or("nothing", |c| c.action.word());
                return Err(target
                    .failure(format!(
                        "{}: the IMPORT change set for {} in stack {} answered `{answered}` instead of `import`: this endpoint does not implement resource import",
                        target.region,
                        i.describe(),
                        target.stack_name
                    ))
                    .with_hint("import the bucket on AWS itself, or use `engine: terraform`; nothing was changed"));
            }
        }
    }
    Ok(())
}

/// The update that follows the import, predicted from the templates: what the rendered
/// template adds over the deployed one and the imports, modifies, and removes.
pub fn update_changes(
    deployed: &Value,
    imported: &[String],
    rendered: &Value,
) -> Vec<ResourceChange> {
    let empty = Map::new();
    let old = deployed["Resources"].as_object().unwrap_or(&empty);
    let new = rendered["Resources"].as_object().unwrap_or(&empty);
    let mut out = Vec::new();
    for (id, r) in new {
        let kind = match old.get(id) {
            _ if imported.contains(id) => ChangeKind::Modify,
            Some(before) if before == r => continue,
            Some(_) => ChangeKind::Modify,
            None => ChangeKind::Add,
        };
        out.push(ResourceChange::new(
            kind,
            r["Type"].as_str().unwrap_or_default(),
            id,
        ));
    }
    for (id, r) in old {
        if !new.contains_key(id) {
            let t = r["Type"].as_str().unwrap_or_default();
            out.push(ResourceChange::new(ChangeKind::Remove, t, id));
        }
    }
    out
}

impl Planning<'_> {
    /// Plans a region whose stack must import first: the IMPORT change set, waited for and
    /// checked, then the update predicted.
    pub(super) async fn with_import(
        self,
        cf: &Client,
        old_template: Value,
        imports: Vec<Imported>,
    ) -> Result<TargetPlan, StackFailure> {
        let target = self.input.target;
        let deployed = self
            .existing
            .as_ref()
            .filter(|s| s.status != "REVIEW_IN_PROGRESS");
        let mut engine = self.stack();
        let created = create(cf, target, deployed, &old_template, &imports).await?;
        engine.change_set_arn = created.id().map(str::to_string);
        engine.import = true;
        // A stack made for this change set (none existed) goes when the plan is discarded.
        engine.created_review_stack = self.existing.is_none()
            || created.stack_id().is_some() && created.stack_id() != engine.stack_id.as_deref();
        if let Some(id) = created.stack_id() {
            engine.stack_id = Some(id.to_string());
        }
        let arn = engine.change_set_arn.clone().unwrap_or_default();
        let outcome = wait::wait_change_set(cf, &arn, &self.input.polling).await;
        let mut changes = match outcome {
            Ok(ChangeSetOutcome::Ready { changes, .. }) => changes,
            other => {
                let _ = discard(cf, &engine).await;
                let why = match other {
                    Ok(ChangeSetOutcome::Failed(reason)) => reason,
                    Ok(_) => "it has no changes".into(),
                    Err(e) => e.to_string(),
                };
                return Err(target.failure(format!(
                    "{}: the IMPORT change set for stack {} failed: {why}",
                    target.region, target.stack_name
                )));
            }
        };
        if let Err(f) = check_described(target, &imports, &mut changes) {
            let _ = discard(cf, &engine).await;
            return Err(f);
        }
        let imported: Vec<String> = imports.iter().map(|i| i.logical_id.clone()).collect();
        let mut update = update_changes(&old_template, &imported, &self.new_template);
        if let Some(info) = deployed {
            let predictions =
                predict_replacements(&old_template, info, &self.new_template, self.input);
            predicted::merge(&mut update, &predictions, &self.new_template);
        }
        changes.extend(update);
        let action = if deployed.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        let security = self.security(&old_template, deployed);
        let mut plan = self.plan(action, engine);
        plan.changes = changes;
        plan.security = security;
        Ok(plan)
    }
}

/// The bucket-name parameter's value where it exists in SSM (the rendered template names
/// it); `None` where it does not, or the template renders none.
pub async fn parameter_in_ssm(
    ssm: &aws_sdk_ssm::Client,
    target: &StackTarget,
) -> Result<Option<String>, StackFailure> {
    let template = super::security::parse_template(&target.template)
        .map_err(|m| target.failure(format!("rendered template: {m}")))?;
    let name = find(&template, "AWS::SSM::Parameter", |_| true).and_then(|id| {
        template["Resources"][&id]["Properties"]["Name"]
            .as_str()
            .map(str::to_string)
    });
    let Some(name) = name else {
        return Ok(None);
    };
    match ssm
        .get_parameter()
        .name(&name)
        .send()
        .await
        .classify("ssm:GetParameter", ssm)
    {
        Ok(out) => Ok(out.parameter.and_then(|p| p.value)),
        Err(e) if e.kind == crate::aws::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(target.failure(StackError::from(e))),
    }
}

/// Executes a plan's IMPORT change set and waits for `IMPORT_COMPLETE`; then plans the
/// update with the full template, which must lose nothing the plan did not show. Returns
/// that update's plan (or no changes). A failed import names the region, the stack and what
/// it imported; CloudFormation rolls it back, and the retained resources stay as they were.
pub async fn import_then_plan(
    cf: &Client,
    plan: &TargetPlan,
    target: &StackTarget,
    how: &super::execute::Execution,
    progress: &dyn Fn(String),
) -> Result<TargetPlan, StackFailure> {
    let change_set = plan.change_set();
    let what = imported_names(plan);
    let arn = change_set
        .change_set_arn
        .clone()
        .ok_or_else(|| target.failure("no IMPORT change set to execute"))?;
    let stack_id = change_set
        .stack_id
        .clone()
        .unwrap_or_else(|| target.stack_name.clone());
    let mut tracker = wait::EventTracker::from_now(cf, &stack_id, &target.stack_name)
        .await
        .map_err(|e| target.failure(e))?;
    if let Err(e) = cf
        .execute_change_set()
        .change_set_name(&arn)
        .send()
        .await
        .classify("cloudformation:ExecuteChangeSet", cf)
    {
        let _ = discard(cf, change_set).await;
        return Err(target.failure(StackError::from(e)));
    }
    progress(format!("importing {what}"));
    let end = wait::wait_stack(cf, &stack_id, &mut tracker, 0, &how.polling, progress)
        .await
        .map_err(|e| target.failure(e))?;
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
    let input = super::plan::PlanInput {
        target,
        principals: None,
        polling: how.polling,
        parameter_in_ssm: None,
    };
    let fresh = super::plan::plan_region(cf, &input).await?;
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
fn imported_names(plan: &TargetPlan) -> String {
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

/// A saved plan's IMPORT change set, read again: its Import changes named, and the update that
/// follows predicted from the deployed template (the comparison adds the replacements).
pub async fn loaded_changes(
    cf: &Client,
    target: &StackTarget,
    stack: Option<&StackInfo>,
    changes: &mut Vec<ResourceChange>,
) -> Result<(), StackFailure> {
    let rendered = super::security::parse_template(&target.template)
        .map_err(|m| target.failure(format!("rendered template: {m}")))?;
    let deployed = match stack.filter(|s| s.status != "REVIEW_IN_PROGRESS") {
        Some(_) => super::plan::deployed_template(cf, target).await?,
        None => Value::Null,
    };
    let mut imported = Vec::new();
    for c in changes
        .iter_mut()
        .filter(|c| c.action == ChangeKind::Import)
    {
        let id = c.physical_id.clone().unwrap_or_default();
        c.cause = Some(format!("import: {} {id}", noun(&c.resource_type)));
        imported.push(c.logical_id.clone());
    }
    changes.extend(update_changes(&deployed, &imported, &rendered));
    Ok(())
}
