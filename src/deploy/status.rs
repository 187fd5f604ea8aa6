//! `provision status`: each region's stack status, last change and outputs.

use super::cfn::{StackInfo, describe_stack};
use super::error::{DeployError, RegionFailure};
use super::session::Session;
use crate::context::Context;
use crate::exit::Exit;
use crate::ui::Tone;
use aws_sdk_cloudformation::Client;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionStatus {
    pub region: String,
    pub stack_name: String,
    pub deployed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_protection: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_status: Option<String>,
    pub outputs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RegionFailure>,
}

/// Reads one region's stack.
pub async fn region_status(cf: &Client, region: &str, stack_name: &str) -> RegionStatus {
    let mut s = RegionStatus {
        region: region.to_string(),
        stack_name: stack_name.to_string(),
        deployed: false,
        status: None,
        status_reason: None,
        last_updated: None,
        termination_protection: None,
        drift_status: None,
        outputs: BTreeMap::new(),
        error: None,
    };
    match describe_stack(cf, stack_name).await {
        Ok(None) => {}
        Ok(Some(info)) => fill(&mut s, info),
        Err(e) => s.error = Some(RegionFailure::new(region, stack_name, e.with_operation())),
    }
    s
}

fn fill(s: &mut RegionStatus, info: StackInfo) {
    // A stack holding only a pending change set has nothing deployed yet.
    s.deployed = info.status != "REVIEW_IN_PROGRESS";
    s.last_updated = info.changed_at().map(str::to_string);
    s.status = Some(info.status);
    s.status_reason = info.status_reason;
    s.termination_protection = Some(info.termination_protection);
    s.drift_status = info.drift_status;
    s.outputs = info.outputs;
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub stack_name: String,
    pub regions: Vec<RegionStatus>,
}

impl StatusReport {
    pub fn text(&self, ui: &crate::ui::Ui) -> String {
        let mut out = String::new();
        let w = self
            .regions
            .iter()
            .map(|r| r.region.len())
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(
            out,
            "{}",
            ui.paint(Tone::Bold, format!("Stack {}", self.stack_name))
        );
        let _ = writeln!(
            out,
            "  {:<w$}  {:<32}  {:<20}  PROTECTED",
            "REGION", "STATUS", "LAST CHANGE"
        );
        for r in &self.regions {
            let status = match (&r.error, &r.status) {
                (Some(_), _) => ui.paint(Tone::Bad, format!("{:<32}", "error")),
                (None, Some(s)) if s.ends_with("_COMPLETE") && !s.contains("ROLLBACK") => {
                    ui.paint(Tone::Good, format!("{s:<32}"))
                }
                (None, Some(s)) => ui.paint(Tone::Warn, format!("{s:<32}")),
                (None, None) => ui.paint(Tone::Dim, format!("{:<32}", "not deployed")),
            };
            let protected = match r.termination_protection {
                Some(true) => "yes",
                Some(false) => "no",
                None => "",
            };
            let _ = writeln!(
                out,
                "  {:<w$}  {status}  {:<20}  {protected}",
                r.region,
                r.last_updated.as_deref().unwrap_or("")
            );
        }
        for r in &self.regions {
            if let Some(e) = &r.error {
                let _ = writeln!(out, "{}: {}", r.region, e.message);
            }
            if !r.outputs.is_empty() {
                let _ = writeln!(out, "{} outputs:", r.region);
                let kw = r.outputs.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in &r.outputs {
                    let _ = writeln!(out, "  {k:<kw$}  {v}");
                }
            }
        }
        out
    }
}

pub async fn cmd_status(ctx: &Context, args: &crate::cli::RegionArgs) -> Result<Exit, DeployError> {
    let session = Session::open(ctx, &args.regions).await?;
    let stack_name = session.cfg.stack_name.clone();
    let regions = session
        .for_each_stack(|region, cf| {
            let stack_name = &stack_name;
            async move { region_status(&cf, &region, stack_name).await }
        })
        .await;
    let report = StatusReport {
        stack_name,
        regions: regions.into_iter().map(|(_, s)| s).collect(),
    };
    for e in report.regions.iter().filter_map(|r| r.error.as_ref()) {
        super::error::report_failure(&ctx.ui, e);
    }
    ctx.ui.emit("status", &report, || report.text(&ctx.ui))?;
    Ok(if report.regions.iter().any(|r| r.error.is_some()) {
        Exit::Failure
    } else {
        Exit::Success
    })
}
