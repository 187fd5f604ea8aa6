//! Operations: polled through QUEUED and RUNNING (and throttling) to their end, then
//! reported per instance; an operation already running; an endpoint without an operation.

use super::*;
use crate::stacksets::operation::{self, Polling};
use aws_sdk_cloudformation::operation::create_stack_instances::CreateStackInstancesOutput;
use aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationOutput;
use aws_sdk_cloudformation::operation::list_stack_set_operations::ListStackSetOperationsOutput;
use aws_sdk_cloudformation::types::StackSetOperationSummary;
use std::time::Duration;

#[tokio::test]
async fn a_running_then_failed_operation_is_reported_instance_by_instance() {
    let op = |s: StackSetOperationStatus| {
        let o = operation(OP, StackSetOperationAction::Create, s);
        move || {
            DescribeStackSetOperationOutput::builder()
                .stack_set_operation(o.clone())
                .build()
        }
    };
    let describe = mock!(Client::describe_stack_set_operation)
        .sequence()
        .output(op(StackSetOperationStatus::Queued))
        .output(op(StackSetOperationStatus::Running))
        .http_response(|| error(400, "Throttling", "Rate exceeded"))
        .output(op(StackSetOperationStatus::Running))
        .output(op(StackSetOperationStatus::Failed))
        .build();
    let exists = "Resource handler returned message: \"acme-artifacts-111122223333-us-east-1 already exists\" (RequestToken: 1f2e, HandlerErrorCode: AlreadyExists)";
    let results = results(
        OP,
        vec![
            result(
                DEV,
                "eu-west-1",
                StackSetOperationResultStatus::Succeeded,
                None,
            ),
            result(
                DEV,
                "us-east-1",
                StackSetOperationResultStatus::Failed,
                Some(exists),
            ),
            result(
                PROD,
                "eu-west-1",
                StackSetOperationResultStatus::Cancelled,
                Some("Cancelled since failure tolerance has exceeded"),
            ),
        ],
    );
    let listed = instances(vec![
        current(DEV, "eu-west-1"),
        instance(
            DEV,
            "us-east-1",
            StackInstanceStatus::Outdated,
            StackInstanceDetailedStatus::Failed,
            Some(exists),
        ),
        instance(
            PROD,
            "eu-west-1",
            StackInstanceStatus::Outdated,
            StackInstanceDetailedStatus::Cancelled,
            Some("Cancelled since failure tolerance has exceeded"),
        ),
    ]);
    let cf = cloudformation(&[&describe, &results, &listed]);
    let messages = Messages::default();
    let sink = messages.clone();
    let outcome = operation::run(&cf, SET, OP, &[], &Polling::immediate(), &move |m| {
        sink.push(m)
    })
    .await
    .expect("the operation ends");
    assert_eq!(outcome.operation.status, "FAILED");
    assert!(!outcome.succeeded());
    let failed: Vec<String> = outcome
        .failed_instances()
        .iter()
        .map(|i| i.key.to_string())
        .collect();
    assert_eq!(
        failed,
        [format!("{DEV}/us-east-1"), format!("{PROD}/eu-west-1")]
    );
    let bad = outcome
        .instances
        .iter()
        .find(|i| i.key.region == "us-east-1")
        .unwrap();
    assert_eq!(bad.result.as_deref(), Some("FAILED"));
    assert_eq!(bad.status.as_deref(), Some("OUTDATED"));
    assert!(bad.reason().unwrap_or_default().contains("already exists"));
    assert_eq!(bad.problem, None);
    let all = messages.all();
    assert!(all.iter().any(|m| m.ends_with("CREATE QUEUED")), "{all:?}");
    assert!(all.iter().any(|m| m.ends_with("CREATE RUNNING")), "{all:?}");
    assert!(
        all.iter()
            .any(|m| m.contains("Throttling") && m.ends_with("(retrying)")),
        "{all:?}"
    );
    assert!(all.last().unwrap().ends_with("CREATE FAILED"), "{all:?}");
}

#[tokio::test]
async fn a_missing_execution_role_is_recognised_and_named() {
    let reason = format!(
        "Account {PROD} should have 'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role 'AWSCloudFormationStackSetAdministrationRole'."
    );
    let describe = operation_statuses(
        OP,
        StackSetOperationAction::Create,
        &[StackSetOperationStatus::Failed],
    );
    let results = results(
        OP,
        vec![
            result(
                DEV,
                "eu-west-1",
                StackSetOperationResultStatus::Succeeded,
                None,
            ),
            result(
                PROD,
                "eu-west-1",
                StackSetOperationResultStatus::Failed,
                Some(&reason),
            ),
        ],
    );
    let listed = instances(vec![
        current(DEV, "eu-west-1"),
        instance(
            PROD,
            "eu-west-1",
            StackInstanceStatus::Outdated,
            StackInstanceDetailedStatus::Failed,
            Some(&reason),
        ),
    ]);
    let cf = cloudformation(&[&describe, &results, &listed]);
    let outcome = operation::run(&cf, SET, OP, &[], &Polling::immediate(), &|_| {})
        .await
        .unwrap();
    let prod = outcome.failed_instances()[0];
    assert_eq!(
        prod.problem,
        Some(InstanceProblem::ExecutionRoleUnusable {
            account: PROD.into(),
            execution_role: "AWSCloudFormationStackSetExecutionRole".into(),
            administration_role: "AWSCloudFormationStackSetAdministrationRole".into(),
        })
    );
    assert_eq!(outcome.problems().len(), 1, "one account, one problem");
    let explained = prod.problem.as_ref().unwrap().explain();
    assert!(
        explained.contains(PROD) && explained.contains("AWSCloudFormationStackSetExecutionRole"),
        "{explained}"
    );
}

