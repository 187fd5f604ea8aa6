//! Destroy (retained stacks, retained buckets and keys, instances that stay) and drift.

use super::*;
use crate::stacksets::operation::Polling;
use aws_sdk_cloudformation::operation::delete_stack_instances::DeleteStackInstancesOutput;
use aws_sdk_cloudformation::operation::delete_stack_set::DeleteStackSetOutput;
use aws_sdk_cloudformation::operation::detect_stack_set_drift::DetectStackSetDriftOutput;
use aws_sdk_cloudformation::operation::list_stack_instance_resource_drifts::ListStackInstanceResourceDriftsOutput;
use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
use aws_sdk_cloudformation::types::{
    DifferenceType, PropertyDifference, StackDriftStatus, StackInstanceResourceDriftsSummary,
    StackResourceDriftStatus, StackResourceSummary, StackSetDriftDetectionDetails,
    StackSetDriftStatus,
};

fn two_instances_then(after: Vec<StackInstanceSummary>) -> Rule {
    let before = vec![current(DEV, "eu-west-1"), current(PROD, "eu-west-1")];
    mock!(Client::list_stack_instances)
        .sequence()
        .output(move || {
            ListStackInstancesOutput::builder()
                .set_summaries(Some(before.clone()))
                .build()
        })
        .output(move || {
            ListStackInstancesOutput::builder()
                .set_summaries(Some(after.clone()))
                .build()
        })
        .repeatedly()
        .build()
}

fn resources() -> Vec<StackResourceRef> {
    [
        ("Bucket", "AWS::S3::Bucket", "acme-artifacts-bucket-1x2y3z"),
        (
            "LogBucket",
            "AWS::S3::Bucket",
            "acme-artifacts-logbucket-4a5b6c",
        ),
        (
            "BucketNameParameter",
            "AWS::SSM::Parameter",
            "/buckets/staging",
        ),
        (
            "ReadPolicy",
            "AWS::IAM::ManagedPolicy",
            "arn:aws:iam::111122223333:policy/acme-ReadPolicy-7d8e",
        ),
    ]
    .into_iter()
    .map(|(l, t, p)| StackResourceRef {
        logical_id: l.into(),
        resource_type: t.into(),
        physical_id: Some(p.into()),
    })
    .collect()
}

#[tokio::test]
async fn retained_stacks_are_listed_whole_and_the_set_is_deleted() {
    let spec = self_managed();
    let described = described(&spec, &spec.template, &[]);
    let set = mock!(Client::describe_stack_set).then_output(move || described.clone());
    let listed = two_instances_then(vec![]);
    let delete = mock!(Client::delete_stack_instances)
        .match_requests(|r| {
            r.retain_stacks() == Some(true)
                && r.accounts() == [DEV, PROD]
                && r.regions() == ["eu-west-1".to_string()]
                && r.deployment_targets().is_none()
        })
        .then_output(|| {
            DeleteStackInstancesOutput::builder()
                .operation_id(OP)
                .build()
        });
    let op = operation_statuses(
        OP,
        StackSetOperationAction::Delete,
        &[StackSetOperationStatus::Succeeded],
    );
    let r = results(
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
                StackSetOperationResultStatus::Succeeded,
                None,
            ),
        ],
    );
    let delete_set = mock!(Client::delete_stack_set)
        .match_requests(|r| r.stack_set_name() == Some(SET))
        .then_output(|| DeleteStackSetOutput::builder().build());
    let cf = cloudformation(&[&set, &listed, &delete, &op, &r, &delete_set]);
    let physical = BTreeMap::from([(InstanceKey::new(DEV, "eu-west-1"), resources())]);
    let report = destroy(
        &cf,
        SET,
        &[],
        true,
        &physical,
        &Polling::immediate(),
        &|_| {},
    )
    .await
    .unwrap();
    assert!(report.existed && report.deleted && report.succeeded());
    assert_eq!(report.retained.len(), 2);
    let dev = &report.retained[0];
    assert!(dev.whole_stack);
    assert_eq!(
        dev.resources.len(),
        4,
        "every resource of a retained stack stays"
    );
    assert!(
        dev.stack_id
            .as_deref()
            .unwrap_or_default()
            .contains("StackSet-acme-artifacts")
    );
    // PROD's stack was not read: it is retained whole, its resources unnamed.
    assert!(report.retained[1].whole_stack && report.retained[1].resources.is_empty());
}

