//! `provision apply`: shows the plan, guards against data loss, asks, then applies every
//! target concurrently through the engine, one progress line per target with changes. A
//! target that fails never stops the others; the exit code says whether any failed.

use super::display;
use super::engine::Engine;
use super::error::DeployError;
use super::model::{AllTargets, Operation};
use super::model::{
    Applied, ApplyOptions, LoadError, Outcome, PlanReport, StackFailure, TargetPlan,
};
use super::plan::{discard_all, plan_all};
use super::planfile::PlanFile;
use super::session::{Request, Session};
use crate::context::Context;
use crate::exit::Exit;
use crate::runner::{self, Reports, Run, Target, TargetReport};
use crate::ui::{Tone, Ui};
use serde::Serialize;
use std::fmt::Write;
use std::path::Path;

/// The result of `apply`, text or JSON.
#[derive(Debug, Serialize)]
pub struct ApplyReport {
    pub plan: PlanReport,
    pub results: Reports<Applied>,
}

impl ApplyReport {
    pub fn text(&self, ui: &Ui) -> String {
        let mut out = String::new();
        let w = self.results.label_width().unwrap_or(6);
        let _ = writeln!(out, "{}", ui.paint(Tone::Bold, "Results:"));
        for r in self.results.iter() {
            let (tone, word, detail) = match &r.outcome {
                Err(e) => (Tone::Bad, "failed", e.message().to_string()),
                Ok(a) if a.result == Outcome::Unchanged => (
                    Tone::Dim,
                    a.result.word(),
                    a.status.clone().unwrap_or_default(),
                ),
                Ok(a) => (Tone::Good, a.result.word(), detail(a)),
            };
            let _ = writeln!(
                out,
                "  {:<w$}  {}  {detail}  ({:.1} s)",
                r.label(),
                ui.paint(tone, format!("{word:<9}")),
                r.elapsed.as_secs_f64()
            );
        }
        let count = |o: Outcome| {
            self.results
                .succeeded()
                .filter(|(_, a)| a.result == o)
                .count()
        };
        let deleted = match count(Outcome::Deleted) {
            0 => String::new(),
            n => format!("{n} deleted, "),
        };
        let _ = writeln!(
            out,
            "Apply: {} created, {} updated, {} recreated, {deleted}{} unchanged, {} failed.",
            count(Outcome::Created),
            count(Outcome::Updated),
            count(Outcome::Recreated),
            count(Outcome::Unchanged),
            self.results.failures().count()
        );
        out
    }
}

/// A target's status, with its reason and the engine's operation when there are (StackSets).
fn detail(a: &Applied) -> String {
    let mut text = a.status.clone().unwrap_or_default();
    if let Some(reason) = &a.status_reason {
        text.push_str(&format!(" ({reason})"));
    }
    if let Some(op) = &a.operation_id {
        text.push_str(&format!(", operation {op}"));
    }
    text
}

pub async fn cmd_apply(
    ctx: &Context,
    args: &crate::cli::ApplyArgs,
    interrupt: &crate::terraform::Interrupt,
) -> Result<Exit, DeployError> {
    let request = Request {
        operation: Operation::Apply,
        regions: &args.regions.regions,
        engine: &args.engine,
        templates: args.templates.as_deref(),
        interrupt,
    };
    let (session, engine, targets) = Engine::start(ctx, &request).await?;
    let concurrency = usize::from(args.max_concurrency);
    let plans = match &args.plan {
        Some(path) => {
            let wanted = &args.regions.regions;
            load_plan(&engine, (&session, &targets), path, wanted, concurrency).await?
        }
        None => plan_all(&engine, &targets, concurrency).await,
    };
    let mut report = PlanReport::new(
        &session.cfg.stack_name,
        engine.kind(),
        plans,
        engine.principals().cloned(),
    );
    report.stack_set = engine.overview().map(Box::new);
    // `-q` hides the plan, except when the user is about to be asked to approve it.
    if !ctx.ui.quiet || (!args.yes && ctx.ui.can_prompt) {
        ctx.ui.out(display::plan_text(&report, &ctx.ui))?;
    }
    // A plan file's change sets stay for a later run when this one stops early.
    let discard = args.plan.is_none();
    if let Err(e) = approve(ctx, args, &session, &report) {
        if discard {
            discard_all(ctx, &engine, &report.regions).await;
        }
        return Err(e);
    }
    let options = ApplyOptions {
        no_rollback: args.no_rollback,
        recreate_failed: args.recreate_failed,
        termination_protection: !args.no_termination_protection,
    };
    let results = execute_all(ctx, &engine, &report.regions, &options, concurrency).await?;
    let apply = ApplyReport {
        plan: report,
        results,
    };
    for (target, a) in apply.results.succeeded() {
        for w in &a.warnings {
            ctx.ui
                .warn(format!("{target} (stack {}): {w}", a.stack_name));
        }
    }
    apply
        .results
        .report_failures(&ctx.ui, Some(&session.subject()));
    ctx.ui
        .emit_report("apply", &apply, || apply.text(&ctx.ui))?;
    Ok(apply.results.exit())
}

