//! Apply: a new set, an update of an existing set, failure tolerance exceeded, a rerun that
//! retries only the OUTDATED instances, removals only when allowed, and the refusals.

use super::*;
use crate::stacksets::operation::Polling;
use aws_sdk_cloudformation::operation::create_stack_instances::CreateStackInstancesOutput;
use aws_sdk_cloudformation::operation::create_stack_set::CreateStackSetOutput;
use aws_sdk_cloudformation::operation::delete_stack_instances::DeleteStackInstancesOutput;
use aws_sdk_cloudformation::operation::update_stack_set::UpdateStackSetOutput;
use aws_sdk_cloudformation::types::{CallAs, Capability, RegionConcurrencyType};

const ORDER: [&str; 3] = ["eu-west-1", "us-east-1", "eu-north-1"];

fn regions(r: &[String]) -> Vec<&str> {
    r.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn a_new_self_managed_set_over_the_failure_tolerance_reports_every_failed_instance() {
    let spec = self_managed();
    let template = spec.template.clone();
    let create_set = mock!(Client::create_stack_set)
        .match_requests(move |r| {
            r.stack_set_name() == Some(SET)
                && r.template_body() == Some(template.as_str())
                && r.permission_model() == Some(&PermissionModels::SelfManaged)
                && r.administration_role_arn()
                    == Some("arn:aws:iam::999988887777:role/AWSCloudFormationStackSetAdministrationRole")
                && r.execution_role_name() == Some("AWSCloudFormationStackSetExecutionRole")
                && r.capabilities() == [Capability::CapabilityNamedIam]
                && r.call_as() == Some(&CallAs::SelfValue)
                && r.auto_deployment().is_none()
        })
        .then_output(|| CreateStackSetOutput::builder().stack_set_id(format!("{SET}:7b4c0a50")).build());
    let create_instances = mock!(Client::create_stack_instances)
        .match_requests(|r| {
            let p = r.operation_preferences().expect("preferences");
            r.accounts() == [DEV, PROD]
                && regions(r.regions()) == ORDER
                && r.deployment_targets().is_none()
                && p.max_concurrent_count() == Some(2)
                && p.failure_tolerance_count() == Some(1)
                && p.region_concurrency_type() == Some(&RegionConcurrencyType::Parallel)
                && p.region_order() == ORDER
        })
        .then_output(|| {
            CreateStackInstancesOutput::builder()
                .operation_id(OP)
                .build()
        });
    let describe_op = operation_statuses(
        OP,
        StackSetOperationAction::Create,
        &[
            StackSetOperationStatus::Running,
            StackSetOperationStatus::Failed,
        ],
    );
    let failed = "Resource handler returned message: \"Access Denied (Service: S3, Status Code: 403)\" (HandlerErrorCode: AccessDenied)";
    let tolerance = "Cancelled since failure tolerance has exceeded";
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
                Some(failed),
            ),
            result(
                DEV,
                "us-east-1",
                StackSetOperationResultStatus::Failed,
                Some(failed),
            ),
            result(
                PROD,
                "us-east-1",
                StackSetOperationResultStatus::Cancelled,
                Some(tolerance),
            ),
            result(
                DEV,
                "eu-north-1",
                StackSetOperationResultStatus::Succeeded,
                None,
            ),
            result(
                PROD,
                "eu-north-1",
                StackSetOperationResultStatus::Succeeded,
                None,
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
            Some(failed),
        ),
        instance(
            DEV,
            "us-east-1",
            StackInstanceStatus::Outdated,
            StackInstanceDetailedStatus::Failed,
            Some(failed),
        ),
        instance(
            PROD,
            "us-east-1",
            StackInstanceStatus::Outdated,
            StackInstanceDetailedStatus::Cancelled,
            Some(tolerance),
        ),
        current(DEV, "eu-north-1"),
        current(PROD, "eu-north-1"),
    ]);
    let cf = cloudformation(&[
        &not_found(),
        &create_set,
        &create_instances,
        &describe_op,
        &results,
        &listed,
    ]);
    let p = preview(&cf, &spec, spec.accounts()).await.unwrap();
    assert!(!p.exists && p.has_changes());
    assert_eq!(p.instances_to_add.len(), 6);
    assert_eq!(p.templates().current, None);
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
    assert!(report.created && !report.updated);
    assert!(!report.succeeded());
    let failed: Vec<String> = report
        .failed_instances()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        failed,
        [
            format!("{DEV}/us-east-1"),
            format!("{PROD}/eu-west-1"),
            format!("{PROD}/us-east-1")
        ]
    );
    let cancelled = report.operations[0]
        .instances
        .iter()
        .find(|i| i.key == InstanceKey::new(PROD, "us-east-1"))
        .unwrap();
    assert_eq!(cancelled.result.as_deref(), Some("CANCELLED"));
    assert_eq!(cancelled.reason(), Some(tolerance));
}

