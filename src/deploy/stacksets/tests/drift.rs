//! `drift` through the engine (moto lacks DetectStackSetDrift): one operation for the set,
//! each instance's drift read from it.

use super::*;
use crate::deploy::model::DriftState;
use aws_sdk_cloudformation::operation::detect_stack_set_drift::DetectStackSetDriftOutput;
use aws_sdk_cloudformation::operation::list_stack_instance_resource_drifts::ListStackInstanceResourceDriftsOutput;
use aws_sdk_cloudformation::types::{
    DifferenceType, PropertyDifference, StackDriftStatus, StackInstanceResourceDriftsSummary,
    StackResourceDriftStatus, StackSetDriftDetectionDetails, StackSetDriftStatus,
};

#[tokio::test]
async fn drift_is_detected_once_for_the_set_and_reported_per_instance() {
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
    let mut set_now = described(&spec, &spec.template, &[]);
    if let Some(s) = set_now.stack_set.as_mut() {
        s.stack_set_drift_detection_details = Some(
            StackSetDriftDetectionDetails::builder()
                .drift_status(StackSetDriftStatus::Drifted)
                .drifted_stack_instances_count(1)
                .build(),
        );
    }
    let set = mock!(Client::describe_stack_set).then_output(move || set_now.clone());
    let mut dev = current(DEV, "eu-west-1");
    dev.drift_status = Some(StackDriftStatus::Drifted);
    let mut prod = current(PROD, "eu-west-1");
    prod.drift_status = Some(StackDriftStatus::InSync);
    let listed = instances_rule(vec![dev, prod]);
    let operations = mock!(Client::list_stack_set_operations)
        .then_output(|| ListStackSetOperationsOutput::builder().build());
    let drifts = mock!(Client::list_stack_instance_resource_drifts)
        .match_requests(|r| r.stack_instance_account() == Some(DEV))
        .then_output(|| {
            ListStackInstanceResourceDriftsOutput::builder()
                .summaries(
                    StackInstanceResourceDriftsSummary::builder()
                        .logical_resource_id("Bucket")
                        .resource_type("AWS::S3::Bucket")
                        .physical_resource_id("acme-111122223333-eu-west-1")
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
    let aws = FakeAws::new().answers(REGION, &[&detect, &op, &set, &listed, &operations, &drifts]);
    let cfg = config();
    let session = Session {
        targets: runner::regions(&cfg.regions),
        clients: aws.clients(REGION),
        cfg,
        config_file: "provision.yaml".into(),
        engine: crate::deploy::EngineKind::StackSets,
        terraform: Default::default(),
    };
    let mut engine = Engine::open(&session);
    let targets = engine
        .targets(&session, Operation::Drift)
        .await
        .expect("targets");
    assert_eq!(
        targets,
        [
            Target::in_account(DEV, "eu-west-1"),
            Target::in_account(PROD, "eu-west-1")
        ]
    );
    engine
        .run_all(AllTargets::Drift, &crate::ui::Ui::quiet().progress())
        .await
        .expect("detected");
    let dev = engine.drift(&targets[0]).await.expect("dev");
    assert_eq!(dev.state, DriftState::Drifted);
    assert_eq!(dev.drifted.len(), 1);
    assert_eq!(dev.drifted[0].logical_id, "Bucket");
    assert_eq!(
        dev.drifted[0].differences[0].actual.as_deref(),
        Some("Suspended")
    );
    let prod = engine.drift(&targets[1]).await.expect("prod");
    assert_eq!(prod.state, DriftState::InSync);
    assert!(prod.drifted.is_empty());
}
