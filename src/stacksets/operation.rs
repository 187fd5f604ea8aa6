//! Stack set operations: polled with capped backoff until they end, then reported per
//! instance (ListStackSetOperationResults joined with ListStackInstances), with the failures
//! CloudFormation describes in words recognised (a missing execution role).

use super::describe::{InstanceSummary, list_instances, next_token};
use super::problem::InstanceProblem;
use super::{InstanceKey, RunningOperation, StackSetError, is_transient, sdk_error, timestamp};
pub use crate::aws::Polling;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{CallAs, StackSetOperation, StackSetOperationSummary};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// An [`OperationSummary`] from either SDK shape: the described operation and the listed
/// summary are different types with the same accessors.
macro_rules! operation_summary {
    ($o:expr) => {{
        let o = $o;
        OperationSummary {
            operation_id: o.operation_id().unwrap_or_default().to_string(),
            action: o
                .action()
                .map(|a| a.as_str().to_string())
                .unwrap_or_default(),
            status: o
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            status_reason: o.status_reason().map(str::to_string),
            started: o.creation_timestamp().map(timestamp),
            ended: o.end_timestamp().map(timestamp),
            failed_instances: o
                .status_details()
                .and_then(|d| d.failed_stack_instances_count()),
        }
    }};
}

/// A stack set operation as DescribeStackSetOperation reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationSummary {
    pub operation_id: String,
    /// CREATE, UPDATE, DELETE or DETECT_DRIFT.
    pub action: String,
    /// QUEUED, RUNNING, STOPPING, then SUCCEEDED, FAILED or STOPPED.
    pub status: String,
    pub status_reason: Option<String>,
    pub started: Option<String>,
    pub ended: Option<String>,
    pub failed_instances: Option<i32>,
}

impl OperationSummary {
    pub fn from_sdk(o: &StackSetOperation) -> Self {
        operation_summary!(o)
    }

    /// An operation as ListStackSetOperations lists it.
    pub fn from_list(o: &StackSetOperationSummary) -> Self {
        operation_summary!(o)
    }

    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "SUCCEEDED" | "FAILED" | "STOPPED")
    }

    /// Queued, running or stopping: the set takes no other operation.
    pub fn is_running(&self) -> bool {
        matches!(self.status.as_str(), "RUNNING" | "QUEUED" | "STOPPING")
    }

    pub fn running(&self) -> RunningOperation {
        RunningOperation {
            operation_id: self.operation_id.clone(),
            action: self.action.clone(),
            status: self.status.clone(),
            started: self.started.clone(),
        }
    }
}

/// Every operation of the set (ListStackSetOperations, every page), oldest first.
pub async fn list_operations(
    cf: &Client,
    name: &str,
) -> Result<Vec<OperationSummary>, StackSetError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cf
            .list_stack_set_operations()
            .stack_set_name(name)
            .call_as(CallAs::SelfValue)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(name, "ListStackSetOperations", &e))?;
        out.extend(page.summaries().iter().map(OperationSummary::from_list));
        match next_token(
            name,
            "ListStackSetOperations",
            token.as_deref(),
            page.next_token(),
        )? {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    // RFC 3339 to the second sorts as text; a stable sort keeps the answer's order on ties.
    out.sort_by(|a, b| a.started.cmp(&b.started));
    Ok(out)
}

/// One instance after an operation: the operation's result for it, and its state now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceOutcome {
    #[serde(flatten)]
    pub key: InstanceKey,
    pub organizational_unit: Option<String>,
    /// The operation's result here: SUCCEEDED, FAILED, CANCELLED, ... (None: not part of it).
    pub result: Option<String>,
    pub result_reason: Option<String>,
    /// The instance now: CURRENT, OUTDATED, INOPERABLE; None when there is no instance
    /// (deleted, or never created).
    pub status: Option<String>,
    pub detailed_status: Option<String>,
    pub status_reason: Option<String>,
    pub drift_status: Option<String>,
    pub last_operation_id: Option<String>,
    pub problem: Option<InstanceProblem>,
}

impl InstanceOutcome {
    /// The operation failed here, or left the instance out of date or inoperable.
    pub fn failed(&self) -> bool {
        matches!(self.result.as_deref(), Some("FAILED" | "CANCELLED"))
            || matches!(self.status.as_deref(), Some("OUTDATED" | "INOPERABLE"))
    }

    /// Why, in CloudFormation's words.
    pub fn reason(&self) -> Option<&str> {
        self.result_reason
            .as_deref()
            .or(self.status_reason.as_deref())
    }

