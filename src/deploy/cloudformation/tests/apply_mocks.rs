//! `apply` against canned CloudFormation: per-resource events and progress, rolled-back
//! updates, `--no-rollback`, ROLLBACK_COMPLETE and `--recreate-failed`, termination
//! protection. (Throttling while polling: wait_mocks.rs.)

use super::*;
use crate::deploy::cloudformation::execute::{Execution, apply_region};
use crate::deploy::cloudformation::wait::Polling;
use crate::deploy::model::{
    Action, Applied, ApplyOptions, ChangeKind, ChangeSetPlan, EnginePlan, Outcome, ResourceChange,
    StackFailure, TargetPlan,
};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::types::{ChangeSetStatus, ExecutionStatus};
use aws_smithy_mocks::mock;

const B: &str = "AWS::S3::Bucket";
const P: &str = "AWS::IAM::ManagedPolicy";

fn plan(action: Action, changes: usize) -> TargetPlan {
    TargetPlan {
        stack_name: STACK.into(),
        action,
        engine: EnginePlan::CloudFormation(ChangeSetPlan {
            stack_status: Some("UPDATE_COMPLETE".into()),
            change_set_arn: Some(CHANGE_SET_ARN.into()),
            stack_id: Some(STACK_ID.into()),
            stack_changed_at: None,
            created_review_stack: false,
            import: false,
        }),
        changes: (0..changes)
            .map(|i| ResourceChange::new(ChangeKind::Modify, B, &format!("R{i}")))
            .collect(),
        security: vec![],
    }
}

fn change_set(p: &mut TargetPlan) -> &mut ChangeSetPlan {
    match &mut p.engine {
        EnginePlan::CloudFormation(c) => c,
        _ => panic!("a CloudFormation plan was built above"),
    }
}

fn opts() -> Execution {
    Execution {
        options: ApplyOptions {
            no_rollback: false,
            recreate_failed: false,
            termination_protection: true,
        },
        polling: Polling::immediate(),
    }
}

fn execute() -> aws_smithy_mocks::Rule {
    mock!(Client::execute_change_set)
        .match_requests(|r| r.change_set_name() == Some(CHANGE_SET_ARN))
        .then_output(|| ExecuteChangeSetOutput::builder().build())
}

async fn run(
    cf: &Client,
    plan: &TargetPlan,
    opts: &Execution,
    messages: &Messages,
) -> Result<Applied, StackFailure> {
    let m = messages.clone();
    apply_region(cf, plan, &target(TEMPLATE, "1"), opts, &move |s| m.push(s)).await
}

#[tokio::test]
async fn an_update_reports_per_resource_progress_until_complete() {
    let old = stack_event(1, "UPDATE_COMPLETE", None);
    let e2 = stack_event(2, "UPDATE_IN_PROGRESS", Some("User Initiated"));
    let e3 = event(3, "Bucket", B, "UPDATE_IN_PROGRESS", None);
    let e4 = event(4, "Bucket", B, "UPDATE_COMPLETE", None);
    let e5 = event(5, "ReadPolicy", P, "UPDATE_COMPLETE", None);
    let e6 = stack_event(6, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None);
    let e7 = stack_event(7, "UPDATE_COMPLETE", None);
    let (a, b, c, d, e) = (old.clone(), e2.clone(), e3.clone(), e4.clone(), e5.clone());
    let (f, g) = (e6.clone(), e7.clone());
    let ev = mock!(Client::describe_stack_events)
        .sequence()
        .output({
            let a = a.clone();
            move || events(vec![a.clone()])
        })
        .output({
            let v = vec![a.clone(), b.clone(), c.clone()];
            move || events(v.clone())
        })
        .output({
            let v = vec![a.clone(), b.clone(), c.clone(), d.clone(), e.clone()];
            move || events(v.clone())
        })
        .output({
            let v = vec![
                a.clone(),
                b.clone(),
                c.clone(),
                d.clone(),
                e.clone(),
                f.clone(),
            ];
            move || events(v.clone())
        })
        .output(move || {
            events(vec![
                a.clone(),
                b.clone(),
                c.clone(),
                d.clone(),
                e.clone(),
                f.clone(),
                g.clone(),
            ])
        })
        .build();
    let st = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(StackStatus::UpdateInProgress))
        .output(|| stacks(StackStatus::UpdateInProgress))
        .output(|| stacks(StackStatus::UpdateCompleteCleanupInProgress))
        .output(|| stacks(StackStatus::UpdateComplete))
        .build();
    let exec = execute();
    let cf = cloudformation(&[&ev, &st, &exec]);
    let messages = Messages::default();
    let done = run(&cf, &plan(Action::Update, 2), &opts(), &messages)
        .await
        .unwrap();
    assert_eq!(done.result, Outcome::Updated);
    assert_eq!(done.status.as_deref(), Some("UPDATE_COMPLETE"));
    assert_eq!(
        messages.all(),
        [
            "executing the change set",
            "UPDATE_IN_PROGRESS  0/2 resources  · Bucket UPDATE_IN_PROGRESS",
            "UPDATE_IN_PROGRESS  2/2 resources  · ReadPolicy UPDATE_COMPLETE",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS  2/2 resources  · artifact-storage UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_COMPLETE  · artifact-storage UPDATE_COMPLETE",
        ]
    );
    assert_eq!(exec.num_calls(), 1);
}

