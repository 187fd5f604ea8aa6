//! What one region holds: the organisation configuration parameter, the bucket-name
//! parameter, the bucket, the stack that owns the bucket and the guide's managed policies in
//! it. Read-only: only Get/Head/Describe calls.

use crate::aws::ssm::get_parameter;
use crate::aws::{AwsError, Clients, ErrorKind, SdkResultExt};
use crate::startifact::document::OrgConfig;
use serde::Serialize;

/// One region's findings.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Found {
    pub region: String,
    /// The organisation configuration, parsed as Startifact reads it.
    #[serde(skip)]
    pub configuration: Option<OrgConfig>,
    pub configuration_found: bool,
    /// The bucket-name parameter's name and value.
    pub bucket_parameter: String,
    pub bucket: Option<String>,
    /// Whether the bucket named by the parameter exists (and is this account's).
    pub bucket_exists: bool,
    /// The bucket was named with `--bucket`, not by the bucket-name parameter.
    pub bucket_given: bool,
    pub stack: Option<OwningStack>,
}

/// The stack that owns the bucket.
#[derive(Debug, Clone, Default, Serialize, PartialEq, schemars::JsonSchema)]
pub struct OwningStack {
    pub name: String,
    pub status: String,
    /// Logical IDs by role: bucket, bucket-name parameter, read, write, configure policy.
    pub bucket_id: String,
    pub parameter_id: Option<String>,
    /// (role `read`/`write`/`configure`, logical ID, description).
    pub policies: Vec<(String, String, Option<String>)>,
}

/// Why a region could not be discovered: an AWS error, or what the issue calls bad input.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DiscoverError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("{0}")]
    Refused(String),
}

/// Where to look in a region: the organisation configuration parameter, the bucket-name
/// parameter when the configuration does not name one, and a bucket named with `--bucket`.
#[derive(Debug, Clone, Copy)]
pub struct Look<'a> {
    pub parameter: &'a str,
    pub bucket_parameter: &'a str,
    pub bucket: Option<&'a str>,
}

/// Discovers `region`.
pub async fn region(
    clients: &Clients,
    region: &str,
    look: Look<'_>,
) -> Result<Found, DiscoverError> {
    let Look {
        parameter,
        bucket_parameter,
        bucket: given,
    } = look;
    let ssm = clients.ssm_reads(region);
    let mut found = Found {
        region: region.to_string(),
        ..Found::default()
    };
    if let Some(text) = get_parameter(&ssm, parameter).await? {
        let parsed = OrgConfig::parse(&text).map_err(|e| {
            DiscoverError::Refused(format!(
                "{region}: parameter {parameter} is not Startifact's configuration: {e}"
            ))
        })?;
        found.configuration_found = true;
        found.configuration = Some(parsed);
    }
    found.bucket_parameter = found
        .configuration
        .as_ref()
        .map(|c| c.bucket_name_param.clone())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| bucket_parameter.to_string());
    found.bucket = get_parameter(&ssm, &found.bucket_parameter).await?;
    if let Some(given) = given {
        // The parameter is what Startifact reads: importing another bucket would redirect it.
        if let Some(named) = found.bucket.as_deref().filter(|b| *b != given) {
            return Err(DiscoverError::Refused(format!(
                "{region}: --bucket {given}, but parameter {} names bucket {named}: Startifact uses the parameter's bucket; adopt that one, or change the parameter first",
                found.bucket_parameter
            )));
        }
        found.bucket = Some(given.to_string());
        found.bucket_given = true;
    }
    let Some(bucket) = found.bucket.clone() else {
        return Ok(found);
    };
    found.bucket_exists = bucket_exists(clients, region, &bucket, &found).await?;
    if found.bucket_exists {
        found.stack = owning_stack(clients, region, &bucket).await?;
    }
    Ok(found)
}