#[tokio::test]
async fn without_retained_stacks_the_buckets_stay_by_their_deletion_policy() {
    let spec = self_managed();
    let described = described(&spec, &spec.template, &[]);
    let set = mock!(Client::describe_stack_set).then_output(move || described.clone());
    let listed = two_instances_then(vec![]);
    let delete = mock!(Client::delete_stack_instances)
        .match_requests(|r| r.retain_stacks() == Some(false))
        .then_output(|| {
            DeleteStackInstancesOutput::builder()
                .operation_id(OP)
                .build()
        });
    let op = operation_statuses(
        OP,
        StackSetOperationAction::Delete,
        &[StackSetOperationStatus::Succeeded],
    );
    let r = results(OP, vec![]);
    let delete_set =
        mock!(Client::delete_stack_set).then_output(|| DeleteStackSetOutput::builder().build());
    let cf = cloudformation(&[&set, &listed, &delete, &op, &r, &delete_set]);
    let physical = BTreeMap::from([(InstanceKey::new(DEV, "eu-west-1"), resources())]);
    let report = destroy(
        &cf,
        SET,
        &[],
        false,
        &physical,
        &Polling::immediate(),
        &|_| {},
    )
    .await
    .unwrap();
    let named: Vec<&str> = report.retained[0]
        .resources
        .iter()
        .filter_map(|r| r.physical_id.as_deref())
        .collect();
    assert_eq!(
        named,
        [
            "acme-artifacts-bucket-1x2y3z",
            "acme-artifacts-logbucket-4a5b6c"
        ]
    );
    // Unread stacks still say which resources stay, by logical ID.
    let prod: Vec<&str> = report.retained[1]
        .resources
        .iter()
        .map(|r| r.logical_id.as_str())
        .collect();
    assert_eq!(prod, ["Bucket", "LogBucket"]);
    assert!(!report.retained[1].whole_stack);
}

#[tokio::test]
async fn instances_that_stay_keep_the_set() {
    let spec = service_managed();
    let described = described(&spec, &spec.template, &[]);
    let set = mock!(Client::describe_stack_set).then_output(move || described.clone());
    let stuck = instance(
        PROD,
        "eu-west-1",
        StackInstanceStatus::Inoperable,
        StackInstanceDetailedStatus::Inoperable,
        Some("Failed to delete stack"),
    );
    let listed = two_instances_then(vec![stuck]);
    let delete = mock!(Client::delete_stack_instances)
        .match_requests(|r| {
            let t = r.deployment_targets().expect("targets");
            r.accounts().is_empty()
                && t.organizational_unit_ids() == [OU]
                && t.accounts().is_empty()
                && r.regions() == ["eu-west-1".to_string()]
        })
        .then_output(|| {
            DeleteStackInstancesOutput::builder()
                .operation_id(OP)
                .build()
        });
    let op = operation_statuses(
        OP,
        StackSetOperationAction::Delete,
        &[StackSetOperationStatus::Failed],
    );
    let r = results(
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
                Some("Failed to delete stack"),
            ),
        ],
    );
    // No DeleteStackSet rule: calling it would fail the test.
    let cf = cloudformation(&[&set, &listed, &delete, &op, &r]);
    let report = destroy(
        &cf,
        SET,
        &[OU.to_string()],
        false,
        &BTreeMap::new(),
        &Polling::immediate(),
        &|_| {},
    )
    .await
    .unwrap();
    assert!(!report.deleted && !report.succeeded());
    assert_eq!(report.remaining, [InstanceKey::new(PROD, "eu-west-1")]);
    assert_eq!(report.retained.len(), 1, "only DEV's instance went");
}

#[tokio::test]
async fn a_set_that_does_not_exist_is_nothing_to_destroy() {
    let cf = cloudformation(&[&not_found()]);
    let report = destroy(
        &cf,
        SET,
        &[],
        false,
        &BTreeMap::new(),
        &Polling::immediate(),
        &|_| {},
    )
    .await
    .unwrap();
    assert!(!report.existed && !report.deleted && report.succeeded());
}

