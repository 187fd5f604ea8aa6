//! A deploy command's session: the configuration, the selected targets and the AWS clients.

use super::error::DeployError;
use crate::aws::Clients;
use crate::config::Config;
use crate::context::Context;
use crate::exit::UsageError;
use crate::runner::{self, Target};

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

/// Everything a deploy command needs: the configuration, its targets, the AWS clients.
pub struct Session {
    pub cfg: Config,
    /// The selected targets (account × region), in the configuration's order.
    pub targets: Vec<Target>,
    pub clients: Clients,
}

impl Session {
    /// Loads the configuration, selects the regions and opens the client source (the home
    /// region's credential chain, the configuration's endpoints).
    pub async fn open(ctx: &Context, wanted: &[String]) -> Result<Session, DeployError> {
        let cfg = ctx.config()?;
        use crate::config::Engine as Kind;
        if !matches!(cfg.engine, Kind::Cloudformation | Kind::Stacksets) {
            // Deploying it with CloudFormation instead would ignore the setting silently.
            return Err(UsageError::new(format!(
                "{}: `engine: {}`: plan, apply, destroy, status and drift drive CloudFormation and StackSets only, until that engine is wired into them",
                ctx.global.file.display(),
                serde_json::to_value(cfg.engine)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ))
            .with_hint("render the module with `provision render --format terraform` and run Terraform on it (examples/terraform-only.md), or set `engine: cloudformation`")
            .into());
        }
        let regions = select_regions(&cfg, wanted)?;
        let clients = ctx.clients.open(cfg.home_region(), &cfg.endpoints).await;
        Ok(Session {
            targets: runner::regions(&regions),
            cfg,
            clients,
        })
    }

    /// The subject of the targets' failures: `stack NAME`.
    pub fn subject(&self) -> String {
        format!("stack {}", self.cfg.stack_name)
    }
}
