//! Deploy: one CloudFormation stack per region, created and updated through change sets, all
//! regions in parallel.
//!
//! Every function that talks to CloudFormation takes the client (`&aws_sdk_cloudformation::Client`)
//! as an argument, so the same code runs against AWS, the moto emulator and
//! `aws-smithy-mocks` sequences (see `tests/`).
//!
//! - [`plan`]: per region a change set (CREATE or UPDATE), waited for and described.
//! - [`apply`]: shows the plan, asks, executes every region ([`execute`]) and reports each.
//! - [`destroy`], [`status`], [`drift`]: the rest of a stack's life.
//! - [`principals`]: cStore-style access lists resolved to IAM unique IDs.
//! - [`security`]: statements and principals added or removed, from the templates.

pub mod apply;
pub mod cfn;
pub mod destroy;
pub mod display;
pub mod drift;
pub mod execute;
pub mod plan;
pub mod planfile;
pub mod principals;
pub mod security;
pub mod status;
pub mod wait;

#[cfg(test)]
mod tests;

use crate::Context;
use crate::config::Config;
use crate::error::{Classify, Error, Exit};
use crate::render::{self, PRINCIPALS_PARAMETER, Templates};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use apply::cmd_apply;
pub use destroy::cmd_destroy;
pub use drift::cmd_drift;
pub use plan::cmd_plan;
pub use status::cmd_status;

/// CloudFormation refuses a `TemplateBody` longer than this (bytes); larger templates must be
/// uploaded to S3 first, which `provision` does not do.
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// A failure confined to one region. The run goes on in the other regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionFailure {
    pub region: String,
    pub stack: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl RegionFailure {
    pub fn new(region: &str, stack: &str, message: impl Into<String>) -> Self {
        RegionFailure {
            region: region.to_string(),
            stack: stack.to_string(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for RegionFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (stack {}): {}",
            self.region, self.stack, self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// A name in an access list that IAM does not know, or cannot be looked up.
    #[error("{0}")]
    Principal(Box<PrincipalProblem>),
    #[error(
        "cannot determine the deploying identity (sts:GetCallerIdentity in {region}): {message}"
    )]
    Identity { region: String, message: String },
    /// The plan file cannot be read or is not a plan.
    #[error("{path}: {message}")]
    PlanFile { path: PathBuf, message: String },
    /// The plan file no longer describes what `apply` would do.
    #[error("{path}: the plan is stale: {reason}")]
    StalePlan { path: PathBuf, reason: String },
    /// A change that replaces a bucket or a key, without `--allow-replace`.
    #[error("refusing to replace {}: replacing a bucket or key loses its data", .items.join(", "))]
    ReplacementRefused { items: Vec<String> },
    /// The user answered no.
    #[error("{0} cancelled; nothing was changed")]
    Cancelled(&'static str),
    /// One region failed (printed per region; the command's exit code says the run failed).
    #[error("{0}")]
    Region(RegionFailure),
    #[error("writing {path}: {message}")]
    WritePlan { path: PathBuf, message: String },
    #[error("the plan has failed regions ({}); not writing {path}", .regions.join(", "))]
    IncompletePlan { path: PathBuf, regions: Vec<String> },
}

impl Classify for DeployError {
    fn exit(&self) -> Exit {
        match self {
            DeployError::PlanFile { .. } => Exit::Invalid,
            _ => Exit::Failure,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            DeployError::Principal(p) if p.missing => Some(format!(
                "create it first, or remove it from `{}` in the configuration",
                p.list
            )),
            DeployError::StalePlan { .. } => Some(
                "run `provision plan --out FILE` again, review it, then `provision apply FILE`"
                    .into(),
            ),
            DeployError::ReplacementRefused { .. } => Some(
                "export the data first, or pass --allow-replace if losing it is intended".into(),
            ),
            DeployError::Region(f) => f.hint.clone(),
            DeployError::IncompletePlan { .. } => Some(
                "fix the failed regions (or leave them out with --region) and plan again".into(),
            ),
            _ => None,
        }
    }
}

/// A principal of an access list that cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalProblem {
    /// The configuration list it came from, e.g. `access.roles`.
    pub list: String,
    /// `role` or `user`.
    pub kind: &'static str,
    pub name: String,
    /// The IAM operation, e.g. `GetRole`.
    pub operation: &'static str,
    /// IAM answered that it does not exist (otherwise the look-up itself failed).
    pub missing: bool,
    pub account: String,
    pub message: String,
}

impl std::fmt::Display for PrincipalProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let PrincipalProblem {
            list,
            kind,
            name,
            operation,
            account,
            message,
            ..
        } = self;
        if self.missing {
            write!(
                f,
                "{list}: {kind} `{name}` does not exist in account {account} (iam:{operation}: {message})"
            )
        } else {
            write!(
                f,
                "{list}: cannot look up {kind} `{name}` (iam:{operation}): {message}"
            )
        }
    }
}

/// What one region's stack should be: the rendered template and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub region: String,
    pub stack_name: String,
    pub template: String,
    /// SHA-256 of `template` (hex), recorded in plan files.
    pub template_sha256: String,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

