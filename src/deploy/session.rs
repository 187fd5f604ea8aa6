//! A deploy command's session: the configuration, the selected targets, the AWS clients and the
//! engine that deploys them.

use super::error::DeployError;
use super::model::{EngineKind, Operation};
use crate::aws::Clients;
use crate::cli::{EngineArgs, EngineChoice};
use crate::config::Config;
use crate::context::Context;
use crate::exit::UsageError;
use crate::runner::{self, Target};
use crate::terraform::Interrupt;
use std::path::{Path, PathBuf};

/// How many targets are planned (and read) at once: plans only read and compute.
pub const PLAN_CONCURRENCY: usize = 16;

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

/// What a deploy command asks for: the command, its regions, its engine options, where its
/// templates come from, and the interrupt its Ctrl-C handler triggers.
pub struct Request<'a> {
    pub operation: Operation,
    pub regions: &'a [String],
    pub engine: &'a EngineArgs,
    /// `--templates DIR` (plan, apply): deploy these instead of rendering.
    pub templates: Option<&'a Path>,
    pub interrupt: &'a Interrupt,
}

impl Request<'_> {
    /// plan, apply and destroy change the deployment; status and drift only read it.
    pub fn changes(&self) -> bool {
        matches!(
            self.operation,
            Operation::Plan | Operation::Apply | Operation::Destroy
        )
    }
}

/// What the Terraform engine needs beyond the configuration.
#[derive(Debug, Clone, Default)]
pub struct TerraformOptions {
    /// `--terraform PATH` / `PROVISION_TERRAFORM`.
    pub binary: Option<PathBuf>,
    /// `--endpoint-url` / `AWS_ENDPOINT_URL`: every region's endpoint, passed to Terraform.
    pub endpoint_url: Option<String>,
    /// `--profile` / `AWS_PROFILE`.
    pub profile: Option<String>,
    /// Triggered by the command's Ctrl-C handler: Terraform gets one interrupt.
    pub interrupt: Interrupt,
}

/// Everything a deploy command needs: the configuration, its targets, the AWS clients.
pub struct Session {
    pub cfg: Config,
    /// The configuration file (the Terraform engine's working directory is beside it).
    pub config_file: PathBuf,
    /// The selected targets (account × region), in the configuration's order.
    pub targets: Vec<Target>,
    pub clients: Clients,
    /// The engine: `--engine`, else the configuration's `engine:`.
    pub engine: EngineKind,
    pub terraform: TerraformOptions,
}

impl Session {
    /// Loads the configuration, selects the regions and the engine, and opens the client
    /// source (the home region's credential chain, the configuration's endpoints).
    pub async fn open(ctx: &Context, request: &Request<'_>) -> Result<Session, DeployError> {
        let cfg = ctx.config()?;
        let engine = choose_engine(ctx, &cfg, request.engine.engine)?;
        let regions = select_regions(&cfg, request.regions)?;
        if engine == EngineKind::Terraform && request.changes() && regions.len() < cfg.regions.len()
        {
            return Err(UsageError::new(format!(
                "--region {}: the Terraform engine plans, applies and destroys every region of the configuration at once (one state holds them all)",
                request.regions.join(" --region ")
            ))
            .with_hint("leave out --region; `status` and `drift` take it")
            .into());
        }
        let clients = ctx.clients.open(cfg.home_region(), &cfg.endpoints).await;
        Ok(Session {
            targets: runner::regions(&regions),
            config_file: ctx.global.file.clone(),
            engine,
            terraform: TerraformOptions {
                binary: request.engine.terraform.clone(),
                endpoint_url: ctx.global.endpoint_url.clone(),
                profile: ctx.global.profile.clone(),
                interrupt: request.interrupt.clone(),
            },
            cfg,
            clients,
        })
    }

    /// The subject of the targets' failures: `stack NAME`.
    pub fn subject(&self) -> String {
        format!("stack {}", self.cfg.stack_name)
    }
}

/// `--engine`, else the configuration's.
fn choose_engine(
    _ctx: &Context,
    cfg: &Config,
    flag: Option<EngineChoice>,
) -> Result<EngineKind, DeployError> {
    use crate::config::Engine;
    let chosen = match flag {
        Some(EngineChoice::Cloudformation) => Engine::Cloudformation,
        Some(EngineChoice::Terraform) => Engine::Terraform,
        Some(EngineChoice::Stacksets) => Engine::Stacksets,
        None => cfg.engine,
    };
    Ok(match chosen {
        Engine::Cloudformation => EngineKind::CloudFormation,
        Engine::Terraform => EngineKind::Terraform,
        Engine::Stacksets => EngineKind::StackSets,
    })
}
