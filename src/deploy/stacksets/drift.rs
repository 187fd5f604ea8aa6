//! Drift of the set: DetectStackSetDrift once for every instance, then each target's drift
//! status and its drifted resources.

use super::set::{OpenLine, StackSets};
use crate::deploy::error::DeployError;
use crate::deploy::model::{DriftState, PropertyDiff, ResourceDrift, StackDrift, StackFailure};
use crate::runner::{Failure, Target};
use crate::stacksets::{self, DriftReport};

/// Detects drift on every instance (`None`: there is no set).
pub async fn run(
    engine: &StackSets,
    open_line: &OpenLine<'_>,
) -> Result<Option<DriftReport>, DeployError> {
    if engine.state().info.is_none() {
        return Ok(None);
    }
    let preferences = engine.cfg.stacksets.as_ref().map(|s| {
        let p = &s.preferences;
        stacksets::spec::Preferences {
            region_order: s.region_order(&engine.cfg.regions),
            parallel_regions: p.region_concurrency
                == crate::config::stacksets::RegionConcurrency::Parallel,
            max_concurrent: p.max_concurrent,
            failure_tolerance: p.failure_tolerance,
        }
        .sdk()
    });
    let line = open_line();
    let progress = |m: String| line.set(m);
    let result = stacksets::detect_drift(
        &engine.cloudformation(),
        engine.name(),
        preferences,
        &engine.polling(),
        &progress,
    )
    .await;
    match result {
        Ok(report) => {
            line.finish(
                report
                    .drift_status
                    .clone()
                    .unwrap_or_else(|| "checked".into()),
            );
            Ok(Some(report))
        }
        Err(e) => {
            line.finish("failed");
            Err(e.into())
        }
    }
}

/// One target's drift.
pub fn outcome(
    engine: &StackSets,
    report: Option<&DriftReport>,
    target: &Target,
) -> Result<StackDrift, StackFailure> {
    let not_deployed = StackDrift {
        state: DriftState::NotDeployed,
        drifted: Vec::new(),
        note: None,
    };
    let Some(report) = report else {
        return Ok(not_deployed);
    };
    let account = target.account.as_deref().unwrap_or_default();
    let Some(instance) = report
        .instances
        .iter()
        .find(|i| i.key.account == account && i.key.region == target.region)
    else {
        return Ok(not_deployed);
    };
    match instance.drift_status.as_deref() {
        Some("IN_SYNC") => Ok(StackDrift {
            state: DriftState::InSync,
            drifted: Vec::new(),
            note: None,
        }),
        Some("DRIFTED") => Ok(StackDrift {
            state: DriftState::Drifted,
            drifted: instance
                .resources
                .iter()
                .map(|r| ResourceDrift {
                    logical_id: r.logical_id.clone(),
                    resource_type: r.resource_type.clone(),
                    physical_id: r.physical_id.clone().unwrap_or_default(),
                    status: r.status.clone(),
                    differences: r
                        .differences
                        .iter()
                        .map(|d| PropertyDiff {
                            path: d.path.clone(),
                            kind: d.kind.clone(),
                            expected: Some(d.expected.clone()),
                            actual: Some(d.actual.clone()),
                        })
                        .collect(),
                })
                .collect(),
            note: None,
        }),
        other => Err(StackFailure::new(
            engine.name(),
            Failure::new(format!(
                "CloudFormation could not determine this instance's drift ({}; operation {} {})",
                other.unwrap_or("no status"),
                report.operation.operation_id,
                report.operation.status
            ))
            .with_hint("the instance's account may be unreachable for StackSets; `aws cloudformation list-stack-instances` shows its status reason"),
        )),
    }
}