    fn from_parts(
        key: InstanceKey,
        result: Option<&OperationResult>,
        instance: Option<&InstanceSummary>,
    ) -> Self {
        let mut outcome = InstanceOutcome {
            organizational_unit: result
                .and_then(|r| r.organizational_unit.clone())
                .or_else(|| instance.and_then(|i| i.organizational_unit.clone())),
            result: result.map(|r| r.status.clone()),
            result_reason: result.and_then(|r| r.reason.clone()),
            status: instance.map(|i| i.status.clone()),
            detailed_status: instance.and_then(|i| i.detailed_status.clone()),
            status_reason: instance.and_then(|i| i.status_reason.clone()),
            drift_status: instance.and_then(|i| i.drift_status.clone()),
            last_operation_id: instance.and_then(|i| i.last_operation_id.clone()),
            problem: None,
            key,
        };
        outcome.problem = outcome.reason().and_then(InstanceProblem::recognise);
        outcome
    }
}

/// An operation and every instance it concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationOutcome {
    pub operation: OperationSummary,
    pub instances: Vec<InstanceOutcome>,
}

impl OperationOutcome {
    pub fn failed_instances(&self) -> Vec<&InstanceOutcome> {
        self.instances.iter().filter(|i| i.failed()).collect()
    }

    /// The recognised failures, each once (a missing execution role names its account).
    pub fn problems(&self) -> Vec<&InstanceProblem> {
        let mut out: Vec<&InstanceProblem> = Vec::new();
        for p in self.instances.iter().filter_map(|i| i.problem.as_ref()) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// The operation succeeded and left no instance failed or out of date.
    pub fn succeeded(&self) -> bool {
        self.operation.status == "SUCCEEDED" && self.failed_instances().is_empty()
    }
}

/// One instance's line in ListStackSetOperationResults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationResult {
    #[serde(flatten)]
    pub key: InstanceKey,
    pub status: String,
    pub reason: Option<String>,
    pub organizational_unit: Option<String>,
}

/// Reads an operation once.
pub async fn describe_operation(
    cf: &Client,
    name: &str,
    operation_id: &str,
) -> Result<OperationSummary, SdkError<aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationError, aws_smithy_runtime_api::http::Response>>
{
    let out = cf
        .describe_stack_set_operation()
        .stack_set_name(name)
        .operation_id(operation_id)
        .call_as(CallAs::SelfValue)
        .send()
        .await?;
    Ok(out
        .stack_set_operation()
        .map(OperationSummary::from_sdk)
        .unwrap_or(OperationSummary {
            operation_id: operation_id.to_string(),
            action: String::new(),
            status: String::new(),
            status_reason: None,
            started: None,
            ended: None,
            failed_instances: None,
        }))
}

/// Polls the operation until it ends (capped exponential backoff; throttling and transient
/// failures slow the poll down instead of failing it), reporting each new status.
pub async fn wait_operation(
    cf: &Client,
    name: &str,
    operation_id: &str,
    polling: &Polling,
    progress: &dyn Fn(String),
) -> Result<OperationSummary, StackSetError> {
    let mut backoff = polling.backoff();
    let mut transient = 0;
    let mut last = String::new();
    loop {
        match describe_operation(cf, name, operation_id).await {
            Ok(summary) => {
                transient = 0;
                let line = format!(
                    "operation {operation_id} {} {}",
                    summary.action, summary.status
                );
                if line != last {
                    progress(line.clone());
                    last = line;
                }
                if summary.is_final() {
                    return Ok(summary);
                }
            }
            Err(e) if is_transient(&e) && transient < polling.max_transient_errors => {
                transient += 1;
                progress(format!(
                    "cloudformation:DescribeStackSetOperation: {} (retrying)",
                    crate::aws::describe(&e)
                ));
            }
            Err(e) => return Err(sdk_error(name, "DescribeStackSetOperation", &e)),
        }
        if let Err(gave_up) = backoff.wait("the operation").await {
            return Err(StackSetError::Timeout {
                stack_set: name.to_string(),
                operation_id: operation_id.to_string(),
                waited: humantime::format_duration(gave_up.after).to_string(),
            });
        }
    }
}

