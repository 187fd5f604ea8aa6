//! Rendering: CloudFormation (one stack per region), Terraform (one root module) and the IAM
//! policy documents, from Handlebars templates embedded in the binary.
//!
//! STUB: the minimal API the deploy engine codes against. The full renderer replaces the
//! bodies, keeping these signatures.

use crate::Context;
use crate::config::Config;
use crate::error::{Classify, Error, Exit};
use std::path::Path;

/// Name of the CloudFormation stack parameter that carries the cStore-style allowed
/// `aws:userId` patterns (`AROA…:*`, `AROA…:session`, `AIDA…`, the account ID). Present only
/// when the configuration has access lists; `plan` fills it after resolving names through IAM.
pub const PRINCIPALS_PARAMETER: &str = "AllowedUserIds";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("not implemented yet: {0}")]
    NotImplemented(&'static str),
}

impl Classify for RenderError {}

/// The template set: embedded templates, optionally overridden from a directory.
#[derive(Debug, Clone, Default)]
pub struct Templates {}

impl Templates {
    pub fn load(_override_dir: Option<&Path>) -> Result<Self, RenderError> {
        Ok(Templates {})
    }
}

/// One region's CloudFormation template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackTemplate {
    pub region: String,
    /// The template body (YAML), already parsed back once.
    pub body: String,
    /// Whether the template declares [`PRINCIPALS_PARAMETER`].
    pub needs_principals: bool,
}

/// Renders the CloudFormation template of every region, in the order of `cfg.regions`.
pub fn cloudformation(
    cfg: &Config,
    _templates: &Templates,
) -> Result<Vec<StackTemplate>, RenderError> {
    Ok(cfg
        .regions
        .iter()
        .map(|region| StackTemplate {
            region: region.clone(),
            body: format!(
                "Description: {org} artifact storage ({region})\nResources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    DeletionPolicy: Retain\n    UpdateReplacePolicy: Retain\n  BucketNameParameter:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: {param}\n      Type: String\n      Value: !Ref Bucket\nOutputs:\n  BucketName:\n    Value: !Ref Bucket\n",
                org = cfg.organisation,
                param = cfg.parameters.bucket_name
            ),
            needs_principals: !cfg.access.is_empty(),
        })
        .collect())
}

pub fn cmd_render(_ctx: &Context, _args: &crate::cli::RenderArgs) -> Result<Exit, Error> {
    Err(RenderError::NotImplemented("render").into())
}
