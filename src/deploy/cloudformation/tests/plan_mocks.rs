//! `plan` against canned CloudFormation: change-set types, pagination, Replacement, no-change
//! and failed change sets, busy and failed stacks, principals through IAM and STS.

use super::*;
use crate::deploy::cloudformation::plan::{PlanInput, plan_region};
use crate::deploy::cloudformation::wait::Polling;
use crate::deploy::model::{Action, ChangeKind, Principals, Sign, StackFailure, TargetPlan};
use crate::deploy::principals;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetStatus, ChangeSetType, ExecutionStatus, Parameter,
    Replacement, Tag,
};
use aws_smithy_mocks::mock;

async fn plan(
    cf: &Client,
    target: &StackTarget,
    principals: Option<&Principals>,
) -> Result<TargetPlan, StackFailure> {
    plan_region(
        cf,
        &PlanInput {
            target,
            principals,
            polling: Polling::immediate(),
            parameter_in_ssm: None,
        },
    )
    .await
}

#[tokio::test]
async fn a_new_stack_gets_a_create_change_set_with_parameters_tags_and_capabilities() {
    let describe = mock!(Client::describe_stacks).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            400.try_into().unwrap(),
            not_exist(STACK).into(),
        )
    });
    let create = mock!(Client::create_change_set)
        .match_requests(|r| {
            r.change_set_type() == Some(&ChangeSetType::Create)
                && r.stack_name() == Some(STACK)
                && r.parameters()
                    == [Parameter::builder()
                        .parameter_key("AllowedUserIds")
                        .parameter_value("123456789012,AROAEXAMPLE:*")
                        .build()]
                && r.tags() == [Tag::builder().key("team").value("platform").build()]
                && r.capabilities().contains(&Capability::CapabilityNamedIam)
        })
        .then_output(created);
    // CloudFormation computes the change set asynchronously and pages long change lists.
    let describe_cs = mock!(Client::describe_change_set)
        .sequence()
        .output(|| change_set(ChangeSetStatus::CreatePending, vec![], None))
        .output(|| change_set(ChangeSetStatus::CreateInProgress, vec![], None))
        .output(|| {
            change_set(
                ChangeSetStatus::CreateComplete,
                vec![change(ChangeAction::Add, "AWS::S3::Bucket", "Bucket", None)],
                Some("page-2"),
            )
        })
        .output(|| {
            change_set(
                ChangeSetStatus::CreateComplete,
                vec![
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
        })
        .build();
    let cf = cloudformation(&[&describe, &create, &describe_cs]);
    let p = plan(&cf, &target(TEMPLATE, "123456789012,AROAEXAMPLE:*"), None)
        .await
        .unwrap();
    assert_eq!(p.action, Action::Create);
    assert_eq!(
        p.change_set().change_set_arn.as_deref(),
        Some(CHANGE_SET_ARN)
    );
    assert!(
        p.change_set().created_review_stack,
        "the empty stack must be removed with the change set"
    );
    let ids: Vec<&str> = p.changes.iter().map(|c| c.logical_id.as_str()).collect();
    assert_eq!(ids, ["Bucket", "BucketNameParameter", "ReadPolicy"]);
    assert_eq!(create.num_calls(), 1);
    // A new stack: every statement and every principal is an addition.
    assert!(p.security.iter().all(|c| c.change == Sign::Added));
    let details: Vec<&str> = p.security.iter().map(|c| c.detail.as_str()).collect();
    assert_eq!(
        details,
        [
            "[Read] Allow s3:GetObject on ${Bucket.Arn}/* if StringLike aws:userId=!Ref AllowedUserIds",
            "123456789012",
            "AROAEXAMPLE:*"
        ]
    );
}

#[tokio::test]
async fn replacement_of_the_bucket_and_key_is_reported_as_data_loss() {
    let deployed = || {
        DescribeStacksOutput::builder()
            .stacks(
                stack_builder(StackStatus::UpdateComplete)
                    .parameters(
                        Parameter::builder()
                            .parameter_key("AllowedUserIds")
                            .parameter_value("123456789012,AROAOLD:*")
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    let describe = mock!(Client::describe_stacks).then_output(deployed);
    let template = mock!(Client::get_template)
        .then_output(|| GetTemplateOutput::builder().template_body(TEMPLATE).build());
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Update))
        .then_output(created);
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            ChangeSetStatus::CreateComplete,
            vec![
                change(
                    ChangeAction::Modify,
                    "AWS::S3::Bucket",
                    "Bucket",
                    Some(Replacement::True),
                ),
                change(
                    ChangeAction::Modify,
                    "AWS::KMS::Key",
                    "Key",
                    Some(Replacement::Conditional),
                ),
                change(
                    ChangeAction::Modify,
                    "AWS::IAM::ManagedPolicy",
                    "ReadPolicy",
                    Some(Replacement::False),
                ),
                change(
                    ChangeAction::Remove,
                    "AWS::IAM::ManagedPolicy",
                    "ManagePolicy",
                    None,
                ),
            ],
            None,
        )
    });
    let cf = cloudformation(&[&describe, &template, &create, &describe_cs]);
    let new_template = TEMPLATE.replace("[s3:GetObject]", "[s3:GetObject, s3:GetObjectTagging]");
    let p = plan(&cf, &target(&new_template, "123456789012,AROANEW:*"), None)
        .await
        .unwrap();
    assert_eq!(p.action, Action::Update);
    let kinds: Vec<ChangeKind> = p.changes.iter().map(|c| c.action).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::Replace,
            ChangeKind::MayReplace,
            ChangeKind::Modify,
            ChangeKind::Remove
        ]
    );
    let refused: Vec<String> = p
        .data_loss(&crate::runner::Target::region(REGION))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        refused,
        [
            "AWS::S3::Bucket Bucket (replace) in eu-west-1",
            "AWS::KMS::Key Key (may replace) in eu-west-1",
            "AWS::IAM::ManagedPolicy ManagePolicy (remove) in eu-west-1"
        ]
    );
    let security: Vec<String> = p
        .security
        .iter()
        .map(|c| format!("{} {} {}", c.change.symbol(), c.resource, c.detail))
        .collect();
    assert_eq!(
        security,
        [
            "- ReadPolicy [Read] Allow s3:GetObject on ${Bucket.Arn}/* if StringLike aws:userId=!Ref AllowedUserIds",
            "+ ReadPolicy [Read] Allow s3:GetObject,s3:GetObjectTagging on ${Bucket.Arn}/* if StringLike aws:userId=!Ref AllowedUserIds",
            "- AllowedUserIds AROAOLD:*",
            "+ AllowedUserIds AROANEW:*",
        ]
    );
}