/// Whether the bucket exists (HeadBucket). A bucket this account may not read is refused, and
/// so is a missing bucket named with `--bucket`; a missing bucket named by the parameter is
/// reported.
async fn bucket_exists(
    clients: &Clients,
    region: &str,
    bucket: &str,
    found: &Found,
) -> Result<bool, DiscoverError> {
    let named_by = if found.bucket_given {
        "--bucket names".to_string()
    } else {
        format!("parameter {} names", found.bucket_parameter)
    };
    let s3 = clients.s3_reads(region);
    match s3
        .head_bucket()
        .bucket(bucket)
        .send()
        .await
        .classify("s3:HeadBucket", &s3)
    {
        Ok(out) => match out.bucket_region() {
            // A bucket is imported into a stack of its own region only.
            Some(other) if other != region => Err(DiscoverError::Refused(format!(
                "{region}: {named_by} bucket {bucket}, which is in {other}: a bucket is adopted in its own region"
            ))),
            _ => Ok(true),
        },
        Err(e) if e.kind == ErrorKind::NotFound && found.bucket_given => {
            Err(DiscoverError::Refused(format!(
                "{region}: {named_by} bucket {bucket}, which does not exist"
            )))
        }
        Err(e) if e.kind == ErrorKind::NotFound => Ok(false),
        Err(e) if e.kind == ErrorKind::AccessDenied => Err(DiscoverError::Refused(format!(
            "{region}: {named_by} bucket {bucket}, which this account may not read: a bucket in another account cannot be adopted"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The stack whose resource the bucket is (DescribeStackResources on the bucket's name).
async fn owning_stack(
    clients: &Clients,
    region: &str,
    bucket: &str,
) -> Result<Option<OwningStack>, DiscoverError> {
    let cf = clients.cloudformation(region);
    let Some((name, bucket_id)) = find_owner(&cf, bucket).await? else {
        return Ok(None);
    };
    let mut stack = OwningStack {
        name: name.clone(),
        bucket_id,
        ..OwningStack::default()
    };
    let described = cf
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await
        .classify("cloudformation:DescribeStacks", &cf)?;
    stack.status = described
        .stacks()
        .first()
        .and_then(|s| s.stack_status())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    if stack.status.ends_with("_IN_PROGRESS") || stack.status == "UPDATE_ROLLBACK_FAILED" {
        return Err(DiscoverError::Refused(format!(
            "{region}: stack {name} owns bucket {bucket} but is {}: it cannot be updated until that is resolved (continue or complete the rollback first)",
            stack.status
        )));
    }
    let resources = cf
        .describe_stack_resources()
        .stack_name(&name)
        .send()
        .await
        .classify("cloudformation:DescribeStackResources", &cf)?;
    let iam = clients.iam(region);
    for r in resources.stack_resources() {
        let id = r.logical_resource_id().unwrap_or_default().to_string();
        match r.resource_type() {
            Some("AWS::SSM::Parameter") => stack.parameter_id = Some(id),
            Some("AWS::IAM::ManagedPolicy") => {
                let arn = r.physical_resource_id().unwrap_or_default();
                let description = iam
                    .get_policy()
                    .policy_arn(arn)
                    .send()
                    .await
                    .classify("iam:GetPolicy", &iam)?
                    .policy
                    .and_then(|p| p.description);
                if let Some(role) = policy_role(&id, description.as_deref()) {
                    stack.policies.push((role.to_string(), id, description));
                }
            }
            _ => {}
        }
    }
    stack.policies.sort();
    Ok(Some(stack))
}

/// The stack and logical ID of the bucket `bucket`. DescribeStackResources by physical ID
/// answers directly on AWS; where it does not (no stack has it, or an emulator that ignores
/// the physical ID), the region's live stacks are searched, so that a bucket found nowhere is
/// certainly unowned.
async fn find_owner(
    cf: &aws_sdk_cloudformation::Client,
    bucket: &str,
) -> Result<Option<(String, String)>, AwsError> {
    let is_bucket = |r: &aws_sdk_cloudformation::types::StackResource| {
        r.resource_type() == Some("AWS::S3::Bucket") && r.physical_resource_id() == Some(bucket)
    };
    let direct = cf
        .describe_stack_resources()
        .physical_resource_id(bucket)
        .send()
        .await
        .classify("cloudformation:DescribeStackResources", cf);
    if let Ok(out) = &direct
        && let Some(r) = out.stack_resources().iter().find(|r| is_bucket(r))
    {
        let name = r.stack_name().unwrap_or_default().to_string();
        return Ok(Some((
            name,
            r.logical_resource_id().unwrap_or_default().to_string(),
        )));
    }
    match direct {
        Err(e) if !matches!(e.kind, ErrorKind::NotFound | ErrorKind::Other) => return Err(e),
        _ => {}
    }
    let mut pages = cf.list_stacks().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.classify("cloudformation:ListStacks", cf)?;
        for summary in page.stack_summaries() {
            let status = summary
                .stack_status()
                .map(|s| s.as_str())
                .unwrap_or_default();
            if status == "DELETE_COMPLETE" {
                continue;
            }
            let Some(name) = summary.stack_name() else {
                continue;
            };
            // A stack deleted since the listing has nothing to own.
            let resources = match cf
                .describe_stack_resources()
                .stack_name(name)
                .send()
                .await
                .classify("cloudformation:DescribeStackResources", cf)
            {
                Err(e) if e.kind == ErrorKind::NotFound => continue,
                r => r?,
            };
            if let Some(r) = resources.stack_resources().iter().find(|r| is_bucket(r)) {
                return Ok(Some((
                    name.to_string(),
                    r.logical_resource_id().unwrap_or_default().to_string(),
                )));
            }
        }
    }
    Ok(None)
}

/// Which of Startifact's policies this is: by the guide's description, else its logical ID.
fn policy_role(logical_id: &str, description: Option<&str>) -> Option<&'static str> {
    let d = description.unwrap_or_default().to_ascii_lowercase();
    let id = logical_id.to_ascii_lowercase();
    if d.starts_with("read-only") || id.contains("read") {
        Some("read")
    } else if d.starts_with("write-only") || id.contains("write") {
        Some("write")
    } else if d.contains("configure") || id.contains("configure") {
        Some("configure")
    } else {
        None
    }
}
