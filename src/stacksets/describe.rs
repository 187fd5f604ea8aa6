//! What the stack set is: DescribeStackSet (template, parameters, permission model, targets)
//! and ListStackInstances (every instance, every page).

use super::{InstanceKey, StackSetError, sdk_error, timestamp};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{CallAs, StackInstanceSummary, StackSet, StackSetStatus};
use serde::Serialize;
use std::collections::BTreeMap;

/// The stack set as CloudFormation has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackSetInfo {
    pub name: String,
    pub id: String,
    pub arn: Option<String>,
    pub description: Option<String>,
    /// `SERVICE_MANAGED` or `SELF_MANAGED`.
    pub permission_model: String,
    #[serde(skip)]
    pub template: String,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub capabilities: Vec<String>,
    pub administration_role_arn: Option<String>,
    pub execution_role_name: Option<String>,
    pub organizational_unit_ids: Vec<String>,
    /// (enabled, retain stacks on account removal)
    pub auto_deployment: Option<(bool, bool)>,
    /// The last drift detection: status and when.
    pub drift_status: Option<String>,
    pub last_drift_check: Option<String>,
}

impl StackSetInfo {
    pub fn from_sdk(s: &StackSet) -> Self {
        let drift = s.stack_set_drift_detection_details();
        StackSetInfo {
            name: s.stack_set_name().unwrap_or_default().to_string(),
            id: s.stack_set_id().unwrap_or_default().to_string(),
            arn: s.stack_set_arn().map(str::to_string),
            description: s.description().map(str::to_string),
            // CloudFormation's default, and what an answer without the field means.
            permission_model: s
                .permission_model()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "SELF_MANAGED".into()),
            template: s.template_body().unwrap_or_default().to_string(),
            parameters: s
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_string(),
                        p.parameter_value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
            tags: s
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_string(),
                        t.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
            capabilities: s
                .capabilities()
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            administration_role_arn: s.administration_role_arn().map(str::to_string),
            execution_role_name: s.execution_role_name().map(str::to_string),
            organizational_unit_ids: s.organizational_unit_ids().to_vec(),
            auto_deployment: s.auto_deployment().map(|a| {
                (
                    a.enabled().unwrap_or(false),
                    a.retain_stacks_on_account_removal().unwrap_or(false),
                )
            }),
            drift_status: drift
                .and_then(|d| d.drift_status())
                .map(|d| d.as_str().to_string()),
            last_drift_check: drift
                .and_then(|d| d.last_drift_check_timestamp())
                .map(timestamp),
        }
    }
}

/// One stack instance as ListStackInstances reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceSummary {
    #[serde(flatten)]
    pub key: InstanceKey,
    pub stack_id: Option<String>,
    /// CURRENT, OUTDATED or INOPERABLE.
    pub status: String,
    /// PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, INOPERABLE, ...
    pub detailed_status: Option<String>,
    pub status_reason: Option<String>,
    /// The OU the instance was deployed through (service-managed).
    pub organizational_unit: Option<String>,
    /// DRIFTED, IN_SYNC, UNKNOWN or NOT_CHECKED.
    pub drift_status: Option<String>,
    pub last_drift_check: Option<String>,
    pub last_operation_id: Option<String>,
}

impl InstanceSummary {
    pub fn from_sdk(s: &StackInstanceSummary) -> Self {
        InstanceSummary {
            key: InstanceKey::new(
                s.account().unwrap_or_default(),
                s.region().unwrap_or_default(),
            ),
            stack_id: s.stack_id().map(str::to_string),
            status: s
                .status()
                .map(|x| x.as_str().to_string())
                .unwrap_or_default(),
            detailed_status: s
                .stack_instance_status()
                .and_then(|x| x.detailed_status())
                .map(|x| x.as_str().to_string()),
            status_reason: s.status_reason().map(str::to_string),
            organizational_unit: s.organizational_unit_id().map(str::to_string),
            drift_status: s.drift_status().map(|x| x.as_str().to_string()),
            last_drift_check: s.last_drift_check_timestamp().map(timestamp),
            last_operation_id: s.last_operation_id().map(str::to_string),
        }
    }

    /// Not up to date with the set: a create or update failed or never reached it. A rerun
    /// retries it (an INOPERABLE instance is excluded from updates by CloudFormation).
    pub fn needs_retry(&self) -> bool {
        self.status == "OUTDATED"
    }

    /// Whether the instance is in a state that needs attention.
    pub fn is_unhealthy(&self) -> bool {
        self.status != "CURRENT"
            || matches!(
                self.detailed_status.as_deref(),
                Some("FAILED" | "CANCELLED" | "INOPERABLE" | "FAILED_IMPORT")
            )
    }
}

/// The stack set; `None` when it does not exist (or was deleted).
pub async fn describe_stack_set(
    cf: &Client,
    name: &str,
) -> Result<Option<StackSetInfo>, StackSetError> {
    match cf
        .describe_stack_set()
        .stack_set_name(name)
        .call_as(CallAs::SelfValue)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .stack_set()
            .filter(|s| s.status() != Some(&StackSetStatus::Deleted))
            .map(StackSetInfo::from_sdk)),
        Err(e) if e.code() == Some("StackSetNotFoundException") => Ok(None),
        Err(e) => Err(sdk_error(name, "DescribeStackSet", &e)),
    }
}

/// Every instance of the set, sorted by account then region.
pub async fn list_instances(
    cf: &Client,
    name: &str,
) -> Result<Vec<InstanceSummary>, StackSetError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cf
            .list_stack_instances()
            .stack_set_name(name)
            .call_as(CallAs::SelfValue)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(name, "ListStackInstances", &e))?;
        out.extend(page.summaries().iter().map(InstanceSummary::from_sdk));
        match next_token(
            name,
            "ListStackInstances",
            token.as_deref(),
            page.next_token(),
        )? {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// The next page's token; the same token twice would loop forever.
pub(crate) fn next_token(
    stack_set: &str,
    operation: &'static str,
    previous: Option<&str>,
    next: Option<&str>,
) -> Result<Option<String>, StackSetError> {
    match next.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) if Some(t) == previous => Err(StackSetError::Aws {
            stack_set: stack_set.to_string(),
            operation,
            message: "the same pagination token came back twice; stopping".into(),
        }),
        Some(t) => Ok(Some(t.to_string())),
    }
}
