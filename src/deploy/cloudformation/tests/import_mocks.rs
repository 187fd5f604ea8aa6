//! An adopted bucket imported by an IMPORT change set, against canned CloudFormation shaped
//! like AWS's answers (the emulator has no IMPORT): the plan shows the imports before the
//! update, a saved plan keeps them, and an endpoint answering Add is refused before anything
//! runs. (Applying it: import_apply_mocks.rs.)

use super::*;
use crate::deploy::cloudformation::import::{import_template, update_changes};
use crate::deploy::cloudformation::plan::{PlanInput, plan_region};
use crate::deploy::cloudformation::security::parse_template;
use crate::deploy::cloudformation::wait::Polling;
use crate::deploy::model::{Action, ChangeKind, StackFailure, TargetPlan};
use crate::runner::Target;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::types::{ChangeSetType, ResourceToImport};
use aws_smithy_mocks::{Rule, mock};
use serde_json::{Value, json};

pub(super) const BUCKET: &str = "hand-made-bucket";
pub(super) const IMPORT_ARN: &str = "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/provision-1732330000-im01/1d2e3f40-0000-4c1e-9d2b-3f4e5a6b7c8d";
pub(super) const UPDATE_ARN: &str = "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/provision-1732330100-up02/2e3f4051-1111-4c1e-9d2b-3f4e5a6b7c8d";

/// The renderer's shape with an adopted bucket: its name literal, a parameter naming it.
pub(super) const RENDERED: &str = r#"Resources:
  Bucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      BucketName: hand-made-bucket
      VersioningConfiguration:
        Status: Enabled
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
          - Effect: Allow
            Action: [s3:GetObject]
            Resource: !Sub "${Bucket.Arn}/*"
Outputs:
  BucketName:
    Value: !Ref Bucket
"#;

pub(super) fn adopted_target() -> StackTarget {
    let mut t = StackTarget::new(REGION, STACK, RENDERED, BTreeMap::new(), BTreeMap::new());
    t.adopted_bucket = Some(BUCKET.into());
    t
}

pub(super) fn no_stack() -> Rule {
    mock!(Client::describe_stacks).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            400.try_into().unwrap(),
            not_exist(STACK).into(),
        )
    })
}

fn identifier(r: &ResourceToImport) -> Vec<(String, String)> {
    let mut v: Vec<_> = r
        .resource_identifier()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The IMPORT change set as AWS requires it: the bucket (and the existing parameter) by
/// identifier, a template of only those resources, each retained.
fn import_requested() -> Rule {
    mock!(Client::create_change_set)
        .match_requests(|r| {
            let template = parse_template(r.template_body().unwrap_or_default()).unwrap();
            let resources = template["Resources"].as_object().unwrap();
            let ids: Vec<_> = r
                .resources_to_import()
                .iter()
                .map(|i| (i.logical_resource_id().unwrap_or_default(), identifier(i)))
                .collect();
            r.change_set_type() == Some(&ChangeSetType::Import)
                && ids
                    == [
                        ("Bucket", vec![("BucketName".into(), BUCKET.into())]),
                        (
                            "BucketNameParameter",
                            vec![("Name".into(), "/buckets/staging".into())],
                        ),
                    ]
                && resources.len() == 2
                && resources.values().all(|r| {
                    r["DeletionPolicy"] == "Retain" && r["UpdateReplacePolicy"] == "Retain"
                })
                && template["Resources"]["BucketNameParameter"]["Properties"]["Value"] == BUCKET
                && template.get("Outputs").is_none()
                && r.parameters().is_empty()
        })
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id(IMPORT_ARN)
                .stack_id(STACK_ID)
                .build()
        })
}

fn import_change(logical: &str, rtype: &str, physical: &str, action: ChangeAction) -> Change {
    Change::builder()
        .r#type(ChangeType::Resource)
        .resource_change(
            ResourceChange::builder()
                .action(action)
                .logical_resource_id(logical)
                .physical_resource_id(physical)
                .resource_type(rtype)
                .build(),
        )
        .build()
}

