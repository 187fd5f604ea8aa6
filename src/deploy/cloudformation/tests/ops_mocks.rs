//! `drift`, `destroy` and `status` against canned CloudFormation.

use super::*;
use crate::deploy::cloudformation::destroy::{destroy_region, inventory};
use crate::deploy::cloudformation::drift::detect_region;
use crate::deploy::cloudformation::status::region_status;
use crate::deploy::cloudformation::wait::Polling;
use crate::deploy::drift::DriftReport;
use crate::deploy::model::DriftState;
use crate::deploy::retained::forget_missing_buckets;
use crate::exit::Exit;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput;
use aws_sdk_cloudformation::operation::describe_stack_resource_drifts::DescribeStackResourceDriftsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::detect_stack_drift::DetectStackDriftOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::types::{
    DifferenceType, Output, PropertyDifference, ResourceStatus, StackDriftDetectionStatus,
    StackDriftStatus, StackResourceDrift, StackResourceDriftStatus, StackResourceSummary,
};
use aws_smithy_mocks::mock;

const DETECTION: &str = "b78ac9b0-dec1-11e7-a451-503a3e7b8a70";

fn deployed() -> aws_smithy_mocks::Rule {
    mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::UpdateComplete))
}

fn detection(
    status: StackDriftDetectionStatus,
    drift: StackDriftStatus,
) -> DescribeStackDriftDetectionStatusOutput {
    DescribeStackDriftDetectionStatusOutput::builder()
        .stack_id(STACK_ID)
        .stack_drift_detection_id(DETECTION)
        .detection_status(status)
        .stack_drift_status(drift)
        .timestamp(DateTime::from_secs(1_732_330_000))
        .build()
}

fn drift_rules(
    drifts: Vec<StackResourceDrift>,
    final_status: StackDriftStatus,
) -> Vec<aws_smithy_mocks::Rule> {
    vec![
        deployed(),
        mock!(Client::detect_stack_drift).then_output(|| {
            DetectStackDriftOutput::builder()
                .stack_drift_detection_id(DETECTION)
                .build()
        }),
        mock!(Client::describe_stack_drift_detection_status)
            .match_requests(|r| r.stack_drift_detection_id() == Some(DETECTION))
            .sequence()
            .output(|| {
                detection(
                    StackDriftDetectionStatus::DetectionInProgress,
                    StackDriftStatus::NotChecked,
                )
            })
            .output(move || {
                detection(
                    StackDriftDetectionStatus::DetectionComplete,
                    final_status.clone(),
                )
            })
            .build(),
        mock!(Client::describe_stack_resource_drifts)
            .match_requests(|r| {
                r.stack_resource_drift_status_filters()
                    .contains(&StackResourceDriftStatus::Modified)
            })
            .then_output(move || {
                DescribeStackResourceDriftsOutput::builder()
                    .set_stack_resource_drifts(Some(drifts.clone()))
                    .build()
            }),
    ]
}

