//! Service-managed sets: created over their OUs with automatic deployment, and retried
//! account by account inside an OU.

use super::*;
use crate::stacksets::operation::Polling;
use aws_sdk_cloudformation::operation::create_stack_instances::CreateStackInstancesOutput;
use aws_sdk_cloudformation::operation::create_stack_set::CreateStackSetOutput;
use aws_sdk_cloudformation::operation::update_stack_set::UpdateStackSetOutput;
use aws_sdk_cloudformation::types::AccountFilterType;

const ORDER: [&str; 3] = ["eu-west-1", "us-east-1", "eu-north-1"];

fn regions(r: &[String]) -> Vec<&str> {
    r.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn a_service_managed_retry_narrows_the_ou_to_the_outdated_accounts() {
    let spec = service_managed();
    let described = described(&spec, &spec.template, &[]);
    let set = mock!(Client::describe_stack_set).then_output(move || described.clone());
    let mut outdated = instance(
        DEV,
        "eu-west-1",
        StackInstanceStatus::Outdated,
        StackInstanceDetailedStatus::Failed,
        None,
    );
    outdated = StackInstanceSummary::builder()
        .set_account(outdated.account().map(String::from))
        .set_region(outdated.region().map(String::from))
        .set_status(outdated.status().cloned())
        .organizational_unit_id(OU)
        .build();
    let listed = instances(vec![outdated]);
    let retry = mock!(Client::update_stack_set)
        .match_requests(|r| {
            let t = r.deployment_targets().expect("targets");
            r.use_previous_template() == Some(true)
                && r.accounts().is_empty()
                && t.organizational_unit_ids() == [OU]
                && t.accounts() == [DEV]
                && t.account_filter_type() == Some(&AccountFilterType::Intersection)
                && regions(r.regions()) == ["eu-west-1"]
                && r.permission_model() == Some(&PermissionModels::ServiceManaged)
                && r.auto_deployment().and_then(|a| a.enabled()) == Some(true)
        })
        .then_output(|| UpdateStackSetOutput::builder().operation_id(OP).build());
    let op = operation_statuses(
        OP,
        StackSetOperationAction::Update,
        &[StackSetOperationStatus::Succeeded],
    );
    let r = results(
        OP,
        vec![result(
            DEV,
            "eu-west-1",
            StackSetOperationResultStatus::Succeeded,
            None,
        )],
    );
    let cf = cloudformation(&[&set, &listed, &retry, &op, &r]);
    // The OU holds only DEV, and only eu-west-1 is wanted for this test.
    let mut spec = spec;
    spec.regions = vec!["eu-west-1".into()];
    let p = preview(&cf, &spec, &[DEV.to_string()]).await.unwrap();
    assert_eq!(p.instances_to_retry, [InstanceKey::new(DEV, "eu-west-1")]);
    apply(
        &cf,
        &spec,
        &p,
        ApplyOptions::default(),
        &Polling::immediate(),
        &|_| {},
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_new_service_managed_set_targets_its_ous_with_automatic_deployment() {
    let spec = service_managed();
    let create_set = mock!(Client::create_stack_set)
        .match_requests(|r| {
            r.permission_model() == Some(&PermissionModels::ServiceManaged)
                && r.administration_role_arn().is_none()
                && r.execution_role_name().is_none()
                && r.auto_deployment().and_then(|a| a.enabled()) == Some(true)
                && r.auto_deployment()
                    .and_then(|a| a.retain_stacks_on_account_removal())
                    == Some(false)
        })
        .then_output(|| CreateStackSetOutput::builder().stack_set_id("x").build());
    let create_instances = mock!(Client::create_stack_instances)
        .match_requests(|r| {
            let t = r.deployment_targets().expect("targets");
            r.accounts().is_empty()
                && t.organizational_unit_ids() == [OU]
                && t.accounts().is_empty()
                && regions(r.regions()) == ORDER
                && r.operation_preferences()
                    .and_then(|p| p.max_concurrent_count())
                    == Some(1)
        })
        .then_output(|| {
            CreateStackInstancesOutput::builder()
                .operation_id(OP)
                .build()
        });
    let op = operation_statuses(
        OP,
        StackSetOperationAction::Create,
        &[StackSetOperationStatus::Succeeded],
    );
    let r = results(
        OP,
        [DEV, PROD]
            .iter()
            .flat_map(|a| {
                ORDER.iter().map(move |reg| {
                    StackSetOperationResultSummary::builder()
                        .account(*a)
                        .region(*reg)
                        .status(StackSetOperationResultStatus::Succeeded)
                        .organizational_unit_id(OU)
                        .build()
                })
            })
            .collect(),
    );
    let listed = instances(
        [DEV, PROD]
            .iter()
            .flat_map(|a| ORDER.iter().map(move |reg| current(a, reg)))
            .collect(),
    );
    let cf = cloudformation(&[
        &not_found(),
        &create_set,
        &create_instances,
        &op,
        &r,
        &listed,
    ]);
    let resolved = [DEV.to_string(), PROD.to_string()];
    let p = preview(&cf, &spec, &resolved).await.unwrap();
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
    assert!(report.succeeded(), "{report:?}");
    assert!(
        report.operations[0]
            .instances
            .iter()
            .all(|i| i.organizational_unit.as_deref() == Some(OU))
    );
}
