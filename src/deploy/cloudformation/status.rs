//! One region's stack as it is: status, last change, protection, drift status and outputs.

use super::stack::{StackError, StackInfo, describe_stack};
use crate::deploy::model::{StackFailure, StackStatus};
use aws_sdk_cloudformation::Client;

/// Reads one region's stack.
pub async fn region_status(cf: &Client, stack_name: &str) -> Result<StackStatus, StackFailure> {
    let found = describe_stack(cf, stack_name)
        .await
        .map_err(|e| StackFailure::new(stack_name, StackError::from(e)))?;
    Ok(match found {
        None => StackStatus::not_deployed(stack_name),
        Some(info) => status_of(stack_name, info),
    })
}

fn status_of(stack_name: &str, info: StackInfo) -> StackStatus {
    StackStatus {
        stack_name: stack_name.to_string(),
        // A stack holding only a pending change set has nothing deployed yet.
        deployed: info.status != "REVIEW_IN_PROGRESS",
        last_updated: info.changed_at().map(str::to_string),
        status: Some(info.status),
        status_reason: info.status_reason,
        termination_protection: Some(info.termination_protection),
        drift_status: info.drift_status,
        detailed_status: None,
        last_operation: None,
        outputs: info.outputs,
    }
}
