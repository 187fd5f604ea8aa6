//! `provision apply`: shows the plan, asks, then executes every region's change set
//! concurrently and waits for each stack with capped backoff, one progress line per region.
//! A region that fails never stops the others; the exit code says whether any failed.

use super::display;
use super::error::{DeployError, RegionFailure};
use super::execute::{ApplyOptions, Outcome, apply_region};
use super::model::{PlanReport, Principals, RegionPlan, RegionResult};
use super::plan::{self, LoadError, PlanInput, discard_all, plan_all};
use super::planfile::PlanFile;
use super::session::{Session, Target};
use super::wait::{FailedEvent, Polling};
use crate::context::Context;
use crate::exit::{Exit, UsageError};
use crate::ui::Tone;
use serde::Serialize;
use std::fmt::Write;
use std::path::Path;
use std::time::Instant;

/// One region's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionOutcome {
    pub region: String,
    pub stack_name: String,
    pub result: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<FailedEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RegionFailure>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub seconds: f64,
}

/// The result of `apply`, text or JSON.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub plan: PlanReport,
    pub results: Vec<RegionOutcome>,
}

impl ApplyReport {
    pub fn failed(&self) -> bool {
        self.results.iter().any(|r| r.result == Outcome::Failed)
    }

    pub fn text(&self, ui: &crate::ui::Ui) -> String {
        let mut out = String::new();
        let w = self
            .results
            .iter()
            .map(|r| r.region.len())
            .max()
            .unwrap_or(6);
        let _ = writeln!(out, "{}", ui.paint(Tone::Bold, "Results:"));
        for r in &self.results {
            let tone = match r.result {
                Outcome::Failed => Tone::Bad,
                Outcome::Unchanged => Tone::Dim,
                _ => Tone::Good,
            };
            let word = r.result.word();
            let detail = match &r.error {
                Some(e) => e.message.clone(),
                None => r.status.clone().unwrap_or_default(),
            };
            let _ = writeln!(
                out,
                "  {:<w$}  {}  {detail}  ({:.1} s)",
                r.region,
                ui.paint(tone, format!("{word:<9}")),
                r.seconds
            );
        }
        let count = |o: Outcome| self.results.iter().filter(|r| r.result == o).count();
        let _ = writeln!(
            out,
            "Apply: {} created, {} updated, {} recreated, {} unchanged, {} failed.",
            count(Outcome::Created),
            count(Outcome::Updated),
            count(Outcome::Recreated),
            count(Outcome::Unchanged),
            count(Outcome::Failed)
        );
        out
    }
}

