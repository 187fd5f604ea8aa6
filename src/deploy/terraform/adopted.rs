//! Adopted buckets (`adopted.buckets`) brought into the Terraform state with import blocks,
//! decided at plan time from the state and from AWS:
//!
//! - a region's bucket is imported while the state does not hold
//!   `aws_s3_bucket.artifacts_<suffix>`; the bucket must exist (`HeadBucket`): the
//!   configuration says it does, and a typo must not plan a new, empty bucket instead;
//! - the bucket-name parameter is imported while the state does not hold it and SSM has it
//!   (a hand-written parameter: creating it would fail, since it exists);
//! - the bucket's policy, with the bucket, when it has one (`GetBucketPolicy`): so that the
//!   plan's security table lists the statements the bucket loses as well as those it gains;
//! - nothing else: the bucket's other settings (public access block, ownership, encryption,
//!   versioning, lifecycle, CORS, logging) are resources of their own in Terraform, whose
//!   creation writes each setting over what the bucket had (a `Put`): no object is read,
//!   written or deleted, and the plan shows each as `+` (docs/engines.md, "Imports").
//!
//! Once applied, the state holds both, so the next plan hands no import block and stays empty.

use super::imports::ImportBlock;
use crate::aws::{AwsError, Clients, ErrorKind, SdkResultExt};
use crate::config::Config;
use crate::render::region_suffix;
use crate::terraform::{Diagnostic, RawState, RegionDiagnostic, TerraformError};

/// What the state lacks for one adopted region: the resources to import if AWS has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub region: String,
    /// The adopted bucket, when the state does not hold the region's bucket.
    pub bucket: Option<ImportBlock>,
    /// The bucket-name parameter, when the state does not hold it.
    pub parameter: Option<ImportBlock>,
    /// The bucket's policy, if it has one, when the bucket is imported.
    pub policy: Option<ImportBlock>,
}

/// The address of a region's artifact bucket in the rendered module.
pub fn bucket_address(region: &str) -> String {
    format!("aws_s3_bucket.artifacts_{}", region_suffix(region))
}

/// The address of a region's bucket-name parameter in the rendered module.
pub fn parameter_address(region: &str) -> String {
    format!("aws_ssm_parameter.bucket_name_{}", region_suffix(region))
}

/// The address of a region's artifact bucket policy in the rendered module.
pub fn policy_address(region: &str) -> String {
    format!("aws_s3_bucket_policy.artifacts_{}", region_suffix(region))
}

/// Offline: per region of `adopted.buckets`, in the configuration's order, what the state
/// does not hold yet (regions whose state holds both are left out).
pub fn wanted(cfg: &Config, state: Option<&RawState>) -> Vec<Wanted> {
    let held: Vec<String> = state
        .map(|s| s.instances().into_iter().map(|i| i.address).collect())
        .unwrap_or_default();
    let lacks = |address: &str| !held.iter().any(|h| h == address);
    cfg.regions
        .iter()
        .filter_map(|region| {
            let bucket = cfg.adopted_bucket(region)?;
            let w = Wanted {
                region: region.clone(),
                bucket: lacks(&bucket_address(region)).then(|| ImportBlock {
                    address: bucket_address(region),
                    id: bucket.to_string(),
                }),
                parameter: lacks(&parameter_address(region)).then(|| ImportBlock {
                    address: parameter_address(region),
                    id: cfg.parameters.bucket_name.clone(),
                }),
                policy: (lacks(&bucket_address(region)) && lacks(&policy_address(region))).then(
                    || ImportBlock {
                        address: policy_address(region),
                        id: bucket.to_string(),
                    },
                ),
            };
            (w.bucket.is_some() || w.parameter.is_some()).then_some(w)
        })
        .collect()
}

/// The import blocks of the adopted buckets: [`wanted`], checked against AWS. Every region
/// is checked; the regions whose check failed are the error, each named.
pub async fn imports(
    cfg: &Config,
    state: Option<&RawState>,
    clients: &Clients,
) -> Result<Vec<ImportBlock>, TerraformError> {
    let checks = wanted(cfg, state)
        .into_iter()
        .map(|w| async move { (w.region.clone(), check(&w, clients).await) });
    let mut blocks = Vec::new();
    let mut errors = Vec::new();
    for (region, result) in futures_util::future::join_all(checks).await {
        match result {
            Ok(found) => blocks.extend(found),
            Err(message) => errors.push(RegionDiagnostic {
                region: Some(region),
                diagnostic: Diagnostic {
                    severity: "error".into(),
                    summary: message,
                    detail: String::new(),
                    address: None,
                },
            }),
        }
    }
    if errors.is_empty() {
        Ok(blocks)
    } else {
        Err(TerraformError::Command {
            command: "plan (importing the adopted buckets)".into(),
            errors,
            stderr: String::new(),
        })
    }
}

/// One region's imports: the bucket if it exists (else the error) with its policy if it has
/// one, the parameter if SSM has it.
async fn check(w: &Wanted, clients: &Clients) -> Result<Vec<ImportBlock>, String> {
    let mut found = Vec::new();
    if let Some(bucket) = &w.bucket {
        let s3 = clients.s3_reads(w.region.as_str());
        let head = s3
            .head_bucket()
            .bucket(&bucket.id)
            .send()
            .await
            .classify("s3:HeadBucket", &s3);
        match head {
            Ok(_) => found.push(bucket.clone()),
            Err(e) => return Err(missing_bucket(&bucket.id, &w.region, &e)),
        }
        if let Some(policy) = &w.policy {
            let got = s3
                .get_bucket_policy()
                .bucket(&bucket.id)
                .send()
                .await
                .classify("s3:GetBucketPolicy", &s3);
            match got {
                Ok(p) if p.policy().is_some_and(|text| !text.trim().is_empty()) => {
                    found.push(policy.clone());
                }
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    return Err(format!(
                        "cannot read the adopted bucket {}'s policy: {}",
                        bucket.id,
                        e.with_operation()
                    ));
                }
            }
        }
    }
    if let Some(parameter) = &w.parameter {
        let ssm = clients.ssm_reads(w.region.as_str());
        match crate::aws::ssm::get_parameter(&ssm, &parameter.id).await {
            Ok(Some(_)) => found.push(parameter.clone()),
            Ok(None) => {}
            Err(e) => {
                return Err(format!(
                    "cannot tell whether the bucket-name parameter {} exists: {}",
                    parameter.id,
                    e.with_operation()
                ));
            }
        }
    }
    Ok(found)
}

fn missing_bucket(bucket: &str, region: &str, e: &AwsError) -> String {
    match e.kind {
        ErrorKind::NotFound => format!(
            "adopted bucket {bucket} does not exist in {region} (adopted.buckets names an existing bucket to import; remove the entry to have a new bucket made)"
        ),
        ErrorKind::AccessDenied => format!(
            "adopted bucket {bucket} in {region}: access denied ({}); is it another account's bucket?",
            e.with_operation()
        ),
        _ => format!(
            "cannot tell whether the adopted bucket {bucket} exists in {region}: {}",
            e.with_operation()
        ),
    }
}

#[cfg(test)]
#[path = "adopted_tests.rs"]
mod tests;
