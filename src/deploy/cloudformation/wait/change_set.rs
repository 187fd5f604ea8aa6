//! Waiting for a change set: CloudFormation computes it, then reports its changes, that
//! there are none, or why it failed.

use super::Polling;
use crate::aws::{AwsError, SdkResultExt};
use crate::deploy::cloudformation::stack::StackError;
use crate::deploy::model::{ChangeKind, ResourceChange};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::ChangeSetStatus;

/// A described change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeSetOutcome {
    Ready {
        stack_id: String,
        changes: Vec<ResourceChange>,
        execution_status: String,
    },
    /// CloudFormation found nothing to change.
    NoChanges,
    Failed(String),
}

/// CloudFormation's reasons for a change set without changes.
pub fn is_no_changes_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// Describes a change set once (every page of changes); `None` while it is being created.
pub async fn describe_change_set(
    cf: &Client,
    arn: &str,
) -> Result<Option<ChangeSetOutcome>, AwsError> {
    let mut changes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cf
            .describe_change_set()
            .change_set_name(arn)
            .set_next_token(token.clone())
            .send()
            .await
            .classify("cloudformation:DescribeChangeSet", cf)?;
        match out.status() {
            Some(ChangeSetStatus::CreateComplete) => {}
            Some(ChangeSetStatus::Failed) => {
                let reason = out.status_reason().unwrap_or("no reason given").to_string();
                return Ok(Some(if is_no_changes_reason(&reason) {
                    ChangeSetOutcome::NoChanges
                } else {
                    ChangeSetOutcome::Failed(reason)
                }));
            }
            Some(ChangeSetStatus::DeleteComplete | ChangeSetStatus::DeleteFailed) => {
                return Ok(Some(ChangeSetOutcome::Failed(
                    "the change set was deleted".into(),
                )));
            }
            _ => return Ok(None),
        }
        changes.extend(out.changes().iter().filter_map(|c| {
            let rc = c.resource_change()?;
            Some(change_of(rc))
        }));
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(Some(ChangeSetOutcome::Ready {
                stack_id: out.stack_id().unwrap_or_default().to_string(),
                changes,
                execution_status: out
                    .execution_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            }));
        }
    }
}

fn change_of(rc: &aws_sdk_cloudformation::types::ResourceChange) -> ResourceChange {
    use aws_sdk_cloudformation::types::{ChangeAction, Replacement};
    let action = match rc.action() {
        Some(ChangeAction::Add) => ChangeKind::Add,
        Some(ChangeAction::Remove) => ChangeKind::Remove,
        Some(ChangeAction::Import) => ChangeKind::Import,
        Some(ChangeAction::Modify) => match rc.replacement() {
            Some(Replacement::True) => ChangeKind::Replace,
            Some(Replacement::Conditional) => ChangeKind::MayReplace,
            _ => ChangeKind::Modify,
        },
        _ => ChangeKind::Other,
    };
    let mut change = ResourceChange::new(
        action,
        rc.resource_type().unwrap_or_default(),
        rc.logical_resource_id().unwrap_or_default(),
    );
    change.physical_id = rc.physical_resource_id().map(str::to_string);
    // CloudFormation's own answer, kept beside provision's prediction.
    change.engine_replacement = rc.replacement().map(|r| r.as_str().to_string());
    change
}

/// Polls a change set until CloudFormation has computed it.
pub async fn wait_change_set(
    cf: &Client,
    arn: &str,
    polling: &Polling,
) -> Result<ChangeSetOutcome, StackError> {
    let mut backoff = polling.backoff();
    let mut transient = 0;
    loop {
        match describe_change_set(cf, arn).await {
            Ok(Some(outcome)) => return Ok(outcome),
            Ok(None) => transient = 0,
            Err(e) if e.is_transient() && transient < polling.max_transient_errors => {
                transient += 1;
            }
            Err(e) => return Err(e.into()),
        }
        backoff.wait("the change set").await?;
    }
}