#[tokio::test]
async fn drifted_resources_are_listed_with_their_differences_and_exit_2() {
    let bucket = StackResourceDrift::builder()
        .stack_id(STACK_ID)
        .logical_resource_id("Bucket")
        .physical_resource_id("artifact-storage-bucket-1x2y3z")
        .resource_type("AWS::S3::Bucket")
        .stack_resource_drift_status(StackResourceDriftStatus::Modified)
        .timestamp(DateTime::from_secs(1_732_330_000))
        .property_differences(
            PropertyDifference::builder()
                .property_path("/VersioningConfiguration/Status")
                .expected_value("Enabled")
                .actual_value("Suspended")
                .difference_type(DifferenceType::NotEqual)
                .build(),
        )
        .build();
    let rules = drift_rules(vec![bucket], StackDriftStatus::Drifted);
    let cf = cloudformation(&rules.iter().collect::<Vec<_>>());
    let r = detect_region(&cf, STACK, &Polling::immediate())
        .await
        .unwrap();
    assert_eq!(r.state, DriftState::Drifted, "{r:?}");
    assert_eq!(r.drifted[0].logical_id, "Bucket");
    assert_eq!(
        r.drifted[0].differences[0].path,
        "/VersioningConfiguration/Status"
    );
    assert_eq!(
        r.drifted[0].differences[0].actual.as_deref(),
        Some("Suspended")
    );
    let report = DriftReport {
        stack_name: STACK.into(),
        regions: reports(Ok(r)),
    };
    assert_eq!(report.exit(), Exit::Changes);
    let text = report.text(&crate::ui::Ui::plain());
    assert!(
        text.contains(
            "NOT_EQUAL /VersioningConfiguration/Status: expected Enabled, actual Suspended"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_stack_in_sync_exits_0() {
    let rules = drift_rules(vec![], StackDriftStatus::InSync);
    let cf = cloudformation(&rules.iter().collect::<Vec<_>>());
    let r = detect_region(&cf, STACK, &Polling::immediate())
        .await
        .unwrap();
    assert_eq!(r.state, DriftState::InSync);
    assert_eq!(
        DriftReport {
            stack_name: STACK.into(),
            regions: reports(Ok(r))
        }
        .exit(),
        Exit::Success
    );
}

#[tokio::test]
async fn an_endpoint_without_drift_detection_is_reported_as_such_and_exits_1() {
    let detect = mock!(Client::detect_stack_drift)
        .sequence()
        .http_status(500, Some(MOTO_500.into()))
        .times(2)
        .build();
    let describe = deployed();
    let cf = cloudformation(&[&describe, &detect]);
    let e = detect_region(&cf, STACK, &Polling::immediate())
        .await
        .unwrap_err();
    assert_eq!(e.stack, STACK);
    assert!(
        e.message()
            .starts_with("drift detection unsupported by this endpoint"),
        "{e:?}"
    );
    assert_eq!(
        DriftReport {
            stack_name: STACK.into(),
            regions: reports(Err(e))
        }
        .exit(),
        Exit::Failure
    );
}

#[tokio::test]
async fn an_aws_server_error_is_not_mistaken_for_missing_drift_support() {
    let body = xml_error("InternalFailure", "An internal error occurred.");
    let detect = mock!(Client::detect_stack_drift)
        .sequence()
        .http_status(500, Some(body))
        .times(2)
        .build();
    let describe = deployed();
    let cf = cloudformation(&[&describe, &detect]);
    let e = detect_region(&cf, STACK, &Polling::immediate())
        .await
        .unwrap_err();
    assert_eq!(
        e.message(),
        "cloudformation:DetectStackDrift: InternalFailure: An internal error occurred."
    );
    assert_eq!(e.failure.kind, Some(crate::aws::ErrorKind::ServerError));
}

fn resource(logical: &str, rtype: &str, physical: &str) -> StackResourceSummary {
    StackResourceSummary::builder()
        .logical_resource_id(logical)
        .resource_type(rtype)
        .physical_resource_id(physical)
        .resource_status(ResourceStatus::CreateComplete)
        .last_updated_timestamp(DateTime::from_secs(1_732_300_000))
        .build()
}

const KMS_TEMPLATE: &str = r#"{"Resources": {
  "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
  "Key": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "Properties": {"KeyPolicy": {"Statement": []}}},
  "KeyAlias": {"Type": "AWS::KMS::Alias"},
  "BucketNameParameter": {"Type": "AWS::SSM::Parameter"}
}}"#;

fn destroy_rules(
    final_status: StackStatus,
    failure: Option<&'static str>,
) -> Vec<aws_smithy_mocks::Rule> {
    vec![
        mock!(Client::describe_stacks)
            .sequence()
            .output(|| {
                DescribeStacksOutput::builder()
                    .stacks(
                        stack_builder(StackStatus::UpdateComplete)
                            .enable_termination_protection(true)
                            .build(),
                    )
                    .build()
            })
            .output(|| stacks(StackStatus::DeleteInProgress))
            .output(move || stacks(final_status.clone()))
            .build(),
        mock!(Client::get_template).then_output(|| {
            GetTemplateOutput::builder()
                .template_body(KMS_TEMPLATE)
                .build()
        }),
        mock!(Client::list_stack_resources).then_output(|| {
            ListStackResourcesOutput::builder()
                .stack_resource_summaries(resource(
                    "Bucket",
                    "AWS::S3::Bucket",
                    "acme-artifacts-eu-west-1",
                ))
                .stack_resource_summaries(resource(
                    "Key",
                    "AWS::KMS::Key",
                    "1234abcd-12ab-34cd-56ef-1234567890ab",
                ))
                .stack_resource_summaries(resource(
                    "KeyAlias",
                    "AWS::KMS::Alias",
                    "alias/acme-artifacts",
                ))
                .stack_resource_summaries(resource(
                    "BucketNameParameter",
                    "AWS::SSM::Parameter",
                    "/buckets/staging",
                ))
                .build()
        }),
        mock!(Client::update_termination_protection)
            .match_requests(|r| r.enable_termination_protection() == Some(false))
            .then_output(|| {
                UpdateTerminationProtectionOutput::builder()
                    .stack_id(STACK_ID)
                    .build()
            }),
        // The marker read before DeleteStack, then the deletion's events (newest first).
        mock!(Client::describe_stack_events)
            .sequence()
            .output(|| events(vec![stack_event(2, "UPDATE_COMPLETE", None)]))
            .output(move || {
                let mut list = vec![
                    stack_event(2, "UPDATE_COMPLETE", None),
                    stack_event(3, "DELETE_IN_PROGRESS", Some("User Initiated")),
                ];
                if let Some(reason) = failure {
                    list.push(event(
                        4,
                        "Bucket",
                        "AWS::S3::Bucket",
                        "DELETE_FAILED",
                        Some(reason),
                    ));
                    list.push(stack_event(
                        5,
                        "DELETE_FAILED",
                        Some("The following resource(s) failed to delete: [Bucket]."),
                    ));
                }
                events(list)
            })
            .repeatedly()
            .build(),
        mock!(Client::delete_stack)
            .match_requests(|r| r.stack_name() == Some(STACK_ID))
            .then_output(|| DeleteStackOutput::builder().build()),
    ]
}