/// A failed update as CloudFormation reports it: the cause, then cancellations, then rollback.
fn rollback_events() -> Vec<aws_sdk_cloudformation::types::StackEvent> {
    vec![
        stack_event(1, "UPDATE_COMPLETE", None),
        stack_event(2, "UPDATE_IN_PROGRESS", Some("User Initiated")),
        event(3, "Bucket", B, "UPDATE_IN_PROGRESS", None),
        event(4, "ReadPolicy", P, "UPDATE_IN_PROGRESS", None),
        event(
            5,
            "Bucket",
            B,
            "UPDATE_FAILED",
            Some(
                "Resource handler returned message: \"Access Denied (Service: S3, Status Code: 403, Request ID: 8W5N0AV2)\" (RequestToken: 1a2b, HandlerErrorCode: AccessDenied)",
            ),
        ),
        event(
            6,
            "ReadPolicy",
            P,
            "UPDATE_FAILED",
            Some("Resource update cancelled"),
        ),
        stack_event(
            7,
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to update: [Bucket]. "),
        ),
        event(8, "ReadPolicy", P, "UPDATE_COMPLETE", None),
        stack_event(9, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None),
        stack_event(10, "UPDATE_ROLLBACK_COMPLETE", None),
    ]
}

#[tokio::test]
async fn a_rolled_back_update_fails_with_the_first_failed_events_reason() {
    let all = rollback_events();
    let first = all[..1].to_vec();
    let ev = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || events(first.clone()))
        .output(move || events(all.clone()))
        .repeatedly()
        .build();
    let st = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(StackStatus::UpdateRollbackInProgress))
        .output(|| stacks(StackStatus::UpdateRollbackComplete))
        .build();
    let exec = execute();
    let cf = cloudformation(&[&ev, &st, &exec]);
    let err = run(&cf, &plan(Action::Update, 2), &opts(), &Messages::default())
        .await
        .unwrap_err();
    assert_eq!(err.status.as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
    let first = err.first_failure.unwrap();
    assert_eq!(
        (first.logical_id.as_str(), first.status.as_str()),
        ("Bucket", "UPDATE_FAILED")
    );
    assert!(err.failure.message.starts_with("the update failed and was rolled back: Bucket (AWS::S3::Bucket) UPDATE_FAILED: Resource handler returned message: \"Access Denied"), "{}", err.failure);
    assert_eq!(err.stack, STACK);
}

#[tokio::test]
async fn no_rollback_executes_with_disable_rollback_and_reports_the_kept_failure() {
    let ev = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| events(vec![stack_event(1, "UPDATE_COMPLETE", None)]))
        .output(|| {
            events(vec![
                stack_event(1, "UPDATE_COMPLETE", None),
                event(
                    2,
                    "Bucket",
                    B,
                    "UPDATE_FAILED",
                    Some("Bucket policy has invalid principal"),
                ),
                stack_event(
                    3,
                    "UPDATE_FAILED",
                    Some("The following resource(s) failed to update: [Bucket]."),
                ),
            ])
        })
        .build();
    let st = mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::UpdateFailed));
    let exec = mock!(Client::execute_change_set)
        .match_requests(|r| r.disable_rollback() == Some(true))
        .then_output(|| ExecuteChangeSetOutput::builder().build());
    let cf = cloudformation(&[&ev, &st, &exec]);
    let mut o = opts();
    o.options.no_rollback = true;
    let err = run(&cf, &plan(Action::Update, 1), &o, &Messages::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.failure.message,
        "the update failed and was kept as it is (--no-rollback): Bucket (AWS::S3::Bucket) UPDATE_FAILED: Bucket policy has invalid principal"
    );
    assert_eq!(exec.num_calls(), 1);
}

#[tokio::test]
async fn a_failed_first_creation_is_refused_without_recreate_failed() {
    // No rules at all: nothing may be called.
    let cf = cloudformation(&[]);
    let mut p = plan(Action::Recreate, 2);
    change_set(&mut p).change_set_arn = None;
    change_set(&mut p).stack_status = Some("ROLLBACK_COMPLETE".into());
    let err = run(&cf, &p, &opts(), &Messages::default())
        .await
        .unwrap_err();
    assert!(err.failure.message.contains("ROLLBACK_COMPLETE"));
    assert!(err.failure.hint.unwrap().contains("--recreate-failed"));
}