#[tokio::test]
async fn an_update_of_an_existing_set_changes_template_and_parameters_on_every_instance() {
    let mut spec = self_managed();
    spec.parameters.insert("Marker".into(), "two".into());
    let described = described(
        &spec,
        "Resources: {Old: {Type: AWS::SSM::Parameter}}",
        &[("Marker", "one")],
    );
    let set = mock!(Client::describe_stack_set).then_output(move || described.clone());
    let all: Vec<StackInstanceSummary> = [DEV, PROD]
        .iter()
        .flat_map(|a| ORDER.iter().map(move |r| current(a, r)))
        .collect();
    let listed = instances(all);
    let template = spec.template.clone();
    let update = mock!(Client::update_stack_set)
        .match_requests(move |r| {
            r.template_body() == Some(template.as_str())
                && r.use_previous_template().is_none()
                && r.parameters()
                    == [Parameter::builder()
                        .parameter_key("Marker")
                        .parameter_value("two")
                        .build()]
                && r.accounts().is_empty()
                && r.regions().is_empty()
                && r.deployment_targets().is_none()
                && r.operation_preferences()
                    .is_some_and(|p| p.region_order() == ORDER)
                && r.administration_role_arn().is_some()
                && r.call_as() == Some(&CallAs::SelfValue)
        })
        .then_output(|| UpdateStackSetOutput::builder().operation_id(OP).build());
    let describe_op = operation_statuses(
        OP,
        StackSetOperationAction::Update,
        &[StackSetOperationStatus::Succeeded],
    );
    let results = results(
        OP,
        [DEV, PROD]
            .iter()
            .flat_map(|a| {
                ORDER
                    .iter()
                    .map(move |r| result(a, r, StackSetOperationResultStatus::Succeeded, None))
            })
            .collect(),
    );
    let cf = cloudformation(&[&set, &listed, &update, &describe_op, &results]);
    let p = preview(&cf, &spec, spec.accounts()).await.unwrap();
    assert!(p.exists && p.template_changed && p.updates_set());
    assert_eq!(
        p.parameter_changes,
        [ParameterChange {
            key: "Marker".into(),
            old: Some("one".into()),
            new: Some("two".into())
        }]
    );
    assert!(p.instances_to_add.is_empty() && p.instances_to_remove.is_empty());
    assert_eq!(
        p.templates().current,
        Some("Resources: {Old: {Type: AWS::SSM::Parameter}}")
    );
    assert_eq!(p.templates().home_region, "eu-west-1");
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
    assert!(report.updated && !report.created && report.succeeded());
    assert_eq!(report.operations.len(), 1);
    assert_eq!(report.operations[0].instances.len(), 6);
}