pub async fn cmd_apply(ctx: &Context, args: &crate::cli::ApplyArgs) -> Result<Exit, DeployError> {
    let session = Session::open(ctx, &args.regions.regions).await?;
    let (targets, principals) = session.targets(args.templates.as_deref()).await?;
    let concurrency = usize::from(args.max_concurrency);
    let results = match &args.plan {
        Some(path) => {
            let regions = &args.regions.regions;
            load_plan(
                &session,
                path,
                regions,
                &targets,
                principals.as_ref(),
                concurrency,
            )
            .await?
        }
        None => plan_all(&session, &targets, principals.as_ref(), concurrency).await,
    };
    // A plan file's change sets stay for a later run when this one stops early.
    let from_file = args.plan.is_some();
    let report = PlanReport::new(&session.cfg.stack_name, &results, principals);
    // `-q` hides the plan, except when the user is about to be asked to approve it.
    if !ctx.ui.quiet || (!args.yes && ctx.ui.can_prompt) {
        ctx.ui.out(display::plan_text(&report, &ctx.ui))?;
    }
    let data_loss: Vec<String> = results
        .iter()
        .flatten()
        .flat_map(|p| p.data_loss())
        .collect();
    if !data_loss.is_empty() && !args.allow_replace {
        if !from_file {
            discard_all(ctx, &session, &results).await;
        }
        return Err(DeployError::ReplacementRefused { items: data_loss });
    }
    let pending: Vec<&RegionPlan> = results
        .iter()
        .flatten()
        .filter(|p| p.has_changes())
        .collect();
    if !pending.is_empty() && !args.yes {
        let names: Vec<&str> = pending.iter().map(|p| p.region.as_str()).collect();
        let question = format!(
            "Apply these changes to {} ({})?",
            session.cfg.stack_name,
            names.join(", ")
        );
        let answer = ctx.ui.confirm(&question, "--yes");
        if !matches!(answer, Ok(true)) {
            if !from_file {
                discard_all(ctx, &session, &results).await;
            }
            answer?;
            return Err(DeployError::Cancelled("apply"));
        }
    }
    let opts = ApplyOptions {
        no_rollback: args.no_rollback,
        recreate_failed: args.recreate_failed,
        termination_protection: !args.no_termination_protection,
        polling: Polling::aws(),
    };
    let outcomes = execute_all(ctx, &session, &results, &targets, opts, concurrency).await;
    let apply = ApplyReport {
        plan: report,
        results: outcomes,
    };
    for r in &apply.results {
        for w in &r.warnings {
            ctx.ui
                .warn(format!("{} (stack {}): {w}", r.region, r.stack_name));
        }
        if let Some(e) = &r.error {
            super::error::report_failure(&ctx.ui, e);
        }
    }
    ctx.ui
        .emit_report("apply", &apply, || apply.text(&ctx.ui))?;
    Ok(if apply.failed() {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// Executes every region (planning failures become failed results), at most `concurrency`
/// at once, with one progress line per region that has something to do.
async fn execute_all(
    ctx: &Context,
    session: &Session,
    results: &[RegionResult],
    targets: &[Target],
    opts: ApplyOptions,
    concurrency: usize,
) -> Vec<RegionOutcome> {
    let progress = ctx.ui.progress();
    let lines: Vec<(String, crate::ui::ProgressLine)> = results
        .iter()
        .flatten()
        .filter(|p| p.has_changes())
        .map(|p| (p.region.clone(), progress.line(&p.region)))
        .collect();
    let regions: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(p) => p.region.clone(),
            Err(f) => f.region.clone(),
        })
        .collect();
    let done = crate::aws::for_each_region(&regions, concurrency, |region| {
        let result = results.iter().find(|r| match r {
            Ok(p) => p.region == region,
            Err(f) => f.region == region,
        });
        let target = targets.iter().find(|t| t.region == region);
        let line = lines
            .iter()
            .find(|(r, _)| *r == region)
            .map(|(_, l)| l.clone());
        let cf = session.cloudformation(&region);
        let opts = ApplyOptions {
            polling: session.polling(&region),
            ..opts
        };
        async move {
            let started = Instant::now();
            let stack = target.map(|t| t.stack_name.clone()).unwrap_or_default();
            let mut out = RegionOutcome {
                region: region.clone(),
                stack_name: stack,
                result: Outcome::Failed,
                status: None,
                first_failure: None,
                error: None,
                warnings: vec![],
                seconds: 0.0,
            };
            let executed = match (result, target) {
                (Some(Ok(plan)), Some(target)) => {
                    let report = |m: String| {
                        if let Some(l) = &line {
                            l.set(m);
                        }
                    };
                    apply_region(&cf, plan, target, &opts, &report).await
                }
                (Some(Err(f)), _) => Err(f.clone().into()),
                _ => Err(RegionFailure::new(&region, &out.stack_name, "no plan").into()),
            };
            match executed {
                Ok(e) => {
                    out.result = e.outcome;
                    out.status = e.status;
                    out.warnings = e.warnings;
                }
                Err(f) => {
                    out.status = f.status;
                    out.first_failure = f.first_failure;
                    out.error = Some(f.failure);
                }
            }
            out.seconds = started.elapsed().as_secs_f64();
            if let Some(l) = &line {
                l.finish(match &out.error {
                    Some(e) => format!("failed: {}", e.message),
                    None => format!(
                        "{} ({})",
                        out.result.word(),
                        out.status.clone().unwrap_or_default()
                    ),
                });
            }
            out
        }
    })
    .await;
    done.into_iter().map(|(_, o)| o).collect()
}

/// Reads a plan file and checks it against the current configuration and the stacks:
/// stale plans are refused before anything changes.
async fn load_plan(
    session: &Session,
    path: &Path,
    wanted: &[String],
    targets: &[Target],
    principals: Option<&Principals>,
    concurrency: usize,
) -> Result<Vec<RegionResult>, DeployError> {
    let mut file = PlanFile::read(path)?;
    for w in wanted {
        if !file.regions.iter().any(|r| &r.region == w) {
            return Err(UsageError::new(format!(
                "--region {w}: not in the plan {}",
                path.display()
            ))
            .into());
        }
    }
    if !wanted.is_empty() {
        file.regions.retain(|r| wanted.contains(&r.region));
    }
    let stale = |reason: String| DeployError::StalePlan {
        path: path.to_path_buf(),
        reason,
    };
    if let Some(reason) = file.offline_staleness(&session.cfg.stack_name, targets) {
        return Err(stale(reason));
    }
    let regions: Vec<String> = file.regions.iter().map(|r| r.region.clone()).collect();
    let loaded = crate::aws::for_each_region(&regions, concurrency, |region| {
        let cf = session.cloudformation(&region);
        let polling = session.polling(&region);
        let planned = file.regions.iter().find(|r| r.region == region);
        let target = targets.iter().find(|t| t.region == region);
        async move {
            let (Some(planned), Some(target)) = (planned, target) else {
                return Err(LoadError::Stale(format!("{region} is not planned")));
            };
            let input = PlanInput {
                target,
                principals,
                polling,
            };
            plan::load_region(&cf, planned, &input).await
        }
    })
    .await;
    let mut out = Vec::new();
    for (_, r) in loaded {
        match r {
            Ok(p) => out.push(Ok(p)),
            Err(LoadError::Failed(f)) => out.push(Err(f)),
            Err(LoadError::Stale(reason)) => return Err(stale(reason)),
        }
    }
    Ok(out)
}