#[tokio::test]
async fn recreate_failed_deletes_waits_creates_and_protects_the_new_stack() {
    const NEW_ID: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/artifact-storage/9a8b7c6d-0000-11ef-8888-0a1b2c3d4e5f";
    let ev = mock!(Client::describe_stack_events)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .sequence()
        .output(|| events(vec![stack_event(1, "ROLLBACK_COMPLETE", None)]))
        .output(|| {
            events(vec![
                stack_event(1, "ROLLBACK_COMPLETE", None),
                stack_event(2, "DELETE_IN_PROGRESS", Some("User Initiated")),
            ])
        })
        .output(|| {
            events(vec![
                stack_event(1, "ROLLBACK_COMPLETE", None),
                stack_event(2, "DELETE_IN_PROGRESS", Some("User Initiated")),
                stack_event(3, "DELETE_COMPLETE", None),
            ])
        })
        .build();
    let new_events = mock!(Client::describe_stack_events)
        .match_requests(|r| r.stack_name() == Some(NEW_ID))
        .then_output(|| {
            events(vec![stack_event(
                1,
                "REVIEW_IN_PROGRESS",
                Some("User Initiated"),
            )])
        });
    let old = mock!(Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .sequence()
        .output(|| stacks(StackStatus::DeleteInProgress))
        .output(|| stacks(StackStatus::DeleteComplete))
        .build();
    let by_name = mock!(Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(STACK))
        .then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                400.try_into().unwrap(),
                not_exist(STACK).into(),
            )
        });
    let new = mock!(Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(NEW_ID))
        .sequence()
        .output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    stack_builder(StackStatus::CreateInProgress)
                        .stack_id(NEW_ID)
                        .build(),
                )
                .build()
        })
        .output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    stack_builder(StackStatus::CreateComplete)
                        .stack_id(NEW_ID)
                        .build(),
                )
                .build()
        })
        .build();
    let delete = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| DeleteStackOutput::builder().build());
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id(CHANGE_SET_ARN)
            .stack_id(NEW_ID)
            .build()
    });
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .stack_id(NEW_ID)
            .status(ChangeSetStatus::CreateComplete)
            .execution_status(ExecutionStatus::Available)
            .build()
    });
    let exec = execute();
    let protect = mock!(Client::update_termination_protection)
        .match_requests(|r| {
            r.enable_termination_protection() == Some(true) && r.stack_name() == Some(NEW_ID)
        })
        .then_output(|| {
            UpdateTerminationProtectionOutput::builder()
                .stack_id(NEW_ID)
                .build()
        });
    let cf = cloudformation(&[
        &ev,
        &new_events,
        &old,
        &by_name,
        &new,
        &delete,
        &create,
        &describe_cs,
        &exec,
        &protect,
    ]);
    let mut p = plan(Action::Recreate, 3);
    change_set(&mut p).change_set_arn = None;
    let mut o = opts();
    o.options.recreate_failed = true;
    let messages = Messages::default();
    let done = run(&cf, &p, &o, &messages).await.unwrap();
    assert_eq!(done.result, Outcome::Recreated);
    assert_eq!(done.status.as_deref(), Some("CREATE_COMPLETE"));
    assert!(done.warnings.is_empty(), "{:?}", done.warnings);
    assert_eq!(
        (
            delete.num_calls(),
            create.num_calls(),
            exec.num_calls(),
            protect.num_calls()
        ),
        (1, 1, 1, 1)
    );
    assert!(
        messages
            .all()
            .contains(&"deleting the failed stack".to_string())
    );
}

#[tokio::test]
async fn termination_protection_unsupported_by_the_endpoint_is_a_warning() {
    let ev = mock!(Client::describe_stack_events).then_output(|| {
        events(vec![stack_event(
            1,
            "REVIEW_IN_PROGRESS",
            Some("User Initiated"),
        )])
    });
    let st = mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::CreateComplete));
    let exec = execute();
    let protect = mock!(Client::update_termination_protection)
        .sequence()
        .http_status(500, Some(MOTO_500.into()))
        .times(2)
        .build();
    let cf = cloudformation(&[&ev, &st, &exec, &protect]);
    let done = run(&cf, &plan(Action::Create, 1), &opts(), &Messages::default())
        .await
        .unwrap();
    assert_eq!(done.result, Outcome::Created);
    assert_eq!(done.warnings.len(), 1);
    assert!(done.warnings[0].starts_with("termination protection was not enabled: this endpoint does not implement UpdateTerminationProtection"));
}