#[tokio::test]
async fn a_change_set_without_changes_is_deleted_and_the_region_unchanged() {
    let describe =
        mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::CreateComplete));
    let template = mock!(Client::get_template)
        .then_output(|| GetTemplateOutput::builder().template_body(TEMPLATE).build());
    let create = mock!(Client::create_change_set).then_output(created);
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id(CHANGE_SET_ARN)
            .stack_id(STACK_ID)
            .status(ChangeSetStatus::Failed)
            .execution_status(ExecutionStatus::Unavailable)
            .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
            .build()
    });
    let delete = mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some(CHANGE_SET_ARN))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let cf = cloudformation(&[&describe, &template, &create, &describe_cs, &delete]);
    let p = plan(&cf, &target(TEMPLATE, "123456789012"), None)
        .await
        .unwrap();
    assert_eq!(p.action, Action::NoChanges);
    assert!(!p.has_changes());
    assert_eq!(p.change_set().change_set_arn, None);
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn a_failed_change_set_fails_the_region_naming_region_stack_and_reason() {
    let describe = mock!(Client::describe_stacks).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            400.try_into().unwrap(),
            not_exist(STACK).into(),
        )
    });
    let create = mock!(Client::create_change_set).then_output(created);
    let describe_cs = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .stack_id(STACK_ID)
            .status(ChangeSetStatus::Failed)
            .status_reason("Template format error: Unresolved resource dependencies [Missing] in the Resources block of the template")
            .build()
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let delete_stack = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| DeleteStackOutput::builder().build());
    let cf = cloudformation(&[&describe, &create, &describe_cs, &delete, &delete_stack]);
    let err = plan(&cf, &target(TEMPLATE, "1"), None).await.unwrap_err();
    assert_eq!(
        (err.stack.as_str(), err.message()),
        (
            STACK,
            "the change set failed: Template format error: Unresolved resource dependencies [Missing] in the Resources block of the template"
        )
    );
    // Nothing is left behind: neither the change set nor the empty stack it created.
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(delete_stack.num_calls(), 1);
}

