//! Replacement predicted by `provision` beside CloudFormation's own answer: a change set that
//! says nothing about replacement (as the emulator always does) or says `False`, while the
//! deployed template and the new one differ in a create-only property.

use super::*;
use crate::deploy::cloudformation::plan::{PlanInput, plan_region};
use crate::deploy::cloudformation::wait::Polling;
use crate::deploy::model::{Action, ChangeKind, EngineKind, PlanReport, StackFailure, TargetPlan};
use crate::ui::Ui;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{ChangeAction, ChangeSetStatus, Parameter, Replacement};
use aws_smithy_mocks::mock;

/// The guide's stack as deployed: CloudFormation named the bucket, the parameter's name is a
/// template parameter.
const DEPLOYED: &str = r#"Parameters:
  BucketParameterName:
    Default: /buckets/staging
    Type: String
Resources:
  Staging:
    Type: AWS::S3::Bucket
  StagingParameter:
    Type: AWS::SSM::Parameter
    Properties:
      Name:
        Ref: BucketParameterName
      Type: String
      Value:
        Ref: Staging
  AllowRead:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Description: Read-only access to staged artifacts
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: [s3:GetObject]
            Resource: !Sub "arn:aws:s3:::${Staging}/*"
"#;

/// A new template that names the bucket and words the policy's description differently:
/// both create-only. The parameter keeps its name, given literally now.
const RENAMING: &str = r#"Resources:
  Staging:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties:
      BucketName: !Sub "acme-${AWS::Region}"
      VersioningConfiguration:
        Status: Enabled
  StagingParameter:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /buckets/staging
      Type: String
      Value: !Ref Staging
  AllowRead:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Description: Read-only access to staged artifacts (eu-west-1)
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: [s3:GetObject]
            Resource: !Sub "arn:aws:s3:::${Staging}/*"
"#;

async fn plan_against(
    deployed: &'static str,
    new: &str,
    cloudformation_says: Vec<(&'static str, &'static str, Option<Replacement>)>,
) -> Result<TargetPlan, StackFailure> {
    let describe = mock!(Client::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                stack_builder(aws_sdk_cloudformation::types::StackStatus::CreateComplete)
                    .parameters(
                        Parameter::builder()
                            .parameter_key("BucketParameterName")
                            .parameter_value("/buckets/staging")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let template = mock!(Client::get_template)
        .then_output(move || GetTemplateOutput::builder().template_body(deployed).build());
    let create = mock!(Client::create_change_set).then_output(created);
    let describe_cs = mock!(Client::describe_change_set).then_output(move || {
        change_set(
            ChangeSetStatus::CreateComplete,
            cloudformation_says
                .iter()
                .map(|(t, id, r)| change(ChangeAction::Modify, t, id, r.clone()))
                .collect(),
            None,
        )
    });
    let cf = cloudformation(&[&describe, &template, &create, &describe_cs]);
    let target = StackTarget::new(REGION, STACK, new, BTreeMap::new(), BTreeMap::new());
    plan_region(
        &cf,
        &PlanInput {
            target: &target,
            principals: None,
            polling: Polling::immediate(),
            parameter_in_ssm: None,
        },
    )
    .await
}

#[tokio::test]
async fn a_change_set_silent_about_replacement_is_overruled_by_the_prediction() {
    let p = plan_against(
        DEPLOYED,
        RENAMING,
        vec![
            // What moto answers: Modify, no Replacement field at all.
            ("AWS::S3::Bucket", "Staging", None),
            ("AWS::SSM::Parameter", "StagingParameter", None),
            // And what AWS might answer where the two disagree.
            (
                "AWS::IAM::ManagedPolicy",
                "AllowRead",
                Some(Replacement::False),
            ),
        ],
    )
    .await
    .unwrap();
    assert_eq!(p.action, Action::Update);
    let seen: Vec<(&str, ChangeKind, Option<&str>, Option<&str>)> = p
        .changes
        .iter()
        .map(|c| {
            (
                c.logical_id.as_str(),
                c.action,
                c.cause.as_deref(),
                c.engine_replacement.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "Staging",
                ChangeKind::Replace,
                Some("BucketName added"),
                None
            ),
            ("StagingParameter", ChangeKind::Modify, None, None),
            (
                "AllowRead",
                ChangeKind::Replace,
                Some("Description changed"),
                Some("False")
            ),
        ]
    );
    // The plan says why, and shows CloudFormation's answer beside the prediction.
    let report = PlanReport::new(STACK, EngineKind::CloudFormation, reports(Ok(p)), None);
    let text = crate::deploy::display::plan_text(&report, &Ui::plain());
    assert!(
        text.contains("Staging  (replaces Staging: BucketName added)"),
        "{text}"
    );
    assert!(
        text.contains(
            "AllowRead  (replaces AllowRead: Description changed; CloudFormation: Replacement False)"
        ),
        "{text}"
    );
    // And the data-loss guard refuses both.
    assert_eq!(
        report.data_loss(),
        [
            "AWS::S3::Bucket Staging (replace: BucketName added) in eu-west-1",
            "AWS::IAM::ManagedPolicy AllowRead (replace: Description changed) in eu-west-1",
        ]
    );
}

#[tokio::test]
async fn hardening_the_guides_stack_in_place_predicts_no_replacement() {
    let hardened = DEPLOYED
        .replace(
            "  Staging:\n    Type: AWS::S3::Bucket\n",
            "  Staging:\n    Type: AWS::S3::Bucket\n    DeletionPolicy: Retain\n    Properties:\n      VersioningConfiguration:\n        Status: Enabled\n",
        )
        .replace("Ref: BucketParameterName", "/buckets/staging");
    let p = plan_against(
        DEPLOYED,
        &hardened,
        vec![
            ("AWS::S3::Bucket", "Staging", None),
            ("AWS::SSM::Parameter", "StagingParameter", None),
        ],
    )
    .await
    .unwrap();
    assert!(
        p.changes
            .iter()
            .all(|c| c.action == ChangeKind::Modify && c.cause.is_none()),
        "{:?}",
        p.changes
    );
    assert!(
        p.data_loss(&crate::runner::Target::region(REGION))
            .is_empty()
    );
}

#[tokio::test]
async fn cloudformations_replacement_stands_where_the_prediction_sees_none() {
    // CloudFormation knows better (a property whose update AWS handles by replacement that the
    // schema does not mark create-only): its `True` is kept, with no predicted cause.
    let p = plan_against(
        DEPLOYED,
        DEPLOYED,
        vec![("AWS::S3::Bucket", "Staging", Some(Replacement::True))],
    )
    .await
    .unwrap();
    assert_eq!(p.changes[0].action, ChangeKind::Replace);
    assert_eq!(p.changes[0].cause, None);
    let report = PlanReport::new(STACK, EngineKind::CloudFormation, reports(Ok(p)), None);
    let text = crate::deploy::display::plan_text(&report, &Ui::plain());
    assert!(
        text.contains("Staging  (replaces Staging; CloudFormation: Replacement True)"),
        "{text}"
    );
}
