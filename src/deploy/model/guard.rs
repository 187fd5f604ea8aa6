//! The data-loss guard, engine-neutral: which resources a plan must not remove or replace
//! without `--allow-replace`, and how a refusal names them.
//!
//! A bucket or a key holds data (a removed bucket is deleted or, retained, orphaned; a replaced
//! one is a new, empty bucket); the bucket-name parameter is what every client reads to find
//! the bucket; a managed policy's ARN is what roles and users attach, and a replaced policy
//! has a new ARN nothing is attached to. Each engine names resource types its own way:
//! CloudFormation (and StackSets) `AWS::S3::Bucket`, Terraform `aws_s3_bucket`; both are known
//! here, so every engine maps its changes into the same [`ResourceChange`] and the guard reads
//! them alike.

use super::change::{ChangeKind, ResourceChange};
use crate::runner::Target;
use schemars::JsonSchema;
use serde::Serialize;

/// What a guarded resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Guarded {
    Bucket,
    Key,
    /// The only SSM parameter the storage renders is the bucket-name parameter.
    BucketNameParameter,
    ManagedPolicy,
}

impl Guarded {
    /// The guarded kind of a resource type, in any engine's naming.
    pub fn of(resource_type: &str) -> Option<Guarded> {
        match resource_type {
            "AWS::S3::Bucket" | "aws_s3_bucket" => Some(Guarded::Bucket),
            "AWS::KMS::Key" | "aws_kms_key" => Some(Guarded::Key),
            "AWS::SSM::Parameter" | "aws_ssm_parameter" => Some(Guarded::BucketNameParameter),
            "AWS::IAM::ManagedPolicy" | "aws_iam_policy" => Some(Guarded::ManagedPolicy),
            _ => None,
        }
    }
}

/// One change the guard refuses: a guarded resource removed or (maybe) replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DataLoss {
    pub region: String,
    pub account: Option<String>,
    pub guarded: Guarded,
    pub resource_type: String,
    pub logical_id: String,
    pub action: ChangeKind,
    pub cause: Option<String>,
}

impl std::fmt::Display for DataLoss {
    /// `AWS::S3::Bucket Staging (remove) in eu-west-1`,
    /// `AWS::S3::Bucket Staging (replace: BucketName changed) in eu-west-1`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = Target {
            account: self.account.clone(),
            region: self.region.clone(),
        };
        write!(
            f,
            "{} {} ({}",
            self.resource_type,
            self.logical_id,
            self.action.word()
        )?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
        }
        write!(f, ") in {target}")
    }
}

/// Whether the guard refuses `change`: a guarded resource removed, replaced or maybe replaced.
pub fn refuses(change: &ResourceChange) -> Option<Guarded> {
    let loses = change.action.replaces() || change.action == ChangeKind::Remove;
    loses.then(|| Guarded::of(&change.resource_type)).flatten()
}

/// The changes of one target's plan that the guard refuses.
pub fn data_loss(target: &Target, changes: &[ResourceChange]) -> Vec<DataLoss> {
    changes
        .iter()
        .filter_map(|c| {
            Some(DataLoss {
                region: target.region.clone(),
                account: target.account.clone(),
                guarded: refuses(c)?,
                resource_type: c.resource_type.clone(),
                logical_id: c.logical_id.clone(),
                action: c.action,
                cause: c.cause.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: ChangeKind, resource_type: &str, id: &str) -> ResourceChange {
        ResourceChange::new(action, resource_type, id)
    }

    #[test]
    fn removing_or_replacing_what_holds_data_or_is_referred_to_is_refused() {
        let target = Target::region("eu-west-1");
        let changes = [
            change(ChangeKind::Remove, "AWS::S3::Bucket", "Staging"),
            change(ChangeKind::Replace, "AWS::IAM::ManagedPolicy", "AllowRead"),
            change(
                ChangeKind::MayReplace,
                "AWS::SSM::Parameter",
                "StagingParameter",
            ),
            change(ChangeKind::Remove, "aws_kms_key", "artifacts_eu_west_1"),
            // Modifications, additions and other types pass.
            change(ChangeKind::Modify, "AWS::S3::Bucket", "Staging"),
            change(ChangeKind::Add, "AWS::S3::Bucket", "LogBucket"),
            change(ChangeKind::Remove, "AWS::S3::BucketPolicy", "BucketPolicy"),
            change(ChangeKind::Replace, "AWS::KMS::Alias", "KeyAlias"),
        ];
        let refused: Vec<String> = data_loss(&target, &changes)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            refused,
            [
                "AWS::S3::Bucket Staging (remove) in eu-west-1",
                "AWS::IAM::ManagedPolicy AllowRead (replace) in eu-west-1",
                "AWS::SSM::Parameter StagingParameter (may replace) in eu-west-1",
                "aws_kms_key artifacts_eu_west_1 (remove) in eu-west-1",
            ]
        );
    }

    #[test]
    fn the_refusal_names_the_cause_and_the_account() {
        let mut c = change(ChangeKind::Replace, "AWS::S3::Bucket", "Staging");
        c.cause = Some("BucketName changed".into());
        let target = Target {
            account: Some("111122223333".into()),
            region: "us-east-1".into(),
        };
        let loss = data_loss(&target, &[c]);
        assert_eq!(
            loss[0].to_string(),
            "AWS::S3::Bucket Staging (replace: BucketName changed) in 111122223333/us-east-1"
        );
        assert_eq!(loss[0].guarded, Guarded::Bucket);
    }
}