#[tokio::test]
async fn busy_and_unrecoverable_stacks_are_refused_with_a_hint() {
    for (status, expect, hint) in [
        (
            StackStatus::UpdateInProgress,
            "the stack is busy (UPDATE_IN_PROGRESS)",
            "wait",
        ),
        (
            StackStatus::UpdateRollbackFailed,
            "UPDATE_ROLLBACK_FAILED",
            "continue-update-rollback",
        ),
    ] {
        let st = status.clone();
        let describe = mock!(Client::describe_stacks).then_output(move || stacks(st.clone()));
        let cf = cloudformation(&[&describe]);
        let err = plan(&cf, &target(TEMPLATE, "1"), None).await.unwrap_err();
        assert!(err.message().contains(expect), "{err:?}");
        assert!(
            err.failure
                .hint
                .as_deref()
                .unwrap_or_default()
                .contains(hint),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn a_stack_whose_creation_failed_is_planned_as_recreate_without_a_change_set() {
    let describe =
        mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::RollbackComplete));
    // No CreateChangeSet rule: CloudFormation cannot update a ROLLBACK_COMPLETE stack.
    let cf = cloudformation(&[&describe]);
    let p = plan(&cf, &target(TEMPLATE, "1"), None).await.unwrap();
    assert_eq!(p.action, Action::Recreate);
    assert_eq!(p.change_set().change_set_arn, None);
    assert_eq!(p.changes.len(), 3);
    assert!(p.changes.iter().all(|c| c.action == ChangeKind::Add));
}

fn iam(rules: &[&aws_smithy_mocks::Rule]) -> aws_sdk_iam::Client {
    crate::testing::clients(rules).iam(REGION)
}

fn sts(arn: &'static str, user_id: &'static str) -> aws_sdk_sts::Client {
    let who = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(move || {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
            .account("123456789012")
            .arn(arn)
            .user_id(user_id)
            .build()
    });
    crate::testing::clients(&[&who]).sts(REGION)
}

fn role(name: &'static str, id: &'static str) -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_iam::Client::get_role)
        .match_requests(move |r| r.role_name() == Some(name))
        .then_output(move || {
            aws_sdk_iam::operation::get_role::GetRoleOutput::builder()
                .role(
                    aws_sdk_iam::types::Role::builder()
                        .path("/")
                        .role_name(name)
                        .role_id(id)
                        .arn(format!("arn:aws:iam::123456789012:role/{name}"))
                        .create_date(DateTime::from_secs(1_700_000_000))
                        .build()
                        .unwrap(),
                )
                .build()
        })
}

#[tokio::test]
async fn principals_resolve_to_unique_ids_and_keep_the_deployer_and_the_root() {
    let ci = role("ci-runner", "AROACIRUNNER0000000001");
    let devops = role("DevOps", "AROADEVOPS00000000002");
    let user = mock!(aws_sdk_iam::Client::get_user)
        .match_requests(|r| r.user_name() == Some("build-bot"))
        .then_output(|| {
            aws_sdk_iam::operation::get_user::GetUserOutput::builder()
                .user(
                    aws_sdk_iam::types::User::builder()
                        .path("/")
                        .user_name("build-bot")
                        .user_id("AIDABUILDBOT000000003")
                        .arn("arn:aws:iam::123456789012:user/build-bot")
                        .create_date(DateTime::from_secs(1_700_000_000))
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let access = crate::config::Access {
        role_users: vec!["DevOps/me@example.com".into()],
        roles: vec!["ci-runner".into()],
        users: vec!["build-bot".into()],
    };
    let p = principals::resolve(
        &iam(&[&ci, &devops, &user]),
        &sts(
            "arn:aws:sts::123456789012:assumed-role/Deployer/pipeline-42",
            "AROADEPLOYER000000004:pipeline-42",
        ),
        &access,
    )
    .await
    .unwrap();
    assert_eq!(
        p.parameter_value(),
        "123456789012,AROADEPLOYER000000004:*,AROACIRUNNER0000000001:*,AIDABUILDBOT000000003,AROADEVOPS00000000002:me@example.com"
    );
    assert_eq!(
        p.describe("AROACIRUNNER0000000001:*").as_deref(),
        Some("role ci-runner (access.roles)")
    );
}

#[tokio::test]
async fn a_missing_role_names_itself_and_its_list() {
    let missing = mock!(aws_sdk_iam::Client::get_role).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            404.try_into().unwrap(),
            r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name ghost cannot be found.</Message></Error><RequestId>1</RequestId></ErrorResponse>"#.into(),
        )
    });
    let access = crate::config::Access {
        role_users: vec![],
        roles: vec!["ghost".into()],
        users: vec![],
    };
    let err = principals::resolve(
        &iam(&[&missing]),
        &sts("arn:aws:iam::123456789012:user/admin", "AIDAADMIN"),
        &access,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "access.roles: role `ghost` does not exist in account 123456789012 (iam:GetRole: The role with name ghost cannot be found.)"
    );
    use crate::exit::Classify;
    assert_eq!(err.exit(), crate::exit::Exit::Failure);
}