#[tokio::test]
async fn destroy_turns_protection_off_deletes_and_lists_the_retained_bucket_and_key() {
    let rules = destroy_rules(StackStatus::DeleteComplete, None);
    let cf = cloudformation(&rules.iter().collect::<Vec<_>>());
    let inv = inventory(&cf, STACK).await.unwrap().unwrap();
    let retained: Vec<String> = inv
        .retained()
        .iter()
        .map(|r| format!("{} {}", r.resource_type, r.physical_id))
        .collect();
    assert_eq!(
        retained,
        [
            "AWS::S3::Bucket acme-artifacts-eu-west-1",
            "AWS::KMS::Key 1234abcd-12ab-34cd-56ef-1234567890ab"
        ]
    );
    destroy_region(&cf, &inv, &Polling::immediate(), &|_| {})
        .await
        .unwrap();
    assert_eq!(
        rules[3].num_calls(),
        1,
        "termination protection turned off once"
    );
    assert_eq!(rules[5].num_calls(), 1, "DeleteStack once");
}

/// A retained bucket deleted by hand is not listed as retained; one S3 cannot answer for
/// (denied) still is, and so is the key.
#[tokio::test]
async fn a_retained_bucket_that_no_longer_exists_is_not_retained() {
    let rules = destroy_rules(StackStatus::DeleteComplete, None);
    let cf = cloudformation(&rules.iter().collect::<Vec<_>>());
    let mut inv = inventory(&cf, STACK).await.unwrap().unwrap();
    let gone = mock!(aws_sdk_s3::Client::head_bucket)
        .match_requests(|r| r.bucket() == Some("acme-artifacts-eu-west-1"))
        .then_http_response(|| testing::response(404, ""));
    let s3 = testing::clients(&[&gone]).s3(REGION);
    let mut kept = inv.clone();
    forget_missing_buckets(&s3, &mut inv.resources).await;
    assert_eq!(gone.num_calls(), 1, "HeadBucket once, for the bucket only");
    let retained: Vec<String> = inv
        .retained()
        .iter()
        .map(|r| r.resource_type.clone())
        .collect();
    assert_eq!(retained, ["AWS::KMS::Key"]);

    let denied =
        mock!(aws_sdk_s3::Client::head_bucket).then_http_response(|| testing::response(403, ""));
    let s3 = testing::clients(&[&denied]).s3(REGION);
    forget_missing_buckets(&s3, &mut kept.resources).await;
    assert_eq!(
        kept.retained().len(),
        2,
        "a bucket S3 would not describe is still listed"
    );
}

#[tokio::test]
async fn a_failed_deletion_names_the_resource_and_its_reason() {
    let rules = destroy_rules(
        StackStatus::DeleteFailed,
        Some("The bucket you tried to delete is not empty"),
    );
    let cf = cloudformation(&rules.iter().collect::<Vec<_>>());
    let inv = inventory(&cf, STACK).await.unwrap().unwrap();
    let failure = destroy_region(&cf, &inv, &Polling::immediate(), &|_| {})
        .await
        .unwrap_err();
    assert_eq!(
        (failure.stack.as_str(), failure.message()),
        (
            STACK,
            "the deletion ended in DELETE_FAILED: Bucket (AWS::S3::Bucket) DELETE_FAILED: The bucket you tried to delete is not empty"
        )
    );
    assert_eq!(failure.first_failure.unwrap().logical_id, "Bucket");
}

#[tokio::test]
async fn status_reads_status_last_change_protection_and_outputs() {
    let describe = mock!(Client::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                stack_builder(StackStatus::UpdateComplete)
                    .enable_termination_protection(true)
                    .outputs(
                        Output::builder()
                            .output_key("BucketName")
                            .output_value("acme-artifacts-eu-west-1")
                            .build(),
                    )
                    .outputs(
                        Output::builder()
                            .output_key("KeyArn")
                            .output_value("arn:aws:kms:eu-west-1:123456789012:key/1234abcd")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let cf = cloudformation(&[&describe]);
    let s = region_status(&cf, STACK).await.unwrap();
    assert!(s.deployed);
    assert_eq!(s.status.as_deref(), Some("UPDATE_COMPLETE"));
    assert_eq!(s.last_updated.as_deref(), Some("2024-11-22T21:13:20Z"));
    assert_eq!(s.termination_protection, Some(true));
    assert_eq!(s.outputs["BucketName"], "acme-artifacts-eu-west-1");
    let report = crate::deploy::status::StatusReport {
        stack_name: STACK.into(),
        regions: reports(Ok(s)),
    };
    let text = report.text(&crate::ui::Ui::plain());
    assert!(
        text.contains(
            "eu-west-1 outputs:\n  BucketName  acme-artifacts-eu-west-1\n  KeyArn      arn:aws:kms"
        ),
        "{text}"
    );
}