impl Target {
    pub fn new(
        region: &str,
        stack_name: &str,
        template: &str,
        parameters: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Self {
        Target {
            region: region.to_string(),
            stack_name: stack_name.to_string(),
            template: template.to_string(),
            template_sha256: sha256_hex(template),
            parameters,
            tags,
        }
    }

    pub fn failure(&self, message: impl Into<String>) -> RegionFailure {
        RegionFailure::new(&self.region, &self.stack_name, message)
    }
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The regions a command works on: `--region` (each must be in the configuration), else all,
/// in the configuration's order.
pub fn select_regions(cfg: &Config, wanted: &[String]) -> Result<Vec<String>, Error> {
    for w in wanted {
        if !cfg.regions.contains(w) {
            return Err(Error::Usage {
                message: format!(
                    "--region {w}: not one of the configuration's regions ({})",
                    cfg.regions.join(", ")
                ),
                hint: Some("add it to `regions` in the configuration first".into()),
            });
        }
    }
    Ok(cfg
        .regions
        .iter()
        .filter(|r| wanted.is_empty() || wanted.contains(r))
        .cloned()
        .collect())
}

/// Attaches the parameters to rendered templates: the allowed principals (when the template
/// asks for them) and the configuration's tags.
pub fn targets(
    cfg: &Config,
    rendered: Vec<render::StackTemplate>,
    principals: Option<&principals::Principals>,
) -> Vec<Target> {
    rendered
        .into_iter()
        .map(|t| {
            let mut parameters = BTreeMap::new();
            if t.needs_principals
                && let Some(p) = principals
            {
                parameters.insert(PRINCIPALS_PARAMETER.to_string(), p.parameter_value());
            }
            Target::new(
                &t.region,
                &cfg.stack_name,
                &t.body,
                parameters,
                cfg.tags.clone(),
            )
        })
        .collect()
}

/// Everything a multi-region command needs: configuration, regions, AWS settings.
pub struct Session {
    pub cfg: Config,
    pub regions: Vec<String>,
    pub aws: crate::aws::Aws,
}

impl Session {
    pub async fn open(ctx: &Context, wanted: &[String]) -> Result<Session, Error> {
        let cfg = ctx.config()?;
        if cfg.engine != crate::config::Engine::Cloudformation {
            // Deploying it with CloudFormation instead would ignore the setting silently.
            return Err(Error::Usage {
                message: format!(
                    "{}: `engine: {}`: plan, apply, destroy, status and drift drive CloudFormation only, until that engine is wired into them",
                    ctx.global.file.display(),
                    serde_json::to_value(cfg.engine).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
                ),
                hint: Some(
                    "render the module with `provision render --format terraform` and run Terraform on it (examples/terraform-only.md), or set `engine: cloudformation`".into(),
                ),
            });
        }
        let regions = select_regions(&cfg, wanted)?;
        let aws = ctx.aws_settings(Some(&cfg)).load(cfg.home_region()).await;
        Ok(Session { cfg, regions, aws })
    }

    pub fn cloudformation(&self, region: &str) -> aws_sdk_cloudformation::Client {
        self.aws.cloudformation(region)
    }

    /// Runs `task` in every selected region with that region's CloudFormation client, at most
    /// [`plan::PLAN_CONCURRENCY`] at once; the results in the order of the regions.
    pub async fn for_each_stack<T, F, Fut>(&self, task: F) -> Vec<(String, T)>
    where
        F: Fn(String, aws_sdk_cloudformation::Client) -> Fut,
        Fut: Future<Output = T>,
    {
        crate::aws::for_each_region(&self.regions, plan::PLAN_CONCURRENCY, |region| {
            let cf = self.cloudformation(&region);
            task(region, cf)
        })
        .await
    }

    /// Poll intervals for a region: short against an emulator (endpoint override), the
    /// production ones against AWS.
    pub fn polling(&self, region: &str) -> wait::Polling {
        if self.aws.settings.endpoint(region).is_some() {
            wait::Polling::emulator()
        } else {
            wait::Polling::aws()
        }
    }

    /// Renders the selected regions' templates (once), resolves the access lists when any of
    /// them needs the principals (IAM and STS of the home region), and returns the targets.
    pub async fn targets(
        &self,
        templates_dir: Option<&std::path::Path>,
    ) -> Result<(Vec<Target>, Option<principals::Principals>), Error> {
        let templates = Templates::load(templates_dir)?;
        let rendered: Vec<_> = render::cloudformation(&self.cfg, &templates)?
            .into_iter()
            .filter(|t| self.regions.contains(&t.region))
            .collect();
        let principals = if rendered.iter().any(|t| t.needs_principals) {
            let home = self.cfg.home_region();
            Some(
                principals::resolve(
                    &self.aws.iam(home),
                    &self.aws.sts(home),
                    home,
                    &self.cfg.access,
                )
                .await?,
            )
        } else {
            None
        };
        Ok((
            targets(&self.cfg, rendered, principals.as_ref()),
            principals,
        ))
    }
}

/// Prints one region's failure on stderr (always, even with `-q`), with its hint.
pub fn report_failure(ui: &crate::ui::Ui, failure: &RegionFailure) {
    ui.error(&Error::Deploy(DeployError::Region(failure.clone())));
}