pub(super) fn import_described(action: ChangeAction) -> Rule {
    mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(IMPORT_ARN))
        .then_output(move || {
            let mut out = change_set(
                ChangeSetStatus::CreateComplete,
                vec![
                    import_change("Bucket", "AWS::S3::Bucket", BUCKET, action.clone()),
                    import_change(
                        "BucketNameParameter",
                        "AWS::SSM::Parameter",
                        "/buckets/staging",
                        action.clone(),
                    ),
                ],
                None,
            );
            out.change_set_id = Some(IMPORT_ARN.into());
            out
        })
}

async fn plan(cf: &Client, target: &StackTarget) -> Result<TargetPlan, StackFailure> {
    plan_region(
        cf,
        &PlanInput {
            target,
            principals: None,
            polling: Polling::immediate(),
            parameter_in_ssm: Some(BUCKET.into()),
        },
    )
    .await
}

/// The plan for an adopted bucket and its parameter with no stack yet, fresh or read back
/// from a plan file: the imports first, then the update predicted from the templates.
const IMPORT_THEN_UPDATE: [(ChangeKind, &str, Option<&str>); 5] = [
    (
        ChangeKind::Import,
        "Bucket",
        Some("import: bucket hand-made-bucket"),
    ),
    (
        ChangeKind::Import,
        "BucketNameParameter",
        Some("import: parameter /buckets/staging"),
    ),
    (ChangeKind::Modify, "Bucket", None),
    (ChangeKind::Modify, "BucketNameParameter", None),
    (ChangeKind::Add, "ReadPolicy", None),
];

pub(super) fn summary(p: &TargetPlan) -> Vec<(ChangeKind, &str, Option<&str>)> {
    p.changes
        .iter()
        .map(|c| (c.action, c.logical_id.as_str(), c.cause.as_deref()))
        .collect()
}

#[tokio::test]
async fn an_adopted_bucket_without_a_stack_is_planned_as_an_import_then_the_update() {
    let (describe, create, described) = (
        no_stack(),
        import_requested(),
        import_described(ChangeAction::Import),
    );
    let cf = cloudformation(&[&describe, &create, &described]);
    let p = plan(&cf, &adopted_target()).await.unwrap();
    assert_eq!(p.action, Action::Create);
    let cs = p.change_set();
    assert!(cs.import && cs.created_review_stack);
    assert_eq!(cs.change_set_arn.as_deref(), Some(IMPORT_ARN));
    assert_eq!(summary(&p), IMPORT_THEN_UPDATE);
    // The data-loss guard counts an import as safe.
    assert!(p.data_loss(&Target::region(REGION)).is_empty());
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test]
async fn an_endpoint_without_import_is_refused_at_plan_and_its_change_set_discarded() {
    // moto takes an IMPORT change set for a CREATE: its changes are additions.
    let (describe, create, described) = (
        no_stack(),
        import_requested(),
        import_described(ChangeAction::Add),
    );
    let delete_cs = mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some(IMPORT_ARN))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let delete_stack = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| DeleteStackOutput::builder().build());
    let cf = cloudformation(&[&describe, &create, &described, &delete_cs, &delete_stack]);
    let err = plan(&cf, &adopted_target()).await.unwrap_err();
    assert_eq!(
        err.failure.message,
        "eu-west-1: the IMPORT change set for bucket hand-made-bucket in stack artifact-storage answered `add` instead of `import`: this endpoint does not implement resource import"
    );
    // The empty stack the change set made goes with it.
    assert_eq!((delete_cs.num_calls(), delete_stack.num_calls()), (1, 1));
}

