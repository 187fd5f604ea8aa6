//! Whole `apply` runs against a fake AWS whose regions fail on demand: when apply stops
//! before executing (no terminal to confirm on, a refused replacement), every change set the
//! plan made is deleted — and the empty stack a CREATE change set made — also when a region
//! could not be planned or one deletion fails.

use super::*;
use crate::cli::Command;
use crate::context::Environment;
use crate::deploy::DeployError;
use crate::exit::{Classify, Exit};
use crate::testing::{FakeAws, context};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{ChangeAction, ChangeSetStatus, Replacement, StackStatus};
use aws_smithy_mocks::{Rule, mock};

/// A configuration with `regions` (the stack is `artifact-storage`).
fn config(regions: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("provision.yaml"),
        format!(
            "version: 1\norganisation: acme\nregions: [{}]\n",
            regions.join(", ")
        ),
    )
    .expect("write the configuration");
    dir
}

async fn apply(dir: &tempfile::TempDir, aws: FakeAws, args: &[&str]) -> DeployError {
    let Command::Apply(args) = crate::testing::command(&[&["apply"], args].concat()) else {
        unreachable!("an apply command")
    };
    let ctx = context(
        &dir.path().join("provision.yaml"),
        aws,
        Environment::default(),
    );
    crate::deploy::cmd_apply(&ctx, &args, &crate::terraform::Interrupt::new())
        .await
        .expect_err("apply stops before executing")
}

/// A region's answers to a plan of a stack that does not exist yet, and the discarding.
struct NewStack {
    delete_change_set: Rule,
    delete_stack: Rule,
    rules: Vec<Rule>,
}

fn new_stack() -> NewStack {
    let delete_change_set = mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some(CHANGE_SET_ARN))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let delete_stack = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| DeleteStackOutput::builder().build());
    let rules = vec![
        mock!(Client::describe_stacks)
            .then_http_response(|| crate::testing::response(400, not_exist(STACK))),
        mock!(Client::create_change_set).then_output(created),
        mock!(Client::describe_change_set).then_output(|| {
            change_set(
                ChangeSetStatus::CreateComplete,
                vec![change(ChangeAction::Add, "AWS::S3::Bucket", "Bucket", None)],
                None,
            )
        }),
        delete_change_set.clone(),
        delete_stack.clone(),
    ];
    NewStack {
        delete_change_set,
        delete_stack,
        rules,
    }
}

#[tokio::test]
async fn without_a_terminal_the_plans_change_sets_and_review_stacks_are_deleted() {
    let dir = config(&["eu-west-1", "us-east-1", "eu-north-1"]);
    let west = new_stack();
    let throttled = mock!(Client::describe_stacks)
        .then_http_response(|| crate::testing::response(400, throttling()));
    let aws = FakeAws::new()
        .answers("eu-west-1", &west.rules.iter().collect::<Vec<_>>())
        .answers("eu-north-1", &[&throttled])
        .unreachable("us-east-1");
    let err = apply(&dir, aws, &[]).await;
    assert!(matches!(err, DeployError::Prompt(_)), "{err}");
    assert_eq!(err.exit(), Exit::Invalid);
    assert_eq!(west.delete_change_set.num_calls(), 1);
    assert_eq!(west.delete_stack.num_calls(), 1, "the empty review stack");
    assert_eq!(throttled.num_calls(), 1, "no retries against the fake");
}

/// A region's answers to a plan that replaces the bucket of a deployed stack.
fn replacing(delete_change_set: &Rule) -> Vec<Rule> {
    vec![
        mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::UpdateComplete)),
        mock!(Client::get_template)
            .then_output(|| GetTemplateOutput::builder().template_body(TEMPLATE).build()),
        mock!(Client::create_change_set).then_output(created),
        mock!(Client::describe_change_set).then_output(|| {
            change_set(
                ChangeSetStatus::CreateComplete,
                vec![change(
                    ChangeAction::Modify,
                    "AWS::S3::Bucket",
                    "Bucket",
                    Some(Replacement::True),
                )],
                None,
            )
        }),
        delete_change_set.clone(),
    ]
}

#[tokio::test]
async fn a_refused_replacement_deletes_every_change_set_even_when_one_deletion_fails() {
    let dir = config(&["eu-west-1", "us-east-1"]);
    let deleted = mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some(CHANGE_SET_ARN))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let failed = mock!(Client::delete_change_set).then_http_response(|| {
        crate::testing::response(500, xml_error("InternalFailure", "try again"))
    });
    let aws = FakeAws::new()
        .answers("eu-west-1", &replacing(&deleted).iter().collect::<Vec<_>>())
        .answers("us-east-1", &replacing(&failed).iter().collect::<Vec<_>>());
    let err = apply(&dir, aws, &["--yes"]).await;
    let DeployError::ReplacementRefused { items } = &err else {
        panic!("expected a refused replacement, got {err}")
    };
    assert_eq!(
        items,
        &[
            "AWS::S3::Bucket Bucket (replace) in eu-west-1",
            // The deployed policy has no Description, the rendered one has: predicted.
            "AWS::IAM::ManagedPolicy ReadPolicy (replace: Description added) in eu-west-1",
            "AWS::S3::Bucket Bucket (replace) in us-east-1",
            "AWS::IAM::ManagedPolicy ReadPolicy (replace: Description added) in us-east-1"
        ]
    );
    assert_eq!(deleted.num_calls(), 1);
    assert_eq!(failed.num_calls(), 1, "tried, warned about, not retried");
}
