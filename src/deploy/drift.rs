//! `provision drift`: CloudFormation drift detection in every region; exit 2 when any
//! resource was changed or deleted outside CloudFormation.

use super::cfn::{StackError, describe_stack};
use super::error::{DeployError, RegionFailure};
use super::session::Session;
use super::wait::Polling;
use crate::aws::SdkResultExt;
use crate::context::Context;
use crate::exit::Exit;
use crate::ui::Tone;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput;
use aws_sdk_cloudformation::types::{
    StackDriftDetectionStatus, StackResourceDrift, StackResourceDriftStatus,
};
use serde::Serialize;
use std::fmt::Write;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropertyDiff {
    pub path: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// MODIFIED or DELETED.
    pub status: String,
    pub differences: Vec<PropertyDiff>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftState {
    InSync,
    Drifted,
    NotDeployed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionDrift {
    pub region: String,
    pub state: DriftState,
    pub drifted: Vec<ResourceDrift>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RegionFailure>,
}

/// Detects one region's drift and waits for the result.
pub async fn detect_region(
    cf: &Client,
    region: &str,
    stack: &str,
    polling: &Polling,
) -> RegionDrift {
    let mut out = RegionDrift {
        region: region.to_string(),
        state: DriftState::Failed,
        drifted: vec![],
        note: None,
        error: None,
    };
    match detect(cf, stack, polling, &mut out).await {
        Ok(state) => out.state = state,
        Err(e) => out.error = Some(RegionFailure::new(region, stack, e.to_string())),
    }
    out
}

async fn detect(
    cf: &Client,
    stack: &str,
    polling: &Polling,
    out: &mut RegionDrift,
) -> Result<DriftState, StackError> {
    match describe_stack(cf, stack).await? {
        None => return Ok(DriftState::NotDeployed),
        Some(s) if s.status == "REVIEW_IN_PROGRESS" => return Ok(DriftState::NotDeployed),
        Some(_) => {}
    }
    let id = start_detection(cf, stack).await?;
    let status = wait_for_detection(cf, &id, polling).await?;
    if status.detection_status() == Some(&StackDriftDetectionStatus::DetectionFailed) {
        // Some resources could not be checked; the others' results are still valid.
        out.note = Some(format!(
            "detection incomplete: {}",
            status
                .detection_status_reason()
                .unwrap_or("no reason given")
        ));
    }
    out.drifted = drifted_resources(cf, stack).await?;
    Ok(if out.drifted.is_empty() {
        DriftState::InSync
    } else {
        DriftState::Drifted
    })
}

/// Starts drift detection; its ID.
async fn start_detection(cf: &Client, stack: &str) -> Result<String, StackError> {
    // An endpoint without drift detection answers with a bare server error; retrying it five
    // times only delays the message.
    let quick = aws_sdk_cloudformation::config::Builder::default().retry_config(
        RetryConfig::standard()
            .with_max_attempts(2)
            .with_initial_backoff(Duration::from_millis(200)),
    );
    let started = cf
        .detect_stack_drift()
        .stack_name(stack)
        .customize()
        .config_override(quick)
        .send()
        .await
        .classify("cloudformation:DetectStackDrift", cf)
        .map_err(|e| {
            if e.is_unimplemented() {
                StackError::Unsupported("drift detection unsupported by this endpoint (DetectStackDrift answered with a server error and no AWS error code)".into())
            } else {
                e.into()
            }
        })?;
    Ok(started
        .stack_drift_detection_id()
        .unwrap_or_default()
        .to_string())
}

/// Polls the detection until it ends (throttling slows the polling down).
async fn wait_for_detection(
    cf: &Client,
    id: &str,
    polling: &Polling,
) -> Result<DescribeStackDriftDetectionStatusOutput, StackError> {
    let mut backoff = polling.backoff();
    let mut transient = 0;
    loop {
        match cf
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(id)
            .send()
            .await
            .classify("cloudformation:DescribeStackDriftDetectionStatus", cf)
        {
            Ok(s)
                if s.detection_status()
                    == Some(&StackDriftDetectionStatus::DetectionInProgress) =>
            {
                transient = 0
            }
            Ok(s) => return Ok(s),
            Err(e) if e.is_transient() && transient < polling.max_transient_errors => {
                transient += 1
            }
            Err(e) => return Err(e.into()),
        }
        backoff.wait("drift detection").await?;
    }
}

/// The resources that were modified or deleted outside CloudFormation, every page.
async fn drifted_resources(cf: &Client, stack: &str) -> Result<Vec<ResourceDrift>, StackError> {
    let mut drifted = Vec::new();
    let mut token = None;
    loop {
        let page = cf
            .describe_stack_resource_drifts()
            .stack_name(stack)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Modified)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Deleted)
            .set_next_token(token)
            .send()
            .await
            .classify("cloudformation:DescribeStackResourceDrifts", cf)?;
        drifted.extend(page.stack_resource_drifts().iter().map(resource_drift));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(drifted);
        }
    }
}

