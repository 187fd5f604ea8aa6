//! Applying a plan that imports an adopted bucket, against canned CloudFormation shaped like
//! AWS's answers: the IMPORT change set executed and waited for through IMPORT_IN_PROGRESS to
//! IMPORT_COMPLETE, then the update planned and executed; a rolled-back import names the
//! region, the stack and the bucket with the events' reason, and deletes nothing.

use super::import_mocks::{IMPORT_ARN, RENDERED, UPDATE_ARN, adopted_target, import_plan};
use super::*;
use crate::deploy::cloudformation::execute::{Execution, apply_region};
use crate::deploy::cloudformation::import::import_template;
use crate::deploy::cloudformation::security::parse_template;
use crate::deploy::cloudformation::wait::Polling;
use crate::deploy::model::{ApplyOptions, Outcome};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::types::ChangeSetType;
use aws_smithy_mocks::{Rule, mock};
use serde_json::Value;

fn execution() -> Execution {
    Execution {
        options: ApplyOptions {
            no_rollback: false,
            recreate_failed: false,
            termination_protection: true,
        },
        polling: Polling::immediate(),
    }
}

fn executes(arn: &'static str) -> Rule {
    mock!(Client::execute_change_set)
        .match_requests(move |r| r.change_set_name() == Some(arn))
        .then_output(|| ExecuteChangeSetOutput::builder().build())
}

#[tokio::test]
async fn apply_executes_the_import_waits_for_import_complete_then_applies_the_update() {
    let review = stack_event(1, "REVIEW_IN_PROGRESS", Some("User Initiated"));
    let imported = vec![
        review.clone(),
        stack_event(2, "IMPORT_IN_PROGRESS", Some("User Initiated")),
        event(3, "Bucket", "AWS::S3::Bucket", "IMPORT_COMPLETE", None),
        stack_event(4, "IMPORT_COMPLETE", None),
    ];
    let ev = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || events(vec![review.clone()]))
        .output(move || events(imported.clone()))
        .repeatedly()
        .build();
    let st = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(StackStatus::ImportInProgress))
        .output(|| stacks(StackStatus::ImportComplete))
        // The update is planned on the imported stack, then executed.
        .output(|| stacks(StackStatus::ImportComplete))
        .output(|| stacks(StackStatus::UpdateInProgress))
        .output(|| stacks(StackStatus::UpdateComplete))
        .build();
    let (exec_import, exec_update) = (executes(IMPORT_ARN), executes(UPDATE_ARN));
    let template = mock!(Client::get_template).then_output(|| {
        let deployed = parse_template(RENDERED).unwrap();
        let imports = crate::deploy::cloudformation::import::wanted(
            &adopted_target(),
            &deployed,
            &Value::Null,
            None,
        );
        GetTemplateOutput::builder()
            .template_body(import_template(&Value::Null, &imports))
            .build()
    });
    let create_update = mock!(Client::create_change_set)
        .match_requests(|r| {
            r.change_set_type() == Some(&ChangeSetType::Update)
                && r.template_body() == Some(RENDERED)
        })
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id(UPDATE_ARN)
                .stack_id(STACK_ID)
                .build()
        });
    let describe_update = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(UPDATE_ARN))
        .then_output(|| {
            change_set(
                ChangeSetStatus::CreateComplete,
                vec![
                    change(
                        ChangeAction::Modify,
                        "AWS::S3::Bucket",
                        "Bucket",
                        Some(Replacement::False),
                    ),
                    change(
                        ChangeAction::Add,
                        "AWS::SSM::Parameter",
                        "BucketNameParameter",
                        None,
                    ),
                    change(
                        ChangeAction::Add,
                        "AWS::IAM::ManagedPolicy",
                        "ReadPolicy",
                        None,
                    ),
                ],
                None,
            )
        });
    let protect = mock!(Client::update_termination_protection)
        .then_output(|| UpdateTerminationProtectionOutput::builder().build());
    let cf = cloudformation(&[
        &ev,
        &st,
        &exec_import,
        &exec_update,
        &template,
        &create_update,
        &describe_update,
        &protect,
    ]);
    let messages = Messages::default();
    let m = messages.clone();
    let done = apply_region(
        &cf,
        &import_plan(),
        &adopted_target(),
        &execution(),
        &move |s| m.push(s),
    )
    .await
    .unwrap();
    assert_eq!(done.result, Outcome::Created);
    assert_eq!(done.status.as_deref(), Some("UPDATE_COMPLETE"));
    assert_eq!((exec_import.num_calls(), exec_update.num_calls()), (1, 1));
    assert_eq!(create_update.num_calls(), 1);
    let all = messages.all();
    let at = |m: &str| {
        all.iter()
            .position(|x| x.starts_with(m))
            .unwrap_or_else(|| panic!("{m}: {all:?}"))
    };
    assert!(at("importing bucket hand-made-bucket") < at("IMPORT_COMPLETE"));
    assert!(at("IMPORT_COMPLETE") < at("planning the update after the import"));
    assert!(at("planning the update after the import") < at("executing the change set"));
    assert!(at("executing the change set") < at("UPDATE_COMPLETE"));
}

#[tokio::test]
async fn a_failed_import_names_region_stack_and_bucket_and_deletes_nothing() {
    let review = stack_event(1, "REVIEW_IN_PROGRESS", Some("User Initiated"));
    let reason = "Resource handler returned message: \"Access Denied (Service: S3, Status Code: 403)\" (HandlerErrorCode: AccessDenied)";
    let rolled_back = vec![
        review.clone(),
        stack_event(2, "IMPORT_IN_PROGRESS", Some("User Initiated")),
        event(
            3,
            "Bucket",
            "AWS::S3::Bucket",
            "IMPORT_FAILED",
            Some(reason),
        ),
        stack_event(
            4,
            "IMPORT_ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to import: [Bucket]."),
        ),
        stack_event(5, "IMPORT_ROLLBACK_COMPLETE", None),
    ];
    let ev = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || events(vec![review.clone()]))
        .output(move || events(rolled_back.clone()))
        .repeatedly()
        .build();
    let st = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks(StackStatus::ImportRollbackInProgress))
        .output(|| stacks(StackStatus::ImportRollbackComplete))
        .build();
    let exec_import = executes(IMPORT_ARN);
    // No rule for DeleteStack, DeleteChangeSet or another change set: any such call fails the
    // test.
    let cf = cloudformation(&[&ev, &st, &exec_import]);
    let err = apply_region(
        &cf,
        &import_plan(),
        &adopted_target(),
        &execution(),
        &|_| {},
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.failure.message,
        format!(
            "eu-west-1: importing bucket hand-made-bucket into stack artifact-storage ended in IMPORT_ROLLBACK_COMPLETE: Bucket (AWS::S3::Bucket) IMPORT_FAILED: {reason}"
        )
    );
    assert_eq!(err.status.as_deref(), Some("IMPORT_ROLLBACK_COMPLETE"));
    assert!(
        err.failure
            .hint
            .as_deref()
            .unwrap_or_default()
            .starts_with("nothing was deleted")
    );
    assert_eq!(exec_import.num_calls(), 1);
}
