//! The StackSets driver (`engine: stacksets`): one CloudFormation stack set whose stack
//! instances are the same storage in every target account and region.
//!
//! Every function takes the CloudFormation client of the administrator account (the
//! account the set lives in, in the home region) as an argument, and calls with
//! `CallAs: SELF`. Nothing here chooses credentials, prints or decides exit codes: the
//! engine seam does, with what these functions return.
//!
//! - [`spec`]: what the set should be ([`StackSetSpec`], from the configuration and the
//!   rendered stack-set template) and the operation preferences.
//! - [`describe`]: what the set is (template, parameters, permission model) and its instances.
//! - [`preview`]: parameter changes and instances to add, remove and retry; the boundary
//!   where the shared plan model's resource diff plugs in.
//! - [`apply`]: create or update the set, create, retry and delete instances; every operation
//!   polled to its end and reported per instance ([`operation`]).
//! - [`drift`], [`destroy`]: DetectStackSetDrift; instances deleted (optionally retaining
//!   their stacks), then the set.

pub mod apply;
pub mod describe;
pub mod destroy;
pub mod drift;
pub mod operation;
pub mod preview;
pub mod problem;
pub mod roles;
pub mod spec;

#[cfg(test)]
pub(crate) mod tests;

pub use apply::{ApplyOptions, ApplyReport, apply, check_administration_role};
pub use describe::{InstanceSummary, StackSetInfo, describe_stack_set, list_instances};
pub use destroy::{
    DestroyReport, RetainedResources, StackResourceRef, destroy, instance_resources,
};
pub use drift::{DriftReport, InstanceDrift, ResourceDrift, detect_drift};
pub use operation::{
    InstanceOutcome, OperationOutcome, OperationSummary, Polling, list_operations,
    operation_outcome, wait_operation,
};
pub use preview::{ParameterChange, Preview, TemplatePair, preview, preview_from};
pub use problem::InstanceProblem;
pub use roles::{RoleCheck, check_execution_role};
pub use spec::{AutoDeployment, StackSetSpec, Targets};

use crate::exit::{Classify, Exit};
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use serde::Serialize;

/// One stack instance: an account in a region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct InstanceKey {
    pub account: String,
    pub region: String,
}

impl InstanceKey {
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        InstanceKey {
            account: account.into(),
            region: region.into(),
        }
    }
}

impl std::fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.account, self.region)
    }
}

/// An operation that was already running on the set when another one was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RunningOperation {
    pub operation_id: String,
    pub action: String,
    pub status: String,
    pub started: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StackSetError {
    #[error("stack set {stack_set}: {}", match running {
        Some(r) => format!("operation {} ({}, {}{}) is still running; CloudFormation runs one operation at a time", r.operation_id, r.action, r.status, r.started.as_deref().map(|s| format!(", started {s}")).unwrap_or_default()),
        None => format!("another operation is running ({message})"),
    })]
    OperationInProgress {
        stack_set: String,
        running: Option<Box<RunningOperation>>,
        message: String,
    },
    #[error(
        "stack set {stack_set}: the administration role {role_arn} does not exist in account {account} (iam:GetRole: {message}); a self-managed stack set cannot deploy without it"
    )]
    AdministrationRoleMissing {
        stack_set: String,
        role_arn: String,
        account: String,
        message: String,
    },
    #[error(
        "stack set {stack_set}: CloudFormation cannot use the administration role {role_arn}: {message}"
    )]
    AdministrationRoleUnusable {
        stack_set: String,
        role_arn: String,
        message: String,
    },
    #[error("stack set {stack_set} exists with {existing} permissions, but the configuration asks for {wanted} ({})", if wanted == "SERVICE_MANAGED" { "organizational units" } else { "accounts" })]
    PermissionModelMismatch {
        stack_set: String,
        existing: String,
        wanted: String,
    },
    #[error("stack set {stack_set}: {message}")]
    NotAdministrator { stack_set: String, message: String },
    #[error(
        "stack set {stack_set}: gave up waiting for operation {operation_id} after {waited} (it goes on in CloudFormation)"
    )]
    Timeout {
        stack_set: String,
        operation_id: String,
        waited: String,
    },
    #[error("stack set {stack_set}: the endpoint does not implement cloudformation:{operation}")]
    Unimplemented {
        stack_set: String,
        operation: &'static str,
    },
    #[error(
        "stack set {stack_set}: {}",
        execution_roles(role, administration_role, missing, untrusted)
    )]
    ExecutionRoles {
        stack_set: String,
        role: String,
        administration_role: String,
        /// Accounts without the role.
        missing: Vec<String>,
        /// Accounts whose role does not trust the administration role.
        untrusted: Vec<String>,
    },
    #[error("stack set {stack_set}: cloudformation:{operation}: {message}")]
    Aws {
        stack_set: String,
        operation: &'static str,
        message: String,
    },
}

