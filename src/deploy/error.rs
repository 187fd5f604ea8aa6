//! What stops a deploy command as a whole (one region's failure is a `model::StackFailure`).

use crate::aws::AwsError;
use crate::exit::{Classify, Exit, UsageError};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Prompt(#[from] crate::ui::PromptError),
    #[error(transparent)]
    Output(#[from] crate::ui::OutputError),
    /// The Terraform engine could not run Terraform, or Terraform failed as a whole.
    #[error(transparent)]
    Terraform(#[from] crate::terraform::TerraformError),
    /// A name in an access list that IAM does not know, or cannot be looked up.
    #[error("{0}")]
    Principal(Box<PrincipalProblem>),
    #[error(
        "cannot determine the deploying identity (sts:GetCallerIdentity in {}): {}", .0.region(), .0
    )]
    Identity(AwsError),
    /// The plan file cannot be read or is not a plan.
    #[error("{path}: {message}")]
    PlanFile { path: PathBuf, message: String },
    /// The plan file no longer describes what `apply` would do.
    #[error("{path}: the plan is stale: {reason}")]
    StalePlan { path: PathBuf, reason: String },
    /// A change that removes or replaces a bucket, a key, the bucket-name parameter or a
    /// managed policy, without `--allow-replace` (the data-loss guard).
    #[error("refusing to remove or replace {}: a removed or replaced bucket or key loses its data (or is orphaned), the bucket-name parameter is what every client reads, and a replaced managed policy gets a new ARN that nothing is attached to", .items.join(", "))]
    ReplacementRefused { items: Vec<String> },
    /// The user answered no.
    #[error("{0} cancelled; nothing was changed")]
    Cancelled(&'static str),
    #[error("writing {path}: {message}")]
    WritePlan { path: PathBuf, message: String },
    #[error("the plan has failed regions ({}); not writing {path}", .regions.join(", "))]
    IncompletePlan { path: PathBuf, regions: Vec<String> },
    /// The stack set as a whole (StackSets): an operation already running, a role, ...
    #[error(transparent)]
    StackSet(#[from] crate::stacksets::StackSetError),
    /// The organisation (StackSets): an OU that does not exist, an account outside it, ...
    #[error(transparent)]
    Organization(#[from] crate::org_accounts::OrgAccountsError),
}

impl Classify for DeployError {
    fn exit(&self) -> Exit {
        match self {
            DeployError::Config(e) => e.exit(),
            DeployError::Render(e) => e.exit(),
            DeployError::Usage(e) => e.exit(),
            DeployError::Prompt(e) => e.exit(),
            DeployError::Output(e) => e.exit(),
            DeployError::Terraform(e) => e.exit(),
            DeployError::StackSet(e) => e.exit(),
            DeployError::Organization(e) => e.exit(),
            DeployError::PlanFile { .. } => Exit::Invalid,
            _ => Exit::Failure,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            DeployError::Config(e) => e.hint(),
            DeployError::Render(e) => e.hint(),
            DeployError::Usage(e) => e.hint(),
            DeployError::Prompt(e) => e.hint(),
            DeployError::Terraform(e) => e.hint(),
            DeployError::StackSet(e) => e.hint(),
            DeployError::Organization(e) => e.hint(),
            DeployError::Principal(p) if p.missing() => Some(format!(
                "create it first, or remove it from `{}` in the configuration",
                p.list
            )),
            DeployError::StalePlan { .. } => Some(
                "run `provision plan --out FILE` again, review it, then `provision apply FILE`"
                    .into(),
            ),
            DeployError::ReplacementRefused { .. } => Some(
                "keep the logical IDs and create-only properties of what exists (`provision adopt` writes a configuration that does), or pass --allow-replace if the loss is intended".into(),
            ),
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
    pub account: String,
    /// IAM's answer to the look-up (`iam:GetRole`, `iam:GetUser`).
    pub error: AwsError,
}

impl PrincipalProblem {
    /// IAM answered that it does not exist (otherwise the look-up itself failed).
    pub fn missing(&self) -> bool {
        self.error.is_not_found()
    }
}

impl std::fmt::Display for PrincipalProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let PrincipalProblem {
            list,
            kind,
            name,
            account,
            error,
        } = self;
        let operation = error.operation;
        if self.missing() {
            let message = error.message().unwrap_or("NoSuchEntity");
            write!(
                f,
                "{list}: {kind} `{name}` does not exist in account {account} ({operation}: {message})"
            )
        } else {
            write!(
                f,
                "{list}: cannot look up {kind} `{name}` ({operation}): {error}"
            )
        }
    }
}
