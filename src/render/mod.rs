//! Rendering: CloudFormation (one stack per region, or one stack-set template for every
//! account and region), Terraform (one root module) and the IAM policy documents, from
//! Handlebars templates embedded in the binary (`templates/`, `policies/`), each overridable
//! with `--templates DIR`.
//!
//! Handlebars runs in strict mode; every value comes from a context computed in Rust
//! (`context.rs`) and reaches the output through the quoting helpers (`helpers.rs`); every
//! rendered document is parsed back before it is returned, and a failure names the template.

mod cloudformation;
mod command;
mod context;
mod helpers;
mod placeholders;
mod policy;
mod stackset;
mod templates;
mod terraform;
#[cfg(test)]
mod test_config;

pub use command::{Report, STACK_SET_FILE, cmd_render};
pub use context::{identifier, region_suffix};
pub use helpers::{hcl_string, json_string, yaml_scalar};
pub use placeholders::EXAMPLE_ACCOUNT_ID;
pub use policy::PolicyKind;
pub use templates::Templates;

use crate::config::Config;
use crate::exit::{Classify, Exit};
use std::path::PathBuf;

/// Name of the CloudFormation stack parameter that carries the cStore-style allowed
/// `aws:userId` patterns (`AROA…:*`, `AROA…:session`, `AIDA…`, the account ID). Present only
/// when the configuration has access lists; `plan` fills it after resolving names through IAM.
pub const PRINCIPALS_PARAMETER: &str = "AllowedUserIds";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Output(#[from] crate::ui::OutputError),
    #[error("--templates {}: not a directory", path.display())]
    TemplateDir { path: PathBuf },
    #[error("{}: matches no template; the templates are: {known}", path.display())]
    UnknownTemplate { path: PathBuf, known: String },
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{template}: {message}")]
    Template {
        template: String,
        overridden: bool,
        message: String,
    },
    #[error("{template}: the rendered document is not valid {language}: {message}")]
    Parse {
        template: String,
        overridden: bool,
        language: &'static str,
        message: String,
    },
    #[error("{template}: {message}")]
    Placeholder {
        template: String,
        overridden: bool,
        message: String,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Classify for RenderError {
    fn exit(&self) -> Exit {
        match self {
            RenderError::Config(e) => e.exit(),
            RenderError::Output(e) => e.exit(),
            RenderError::TemplateDir { .. } | RenderError::UnknownTemplate { .. } => Exit::Invalid,
            RenderError::Template { overridden, .. }
            | RenderError::Parse { overridden, .. }
            | RenderError::Placeholder { overridden, .. } => {
                if *overridden {
                    Exit::Invalid
                } else {
                    Exit::Failure
                }
            }
            RenderError::Read { .. } | RenderError::Write { .. } => Exit::Failure,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            RenderError::Config(e) => e.hint(),
            RenderError::Template {
                overridden: false, ..
            }
            | RenderError::Parse {
                overridden: false, ..
            }
            | RenderError::Placeholder {
                overridden: false, ..
            } => Some("an embedded template failed: this is a bug in provision, please report it with the configuration".into()),
            RenderError::Template { .. } | RenderError::Parse { .. } | RenderError::Placeholder { .. } => Some(
                "fix the overriding template (docs/templates.md lists the fields each template receives), or remove it to use the embedded one".into(),
            ),
            RenderError::UnknownTemplate { .. } => Some(
                "an override must have the relative path of an embedded template, e.g. DIR/cloudformation/bucket.yaml.hbs".into(),
            ),
            _ => None,
        }
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
    templates: &Templates,
) -> Result<Vec<StackTemplate>, RenderError> {
    cloudformation::render(cfg, templates)
}

/// The stack set's one template (`engine: stacksets`): every region and account resolves its
/// own names through pseudo parameters; the IAM identities exist only in the home region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSetTemplate {
    /// The template body (YAML), already parsed back once.
    pub body: String,
    /// Whether the template declares [`PRINCIPALS_PARAMETER`].
    pub needs_principals: bool,
    /// The region whose stack instances hold the IAM identities.
    pub home_region: String,
}

/// Renders the stack set's template (one for every account and region).
pub fn stack_set(cfg: &Config, templates: &Templates) -> Result<StackSetTemplate, RenderError> {
    stackset::render(cfg, templates)
}

/// One rendered file: its name relative to the output directory, and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub name: String,
    pub content: String,
}

/// Renders the Terraform root module: `main.tf`, `kms.tf`, `variables.tf`,
/// `terraform.tfvars`, `outputs.tf`, each parsed back as HCL.
pub fn terraform(cfg: &Config, templates: &Templates) -> Result<Vec<RenderedFile>, RenderError> {
    terraform::render(cfg, templates)
}

/// The real names of one region's deployment, to resolve the policy documents as AWS holds them.
#[derive(Debug, Clone, Copy)]
pub struct DeployedNames<'a> {
    pub region: &'a str,
    pub account_id: &'a str,
    pub bucket: &'a str,
    /// The log bucket (any name when the configuration has no access logging).
    pub log_bucket: &'a str,
    pub key_arn: Option<&'a str>,
    /// The resolved `aws:userId` patterns of the access lists (empty without access lists).
    pub allowed_user_ids: &'a [String],
}

/// Every policy document of one region as it must read once deployed with `names`: the
/// managed policies, the bucket, key and log-bucket policies (by kind).
pub fn deployed_policies(
    cfg: &Config,
    templates: &Templates,
    names: &DeployedNames<'_>,
) -> Result<Vec<(PolicyKind, serde_json::Value)>, RenderError> {
    policy::deployed_documents(cfg, templates, names)
}

/// Every policy document of the configuration with its placeholders (`arn:${Partition}:s3:::${Bucket}/*`),
/// by kind: what a plan shows of a document whose values are known only after apply.
pub fn policy_templates(
    cfg: &Config,
    templates: &Templates,
) -> Result<Vec<(PolicyKind, serde_json::Value)>, RenderError> {
    Ok(policy::PolicySet::render(cfg, templates)?.documents)
}

/// Renders every IAM document of every region as concrete JSON (`<region>/<kind>.json`):
/// placeholders are replaced by example values (account 123456789012, the region, the
/// bucket's name or an example of a generated one) so that policy linters can read them.
pub fn policies(cfg: &Config, templates: &Templates) -> Result<Vec<RenderedFile>, RenderError> {
    policy::concrete_files(cfg, templates)
}
