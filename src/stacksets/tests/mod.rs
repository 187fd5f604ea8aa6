//! The StackSets driver against answers shaped like CloudFormation's, for what the emulator
//! cannot show: operations that run and then fail, failure tolerance exceeded, OUTDATED
//! instances and their retry, updates of an existing set, an operation already in progress,
//! retained stacks, role failures, drift.
//!
//! Errors are sent as HTTP responses with the body AWS sends (query-protocol XML), so that
//! they go through the SDK's real deserializer and error classification.

mod apply_mocks;
mod destroy_mocks;
mod operation_mocks;
mod refusal_mocks;
mod service_managed_mocks;

use super::*;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::describe_stack_set::DescribeStackSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationOutput;
use aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput;
use aws_sdk_cloudformation::operation::list_stack_set_operation_results::ListStackSetOperationResultsOutput;
use aws_sdk_cloudformation::types::{
    Parameter, PermissionModels, StackInstanceComprehensiveStatus, StackInstanceDetailedStatus,
    StackInstanceStatus, StackInstanceSummary, StackSet, StackSetOperation,
    StackSetOperationAction, StackSetOperationResultStatus, StackSetOperationResultSummary,
    StackSetOperationStatus, StackSetStatus,
};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_types::DateTime;
use std::collections::BTreeMap;

pub const SET: &str = "acme-artifacts";
pub const ADMIN: &str = "999988887777";
pub const DEV: &str = "111122223333";
pub const PROD: &str = "444455556666";
pub const OU: &str = "ou-ab12-cd34ef56";
pub const OP: &str = "0f0e0d0c-1111-4222-8333-944455556666";

/// A CloudFormation client answering from `rules` only, SDK retries off.
pub fn cloudformation(rules: &[&Rule]) -> Client {
    crate::testing::clients(rules).cloudformation(crate::testing::REGION)
}

/// An error response as CloudFormation sends it (query protocol).
pub fn error(status: u16, code: &str, message: &str) -> aws_smithy_runtime_api::http::Response {
    crate::testing::response(status, crate::testing::query_error(code, message))
}

const REGIONS: &str = "regions: [eu-west-1, us-east-1, eu-north-1]\n";

/// The spec of a configuration with `targets` (YAML flow mapping).
pub fn spec(targets: &str, extra: &str) -> StackSetSpec {
    let cfg = crate::config::parse(
        std::path::Path::new("p.yaml"),
        &format!(
            "version: 1\norganisation: acme\n{REGIONS}stack_name: {SET}\nengine: stacksets\nidentities: {{group: Apps, users: [bot], policy: read}}\nstacksets:\n  targets: {targets}\n{extra}"
        ),
    )
    .expect("valid configuration");
    let template =
        crate::render::stack_set(&cfg, &crate::render::Templates::default()).expect("renders");
    StackSetSpec::from_config(&cfg, &template, BTreeMap::new(), ADMIN).expect("stacksets")
}

pub fn self_managed() -> StackSetSpec {
    spec(
        &format!("{{accounts: [\"{DEV}\", \"{PROD}\"]}}"),
        "  preferences: {max_concurrent: 2, failure_tolerance: 1, region_concurrency: parallel}\n",
    )
}

pub fn service_managed() -> StackSetSpec {
    spec(
        &format!("{{organizational_units: [{OU}], auto_deployment: {{enabled: true}}}}"),
        "",
    )
}

/// DescribeStackSet answering with the set as it was deployed from `spec` (or with another
/// template and parameters).
pub fn described(
    spec: &StackSetSpec,
    template: &str,
    parameters: &[(&str, &str)],
) -> DescribeStackSetOutput {
    DescribeStackSetOutput::builder()
        .stack_set(
            StackSet::builder()
                .stack_set_name(&spec.name)
                .stack_set_id(format!(
                    "{}:7b4c0a50-5e1c-11ef-9c1a-0a1b2c3d4e5f",
                    spec.name
                ))
                .status(StackSetStatus::Active)
                .description(&spec.description)
                .template_body(template)
                .set_parameters(Some(
                    parameters
                        .iter()
                        .map(|(k, v)| {
                            Parameter::builder()
                                .parameter_key(*k)
                                .parameter_value(*v)
                                .build()
                        })
                        .collect(),
                ))
                .permission_model(spec.permission_model())
                .build(),
        )
        .build()
}

pub fn not_found() -> Rule {
    mock!(Client::describe_stack_set).then_http_response(|| {
        error(
            400,
            "StackSetNotFoundException",
            "StackSet acme-artifacts not found",
        )
    })
}

/// An instance as ListStackInstances reports it.
pub fn instance(
    account: &str,
    region: &str,
    status: StackInstanceStatus,
    detailed: StackInstanceDetailedStatus,
    reason: Option<&str>,
) -> StackInstanceSummary {
    StackInstanceSummary::builder()
        .stack_set_id(format!("{SET}:7b4c0a50"))
        .account(account)
        .region(region)
        .stack_id(format!(
            "arn:aws:cloudformation:{region}:{account}:stack/StackSet-{SET}-3f2e1d0c/aa11bb22"
        ))
        .status(status)
        .stack_instance_status(
            StackInstanceComprehensiveStatus::builder()
                .detailed_status(detailed)
                .build(),
        )
        .set_status_reason(reason.map(String::from))
        .last_operation_id(OP)
        .build()
}

pub fn current(account: &str, region: &str) -> StackInstanceSummary {
    instance(
        account,
        region,
        StackInstanceStatus::Current,
        StackInstanceDetailedStatus::Succeeded,
        None,
    )
}

pub fn instances(list: Vec<StackInstanceSummary>) -> Rule {
    mock!(Client::list_stack_instances).then_output(move || {
        ListStackInstancesOutput::builder()
            .set_summaries(Some(list.clone()))
            .build()
    })
}

pub fn operation(
    id: &str,
    action: StackSetOperationAction,
    status: StackSetOperationStatus,
) -> StackSetOperation {
    StackSetOperation::builder()
        .operation_id(id)
        .action(action)
        .status(status)
        .creation_timestamp(DateTime::from_secs(1_732_330_000))
        .build()
}

/// DescribeStackSetOperation answering `statuses` in turn (the last one repeats).
pub fn operation_statuses(
    id: &'static str,
    action: StackSetOperationAction,
    statuses: &[StackSetOperationStatus],
) -> Rule {
    let answer = |s: &StackSetOperationStatus| {
        let op = operation(id, action.clone(), s.clone());
        move || {
            DescribeStackSetOperationOutput::builder()
                .stack_set_operation(op.clone())
                .build()
        }
    };
    let (last, first) = statuses.split_last().expect("at least one status");
    let mut seq = mock!(Client::describe_stack_set_operation)
        .match_requests(move |r| r.operation_id() == Some(id))
        .sequence();
    for s in first {
        seq = seq.output(answer(s));
    }
    seq.output(answer(last)).repeatedly().build()
}

pub fn result(
    account: &str,
    region: &str,
    status: StackSetOperationResultStatus,
    reason: Option<&str>,
) -> StackSetOperationResultSummary {
    StackSetOperationResultSummary::builder()
        .account(account)
        .region(region)
        .status(status)
        .set_status_reason(reason.map(String::from))
        .build()
}

pub fn results(id: &'static str, list: Vec<StackSetOperationResultSummary>) -> Rule {
    mock!(Client::list_stack_set_operation_results)
        .match_requests(move |r| r.operation_id() == Some(id))
        .then_output(move || {
            ListStackSetOperationResultsOutput::builder()
                .set_summaries(Some(list.clone()))
                .build()
        })
}

pub use crate::testing::Messages;