/// The data-loss guard, then the confirmation (unless `--yes`).
fn approve(
    ctx: &Context,
    args: &crate::cli::ApplyArgs,
    session: &Session,
    report: &PlanReport,
) -> Result<(), DeployError> {
    let data_loss = report.data_loss();
    if !data_loss.is_empty() && !args.allow_replace {
        return Err(DeployError::ReplacementRefused { items: data_loss });
    }
    let pending: Vec<String> = report
        .regions
        .succeeded()
        .filter(|(_, p)| p.has_changes())
        .map(|(t, _)| t.to_string())
        .collect();
    if pending.is_empty() || args.yes {
        return Ok(());
    }
    let question = format!(
        "Apply these changes to {} ({})?",
        session.cfg.stack_name,
        pending.join(", ")
    );
    if ctx.ui.confirm(&question, "--yes")? {
        Ok(())
    } else {
        Err(DeployError::Cancelled("apply"))
    }
}

/// Applies every target (planning failures stay failures), at most `concurrency` at once,
/// with one progress line per target that has something to do.
async fn execute_all(
    ctx: &Context,
    engine: &Engine,
    plans: &Reports<TargetPlan>,
    options: &ApplyOptions,
    concurrency: usize,
) -> Result<Reports<Applied>, DeployError> {
    let progress = ctx.ui.progress();
    // An engine whose one operation reaches every target runs it here, once.
    engine
        .run_all(AllTargets::Apply { plans }, &progress)
        .await?;
    let targets: Vec<Target> = plans.iter().map(|r| r.target.clone()).collect();
    let plan_of = |t: &Target| plans.iter().find(|r| &r.target == t);
    let has_changes = |t: &Target| {
        plan_of(t).is_some_and(|r| r.outcome.as_ref().is_ok_and(TargetPlan::has_changes))
    };
    let how = Run {
        concurrency,
        progress: Some(&progress),
        shows_line: &has_changes,
    };
    let results = runner::run(how, &targets, |t, line| {
        let planned = plan_of(&t).map(|r: &TargetReport<TargetPlan>| &r.outcome);
        async move {
            match planned {
                Some(Ok(plan)) => engine.apply(&t, plan, options, &line).await,
                Some(Err(failure)) => Err(failure.clone()),
                None => Err(StackFailure::new("", "no plan")),
            }
        }
    })
    .await;
    Ok(results)
}

/// Reads a plan file and checks it against the configuration (offline) and what is deployed
/// (each target, by the engine): stale plans are refused before anything changes.
async fn load_plan(
    engine: &Engine,
    (session, planned): (&Session, &[Target]),
    path: &Path,
    wanted: &[String],
    concurrency: usize,
) -> Result<Reports<TargetPlan>, DeployError> {
    let mut file = PlanFile::read(path)?;
    file.select(wanted, path)?;
    let stale = |reason: String| DeployError::StalePlan {
        path: path.to_path_buf(),
        reason,
    };
    if let Some(reason) = file.staleness(engine.kind(), &session.cfg.stack_name, planned) {
        return Err(stale(reason));
    }
    engine.check_saved(&file, path)?;
    let targets: Vec<Target> = file.regions.iter().map(|r| r.target()).collect();
    let loaded = runner::for_each(&targets, concurrency, |t| {
        let saved = file.regions.iter().find(|r| r.target() == t);
        async move {
            match saved {
                Some(saved) => engine.load(saved).await,
                None => Err(LoadError::Stale(format!("{t} is not planned"))),
            }
        }
    })
    .await;
    let mut plans = Vec::new();
    for (target, r) in loaded {
        match r {
            Ok(p) => plans.push(TargetReport::new(target, Ok(p))),
            Err(LoadError::Failed(f)) => plans.push(TargetReport::new(target, Err(f))),
            Err(LoadError::Stale(reason)) => return Err(stale(reason)),
        }
    }
    Ok(Reports(plans))
}