#[tokio::test]
async fn a_rerun_retries_only_the_outdated_instances() {
    let spec = self_managed();
    let described = described(&spec, &spec.template, &[]);
    let set = mock!(Client::describe_stack_set).then_output(move || described.clone());
    let failed = "Resource handler returned message: \"Rate exceeded\"";
    let mut all: Vec<StackInstanceSummary> = [DEV, PROD]
        .iter()
        .flat_map(|a| ORDER.iter().map(move |r| current(a, r)))
        .filter(|i| {
            let is = |a: &str, r: &str| i.account() == Some(a) && i.region() == Some(r);
            !is(DEV, "us-east-1") && !is(PROD, "eu-north-1")
        })
        .collect();
    let healed: Vec<StackInstanceSummary> = [DEV, PROD]
        .iter()
        .flat_map(|a| ORDER.iter().map(move |r| current(a, r)))
        .collect();
    all.push(instance(
        DEV,
        "us-east-1",
        StackInstanceStatus::Outdated,
        StackInstanceDetailedStatus::Failed,
        Some(failed),
    ));
    all.push(instance(
        PROD,
        "eu-north-1",
        StackInstanceStatus::Outdated,
        StackInstanceDetailedStatus::Cancelled,
        None,
    ));
    // OUTDATED when previewed, CURRENT once retried.
    let listed = mock!(Client::list_stack_instances)
        .sequence()
        .output(move || {
            ListStackInstancesOutput::builder()
                .set_summaries(Some(all.clone()))
                .build()
        })
        .output(move || {
            ListStackInstancesOutput::builder()
                .set_summaries(Some(healed.clone()))
                .build()
        })
        .repeatedly()
        .build();
    let retry = |account: &'static str, region: &'static str, id: &'static str| {
        mock!(Client::update_stack_set)
            .match_requests(move |r| {
                r.use_previous_template() == Some(true)
                    && r.template_body().is_none()
                    && r.accounts() == [account]
                    && regions(r.regions()) == [region]
            })
            .then_output(move || UpdateStackSetOutput::builder().operation_id(id).build())
    };
    let (first, second) = (
        "11111111-aaaa-4bbb-8ccc-000000000001",
        "11111111-aaaa-4bbb-8ccc-000000000002",
    );
    let retry_dev = retry(DEV, "us-east-1", first);
    let retry_prod = retry(PROD, "eu-north-1", second);
    let op1 = operation_statuses(
        first,
        StackSetOperationAction::Update,
        &[StackSetOperationStatus::Succeeded],
    );
    let op2 = operation_statuses(
        second,
        StackSetOperationAction::Update,
        &[StackSetOperationStatus::Succeeded],
    );
    let r1 = results(
        first,
        vec![result(
            DEV,
            "us-east-1",
            StackSetOperationResultStatus::Succeeded,
            None,
        )],
    );
    let r2 = results(
        second,
        vec![result(
            PROD,
            "eu-north-1",
            StackSetOperationResultStatus::Succeeded,
            None,
        )],
    );
    let cf = cloudformation(&[&set, &listed, &retry_dev, &retry_prod, &op1, &op2, &r1, &r2]);
    let p = preview(&cf, &spec, spec.accounts()).await.unwrap();
    assert!(!p.updates_set());
    assert_eq!(
        p.instances_to_retry,
        [
            InstanceKey::new(DEV, "us-east-1"),
            InstanceKey::new(PROD, "eu-north-1")
        ]
    );
    assert_eq!(p.instances_unchanged.len(), 4);
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
    assert_eq!(report.operations.len(), 2, "one retry per set of regions");
    assert!(!report.updated);
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(report.instances.len(), 6);
}

#[tokio::test]
async fn instances_no_longer_wanted_are_removed_only_when_allowed() {
    let spec = self_managed();
    let described = described(&spec, &spec.template, &[]);
    let set = mock!(Client::describe_stack_set).then_output(move || described.clone());
    let mut all: Vec<StackInstanceSummary> = [DEV, PROD]
        .iter()
        .flat_map(|a| ORDER.iter().map(move |r| current(a, r)))
        .collect();
    all.push(current(DEV, "ap-south-1"));
    let listed = instances(all);
    let delete = mock!(Client::delete_stack_instances)
        .match_requests(|r| {
            r.accounts() == [DEV]
                && regions(r.regions()) == ["ap-south-1"]
                && r.retain_stacks() == Some(false)
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
        vec![result(
            DEV,
            "ap-south-1",
            StackSetOperationResultStatus::Succeeded,
            None,
        )],
    );
    let cf = cloudformation(&[&set, &listed, &delete, &op, &r]);
    let p = preview(&cf, &spec, spec.accounts()).await.unwrap();
    assert_eq!(p.instances_to_remove, [InstanceKey::new(DEV, "ap-south-1")]);
    let kept = apply(
        &cf,
        &spec,
        &p,
        ApplyOptions::default(),
        &Polling::immediate(),
        &|_| {},
    )
    .await
    .unwrap();
    assert!(kept.operations.is_empty());
    assert_eq!(kept.not_removed, [InstanceKey::new(DEV, "ap-south-1")]);
    let removed = apply(
        &cf,
        &spec,
        &p,
        ApplyOptions {
            remove_instances: true,
        },
        &Polling::immediate(),
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(removed.operations.len(), 1);
    assert!(removed.not_removed.is_empty());
}
