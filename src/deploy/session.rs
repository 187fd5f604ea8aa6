//! A deploy command's session: the configuration, the selected regions, the AWS clients,
//! and the stack each region should have.

use super::error::{DeployError, RegionFailure};
use super::model::Principals;
use super::principals;
use super::wait;
use crate::aws::Clients;
use crate::config::Config;
use crate::context::Context;
use crate::exit::UsageError;
use crate::render::{self, PRINCIPALS_PARAMETER, Templates};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How many regions are planned (and read) at once: plans only read and compute.
pub const PLAN_CONCURRENCY: usize = 16;

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

    /// A failure of this region: `message` is an error or its text.
    pub fn failure(&self, message: impl std::fmt::Display) -> RegionFailure {
        RegionFailure::new(&self.region, &self.stack_name, message.to_string())
    }
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The regions a command works on: `--region` (each must be in the configuration), else all,
/// in the configuration's order.
pub fn select_regions(cfg: &Config, wanted: &[String]) -> Result<Vec<String>, UsageError> {
    for w in wanted {
        if !cfg.regions.contains(w) {
            return Err(UsageError::new(format!(
                "--region {w}: not one of the configuration's regions ({})",
                cfg.regions.join(", ")
            ))
            .with_hint("add it to `regions` in the configuration first"));
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
    principals: Option<&Principals>,
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

/// Everything a multi-region command needs: configuration, regions, AWS clients.
pub struct Session {
    pub cfg: Config,
    pub regions: Vec<String>,
    pub clients: Clients,
}

impl Session {
    /// Loads the configuration, selects the regions and opens the client source (the home
    /// region's credential chain, the configuration's endpoints).
    pub async fn open(ctx: &Context, wanted: &[String]) -> Result<Session, DeployError> {
        let cfg = ctx.config()?;
        let regions = select_regions(&cfg, wanted)?;
        let clients = ctx.clients.open(cfg.home_region(), &cfg.endpoints).await;
        Ok(Session {
            cfg,
            regions,
            clients,
        })
    }

    pub fn cloudformation(&self, region: &str) -> aws_sdk_cloudformation::Client {
        self.clients.cloudformation(region)
    }

    /// Runs `task` in every selected region with that region's CloudFormation client, at most
    /// [`PLAN_CONCURRENCY`] at once; the results in the order of the regions.
    pub async fn for_each_stack<T, F, Fut>(&self, task: F) -> Vec<(String, T)>
    where
        F: Fn(String, aws_sdk_cloudformation::Client) -> Fut,
        Fut: Future<Output = T>,
    {
        crate::aws::for_each_region(&self.regions, PLAN_CONCURRENCY, |region| {
            let cf = self.cloudformation(&region);
            task(region, cf)
        })
        .await
    }

    /// Poll intervals for a region: short against an emulator (endpoint override) or a test
    /// plug, the production ones against AWS.
    pub fn polling(&self, region: &str) -> wait::Polling {
        if self.clients.is_local(region) {
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
    ) -> Result<(Vec<Target>, Option<Principals>), DeployError> {
        let templates = Templates::load(templates_dir)?;
        let rendered: Vec<_> = render::cloudformation(&self.cfg, &templates)?
            .into_iter()
            .filter(|t| self.regions.contains(&t.region))
            .collect();
        let principals = if rendered.iter().any(|t| t.needs_principals) {
            let home = self.cfg.home_region();
            Some(
                principals::resolve(
                    &self.clients.iam(home),
                    &self.clients.sts(home),
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
