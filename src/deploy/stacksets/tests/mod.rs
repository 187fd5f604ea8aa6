//! The StackSets engine through the seam, against answers shaped like AWS's (what the
//! emulator cannot do): an apply that retries the OUTDATED instance and fails there (exit 1,
//! every instance reported, the failed one with its reason and operation), and an operation
//! already running on the set (refused with its ID before anything is started).

use crate::deploy::engine::Engine;
use crate::deploy::error::DeployError;
use crate::deploy::model::{Action, Outcome, TargetPlan};
use crate::deploy::model::{AllTargets, Operation};
use crate::deploy::plan::plan_all;
use crate::deploy::session::Session;
use crate::exit::{Classify, Exit};
use crate::runner::{self, Reports, Target};
use crate::stacksets::tests::*;
use crate::testing::{FakeAws, REGION, json_error};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput;
use aws_sdk_cloudformation::operation::list_stack_set_operations::ListStackSetOperationsOutput;
use aws_sdk_cloudformation::operation::update_stack_set::UpdateStackSetOutput;
use aws_sdk_cloudformation::types::{
    StackInstanceDetailedStatus, StackInstanceStatus, StackInstanceSummary,
    StackSetOperationAction, StackSetOperationResultStatus, StackSetOperationStatus,
    StackSetOperationSummary,
};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_types::DateTime;

mod drift;

const ORDER: [&str; 3] = ["eu-west-1", "us-east-1", "eu-north-1"];
const RETRY: &str = "22222222-aaaa-4bbb-8ccc-000000000001";
const REASON: &str = "Account 444455556666 should have 'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role 'AWSCloudFormationStackSetAdministrationRole'.";

fn config() -> crate::config::Config {
    crate::config::parse(
        std::path::Path::new("p.yaml"),
        &format!(
            "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1, eu-north-1]\nstack_name: {SET}\nengine: stacksets\nidentities: {{group: Apps, users: [bot], policy: read}}\nstacksets:\n  targets: {{accounts: [\"{DEV}\", \"{PROD}\"]}}\n  preferences: {{max_concurrent: 2, failure_tolerance: 1, region_concurrency: parallel}}\n"
        ),
    )
    .expect("valid configuration")
}

fn role(name: &str, trust: &str) -> Rule {
    let (name, trust) = (name.to_string(), trust.to_string());
    mock!(aws_sdk_iam::Client::get_role).then_output(move || {
        aws_sdk_iam::operation::get_role::GetRoleOutput::builder()
            .role(
                aws_sdk_iam::types::Role::builder()
                    .role_name(&name)
                    .path("/")
                    .role_id("AROAEXAMPLE")
                    .arn(format!("arn:aws:iam::{ADMIN}:role/{name}"))
                    .create_date(DateTime::from_secs(1_700_000_000))
                    .assume_role_policy_document(&trust)
                    .build()
                    .expect("role"),
            )
            .build()
    })
}

/// What every apply of the self-managed set reads first: the caller, no organisation, the
/// administration role, the set as deployed, the operations (`operations`), and in each
/// member account the execution role (through the assumed setup role).
fn fake(instances: Rule, operations: Vec<StackSetOperationSummary>, more: &[&Rule]) -> FakeAws {
    let caller = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
            .account(ADMIN)
            .arn(format!("arn:aws:iam::{ADMIN}:user/deployer"))
            .build()
    });
    let assume = mock!(aws_sdk_sts::Client::assume_role).then_output(|| {
        let in_an_hour = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
        aws_sdk_sts::operation::assume_role::AssumeRoleOutput::builder()
            .credentials(
                aws_sdk_sts::types::Credentials::builder()
                    .access_key_id("ASIAMEMBER")
                    .secret_access_key("secret")
                    .session_token("token")
                    .expiration(DateTime::from(in_an_hour))
                    .build()
                    .expect("credentials"),
            )
            .build()
    });
    let no_organization = mock!(aws_sdk_organizations::Client::describe_organization)
        .then_http_response(|| {
            json_error(
                400,
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
            )
        });
    let admin_role = role(
        "AWSCloudFormationStackSetAdministrationRole",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    );
    let spec = self_managed();
    let set_now = described(&spec, &spec.template, &[]);
    let set = mock!(Client::describe_stack_set).then_output(move || set_now.clone());
    let listed = mock!(Client::list_stack_set_operations).then_output(move || {
        ListStackSetOperationsOutput::builder()
            .set_summaries(Some(operations.clone()))
            .build()
    });
    let mut home: Vec<&Rule> = vec![
        &caller,
        &assume,
        &no_organization,
        &admin_role,
        &set,
        &instances,
        &listed,
    ];
    home.extend_from_slice(more);
    let execution = || {
        role(
            "AWSCloudFormationStackSetExecutionRole",
            &format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ADMIN}:root"}},"Action":"sts:AssumeRole"}}]}}"#
            ),
        )
    };
    let (dev_role, prod_role) = (execution(), execution());
    FakeAws::new()
        .answers(REGION, &home)
        .answers(Target::in_account(DEV, REGION), &[&dev_role])
        .answers(Target::in_account(PROD, REGION), &[&prod_role])
}

