//! Waiting for CloudFormation: change-set creation and stack operations, polled with capped
//! exponential backoff. Throttling while polling slows the poll down instead of failing it.

mod change_set;

pub use change_set::{
    ChangeSetOutcome, describe_change_set, is_no_changes_reason, wait_change_set,
};

use super::stack::{self as cfn, StackError};
pub use crate::aws::Polling;
use crate::aws::{AwsError, SdkResultExt};
use crate::deploy::model::FailedEvent;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::StackEvent;
use std::collections::HashSet;

/// How a stack operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutcome {
    pub status: String,
    pub status_reason: Option<String>,
    pub first_failure: Option<FailedEvent>,
}

impl StackOutcome {
    /// Why the operation failed: the first failed event, else the stack's status reason.
    pub fn cause(&self) -> String {
        self.first_failure
            .as_ref()
            .map(|f| f.to_string())
            .or_else(|| self.status_reason.clone())
            .unwrap_or_else(|| "CloudFormation gave no reason".into())
    }
}

/// Follows a stack's events from a marker on, keeping the progress counters.
#[derive(Debug, Default)]
pub struct EventTracker {
    marker: Option<String>,
    seen: HashSet<String>,
    /// Resources whose latest event is a completed one.
    done: HashSet<String>,
    pub latest: Option<String>,
    pub first_failure: Option<FailedEvent>,
    stack_name: String,
}

impl EventTracker {
    /// `marker`: the newest event before the operation began (`None`: every event counts).
    pub fn new(marker: Option<String>, stack_name: &str) -> Self {
        EventTracker {
            marker,
            stack_name: stack_name.to_string(),
            ..Default::default()
        }
    }

    /// A tracker for an operation about to begin: the stack's newest event is the marker.
    pub async fn from_now(
        cf: &Client,
        stack_id: &str,
        stack_name: &str,
    ) -> Result<Self, StackError> {
        let marker = cfn::newest_event_id(cf, stack_id).await?;
        Ok(EventTracker::new(marker, stack_name))
    }

    pub fn done(&self) -> usize {
        self.done.len()
    }

    /// Fetches the events newer than the marker and not seen yet (newest first from the API).
    pub async fn poll(&mut self, cf: &Client, stack_id: &str) -> Result<(), AwsError> {
        let mut fresh: Vec<StackEvent> = Vec::new();
        let mut token: Option<String> = None;
        'pages: for _ in 0..20 {
            let out = cf
                .describe_stack_events()
                .stack_name(stack_id)
                .set_next_token(token.clone())
                .send()
                .await
                .classify("cloudformation:DescribeStackEvents", cf)?;
            for e in out.stack_events() {
                let id = e.event_id().unwrap_or_default();
                if self.marker.as_deref() == Some(id) || self.seen.contains(id) {
                    break 'pages;
                }
                fresh.push(e.clone());
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        // Oldest first, so the first failure is the root cause and `latest` the newest.
        for e in fresh.into_iter().rev() {
            self.record(&e);
        }
        Ok(())
    }

    fn record(&mut self, e: &StackEvent) {
        self.seen
            .insert(e.event_id().unwrap_or_default().to_string());
        let logical = e.logical_resource_id().unwrap_or_default().to_string();
        let status = e
            .resource_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let reason = e.resource_status_reason().unwrap_or_default().to_string();
        let is_stack =
            e.resource_type() == Some("AWS::CloudFormation::Stack") && logical == self.stack_name;
        if !is_stack {
            if status.ends_with("_COMPLETE") {
                self.done.insert(logical.clone());
            } else {
                self.done.remove(&logical);
            }
        }
        if status.ends_with("_FAILED") {
            let cancelled = reason.contains("cancelled");
            let replace = match &self.first_failure {
                None => true,
                // A cancellation is a consequence; prefer the cause when it comes later.
                Some(f) => f.reason.contains("cancelled") && !cancelled,
            };
            if replace {
                self.first_failure = Some(FailedEvent {
                    logical_id: logical.clone(),
                    resource_type: e.resource_type().unwrap_or_default().to_string(),
                    status: status.clone(),
                    reason: if reason.is_empty() {
                        "no reason given".into()
                    } else {
                        reason.clone()
                    },
                });
            }
        }
        self.latest = Some(format!("{logical} {status}"));
    }
}

/// Whether a stack status is final (nothing in progress).
pub fn is_settled(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
}

/// Waits until the stack operation that began after `tracker`'s marker settles, reporting
/// progress (`resources done/total · latest event`) through `progress`.
/// A stack that disappears counts as `DELETE_COMPLETE`.
pub async fn wait_stack(
    cf: &Client,
    stack_id: &str,
    tracker: &mut EventTracker,
    total: usize,
    polling: &Polling,
    progress: &dyn Fn(String),
) -> Result<StackOutcome, StackError> {
    let mut backoff = polling.backoff();
    let mut transient = 0;
    let mut last_message = String::new();
    loop {
        let polled = async {
            let stack = cf
                .describe_stacks()
                .stack_name(stack_id)
                .send()
                .await
                .classify("cloudformation:DescribeStacks", cf)?;
            let info = stack.stacks().first().map(cfn::StackInfo::from_sdk);
            tracker.poll(cf, stack_id).await?;
            Ok::<_, AwsError>(info)
        }
        .await;
        match polled {
            Ok(Some(info)) => {
                transient = 0;
                let message = progress_message(&info.status, tracker, total);
                if message != last_message {
                    progress(message.clone());
                    last_message = message;
                }
                if is_settled(&info.status) {
                    return Ok(StackOutcome {
                        status: info.status,
                        status_reason: info.status_reason,
                        first_failure: tracker.first_failure.clone(),
                    });
                }
            }
            Ok(None) => return Ok(deleted(tracker)),
            Err(e) if e.is_not_found() => return Ok(deleted(tracker)),
            Err(e) if e.is_transient() && transient < polling.max_transient_errors => {
                transient += 1;
                progress(format!("{} (retrying)", e.with_operation()));
            }
            Err(e) => return Err(e.into()),
        }
        backoff.wait("the stack").await?;
    }
}

fn deleted(tracker: &EventTracker) -> StackOutcome {
    StackOutcome {
        status: "DELETE_COMPLETE".into(),
        status_reason: None,
        first_failure: tracker.first_failure.clone(),
    }
}

fn progress_message(status: &str, tracker: &EventTracker, total: usize) -> String {
    let mut m = status.to_string();
    // The counter only means something while resources are in progress.
    if total > 0 && !is_settled(status) {
        m.push_str(&format!(
            "  {}/{total} resources",
            tracker.done().min(total)
        ));
    }
    if let Some(latest) = &tracker.latest {
        m.push_str(&format!("  · {latest}"));
    }
    m
}
