//! Waiting for a stack against canned CloudFormation: throttling while polling, and the
//! backoff between polls.

use super::*;
use crate::deploy::cloudformation::wait::{self, EventTracker, Polling};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::mock;

/// Waits for the stack, one resource expected, polling without delay.
async fn wait_for_stack(
    cf: &Client,
    progress: &dyn Fn(String),
) -> Result<wait::StackOutcome, crate::deploy::cloudformation::stack::StackError> {
    let mut tracker = EventTracker::new(None, STACK);
    wait::wait_stack(
        cf,
        STACK_ID,
        &mut tracker,
        1,
        &Polling::immediate(),
        progress,
    )
    .await
}

#[tokio::test]
async fn throttling_while_polling_slows_down_instead_of_failing() {
    let st = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(throttling()))
        .times(2)
        .output(|| stacks(StackStatus::UpdateInProgress))
        .output(|| stacks(StackStatus::UpdateComplete))
        .build();
    let ev = mock!(Client::describe_stack_events)
        .then_output(|| events(vec![stack_event(2, "UPDATE_COMPLETE", None)]));
    let cf = cloudformation(&[&st, &ev]);
    let messages = Messages::default();
    let m = messages.clone();
    let end = wait_for_stack(&cf, &move |s| m.push(s)).await.unwrap();
    assert_eq!(end.status, "UPDATE_COMPLETE");
    assert_eq!(st.num_calls(), 4);
    let retried = messages
        .all()
        .iter()
        .filter(|m| m.contains("Throttling: Rate exceeded (retrying)"))
        .count();
    assert_eq!(retried, 2);
}

#[tokio::test]
async fn sustained_throttling_fails_the_wait_with_the_error() {
    let st = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(throttling()))
        .repeatedly()
        .build();
    let cf = cloudformation(&[&st]);
    let err = wait_for_stack(&cf, &|_| {}).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cloudformation:DescribeStacks: Throttling: Rate exceeded"
    );
    // Polling::immediate tolerates 3 transient errors: the 4th ends the wait.
    assert_eq!(st.num_calls(), 4);
}
