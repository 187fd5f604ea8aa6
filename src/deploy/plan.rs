//! `provision plan`: every target planned by the engine, concurrently; the plan shown (text or
//! `provision.plan/v1`), its security changes in a table, and optionally saved (`--out`) for
//! `apply`. Without `--out`, what the plan kept (change sets) is discarded.

use super::display;
use super::engine::Engine;
use super::error::DeployError;
use super::model::Operation;
use super::model::{PlanReport, TargetPlan};
use super::planfile::{PlanFile, SavedTarget};
use super::session::{PLAN_CONCURRENCY, Request};
use crate::context::Context;
use crate::exit::Exit;
use crate::runner::{self, Reports, Run, Target};
use std::path::Path;

/// Plans every target, at most `concurrency` at once; the reports in the targets' order.
pub async fn plan_all(
    engine: &Engine,
    targets: &[Target],
    concurrency: usize,
) -> Reports<TargetPlan> {
    runner::run(Run::quiet(concurrency), targets, |t, _| async move {
        engine.plan(&t).await
    })
    .await
}

/// Discards what every successful plan kept (warning on failures).
pub async fn discard_all(ctx: &Context, engine: &Engine, plans: &Reports<TargetPlan>) {
    for (target, plan) in plans.succeeded() {
        if let Err(e) = engine.discard(target, plan).await {
            ctx.ui.warn(format!(
                "{target} (stack {}): could not delete the plan's change set: {}",
                plan.stack_name,
                e.message()
            ));
        }
    }
}

/// The plan file of a complete plan: the envelope and each target's engine payload.
pub fn plan_file(engine: &Engine, stack_name: &str, plans: &Reports<TargetPlan>) -> PlanFile {
    let regions = plans
        .succeeded()
        .map(|(target, plan)| SavedTarget {
            region: target.region.clone(),
            account: target.account.clone(),
            action: plan.action,
            payload: engine.save(target, plan),
        })
        .collect();
    PlanFile::new(stack_name, engine.kind(), regions)
}

pub async fn cmd_plan(
    ctx: &Context,
    args: &crate::cli::PlanArgs,
    interrupt: &crate::terraform::Interrupt,
) -> Result<Exit, DeployError> {
    let request = Request {
        operation: Operation::Plan,
        regions: &args.regions.regions,
        engine: &args.engine,
        templates: args.templates.as_deref(),
        interrupt,
    };
    let (session, engine, targets) = Engine::start(ctx, &request).await?;
    let plans = plan_all(&engine, &targets, PLAN_CONCURRENCY).await;
    let mut report = PlanReport::new(
        &session.cfg.stack_name,
        engine.kind(),
        plans,
        engine.principals().cloned(),
    );
    report.stack_set = engine.overview().map(Box::new);
    // The data-loss guard refuses here too, before anything is kept for `apply`.
    let refused = !report.data_loss.is_empty() && !args.allow_replace;
    let saved = match &args.out {
        Some(path) if !refused => save(ctx, &engine, &mut report, path).await,
        _ => {
            discard_all(ctx, &engine, &report.regions).await;
            Ok(())
        }
    };
    ctx.ui
        .emit("plan", &report, || display::plan_text(&report, &ctx.ui))?;
    report
        .regions
        .report_failures(&ctx.ui, Some(&session.subject()));
    if refused {
        return Err(DeployError::ReplacementRefused {
            items: report.data_loss(),
        });
    }
    saved?;
    Ok(if report.regions.any_failed() {
        Exit::Failure
    } else if args.detailed_exitcode && report.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    })
}

/// Writes the plan file, keeping what the plan made; a plan with failed targets, or one that
/// cannot be written, is discarded instead.
async fn save(
    ctx: &Context,
    engine: &Engine,
    report: &mut PlanReport,
    path: &Path,
) -> Result<(), DeployError> {
    let failed: Vec<String> = report
        .regions
        .failures()
        .map(|(t, _)| t.to_string())
        .collect();
    if !failed.is_empty() {
        discard_all(ctx, engine, &report.regions).await;
        return Err(DeployError::IncompletePlan {
            path: path.to_path_buf(),
            regions: failed,
        });
    }
    if let Err(e) = engine.keep_plan(path) {
        discard_all(ctx, engine, &report.regions).await;
        return Err(e);
    }
    let file = plan_file(engine, &report.stack_name, &report.regions);
    match file.write(path) {
        Ok(()) => {
            report.plan_file = Some(path.display().to_string());
            Ok(())
        }
        Err(e) => {
            discard_all(ctx, engine, &report.regions).await;
            Err(e)
        }
    }
}
