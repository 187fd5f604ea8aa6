//! Destroying one region's stack: its inventory first (what CloudFormation keeps: buckets and
//! keys with `DeletionPolicy: Retain` stay, with their data), then termination protection off,
//! `DeleteStack`, and the wait. (A retained bucket that no longer exists is not listed as
//! retained: `deploy::retained`.)

use super::security;
use super::stack::{StackError, describe_stack};
use super::wait::{self, EventTracker, Polling};
use crate::aws::SdkResultExt;
use crate::deploy::model::{EngineStack, Inventory, StackFailure, StackResource};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::TemplateStage;

/// Reads the stack, its resources and its template's deletion policies. `None`: no stack.
pub async fn inventory(cf: &Client, stack_name: &str) -> Result<Option<Inventory>, StackError> {
    let Some(stack) = describe_stack(cf, stack_name).await? else {
        return Ok(None);
    };
    let inventory = |resources| Inventory {
        status: stack.status.clone(),
        resources,
        engine: EngineStack::CloudFormation {
            stack_id: stack.stack_id.clone(),
            termination_protection: stack.termination_protection,
        },
    };
    if stack.status == "REVIEW_IN_PROGRESS" {
        // Only a pending change set: nothing was ever created.
        return Ok(Some(inventory(vec![])));
    }
    let template = cf
        .get_template()
        .stack_name(&stack.stack_id)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .classify("cloudformation:GetTemplate", cf)?;
    let template = security::parse_template(template.template_body().unwrap_or_default())
        .map_err(StackError::Template)?;
    let mut resources = Vec::new();
    let mut token = None;
    loop {
        let page = cf
            .list_stack_resources()
            .stack_name(&stack.stack_id)
            .set_next_token(token)
            .send()
            .await
            .classify("cloudformation:ListStackResources", cf)?;
        for r in page.stack_resource_summaries() {
            let logical = r.logical_resource_id().unwrap_or_default().to_string();
            let policy = template
                .pointer(&format!(
                    "/Resources/{}/DeletionPolicy",
                    logical.replace('~', "~0").replace('/', "~1")
                ))
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            resources.push(StackResource {
                resource_type: r.resource_type().unwrap_or_default().to_string(),
                physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
                retained: matches!(policy, "Retain" | "RetainExceptOnCreate"),
                logical_id: logical,
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(Some(inventory(resources)))
}

/// Deletes one stack and waits until it is gone.
pub async fn destroy_region(
    cf: &Client,
    inventory: &Inventory,
    polling: &Polling,
    progress: &dyn Fn(String),
) -> Result<(), StackFailure> {
    let EngineStack::CloudFormation {
        stack_id,
        termination_protection,
    } = &inventory.engine
    else {
        return Err(StackFailure::new("", "not a CloudFormation stack"));
    };
    let name = stack_id.split('/').nth(1).unwrap_or(stack_id).to_string();
    let fail = |e: StackError| StackFailure::new(&name, e);
    if *termination_protection {
        progress("turning termination protection off".into());
        cf.update_termination_protection()
            .stack_name(stack_id)
            .enable_termination_protection(false)
            .send()
            .await
            .classify("cloudformation:UpdateTerminationProtection", cf)
            .map_err(|e| fail(e.into()))?;
    }
    let mut tracker = EventTracker::from_now(cf, stack_id, &name)
        .await
        .map_err(fail)?;
    cf.delete_stack()
        .stack_name(stack_id)
        .send()
        .await
        .classify("cloudformation:DeleteStack", cf)
        .map_err(|e| fail(e.into()))?;
    let total = inventory.resources.len();
    let end = wait::wait_stack(cf, stack_id, &mut tracker, total, polling, progress)
        .await
        .map_err(fail)?;
    if end.status == "DELETE_COMPLETE" {
        return Ok(());
    }
    let cause = end.cause();
    let mut failure = StackFailure::new(&name, format!("the deletion ended in {}: {cause}", end.status))
        .with_hint("a bucket that is not retained must be empty to be deleted; empty it or retain it, then destroy again");
    failure.first_failure = end.first_failure.map(Box::new);
    Err(failure)
}
