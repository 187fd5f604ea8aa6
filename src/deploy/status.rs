//! `provision status`: each target's stack status, last change and outputs.

use super::engine::Engine;
use super::error::DeployError;
use super::model::Operation;
use super::model::StackStatus;
use super::session::{PLAN_CONCURRENCY, Request};
use crate::context::Context;
use crate::exit::Exit;
use crate::runner::{self, Reports, Run, TargetReport};
use crate::ui::{Tone, Ui};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub stack_name: String,
    pub regions: Reports<StackStatus>,
}

impl StatusReport {
    pub fn text(&self, ui: &Ui) -> String {
        let mut out = String::new();
        let w = self.regions.label_width().unwrap_or(6).max(6);
        let in_accounts = self.regions.iter().any(|r| r.target.account.is_some());
        let column = if in_accounts { "TARGET" } else { "REGION" };
        let _ = writeln!(
            out,
            "{}",
            ui.paint(Tone::Bold, format!("Stack {}", self.stack_name))
        );
        let _ = writeln!(
            out,
            "  {:<w$}  {:<32}  {:<20}  PROTECTED",
            column, "STATUS", "LAST CHANGE"
        );
        for r in self.regions.iter() {
            let _ = writeln!(out, "  {:<w$}  {}", r.label(), row(ui, r));
        }
        for r in self.regions.iter() {
            match &r.outcome {
                Err(e) => {
                    let _ = writeln!(out, "{}: {}", r.label(), e.message());
                }
                Ok(s) if !s.outputs.is_empty() => {
                    let _ = writeln!(out, "{} outputs:", r.label());
                    let kw = s.outputs.keys().map(String::len).max().unwrap_or(0);
                    for (k, v) in &s.outputs {
                        let _ = writeln!(out, "  {k:<kw$}  {v}");
                    }
                }
                Ok(_) => {}
            }
        }
        out
    }
}

/// A target's status, last change and protection, padded to columns.
fn row(ui: &Ui, r: &TargetReport<StackStatus>) -> String {
    let Ok(s) = &r.outcome else {
        return ui.paint(Tone::Bad, format!("{:<32}", "error"));
    };
    let status = match &s.status {
        Some(st) if st.ends_with("_COMPLETE") && !st.contains("ROLLBACK") => {
            ui.paint(Tone::Good, format!("{st:<32}"))
        }
        Some(st) => ui.paint(Tone::Warn, format!("{st:<32}")),
        None => ui.paint(Tone::Dim, format!("{:<32}", "not deployed")),
    };
    let protected = match s.termination_protection {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    };
    let mut row = format!(
        "{status}  {:<20}  {protected}",
        s.last_updated.as_deref().unwrap_or("")
    );
    // A stack instance (StackSets): its drift status and the set's operation that last
    // touched it, where the protection would be.
    if let Some(drift) = &s.drift_status
        && s.termination_protection.is_none()
    {
        row.push_str(&format!("drift {drift}"));
    }
    if let Some(op) = &s.last_operation {
        row.push_str(&format!(
            "; last operation {} {} {}",
            op.id, op.action, op.status
        ));
    }
    if let Some(reason) = s
        .status_reason
        .as_ref()
        .filter(|_| s.last_operation.is_some())
    {
        row.push_str(&format!(" ({reason})"));
    }
    row
}

pub async fn cmd_status(
    ctx: &Context,
    args: &crate::cli::QueryArgs,
    interrupt: &crate::terraform::Interrupt,
) -> Result<Exit, DeployError> {
    let request = Request {
        operation: Operation::Status,
        regions: &args.regions.regions,
        engine: &args.engine,
        templates: None,
        interrupt,
    };
    let (session, engine, targets) = Engine::start(ctx, &request).await?;
    let regions = runner::run(Run::quiet(PLAN_CONCURRENCY), &targets, |t, _| {
        let engine = &engine;
        async move { engine.status(&t).await }
    })
    .await;
    let report = StatusReport {
        stack_name: session.cfg.stack_name.clone(),
        regions,
    };
    report
        .regions
        .report_failures(&ctx.ui, Some(&session.subject()));
    ctx.ui.emit("status", &report, || report.text(&ctx.ui))?;
    Ok(report.regions.exit())
}
