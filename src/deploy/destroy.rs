//! `provision destroy`: deletes what the engine deployed in every target (termination
//! protection off first) and lists what it keeps: buckets and keys with `DeletionPolicy:
//! Retain` stay, with their data.

use super::engine::Engine;
use super::error::DeployError;
use super::model::{AllTargets, Operation};
use super::model::{DestroyResult, Destroyed, Inventory, StackFailure};
use super::session::{PLAN_CONCURRENCY, Request, Session};
use crate::context::Context;
use crate::exit::Exit;
use crate::runner::{self, Reports, Run, Target};
use crate::ui::{Tone, Ui};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Serialize)]
pub struct DestroyReport {
    pub stack_name: String,
    pub regions: Reports<Destroyed>,
}

impl DestroyReport {
    pub fn text(&self, ui: &Ui) -> String {
        let mut out = String::new();
        let w = self.regions.label_width().unwrap_or(6);
        let _ = writeln!(
            out,
            "{}",
            ui.paint(Tone::Bold, format!("Stack {}:", self.stack_name))
        );
        for r in self.regions.iter() {
            let text = match &r.outcome {
                Ok(d) if d.result == DestroyResult::Deleted => ui.paint(Tone::Good, "deleted"),
                Ok(_) => ui.paint(Tone::Dim, "not deployed"),
                Err(e) => ui.paint(Tone::Bad, format!("failed: {}", e.message())),
            };
            let _ = writeln!(out, "  {:<w$}  {text}", r.label());
        }
        let retained: Vec<_> = self
            .regions
            .succeeded()
            .flat_map(|(t, d)| d.retained.iter().map(move |x| (&t.region, x)))
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

type Found = Vec<(Target, Result<Option<Inventory>, StackFailure>)>;

pub async fn cmd_destroy(
    ctx: &Context,
    args: &crate::cli::DestroyArgs,
    interrupt: &crate::terraform::Interrupt,
) -> Result<Exit, DeployError> {
    let request = Request {
        operation: Operation::Destroy,
        regions: &args.regions.regions,
        engine: &args.engine,
        templates: None,
        interrupt,
    };
    let (session, engine, targets) = Engine::start(ctx, &request).await?;
    let found: Found = runner::for_each(&targets, PLAN_CONCURRENCY, |t| {
        let engine = &engine;
        async move { engine.inventory(&t).await }
    })
    .await;
    if !args.yes {
        confirm(ctx, &session, &found)?;
    }
    let inventory = |t: &Target| found.iter().find(|(x, _)| x == t).map(|(_, i)| i);
    let exists = |t: &Target| matches!(inventory(t), Some(Ok(Some(_))));
    let progress = ctx.ui.progress();
    // An engine whose one operation reaches every target runs it here, once.
    engine
        .run_all(AllTargets::Destroy { found: &found }, &progress)
        .await?;
    let how = Run {
        concurrency: PLAN_CONCURRENCY,
        progress: Some(&progress),
        shows_line: &exists,
    };
    let stack_name = &session.cfg.stack_name;
    let regions = runner::run(how, &targets, |t, line| {
        let (engine, inv) = (&engine, inventory(&t).cloned());
        async move {
            match inv {
                Some(Ok(Some(inv))) => engine.destroy(&t, &inv, &line).await,
                Some(Ok(None)) => Ok(Destroyed {
                    result: DestroyResult::NotDeployed,
                    retained: vec![],
                }),
                Some(Err(failure)) => Err(failure),
                None => Err(StackFailure::new(stack_name, "not read")),
            }
        }
    })
    .await;
    let report = DestroyReport {
        stack_name: session.cfg.stack_name.clone(),
        regions,
    };
    report
        .regions
        .report_failures(&ctx.ui, Some(&session.subject()));
    ctx.ui
        .emit_report("destroy", &report, || report.text(&ctx.ui))?;
    Ok(report.regions.exit())
}

/// Lists what would be deleted and asks (nothing to ask when nothing is deployed).
fn confirm(ctx: &Context, session: &Session, found: &Found) -> Result<(), DeployError> {
    let stack_name = &session.cfg.stack_name;
    let existing: Vec<(&Target, &Inventory)> = found
        .iter()
        .filter_map(|(t, i)| match i {
            Ok(Some(inv)) => Some((t, inv)),
            _ => None,
        })
        .collect();
    if existing.is_empty() {
        return Ok(());
    }
    for (target, inv) in &existing {
        let retained = inv.retained();
        ctx.ui.out(format!(
            "{target}: delete stack {stack_name} ({}, {} resources{})",
            inv.status,
            inv.resources.len(),
            if retained.is_empty() {
                String::new()
            } else {
                format!("; {} retained", retained.len())
            }
        ))?;
    }
    let names: Vec<String> = existing.iter().map(|(t, _)| t.to_string()).collect();
    let q = format!("Delete stack {stack_name} in {}?", names.join(", "));
    if !ctx.ui.confirm(&q, "--yes")? {
        return Err(DeployError::Cancelled("destroy"));
    }
    Ok(())
}