#[tokio::test]
async fn an_operation_already_running_is_named_by_its_id() {
    let spec = self_managed();
    let busy = mock!(Client::create_stack_instances).then_http_response(|| {
        error(409, "OperationInProgressException", "Another Operation on StackSet arn:aws:cloudformation:eu-west-1:999988887777:stackset/acme-artifacts:7b4c0a50 is in progress")
    });
    let running = "5d4c3b2a-aaaa-4bbb-8ccc-0d1e2f3a4b5c";
    let ops = mock!(Client::list_stack_set_operations).then_output(move || {
        ListStackSetOperationsOutput::builder()
            .summaries(
                StackSetOperationSummary::builder()
                    .operation_id(running)
                    .action(StackSetOperationAction::Update)
                    .status(StackSetOperationStatus::Running)
                    .creation_timestamp(DateTime::from_secs(1_732_330_000))
                    .build(),
            )
            .summaries(
                StackSetOperationSummary::builder()
                    .operation_id(OP)
                    .action(StackSetOperationAction::Create)
                    .status(StackSetOperationStatus::Succeeded)
                    .build(),
            )
            .build()
    });
    let described = described(&spec, &spec.template, &[]);
    let set = mock!(Client::describe_stack_set).then_output(move || described.clone());
    let none = instances(vec![]);
    let cf = cloudformation(&[&busy, &ops, &set, &none]);
    let preview = preview(&cf, &spec, spec.accounts()).await.unwrap();
    assert_eq!(preview.instances_to_add.len(), 6);
    let err = apply(
        &cf,
        &spec,
        &preview,
        ApplyOptions::default(),
        &Polling::immediate(),
        &|_| {},
    )
    .await
    .expect_err("busy");
    let msg = err.to_string();
    assert!(
        msg.contains(running) && msg.contains("UPDATE") && msg.contains("still running"),
        "{msg}"
    );
    assert!(msg.contains("2024-11-23T02:46:40Z"), "{msg}");
    assert!(err.hint().unwrap_or_default().contains(running));
}

#[tokio::test]
async fn an_endpoint_without_drift_detection_says_so() {
    let moto_500 = mock!(Client::detect_stack_set_drift).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            500.try_into().unwrap(),
            "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n".into(),
        )
    });
    let cf = cloudformation(&[&moto_500]);
    let err = detect_drift(&cf, SET, None, &Polling::immediate(), &|_| {})
        .await
        .expect_err("unimplemented");
    assert!(
        matches!(
            err,
            StackSetError::Unimplemented {
                operation: "DetectStackSetDrift",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn waiting_gives_up_at_the_timeout_and_says_the_operation_goes_on() {
    let describe = operation_statuses(
        OP,
        StackSetOperationAction::Update,
        &[StackSetOperationStatus::Running],
    );
    let cf = cloudformation(&[&describe]);
    let polling = Polling {
        timeout: Duration::ZERO,
        ..Polling::immediate()
    };
    let err = operation::wait_operation(&cf, SET, OP, &polling, &|_| {})
        .await
        .expect_err("timeout");
    assert!(
        err.to_string().contains("goes on in CloudFormation"),
        "{err}"
    );
}

#[tokio::test]
async fn operation_ids_come_from_the_answers() {
    let created = mock!(Client::create_stack_instances).then_output(|| {
        CreateStackInstancesOutput::builder()
            .operation_id(OP)
            .build()
    });
    let describe = operation_statuses(
        OP,
        StackSetOperationAction::Create,
        &[StackSetOperationStatus::Succeeded],
    );
    let results = results(OP, vec![]);
    let listed = instances(vec![current(DEV, "eu-west-1")]);
    let spec = self_managed();
    let cf = cloudformation(&[&created, &describe, &results, &listed]);
    let info = StackSetInfo::from_sdk(described(&spec, &spec.template, &[]).stack_set().unwrap());
    let p = preview_from(&spec, Some(&info), &[], &[DEV.to_string()]);
    assert!(p.exists && !p.updates_set());
    let report = apply(
        &cf,
        &spec,
        &p,
        ApplyOptions::default(),
        &Polling::immediate(),
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.operations[0].operation.operation_id, OP);
    // An endpoint that lists no results still reports the instances asked for.
    assert_eq!(report.operations[0].instances.len(), 3);
}