/// Every instance CURRENT but `PROD` in eu-west-1, OUTDATED after a failed operation.
fn one_outdated() -> Vec<StackInstanceSummary> {
    let mut all: Vec<StackInstanceSummary> = [DEV, PROD]
        .iter()
        .flat_map(|a| ORDER.iter().map(move |r| current(a, r)))
        .filter(|i| !(i.account() == Some(PROD) && i.region() == Some("eu-west-1")))
        .collect();
    all.push(instance(
        PROD,
        "eu-west-1",
        StackInstanceStatus::Outdated,
        StackInstanceDetailedStatus::Failed,
        Some(REASON),
    ));
    all
}

fn instances_rule(list: Vec<StackInstanceSummary>) -> Rule {
    mock!(Client::list_stack_instances).then_output(move || {
        ListStackInstancesOutput::builder()
            .set_summaries(Some(list.clone()))
            .build()
    })
}

async fn planned(aws: FakeAws) -> Result<(Session, Engine, Reports<TargetPlan>), DeployError> {
    let cfg = config();
    let session = Session {
        targets: runner::regions(&cfg.regions),
        clients: aws.clients(REGION),
        config_file: "provision.yaml".into(),
        engine: crate::deploy::EngineKind::StackSets,
        terraform: Default::default(),
        cfg,
    };
    let mut engine = Engine::open(&session);
    engine.prepare(&session, None).await?;
    let targets = engine.targets(&session, Operation::Apply).await?;
    let plans = plan_all(&engine, &targets, 4).await;
    Ok((session, engine, plans))
}

#[tokio::test]
async fn a_rerun_retries_only_the_outdated_instance_and_reports_its_failure_with_the_reason() {
    let retry = mock!(Client::update_stack_set)
        .match_requests(|r| {
            r.use_previous_template() == Some(true)
                && r.accounts() == [PROD]
                && r.regions() == ["eu-west-1"]
        })
        .then_output(|| UpdateStackSetOutput::builder().operation_id(RETRY).build());
    let running_then_failed = operation_statuses(
        RETRY,
        StackSetOperationAction::Update,
        &[
            StackSetOperationStatus::Running,
            StackSetOperationStatus::Failed,
        ],
    );
    let outcome = results(
        RETRY,
        vec![result(
            PROD,
            "eu-west-1",
            StackSetOperationResultStatus::Failed,
            Some(REASON),
        )],
    );
    let aws = fake(
        instances_rule(one_outdated()),
        vec![],
        &[&retry, &running_then_failed, &outcome],
    );
    let (_session, engine, plans) = planned(aws).await.expect("planned");
    assert_eq!(plans.0.len(), 6, "every instance is a target");
    let actions: Vec<(String, Action)> = plans
        .succeeded()
        .map(|(t, p)| (t.to_string(), p.action))
        .collect();
    for (target, action) in &actions {
        let expected = if target == &format!("{PROD}/eu-west-1") {
            Action::Retry
        } else {
            Action::NoChanges
        };
        assert_eq!(*action, expected, "{target}");
    }

    let ui = crate::ui::Ui::quiet();
    engine
        .run_all(AllTargets::Apply { plans: &plans }, &ui.progress())
        .await
        .expect("the operation ran");
    let mut failed = Vec::new();
    for (target, plan) in plans.succeeded() {
        let line = ui.progress().line("test");
        let options = crate::deploy::model::ApplyOptions {
            no_rollback: false,
            recreate_failed: false,
            termination_protection: false,
        };
        match engine.apply(target, plan, &options, &line).await {
            Ok(a) => {
                assert_eq!(a.result, Outcome::Unchanged, "{target}");
                assert_eq!(a.status.as_deref(), Some("CURRENT"), "{target}");
            }
            Err(e) => failed.push((target.to_string(), e)),
        }
    }
    assert_eq!(failed.len(), 1, "only the retried instance fails");
    let (target, failure) = &failed[0];
    assert_eq!(target, &format!("{PROD}/eu-west-1"));
    assert!(
        failure.message().contains("FAILED"),
        "{}",
        failure.message()
    );
    assert!(failure.message().contains(REASON), "{}", failure.message());
    assert_eq!(failure.status.as_deref(), Some("OUTDATED"));
    let hint = failure.failure.hint.clone().unwrap_or_default();
    assert!(
        hint.contains("AWSCloudFormationStackSetExecutionRole"),
        "the cause named: {hint}"
    );
}

#[tokio::test]
async fn an_operation_already_running_is_refused_with_its_id_before_anything_starts() {
    let running = StackSetOperationSummary::builder()
        .operation_id("33333333-aaaa-4bbb-8ccc-000000000009")
        .action(StackSetOperationAction::Update)
        .status(StackSetOperationStatus::Running)
        .creation_timestamp(DateTime::from_secs(1_732_330_000))
        .build();
    // No UpdateStackSet rule: a call would panic the fake.
    let aws = fake(instances_rule(one_outdated()), vec![running], &[]);
    let (_session, engine, plans) = planned(aws).await.expect("planned");
    let err = engine
        .run_all(
            AllTargets::Apply { plans: &plans },
            &crate::ui::Ui::quiet().progress(),
        )
        .await
        .expect_err("refused");
    let text = format!("{err}");
    assert!(
        text.contains("33333333-aaaa-4bbb-8ccc-000000000009"),
        "{text}"
    );
    assert_eq!(err.exit(), Exit::Failure);
    assert!(
        err.hint()
            .unwrap_or_default()
            .contains("stop-stack-set-operation")
    );
}