impl Classify for StackSetError {
    fn exit(&self) -> Exit {
        Exit::Failure
    }

    fn hint(&self) -> Option<String> {
        match self {
            StackSetError::OperationInProgress { stack_set, running, .. } => Some(match running {
                Some(r) => format!(
                    "wait for it (`aws cloudformation describe-stack-set-operation --stack-set-name {stack_set} --operation-id {}`), or stop it (`aws cloudformation stop-stack-set-operation ...`), then run again",
                    r.operation_id
                ),
                None => format!("`aws cloudformation list-stack-set-operations --stack-set-name {stack_set}` shows it; run again when it has ended"),
            }),
            StackSetError::AdministrationRoleMissing { .. }
            | StackSetError::AdministrationRoleUnusable { .. } => Some(
                "create it in the deploying account, trusted by cloudformation.amazonaws.com and allowed sts:AssumeRole on the execution role of the target accounts (AWS's template: AWSCloudFormationStackSetAdministrationRole.yml), or set `stacksets.targets.administration_role_arn`".into(),
            ),
            StackSetError::PermissionModelMismatch { .. } => Some(
                "a stack set keeps its permission model while it has instances: destroy it first (`provision destroy`), or change `stacksets.targets` back".into(),
            ),
            StackSetError::ExecutionRoles { .. } => Some(
                "create it in each of those accounts, trusted by the administration role (AWS's template: AWSCloudFormationStackSetExecutionRole.yml), or set `stacksets.targets.execution_role_name` to the role they have".into(),
            ),
            StackSetError::NotAdministrator { .. } => Some(
                "service-managed stack sets are operated from the management account (or a delegated administrator, which provision does not drive yet)".into(),
            ),
            _ => None,
        }
    }
}

fn execution_roles(
    role: &str,
    administration_role: &str,
    missing: &[String],
    untrusted: &[String],
) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "the execution role `{role}` does not exist in {} {}",
            if missing.len() == 1 {
                "account"
            } else {
                "accounts"
            },
            missing.join(", ")
        ));
    }
    if !untrusted.is_empty() {
        parts.push(format!(
            "the execution role `{role}` of {} {} does not trust the administration role {administration_role}",
            if untrusted.len() == 1 { "account" } else { "accounts" },
            untrusted.join(", ")
        ));
    }
    format!(
        "{}; CloudFormation could not deploy there",
        parts.join("; ")
    )
}

/// Classifies an SDK error of `operation` on `stack_set`: an endpoint without the
/// operation, a non-administrator account, or the service's own message.
pub(crate) fn sdk_error<E>(
    stack_set: &str,
    operation: &'static str,
    e: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> StackSetError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    if e.code().is_none() && status.is_some_and(|s| s >= 500) {
        // An emulator answering an action it lacks with an HTML 500 (AWS always sends a code).
        return StackSetError::Unimplemented {
            stack_set: stack_set.to_string(),
            operation,
        };
    }
    let message = crate::aws::describe(e);
    let text = e.message().unwrap_or_default();
    if e.code() == Some("ValidationError")
        && (text.contains("management account or delegated admin")
            || text.contains("not a delegated administrator"))
    {
        return StackSetError::NotAdministrator {
            stack_set: stack_set.to_string(),
            message,
        };
    }
    StackSetError::Aws {
        stack_set: stack_set.to_string(),
        operation,
        message,
    }
}

/// Whether an error is worth trying again while polling: throttling and transient failures.
pub(crate) fn is_transient<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        _ => matches!(
            e.code(),
            Some(
                "Throttling"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "TooManyRequestsException"
                    | "InternalFailure"
                    | "ServiceUnavailable"
            )
        ),
    }
}

/// RFC 3339 to the second.
pub(crate) fn timestamp(t: &aws_smithy_types::DateTime) -> String {
    aws_smithy_types::DateTime::from_secs(t.secs())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| t.secs().to_string())
}
