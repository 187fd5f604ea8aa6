//! Mock-based tests of the engine: what the emulator cannot produce (per-resource stack
//! events, Replacement, rollbacks, ROLLBACK_COMPLETE, drift results, throttling), with
//! `aws-smithy-mocks` sequences shaped like real CloudFormation responses.
//!
//! Errors are sent as HTTP responses with the body AWS sends (query-protocol XML), so that
//! they go through the SDK's real deserializer and error classification.

mod adopted;
mod apply_mocks;
mod discard_mocks;
mod import_apply_mocks;
mod import_mocks;
mod ops_mocks;
mod plan_mocks;
mod predict_mocks;
mod wait_mocks;

use crate::deploy::cloudformation::StackTarget;
use crate::runner::{Reports, Target as RegionTarget, TargetOutcome, TargetReport};
use crate::testing;
pub use crate::testing::REGION;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeType, ExecutionStatus, Replacement,
    ResourceChange, Stack, StackEvent, StackStatus,
};
use aws_smithy_mocks::Rule;
use aws_smithy_types::DateTime;
use std::collections::BTreeMap;

pub const STACK: &str = "artifact-storage";
pub const STACK_ID: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/artifact-storage/0f2b1a40-5e1c-11ef-9c1a-0a1b2c3d4e5f";
pub const CHANGE_SET_ARN: &str = "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/provision-1732330000-ab12/7e3f0c52-21aa-4c1e-9d2b-3f4e5a6b7c8d";

/// A CloudFormation client answering from `rules` only (any other call panics), with SDK
/// retries off so that the engine's own handling is what is tested.
pub fn cloudformation(rules: &[&Rule]) -> aws_sdk_cloudformation::Client {
    testing::clients(rules).cloudformation(REGION)
}

/// The body AWS sends with a query-protocol error.
pub fn xml_error(code: &str, message: &str) -> String {
    testing::query_error(code, message)
}

pub fn not_exist(stack: &str) -> String {
    xml_error(
        "ValidationError",
        &format!("Stack with id {stack} does not exist"),
    )
}

pub fn throttling() -> String {
    xml_error("Throttling", "Rate exceeded")
}

/// What moto answers for an action it does not implement.
pub const MOTO_500: &str = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n";

/// `DescribeStacks` answering with one stack in `status`.
pub fn stacks(status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(stack(status))
        .build()
}

/// `DescribeStackEvents` answering with `list`, given oldest first.
pub fn events(mut list: Vec<StackEvent>) -> DescribeStackEventsOutput {
    // CloudFormation lists the newest event first.
    list.reverse();
    DescribeStackEventsOutput::builder()
        .set_stack_events(Some(list))
        .build()
}

pub fn stack(status: StackStatus) -> Stack {
    stack_builder(status).build()
}

pub fn stack_builder(status: StackStatus) -> aws_sdk_cloudformation::types::builders::StackBuilder {
    Stack::builder()
        .stack_id(STACK_ID)
        .stack_name(STACK)
        .creation_time(DateTime::from_secs(1_732_300_000))
        .last_updated_time(DateTime::from_secs(1_732_310_000))
        .stack_status(status)
        .enable_termination_protection(false)
}

/// A stack event as CloudFormation reports it.
pub fn event(
    id: u32,
    logical: &str,
    rtype: &str,
    status: &str,
    reason: Option<&str>,
) -> StackEvent {
    let mut b = StackEvent::builder()
        .stack_id(STACK_ID)
        .stack_name(STACK)
        .event_id(format!("{logical}-{status}-{id:04}"))
        .logical_resource_id(logical)
        .resource_type(rtype)
        .timestamp(DateTime::from_secs(1_732_320_000 + i64::from(id)))
        .resource_status(status.into());
    if let Some(r) = reason {
        b = b.resource_status_reason(r);
    }
    b.build()
}

pub fn stack_event(id: u32, status: &str, reason: Option<&str>) -> StackEvent {
    event(id, STACK, "AWS::CloudFormation::Stack", status, reason)
}

/// A template like the renderer's: a retained bucket, its parameter, a read policy.
pub const TEMPLATE: &str = r#"Parameters:
  AllowedUserIds:
    Type: CommaDelimitedList
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
  BucketNameParameter:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /buckets/staging
      Type: String
      Value: !Ref Bucket
  ReadPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: Read
            Effect: Allow
            Action: [s3:GetObject]
            Resource: !Sub "${Bucket.Arn}/*"
            Condition:
              StringLike:
                aws:userId: !Ref AllowedUserIds
"#;

pub fn target(template: &str, principals: &str) -> StackTarget {
    let mut params = BTreeMap::new();
    params.insert("AllowedUserIds".to_string(), principals.to_string());
    let mut tags = BTreeMap::new();
    tags.insert("team".to_string(), "platform".to_string());
    StackTarget::new(REGION, STACK, template, params, tags)
}

pub use crate::testing::Messages;

/// A resource change of a change set.
pub fn change(
    action: ChangeAction,
    rtype: &str,
    logical: &str,
    replacement: Option<Replacement>,
) -> Change {
    let mut rc = ResourceChange::builder()
        .action(action)
        .resource_type(rtype)
        .logical_resource_id(logical);
    if let Some(r) = replacement {
        rc = rc.replacement(r);
    }
    Change::builder()
        .r#type(ChangeType::Resource)
        .resource_change(rc.build())
        .build()
}

pub fn change_set(
    status: ChangeSetStatus,
    changes: Vec<Change>,
    next: Option<&str>,
) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id(CHANGE_SET_ARN)
        .change_set_name("provision-1732330000-ab12")
        .stack_id(STACK_ID)
        .stack_name(STACK)
        .status(status)
        .execution_status(ExecutionStatus::Available)
        .set_changes(Some(changes))
        .set_next_token(next.map(str::to_string))
        .build()
}

pub fn created() -> CreateChangeSetOutput {
    CreateChangeSetOutput::builder()
        .id(CHANGE_SET_ARN)
        .stack_id(STACK_ID)
        .build()
}

/// The reports of one target in [`REGION`].
pub fn reports<T: TargetOutcome>(outcome: Result<T, T::Error>) -> Reports<T> {
    Reports(vec![TargetReport::new(
        RegionTarget::region(REGION),
        outcome,
    )])
}
