//! `provision destroy`: deletes the stacks (termination protection off first) and lists what
//! CloudFormation keeps: buckets and keys with `DeletionPolicy: Retain` stay, with their data.

use super::cfn::{StackError, StackInfo, describe_stack};
use super::error::{DeployError, RegionFailure};
use super::security;
use super::session::Session;
use super::wait::{self, EventTracker, FailedEvent, Polling};
use crate::aws::SdkResultExt;
use crate::context::Context;
use crate::exit::Exit;
use crate::ui::Tone;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::TemplateStage;
use serde::Serialize;
use std::fmt::Write;

/// A resource of a stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// `DeletionPolicy: Retain` (or `RetainExceptOnCreate`): it outlives the stack.
    pub retained: bool,
}

/// What a stack holds, read before deleting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    pub stack: StackInfo,
    pub resources: Vec<StackResource>,
}

impl Inventory {
    pub fn retained(&self) -> Vec<StackResource> {
        self.resources
            .iter()
            .filter(|r| r.retained)
            .cloned()
            .collect()
    }
}

/// Reads the stack, its resources and its template's deletion policies. `None`: no stack.
pub async fn inventory(cf: &Client, stack_name: &str) -> Result<Option<Inventory>, StackError> {
    let Some(stack) = describe_stack(cf, stack_name).await? else {
        return Ok(None);
    };
    if stack.status == "REVIEW_IN_PROGRESS" {
        // Only a pending change set: nothing was ever created.
        return Ok(Some(Inventory {
            stack,
            resources: vec![],
        }));
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
    Ok(Some(Inventory { stack, resources }))
}

/// Deletes one stack and waits until it is gone.
pub async fn destroy_region(
    cf: &Client,
    region: &str,
    inventory: &Inventory,
    polling: &Polling,
    progress: &dyn Fn(String),
) -> Result<(), (RegionFailure, Option<FailedEvent>)> {
    let stack = &inventory.stack;
    let name = stack
        .stack_id
        .split('/')
        .nth(1)
        .unwrap_or(&stack.stack_id)
        .to_string();
    let fail = |e: StackError| (RegionFailure::new(region, &name, e.to_string()), None);
    if stack.termination_protection {
        progress("turning termination protection off".into());
        cf.update_termination_protection()
            .stack_name(&stack.stack_id)
            .enable_termination_protection(false)
            .send()
            .await
            .classify("cloudformation:UpdateTerminationProtection", cf)
            .map_err(|e| fail(e.into()))?;
    }
    let mut tracker = EventTracker::from_now(cf, &stack.stack_id, &name)
        .await
        .map_err(fail)?;
    cf.delete_stack()
        .stack_name(&stack.stack_id)
        .send()
        .await
        .classify("cloudformation:DeleteStack", cf)
        .map_err(|e| fail(e.into()))?;
    let total = inventory.resources.len();
    let end = wait::wait_stack(cf, &stack.stack_id, &mut tracker, total, polling, progress)
        .await
        .map_err(fail)?;
    if end.status == "DELETE_COMPLETE" {
        return Ok(());
    }
    let cause = end.cause();
    Err((
        RegionFailure::new(region, &name, format!("the deletion ended in {}: {cause}", end.status))
            .with_hint("a bucket that is not retained must be empty to be deleted; empty it or retain it, then destroy again"),
        end.first_failure,
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DestroyResult {
    Deleted,
    NotDeployed,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct DestroyEntry {
    pub region: String,
    pub result: DestroyResult,
    /// Resources left behind on purpose (buckets and keys with their data).
    pub retained: Vec<StackResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<FailedEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RegionFailure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DestroyReport {
    pub stack_name: String,
    pub regions: Vec<DestroyEntry>,
}

impl DestroyReport {
    pub fn text(&self, ui: &crate::ui::Ui) -> String {
        let mut out = String::new();
        let w = self
            .regions
            .iter()
            .map(|r| r.region.len())
            .max()
            .unwrap_or(6);
        let _ = writeln!(
            out,
            "{}",
            ui.paint(Tone::Bold, format!("Stack {}:", self.stack_name))
        );
        for r in &self.regions {
            let text = match (&r.result, &r.error) {
                (DestroyResult::Deleted, _) => ui.paint(Tone::Good, "deleted"),
                (DestroyResult::NotDeployed, _) => ui.paint(Tone::Dim, "not deployed"),
                (DestroyResult::Failed, e) => ui.paint(
                    Tone::Bad,
                    format!(
                        "failed: {}",
                        e.as_ref().map(|e| e.message.as_str()).unwrap_or("")
                    ),
                ),
            };
            let _ = writeln!(out, "  {:<w$}  {text}", r.region);
        }
        let retained: Vec<_> = self
            .regions
            .iter()
            .filter(|r| r.result == DestroyResult::Deleted)
            .flat_map(|r| r.retained.iter().map(move |x| (&r.region, x)))
            .collect();
        if !retained.is_empty() {
            let _ = writeln!(
                out,
                "{}",
                ui.paint(
                    Tone::Warn,
                    "Retained (not deleted with the stack, data kept; delete them by hand when no longer needed):"
                )
            );
            for (region, r) in retained {
                let _ = writeln!(
                    out,
                    "  {region:<w$}  {:<20}  {}",
                    r.resource_type, r.physical_id
                );
            }
        }
        out
    }
}

pub async fn cmd_destroy(
    ctx: &Context,
    args: &crate::cli::DestroyArgs,
) -> Result<Exit, DeployError> {
    let session = Session::open(ctx, &args.regions.regions).await?;
    let stack_name = session.cfg.stack_name.clone();
    let found = session
        .for_each_stack(|_, cf| {
            let stack_name = &stack_name;
            async move { inventory(&cf, stack_name).await }
        })
        .await;
    let existing: Vec<(&String, &Inventory)> = found
        .iter()
        .filter_map(|(r, i)| match i {
            Ok(Some(inv)) => Some((r, inv)),
            _ => None,
        })
        .collect();
    if !existing.is_empty() && !args.yes {
        for (region, inv) in &existing {
            let retained = inv.retained();
            ctx.ui.out(format!(
                "{region}: delete stack {stack_name} ({}, {} resources{})",
                inv.stack.status,
                inv.resources.len(),
                if retained.is_empty() {
                    String::new()
                } else {
                    format!("; {} retained", retained.len())
                }
            ))?;
        }
        let names: Vec<&str> = existing.iter().map(|(r, _)| r.as_str()).collect();
        let q = format!("Delete stack {stack_name} in {}?", names.join(", "));
        if !ctx.ui.confirm(&q, "--yes")? {
            return Err(DeployError::Cancelled("destroy"));
        }
    }
    let progress = ctx.ui.progress();
    let entries = session
        .for_each_stack(|region, cf| {
            let polling = session.polling(&region);
            let inv = found.iter().find(|(r, _)| *r == region).map(|(_, i)| i);
            let stack_name = &stack_name;
            let progress = &progress;
            async move {
                let mut entry = DestroyEntry {
                    region: region.clone(),
                    result: DestroyResult::Failed,
                    retained: vec![],
                    first_failure: None,
                    error: None,
                };
                match inv {
                    Some(Ok(None)) => entry.result = DestroyResult::NotDeployed,
                    Some(Ok(Some(inv))) => {
                        let line = progress.line(&region);
                        let report = |m: String| line.set(m);
                        match destroy_region(&cf, &region, inv, &polling, &report).await {
                            Ok(()) => {
                                entry.result = DestroyResult::Deleted;
                                entry.retained = inv.retained();
                                line.finish("deleted");
                            }
                            Err((f, first)) => {
                                line.finish(format!("failed: {}", f.message));
                                entry.error = Some(f);
                                entry.first_failure = first;
                            }
                        }
                    }
                    Some(Err(m)) => {
                        entry.error = Some(RegionFailure::new(&region, stack_name, m.to_string()))
                    }
                    None => {}
                }
                entry
            }
        })
        .await;
    let report = DestroyReport {
        stack_name,
        regions: entries.into_iter().map(|(_, e)| e).collect(),
    };
    for e in report.regions.iter().filter_map(|r| r.error.as_ref()) {
        super::error::report_failure(&ctx.ui, e);
    }
    ctx.ui
        .emit_report("destroy", &report, || report.text(&ctx.ui))?;
    Ok(
        if report
            .regions
            .iter()
            .any(|r| r.result == DestroyResult::Failed)
        {
            Exit::Failure
        } else {
            Exit::Success
        },
    )
}