fn resource_drift(d: &StackResourceDrift) -> ResourceDrift {
    ResourceDrift {
        logical_id: d.logical_resource_id().unwrap_or_default().to_string(),
        resource_type: d.resource_type().unwrap_or_default().to_string(),
        physical_id: d.physical_resource_id().unwrap_or_default().to_string(),
        status: d
            .stack_resource_drift_status()
            .map(|s| s.as_str())
            .unwrap_or_default()
            .to_string(),
        differences: d
            .property_differences()
            .iter()
            .map(|p| PropertyDiff {
                path: p.property_path().unwrap_or_default().to_string(),
                kind: p
                    .difference_type()
                    .map(|d| d.as_str())
                    .unwrap_or_default()
                    .to_string(),
                expected: p
                    .expected_value()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                actual: p
                    .actual_value()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            })
            .collect(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub stack_name: String,
    pub regions: Vec<RegionDrift>,
}

impl DriftReport {
    pub fn exit(&self) -> Exit {
        if self.regions.iter().any(|r| r.error.is_some()) {
            Exit::Failure
        } else if self.regions.iter().any(|r| r.state == DriftState::Drifted) {
            Exit::Changes
        } else {
            Exit::Success
        }
    }

    pub fn text(&self, ui: &crate::ui::Ui) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}",
            ui.paint(Tone::Bold, format!("Stack {}", self.stack_name))
        );
        for r in &self.regions {
            let state = match r.state {
                DriftState::InSync => ui.paint(Tone::Good, "in sync"),
                DriftState::Drifted => ui.paint(
                    Tone::Bad,
                    format!("drifted ({} resources)", r.drifted.len()),
                ),
                DriftState::NotDeployed => ui.paint(Tone::Dim, "not deployed"),
                DriftState::Failed => ui.paint(
                    Tone::Bad,
                    format!(
                        "failed: {}",
                        r.error.as_ref().map(|e| e.message.as_str()).unwrap_or("")
                    ),
                ),
            };
            let _ = writeln!(out, "{}: {state}", r.region);
            if let Some(n) = &r.note {
                let _ = writeln!(out, "  note: {n}");
            }
            for d in &r.drifted {
                let _ = writeln!(
                    out,
                    "  {} {} {} ({})",
                    d.status, d.resource_type, d.logical_id, d.physical_id
                );
                for p in &d.differences {
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
        out
    }
}

pub async fn cmd_drift(ctx: &Context, args: &crate::cli::RegionArgs) -> Result<Exit, DeployError> {
    let session = Session::open(ctx, &args.regions).await?;
    let stack_name = session.cfg.stack_name.clone();
    let regions = session
        .for_each_stack(|region, cf| {
            let polling = session.polling(&region);
            let stack_name = &stack_name;
            async move { detect_region(&cf, &region, stack_name, &polling).await }
        })
        .await;
    let report = DriftReport {
        stack_name,
        regions: regions.into_iter().map(|(_, r)| r).collect(),
    };
    for e in report.regions.iter().filter_map(|r| r.error.as_ref()) {
        super::error::report_failure(&ctx.ui, e);
    }
    ctx.ui.emit("drift", &report, || report.text(&ctx.ui))?;
    Ok(report.exit())
}
