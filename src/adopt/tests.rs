//! Bad input `adopt` refuses where the emulator cannot produce it (a bucket in another
//! account, a stack in UPDATE_ROLLBACK_FAILED, buckets owned by stacks of different names in
//! different regions): with canned answers shaped like AWS's, each refused with exit 3 and a
//! message naming the region, stack and bucket, and no file written.

use super::cmd_adopt;
use crate::context::Environment;
use crate::exit::{Classify, Exit};
use crate::testing::{FakeAws, command, context, json_error, s3_error};
use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::types::{Stack, StackResource, StackStatus};
use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
use aws_sdk_ssm::types::Parameter;
use aws_smithy_mocks::{Rule, mock};

const BUCKET_PARAMETER: &str = "/buckets/staging";

/// SSM of a region without a configuration parameter whose bucket-name parameter names
/// `bucket`.
fn parameters(bucket: &'static str) -> Rule {
    mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some(BUCKET_PARAMETER))
        .then_output(move || {
            GetParameterOutput::builder()
                .parameter(
                    Parameter::builder()
                        .name(BUCKET_PARAMETER)
                        .value(bucket)
                        .build(),
                )
                .build()
        })
}

fn no_configuration() -> Rule {
    mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some("/startifact"))
        .then_http_response(|| json_error(400, "ParameterNotFound", "none"))
}

fn bucket_here(region: &'static str) -> Rule {
    mock!(aws_sdk_s3::Client::head_bucket)
        .then_output(move || HeadBucketOutput::builder().bucket_region(region).build())
}

/// CloudFormation of a region where `stack` (in `status`) owns `bucket` as `Staging`.
fn owned_by(stack: &'static str, bucket: &'static str, status: StackStatus) -> [Rule; 2] {
    let resources =
        mock!(aws_sdk_cloudformation::Client::describe_stack_resources).then_output(move || {
            DescribeStackResourcesOutput::builder()
                .stack_resources(
                    StackResource::builder()
                        .stack_name(stack)
                        .logical_resource_id("Staging")
                        .physical_resource_id(bucket)
                        .resource_type("AWS::S3::Bucket")
                        .timestamp(aws_smithy_types::DateTime::from_secs(1_732_300_000))
                        .resource_status("CREATE_COMPLETE".into())
                        .build(),
                )
                .build()
        });
    let stacks = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(move || {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name(stack)
                    .stack_status(status.clone())
                    .creation_time(aws_smithy_types::DateTime::from_secs(1_732_300_000))
                    .build(),
            )
            .build()
    });
    [resources, stacks]
}

/// Runs `provision adopt ARGS` in a fresh directory; the exit, the message and whether a
/// file was written.
async fn adopt(aws: FakeAws, args: &[&str]) -> (Exit, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("provision.yaml");
    let ctx = context(&file, aws, Environment::default());
    let crate::cli::Command::Adopt(parsed) = command(&[&["adopt"], args].concat()) else {
        panic!("adopt parses to adopt");
    };
    let (exit, message) = match cmd_adopt(&ctx, &parsed).await {
        Ok(exit) => (exit, String::new()),
        Err(e) => (e.exit(), e.to_string()),
    };
    (exit, message, file.exists())
}

#[tokio::test]
async fn a_bucket_in_another_account_is_refused() {
    let (ssm, conf) = (parameters("their-bucket"), no_configuration());
    // S3 answers HeadBucket on another account's bucket with 403 (no body for HEAD).
    let s3 =
        mock!(aws_sdk_s3::Client::head_bucket).then_http_response(|| s3_error(403, "Forbidden"));
    let aws = FakeAws::new().answers("eu-west-1", &[&ssm, &conf, &s3]);
    let (exit, message, written) = adopt(aws, &["--regions", "eu-west-1"]).await;
    assert_eq!(exit, Exit::Invalid);
    assert_eq!(
        message,
        "eu-west-1: parameter /buckets/staging names bucket their-bucket, which this account may not read: a bucket in another account cannot be adopted"
    );
    assert!(!written);
}

#[tokio::test]
async fn a_stack_in_update_rollback_failed_is_refused() {
    let (ssm, conf, s3) = (
        parameters("acme-eu"),
        no_configuration(),
        bucket_here("eu-west-1"),
    );
    let [resources, stacks] = owned_by("guide", "acme-eu", StackStatus::UpdateRollbackFailed);
    let aws = FakeAws::new().answers("eu-west-1", &[&ssm, &conf, &s3, &resources, &stacks]);
    let (exit, message, written) = adopt(aws, &["--regions", "eu-west-1"]).await;
    assert_eq!(exit, Exit::Invalid);
    assert_eq!(
        message,
        "eu-west-1: stack guide owns bucket acme-eu but is UPDATE_ROLLBACK_FAILED: it cannot be updated until that is resolved (continue or complete the rollback first)"
    );
    assert!(!written);
}

#[tokio::test]
async fn buckets_owned_by_stacks_of_different_names_in_different_regions_are_refused() {
    let (ssm_eu, conf_eu, s3_eu) = (
        parameters("acme-eu"),
        no_configuration(),
        bucket_here("eu-west-1"),
    );
    let [res_eu, st_eu] = owned_by("guide", "acme-eu", StackStatus::CreateComplete);
    let (ssm_us, conf_us, s3_us) = (
        parameters("acme-us"),
        no_configuration(),
        bucket_here("us-east-1"),
    );
    let [res_us, st_us] = owned_by("other-guide", "acme-us", StackStatus::UpdateComplete);
    let aws = FakeAws::new()
        .answers("eu-west-1", &[&ssm_eu, &conf_eu, &s3_eu, &res_eu, &st_eu])
        .answers("us-east-1", &[&ssm_us, &conf_us, &s3_us, &res_us, &st_us]);
    let (exit, message, written) = adopt(aws, &["--regions", "eu-west-1,us-east-1"]).await;
    assert_eq!(exit, Exit::Invalid);
    assert_eq!(
        message,
        "us-east-1: bucket acme-us is owned by stack other-guide, but the other regions' by guide: one configuration describes one stack name"
    );
    assert!(!written);
}

#[tokio::test]
async fn a_bucket_named_by_hand_is_checked_for_its_owning_stack_too() {
    // `--bucket` is checked as a discovered bucket is: owned by a stack, it is that stack's.
    let conf = no_configuration();
    let none = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some(BUCKET_PARAMETER))
        .then_http_response(|| json_error(400, "ParameterNotFound", "none"));
    let s3 = bucket_here("eu-west-1");
    let [resources, stacks] = owned_by("guide", "acme-eu", StackStatus::UpdateRollbackFailed);
    let aws = FakeAws::new().answers("eu-west-1", &[&conf, &none, &s3, &resources, &stacks]);
    let (exit, message, written) =
        adopt(aws, &["--regions", "eu-west-1", "--bucket", "acme-eu"]).await;
    assert_eq!(exit, Exit::Invalid);
    assert!(
        message.starts_with(
            "eu-west-1: stack guide owns bucket acme-eu but is UPDATE_ROLLBACK_FAILED"
        ),
        "{message}"
    );
    assert!(!written);
}
