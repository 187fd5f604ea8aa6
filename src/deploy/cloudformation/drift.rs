//! CloudFormation drift detection in one region: which resources were changed or deleted
//! outside CloudFormation.

use super::stack::{StackError, describe_stack};
use super::wait::Polling;
use crate::aws::SdkResultExt;
use crate::deploy::model::{DriftState, PropertyDiff, ResourceDrift, StackDrift, StackFailure};
use aws_config::retry::RetryConfig;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput;
use aws_sdk_cloudformation::types::{
    StackDriftDetectionStatus, StackResourceDrift, StackResourceDriftStatus,
};
use std::time::Duration;

/// Detects one region's drift and waits for the result.
pub async fn detect_region(
    cf: &Client,
    stack: &str,
    polling: &Polling,
) -> Result<StackDrift, StackFailure> {
    detect(cf, stack, polling)
        .await
        .map_err(|e| StackFailure::new(stack, e))
}

async fn detect(cf: &Client, stack: &str, polling: &Polling) -> Result<StackDrift, StackError> {
    let not_deployed = StackDrift {
        state: DriftState::NotDeployed,
        drifted: vec![],
        note: None,
    };
    match describe_stack(cf, stack).await? {
        None => return Ok(not_deployed),
        Some(s) if s.status == "REVIEW_IN_PROGRESS" => return Ok(not_deployed),
        Some(_) => {}
    }
    let id = start_detection(cf, stack).await?;
    let status = wait_for_detection(cf, &id, polling).await?;
    // Some resources could not be checked; the others' results are still valid.
    let note = (status.detection_status() == Some(&StackDriftDetectionStatus::DetectionFailed))
        .then(|| {
            format!(
                "detection incomplete: {}",
                status
                    .detection_status_reason()
                    .unwrap_or("no reason given")
            )
        });
    let drifted = drifted_resources(cf, stack).await?;
    let state = if drifted.is_empty() {
        DriftState::InSync
    } else {
        DriftState::Drifted
    };
    Ok(StackDrift {
        state,
        drifted,
        note,
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
