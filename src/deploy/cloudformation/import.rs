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

use super::stack::{self, StackError, StackInfo};
use super::target::StackTarget;
use super::wait::{self, ChangeSetOutcome, Polling};
use crate::deploy::model::{ChangeKind, ResourceChange, StackFailure};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::types::{ChangeSetType, Parameter, ResourceToImport};
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
pub fn noun(resource_type: &str) -> &'static str {
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
    let request = cf
        .create_change_set()
        .change_set_type(ChangeSetType::Import)
        .description("provision plan: import existing resources")
        .template_body(import_template(template, imports))
        .set_parameters(parameters)
        .set_resources_to_import(Some(resources));
    stack::create_change_set(cf, target, request).await
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

/// Creates the IMPORT change set, waits for it and checks its changes: the change set's IDs
/// (to discard it) and its Import changes, or why it cannot be used.
pub async fn create_and_describe(
    cf: &Client,
    target: &StackTarget,
    deployed: Option<&StackInfo>,
    old_template: &Value,
    imports: &[Imported],
    polling: &Polling,
) -> (
    Option<CreateChangeSetOutput>,
    Result<Vec<ResourceChange>, StackFailure>,
) {
    let created = match create(cf, target, deployed, old_template, imports).await {
        Ok(c) => c,
        Err(f) => return (None, Err(f)),
    };
    let arn = created.id().unwrap_or_default().to_string();
    let failed = |why: String| {
        target.failure(format!(
            "{}: the IMPORT change set for stack {} failed: {why}",
            target.region, target.stack_name
        ))
    };
    let described = match wait::wait_change_set(cf, &arn, polling).await {
        Ok(ChangeSetOutcome::Ready { mut changes, .. }) => {
            check_described(target, imports, &mut changes).map(|()| changes)
        }
        Ok(ChangeSetOutcome::Failed(reason)) => Err(failed(reason)),
        Ok(ChangeSetOutcome::NoChanges) => Err(failed("it has no changes".into())),
        Err(e) => Err(failed(e.to_string())),
    };
    (Some(created), described)
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
    crate::aws::ssm::get_parameter(ssm, &name)
        .await
        .map_err(|e| target.failure(StackError::from(e)))
}

/// A saved plan's IMPORT change set, read again: its Import changes named, and the update that
/// follows predicted from the deployed template (`Null`: no stack; the comparison adds the
/// replacements).
pub fn loaded_changes(
    target: &StackTarget,
    deployed: &Value,
    changes: &mut Vec<ResourceChange>,
) -> Result<(), StackFailure> {
    let rendered = super::security::parse_template(&target.template)
        .map_err(|m| target.failure(format!("rendered template: {m}")))?;
    let mut imported = Vec::new();
    for c in changes
        .iter_mut()
        .filter(|c| c.action == ChangeKind::Import)
    {
        let id = c.physical_id.clone().unwrap_or_default();
        c.cause = Some(format!("import: {} {id}", noun(&c.resource_type)));
        imported.push(c.logical_id.clone());
    }
    changes.extend(update_changes(deployed, &imported, &rendered));
    Ok(())
}
