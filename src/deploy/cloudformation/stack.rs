//! Small CloudFormation helpers shared by the commands: reading a stack, the errors of a
//! stack operation, creating a change set, formatting timestamps.

use super::target::StackTarget;
use crate::aws::{AwsError, SdkResultExt};
use crate::deploy::model::StackFailure;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::create_change_set::builders::CreateChangeSetFluentBuilder;
use aws_sdk_cloudformation::types::{Capability, Stack};
use aws_smithy_types::date_time::Format;
use std::collections::BTreeMap;
use std::time::Duration;

/// The facts about a deployed stack the commands use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInfo {
    pub stack_id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub termination_protection: bool,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    pub created: Option<String>,
    pub last_updated: Option<String>,
    pub drift_status: Option<String>,
}

impl StackInfo {
    pub fn from_sdk(s: &Stack) -> Self {
        StackInfo {
            stack_id: s.stack_id().unwrap_or_default().to_string(),
            status: s
                .stack_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            status_reason: s.stack_status_reason().map(str::to_string),
            termination_protection: s.enable_termination_protection().unwrap_or(false),
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
            outputs: s
                .outputs()
                .iter()
                .filter_map(|o| {
                    Some((
                        o.output_key()?.to_string(),
                        o.output_value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
            created: s.creation_time().map(timestamp),
            last_updated: s.last_updated_time().map(timestamp),
            drift_status: s
                .drift_information()
                .and_then(|d| d.stack_drift_status())
                .map(|d| d.as_str().to_string()),
        }
    }

    /// When the stack last changed: its last update, or its creation.
    pub fn changed_at(&self) -> Option<&str> {
        self.last_updated.as_deref().or(self.created.as_deref())
    }
}

/// Why a CloudFormation operation of one region failed, before or while waiting for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StackError {
    #[error("{}", .0.with_operation())]
    Aws(#[from] AwsError),
    /// The operation goes on in CloudFormation; `provision` stopped waiting for it.
    #[error("gave up waiting for {what} after {}", humantime::format_duration(*.after))]
    GaveUp { what: String, after: Duration },
    /// The endpoint does not implement an operation (moto: drift detection).
    #[error("{0}")]
    Unsupported(String),
    /// A template (rendered or deployed) that cannot be read.
    #[error("{0}")]
    Template(String),
}

impl From<StackError> for crate::runner::Failure {
    /// The error's text, classified when AWS answered.
    fn from(e: StackError) -> Self {
        let kind = match &e {
            StackError::Aws(a) => Some(a.kind),
            _ => None,
        };
        crate::runner::Failure::new(e).with_kind(kind)
    }
}

/// Reads a stack by name or ID; `None` when it does not exist (or was deleted).
pub async fn describe_stack(cf: &Client, stack: &str) -> Result<Option<StackInfo>, AwsError> {
    match cf
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .classify("cloudformation:DescribeStacks", cf)
    {
        Ok(out) => Ok(out
            .stacks()
            .first()
            .map(StackInfo::from_sdk)
            .filter(|s| s.status != "DELETE_COMPLETE")),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// RFC 3339 text of an SDK timestamp.
/// RFC 3339 to the second (`2026-11-23T04:16:48Z`): sub-second digits only widen tables.
pub fn timestamp(t: &aws_smithy_types::DateTime) -> String {
    aws_smithy_types::DateTime::from_secs(t.secs())
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| t.secs().to_string())
}

/// Parses a `CommaDelimitedList` parameter value as CloudFormation returns it (`a,b`).
/// moto returns the list in Python's notation (`['a', 'b']`); both are accepted so that the
/// security display works against the emulator too.
pub fn split_list_parameter(value: &str) -> Vec<String> {
    let v = value.trim();
    let inner = match v.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        Some(inner) => inner,
        None => v,
    };
    inner
        .split(',')
        .map(|s| s.trim().trim_matches('\'').trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The newest event of a stack: the marker after which an operation's events start.
pub async fn newest_event_id(cf: &Client, stack_id: &str) -> Result<Option<String>, AwsError> {
    match cf
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
        .classify("cloudformation:DescribeStackEvents", cf)
    {
        Ok(out) => Ok(out
            .stack_events()
            .first()
            .and_then(|e| e.event_id())
            .map(str::to_string)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// A change-set name that is unique enough and valid (`[a-zA-Z][-a-zA-Z0-9]*`).
pub fn change_set_name() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!("provision-{secs}-{:04x}", fastrand::u16(..))
}

/// Sends a change set request for `target`'s stack: `request` says its type, description,
/// template and parameters; this adds what every change set of the stack carries (a fresh
/// name, the stack's tags, and the IAM capabilities its managed policies need).
pub async fn create_change_set(
    cf: &Client,
    target: &StackTarget,
    request: CreateChangeSetFluentBuilder,
) -> Result<CreateChangeSetOutput, StackFailure> {
    request
        .stack_name(&target.stack_name)
        .change_set_name(change_set_name())
        .set_tags(Some(target.sdk_tags()))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .send()
        .await
        .classify("cloudformation:CreateChangeSet", cf)
        .map_err(|e| target.failure(StackError::from(e)))
}

impl From<crate::aws::GaveUp> for StackError {
    fn from(g: crate::aws::GaveUp) -> Self {
        StackError::GaveUp {
            what: g.what,
            after: g.after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parameters_from_aws_and_from_moto() {
        assert_eq!(split_list_parameter("a,b"), ["a", "b"]);
        assert_eq!(
            split_list_parameter("['AROA1:*', '123']"),
            ["AROA1:*", "123"]
        );
        assert_eq!(split_list_parameter(""), Vec::<String>::new());
    }

    #[test]
    fn change_set_names_are_valid() {
        let n = change_set_name();
        assert!(n.starts_with("provision-"));
        assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