/// Every instance result of an operation, every page.
pub async fn operation_results(
    cf: &Client,
    name: &str,
    operation_id: &str,
) -> Result<Vec<OperationResult>, StackSetError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cf
            .list_stack_set_operation_results()
            .stack_set_name(name)
            .operation_id(operation_id)
            .call_as(CallAs::SelfValue)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(name, "ListStackSetOperationResults", &e))?;
        out.extend(page.summaries().iter().map(|r| {
            OperationResult {
                key: InstanceKey::new(
                    r.account().unwrap_or_default(),
                    r.region().unwrap_or_default(),
                ),
                status: r
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: r.status_reason().map(str::to_string),
                organizational_unit: r.organizational_unit_id().map(str::to_string),
            }
        }));
        match next_token(
            name,
            "ListStackSetOperationResults",
            token.as_deref(),
            page.next_token(),
        )? {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// The operation reported per instance: its results, joined with the instances as they are
/// now. `expected` adds the instances the caller asked for (an endpoint that lists no
/// results, or an OU operation before the accounts show up, still reports them).
pub async fn operation_outcome(
    cf: &Client,
    name: &str,
    operation: OperationSummary,
    expected: &[InstanceKey],
) -> Result<OperationOutcome, StackSetError> {
    let results = operation_results(cf, name, &operation.operation_id).await?;
    let instances = list_instances(cf, name).await?;
    Ok(merge(operation, &results, &instances, expected))
}

/// Joins results and instances by account and region (pure: see [`operation_outcome`]).
pub fn merge(
    operation: OperationSummary,
    results: &[OperationResult],
    instances: &[InstanceSummary],
    expected: &[InstanceKey],
) -> OperationOutcome {
    let by_key: BTreeMap<&InstanceKey, &InstanceSummary> =
        instances.iter().map(|i| (&i.key, i)).collect();
    let results_by_key: BTreeMap<&InstanceKey, &OperationResult> =
        results.iter().map(|r| (&r.key, r)).collect();
    let mut keys: BTreeSet<InstanceKey> = results.iter().map(|r| r.key.clone()).collect();
    keys.extend(expected.iter().cloned());
    keys.extend(
        instances
            .iter()
            .filter(|i| i.last_operation_id.as_deref() == Some(operation.operation_id.as_str()))
            .map(|i| i.key.clone()),
    );
    let instances = keys
        .into_iter()
        .map(|k| {
            let result = results_by_key.get(&k).copied();
            let instance = by_key.get(&k).copied();
            InstanceOutcome::from_parts(k, result, instance)
        })
        .collect();
    OperationOutcome {
        operation,
        instances,
    }
}

/// Waits for the operation, then reports it per instance.
pub(crate) async fn run(
    cf: &Client,
    name: &str,
    operation_id: &str,
    expected: &[InstanceKey],
    polling: &Polling,
    progress: &dyn Fn(String),
) -> Result<OperationOutcome, StackSetError> {
    let summary = wait_operation(cf, name, operation_id, polling, progress).await?;
    operation_outcome(cf, name, summary, expected).await
}

/// The error of a call that starts an operation: an operation already running is named by
/// its ID (ListStackSetOperations), everything else classified as usual.
pub(crate) async fn start_error<E>(
    cf: &Client,
    name: &str,
    operation: &'static str,
    e: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> StackSetError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if e.code() != Some("OperationInProgressException") {
        return sdk_error(name, operation, e);
    }
    let message = e.message().unwrap_or_default().to_string();
    let running = cf
        .list_stack_set_operations()
        .stack_set_name(name)
        .call_as(CallAs::SelfValue)
        .send()
        .await
        .ok()
        .and_then(|out| {
            out.summaries()
                .iter()
                .map(OperationSummary::from_list)
                .find(OperationSummary::is_running)
                .map(|o| Box::new(o.running()))
        });
    StackSetError::OperationInProgress {
        stack_set: name.to_string(),
        running,
        message,
    }
}

/// Instances grouped for operations that take accounts × regions: accounts with the same
/// set of regions share one operation. Regions keep the operation order of `order`.
pub(crate) fn groups(keys: &[InstanceKey], order: &[String]) -> Vec<(Vec<String>, Vec<String>)> {
    let mut by_account: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for k in keys {
        by_account
            .entry(k.account.as_str())
            .or_default()
            .insert(k.region.as_str());
    }
    let mut by_regions: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for (account, regions) in by_account {
        let mut ordered: Vec<String> = order
            .iter()
            .filter(|r| regions.contains(r.as_str()))
            .cloned()
            .collect();
        ordered.extend(
            regions
                .iter()
                .filter(|r| !order.iter().any(|o| o == *r))
                .map(|r| r.to_string()),
        );
        by_regions
            .entry(ordered)
            .or_default()
            .push(account.to_string());
    }
    by_regions
        .into_iter()
        .map(|(regions, accounts)| (accounts, regions))
        .collect()
}

pub(crate) fn keys(accounts: &[String], regions: &[String]) -> Vec<InstanceKey> {
    accounts
        .iter()
        .flat_map(|a| regions.iter().map(move |r| InstanceKey::new(a, r)))
        .collect()
}
