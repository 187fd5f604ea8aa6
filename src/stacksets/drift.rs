//! Drift: DetectStackSetDrift, its operation waited for, then each instance's drift status
//! and, for the drifted ones, the resources that differ (ListStackInstanceResourceDrifts).

use super::describe::{describe_stack_set, list_instances, next_token};
use super::operation::{OperationSummary, Polling, start_error, wait_operation};
use super::{InstanceKey, StackSetError, sdk_error};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    CallAs, StackResourceDriftStatus, StackSetOperationPreferences,
};
use serde::Serialize;

/// A property that differs from the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropertyDifference {
    pub path: String,
    pub expected: String,
    pub actual: String,
    /// ADD, REMOVE or NOT_EQUAL.
    pub kind: String,
}

/// A resource of an instance that drifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
    /// MODIFIED or DELETED.
    pub status: String,
    pub differences: Vec<PropertyDifference>,
}

/// One instance's drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceDrift {
    #[serde(flatten)]
    pub key: InstanceKey,
    /// DRIFTED, IN_SYNC, UNKNOWN or NOT_CHECKED.
    pub drift_status: Option<String>,
    pub resources: Vec<ResourceDrift>,
}

/// The result of a drift detection over the whole set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    pub stack_set: String,
    pub operation: OperationSummary,
    /// DRIFTED, IN_SYNC or NOT_CHECKED, for the set as a whole.
    pub drift_status: Option<String>,
    pub instances: Vec<InstanceDrift>,
}

impl DriftReport {
    pub fn drifted(&self) -> bool {
        self.drift_status.as_deref() == Some("DRIFTED")
            || self
                .instances
                .iter()
                .any(|i| i.drift_status.as_deref() == Some("DRIFTED"))
    }

    /// Instances whose drift could not be determined (a failed check, an unreachable account).
    pub fn unknown(&self) -> Vec<&InstanceKey> {
        self.instances
            .iter()
            .filter(|i| matches!(i.drift_status.as_deref(), Some("UNKNOWN") | None))
            .map(|i| &i.key)
            .collect()
    }
}

/// Runs drift detection on every instance of the set and reports it.
pub async fn detect_drift(
    cf: &Client,
    name: &str,
    preferences: Option<StackSetOperationPreferences>,
    polling: &Polling,
    progress: &dyn Fn(String),
) -> Result<DriftReport, StackSetError> {
    let id = match cf
        .detect_stack_set_drift()
        .stack_set_name(name)
        .set_operation_preferences(preferences)
        .call_as(CallAs::SelfValue)
        .send()
        .await
    {
        Ok(out) => out.operation_id().unwrap_or_default().to_string(),
        Err(e) => return Err(start_error(cf, name, "DetectStackSetDrift", &e).await),
    };
    let operation = wait_operation(cf, name, &id, polling, progress).await?;
    let set = describe_stack_set(cf, name).await?;
    let mut instances = Vec::new();
    for i in list_instances(cf, name).await? {
        let resources = if i.drift_status.as_deref() == Some("DRIFTED") {
            resource_drifts(cf, name, &i.key, &id).await?
        } else {
            Vec::new()
        };
        instances.push(InstanceDrift {
            key: i.key,
            drift_status: i.drift_status,
            resources,
        });
    }
    Ok(DriftReport {
        stack_set: name.to_string(),
        operation,
        drift_status: set.and_then(|s| s.drift_status),
        instances,
    })
}

async fn resource_drifts(
    cf: &Client,
    name: &str,
    key: &InstanceKey,
    operation_id: &str,
) -> Result<Vec<ResourceDrift>, StackSetError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cf
            .list_stack_instance_resource_drifts()
            .stack_set_name(name)
            .stack_instance_account(&key.account)
            .stack_instance_region(&key.region)
            .operation_id(operation_id)
            .stack_instance_resource_drift_statuses(StackResourceDriftStatus::Modified)
            .stack_instance_resource_drift_statuses(StackResourceDriftStatus::Deleted)
            .call_as(CallAs::SelfValue)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(name, "ListStackInstanceResourceDrifts", &e))?;
        out.extend(page.summaries().iter().map(|r| {
            ResourceDrift {
                logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: r.resource_type().unwrap_or_default().to_string(),
                physical_id: r.physical_resource_id().map(str::to_string),
                status: r
                    .stack_resource_drift_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                differences: r
                    .property_differences()
                    .iter()
                    .map(|d| PropertyDifference {
                        path: d.property_path().unwrap_or_default().to_string(),
                        expected: d.expected_value().unwrap_or_default().to_string(),
                        actual: d.actual_value().unwrap_or_default().to_string(),
                        kind: d
                            .difference_type()
                            .map(|t| t.as_str().to_string())
                            .unwrap_or_default(),
                    })
                    .collect(),
            }
        }));
        match next_token(
            name,
            "ListStackInstanceResourceDrifts",
            token.as_deref(),
            page.next_token(),
        )? {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}