#[tokio::test]
async fn the_resources_of_an_instance_are_read_on_every_page() {
    let page =
        |ids: &'static [&'static str], token: Option<&'static str>, next: Option<&'static str>| {
            mock!(Client::list_stack_resources)
                .match_requests(move |r| r.next_token() == token)
                .then_output(move || {
                    ListStackResourcesOutput::builder()
                        .set_stack_resource_summaries(Some(
                            ids.iter()
                                .map(|id| {
                                    StackResourceSummary::builder()
                                        .logical_resource_id(*id)
                                        .resource_type("AWS::S3::Bucket")
                                        .physical_resource_id(format!("phys-{id}"))
                                        .build()
                                })
                                .collect(),
                        ))
                        .set_next_token(next.map(String::from))
                        .build()
                })
        };
    let first = page(&["Bucket"], None, Some("t2"));
    let second = page(&["LogBucket"], Some("t2"), None);
    let cf = cloudformation(&[&first, &second]);
    let found = instance_resources(
        &cf,
        "arn:aws:cloudformation:eu-west-1:111122223333:stack/StackSet-x/1",
    )
    .await
    .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|r| r.physical_id.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["phys-Bucket", "phys-LogBucket"]
    );
}

#[tokio::test]
async fn drift_detection_names_the_drifted_instances_and_their_resources() {
    let detect = mock!(Client::detect_stack_set_drift).then_output(|| {
        DetectStackSetDriftOutput::builder()
            .operation_id(OP)
            .build()
    });
    let op = operation_statuses(
        OP,
        StackSetOperationAction::DetectDrift,
        &[
            StackSetOperationStatus::Running,
            StackSetOperationStatus::Succeeded,
        ],
    );
    let spec = self_managed();
    let mut described = described(&spec, &spec.template, &[]);
    if let Some(s) = described.stack_set.as_mut() {
        s.stack_set_drift_detection_details = Some(
            StackSetDriftDetectionDetails::builder()
                .drift_status(StackSetDriftStatus::Drifted)
                .drifted_stack_instances_count(1)
                .build(),
        );
    }
    let set = mock!(Client::describe_stack_set).then_output(move || described.clone());
    let drifted = StackInstanceSummary::builder()
        .account(DEV)
        .region("eu-west-1")
        .status(StackInstanceStatus::Current)
        .drift_status(StackDriftStatus::Drifted)
        .build();
    let in_sync = StackInstanceSummary::builder()
        .account(PROD)
        .region("eu-west-1")
        .status(StackInstanceStatus::Current)
        .drift_status(StackDriftStatus::InSync)
        .build();
    let listed = instances(vec![drifted, in_sync]);
    let drifts = mock!(Client::list_stack_instance_resource_drifts)
        .match_requests(|r| {
            r.stack_instance_account() == Some(DEV)
                && r.stack_instance_region() == Some("eu-west-1")
                && r.operation_id() == Some(OP)
        })
        .then_output(|| {
            ListStackInstanceResourceDriftsOutput::builder()
                .summaries(
                    StackInstanceResourceDriftsSummary::builder()
                        .logical_resource_id("Bucket")
                        .resource_type("AWS::S3::Bucket")
                        .physical_resource_id("acme-artifacts-bucket-1x2y3z")
                        .stack_resource_drift_status(StackResourceDriftStatus::Modified)
                        .property_differences(
                            PropertyDifference::builder()
                                .property_path("/VersioningConfiguration/Status")
                                .expected_value("Enabled")
                                .actual_value("Suspended")
                                .difference_type(DifferenceType::NotEqual)
                                .build(),
                        )
                        .stack_id("s")
                        .timestamp(DateTime::from_secs(1_732_330_000))
                        .build(),
                )
                .build()
        });
    let cf = cloudformation(&[&detect, &op, &set, &listed, &drifts]);
    let report = detect_drift(&cf, SET, None, &Polling::immediate(), &|_| {})
        .await
        .unwrap();
    assert!(report.drifted());
    assert_eq!(report.drift_status.as_deref(), Some("DRIFTED"));
    let dev = &report.instances[0];
    assert_eq!(dev.resources[0].differences[0].actual, "Suspended");
    assert!(report.instances[1].resources.is_empty());
    assert!(report.unknown().is_empty());
}