#[test]
fn the_import_template_keeps_the_deployed_stack_and_adds_only_retained_imports() {
    let deployed = parse_template(
        "Parameters: {P: {Type: String}}\nResources:\n  Log: {Type: AWS::S3::Bucket}\nOutputs:\n  O: {Value: !Ref Log}\n",
    )
    .unwrap();
    let imports = crate::deploy::cloudformation::import::wanted(
        &adopted_target(),
        &parse_template(RENDERED).unwrap(),
        &deployed,
        None,
    );
    // Without the parameter in SSM only the bucket is imported (the update creates it).
    assert_eq!(imports.len(), 1);
    let t: Value = serde_json::from_str(&import_template(&deployed, &imports)).unwrap();
    assert_eq!(t["Outputs"], deployed["Outputs"]);
    assert_eq!(t["Parameters"], deployed["Parameters"]);
    assert_eq!(t["Resources"]["Log"], deployed["Resources"]["Log"]);
    assert_eq!(
        t["Resources"]["Bucket"],
        json!({"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {"BucketName": BUCKET}})
    );
    // The update then modifies the imported bucket, adds the rest and removes Log.
    let update = update_changes(
        &deployed,
        &["Bucket".into()],
        &parse_template(RENDERED).unwrap(),
    );
    let kinds: Vec<_> = update
        .iter()
        .map(|c| (c.action, c.logical_id.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ChangeKind::Modify, "Bucket"),
            (ChangeKind::Add, "BucketNameParameter"),
            (ChangeKind::Add, "ReadPolicy"),
            (ChangeKind::Remove, "Log"),
        ]
    );
    // A stack that already manages the bucket imports nothing.
    let managed = parse_template("Resources: {Bucket: {Type: AWS::S3::Bucket}}").unwrap();
    let none = crate::deploy::cloudformation::import::wanted(
        &adopted_target(),
        &parse_template(RENDERED).unwrap(),
        &managed,
        Some(BUCKET),
    );
    assert!(none.is_empty());
}

/// The plan `plan` makes for a region without a stack (as in the first test).
pub(super) fn import_plan() -> TargetPlan {
    let mut changes = vec![crate::deploy::model::ResourceChange::new(
        ChangeKind::Import,
        "AWS::S3::Bucket",
        "Bucket",
    )];
    changes[0].physical_id = Some(BUCKET.into());
    changes.push(crate::deploy::model::ResourceChange::new(
        ChangeKind::Modify,
        "AWS::S3::Bucket",
        "Bucket",
    ));
    TargetPlan {
        stack_name: STACK.into(),
        action: Action::Create,
        engine: crate::deploy::model::EnginePlan::CloudFormation(
            crate::deploy::model::ChangeSetPlan {
                change_set_arn: Some(IMPORT_ARN.into()),
                stack_id: Some(STACK_ID.into()),
                created_review_stack: true,
                import: true,
                ..Default::default()
            },
        ),
        changes,
        security: vec![],
    }
}

#[tokio::test]
async fn a_saved_import_plan_is_read_back_with_its_imports_then_the_update() {
    use crate::deploy::cloudformation::saved::{ChangeSetRecord, load_region};
    use crate::deploy::planfile::SavedTarget;
    let target = adopted_target();
    let record = ChangeSetRecord::of(import_plan().change_set(), &target);
    let saved = SavedTarget {
        region: REGION.into(),
        account: None,
        action: Action::Create,
        payload: record.payload(),
    };
    let record = ChangeSetRecord::read(&saved).unwrap();
    assert!(record.import, "the plan file records the import");
    // The IMPORT change set made the stack (REVIEW_IN_PROGRESS); it is still executable.
    let st = mock!(Client::describe_stacks).then_output(|| stacks(StackStatus::ReviewInProgress));
    let described = import_described(ChangeAction::Import);
    let cf = cloudformation(&[&st, &described]);
    let input = PlanInput {
        target: &target,
        principals: None,
        polling: Polling::immediate(),
        parameter_in_ssm: None,
    };
    let loaded = load_region(&cf, &saved, &record, &input).await.unwrap();
    assert!(loaded.change_set().import);
    assert_eq!(summary(&loaded), IMPORT_THEN_UPDATE);
}
