//! `provision drift`: drift detection in every target; exit 2 when any resource was changed
//! or deleted outside the engine.

use super::engine::Engine;
use super::error::DeployError;
use super::model::{AllTargets, Operation};
use super::model::{DriftState, StackDrift};
use super::session::{PLAN_CONCURRENCY, Request};
use crate::context::Context;
use crate::exit::Exit;
use crate::runner::{self, Reports, Run, TargetOutcome};
use crate::ui::{Tone, Ui};
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Serialize)]
pub struct DriftReport {
    pub stack_name: String,
    pub regions: Reports<StackDrift>,
}

impl DriftReport {
    /// 1 when a target failed, 2 when one drifted, else 0.
    pub fn exit(&self) -> Exit {
        self.regions.exit()
    }

    pub fn text(&self, ui: &Ui) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}",
            ui.paint(Tone::Bold, format!("Stack {}", self.stack_name))
        );
        for r in self.regions.iter() {
            let d = match &r.outcome {
                Ok(d) => d,
                Err(e) => {
                    let failed = ui.paint(Tone::Bad, format!("failed: {}", e.message()));
                    let _ = writeln!(out, "{}: {failed}", r.label());
                    continue;
                }
            };
            let tone = match d.state {
                DriftState::InSync => Tone::Good,
                DriftState::Drifted => Tone::Bad,
                DriftState::NotDeployed => Tone::Dim,
            };
            let _ = writeln!(out, "{}: {}", r.label(), ui.paint(tone, d.summary()));
            write_drift(&mut out, d);
        }
        out
    }
}

fn write_drift(out: &mut String, d: &StackDrift) {
    if let Some(n) = &d.note {
        let _ = writeln!(out, "  note: {n}");
    }
    for r in &d.drifted {
        let _ = writeln!(
            out,
            "  {} {} {} ({})",
            r.status, r.resource_type, r.logical_id, r.physical_id
        );
        for p in &r.differences {
            let _ = writeln!(
                out,
                "      {} {}: expected {}, actual {}",
                p.kind,
                p.path,
                p.expected.as_deref().unwrap_or("(none)"),
                p.actual.as_deref().unwrap_or("(none)")
            );
        }
    }
}

pub async fn cmd_drift(
    ctx: &Context,
    args: &crate::cli::QueryArgs,
    interrupt: &crate::terraform::Interrupt,
) -> Result<Exit, DeployError> {
    let request = Request {
        operation: Operation::Drift,
        regions: &args.regions.regions,
        engine: &args.engine,
        templates: None,
        interrupt,
    };
    let (session, engine, targets) = Engine::start(ctx, &request).await?;
    engine
        .run_all(AllTargets::Drift, &ctx.ui.progress())
        .await?;
    let regions = runner::run(Run::quiet(PLAN_CONCURRENCY), &targets, |t, _| {
        let engine = &engine;
        async move { engine.drift(&t).await }
    })
    .await;
    let report = DriftReport {
        stack_name: session.cfg.stack_name.clone(),
        regions,
    };
    report
        .regions
        .report_failures(&ctx.ui, Some(&session.subject()));
    ctx.ui.emit("drift", &report, || report.text(&ctx.ui))?;
    Ok(report.exit())
}
