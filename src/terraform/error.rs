//! What can go wrong driving Terraform, per region where Terraform says which, with the
//! exit code and hint each failure gets.

use super::events::{Diagnostic, LockInfo};
use crate::exit::{Classify, Exit};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TerraformError {
    #[error(
        "no Terraform binary: --terraform and PROVISION_TERRAFORM are not set, and neither `terraform` nor `tofu` is in a directory of PATH ({searched})"
    )]
    NotFound { searched: String },
    #[error("{}: not an executable file", path.display())]
    NotExecutable { path: PathBuf },
    #[error("{}: {flavour} {found} is too old: {required} or newer is needed, because {why}", binary.display())]
    TooOld {
        binary: PathBuf,
        flavour: &'static str,
        found: String,
        required: String,
        why: &'static str,
    },
    #[error("{}: cannot tell its version: {message}", binary.display())]
    Version { binary: PathBuf, message: String },
    #[error("cannot run {}: {source}", binary.display())]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: this Terraform working directory belongs to {}, not to {}: two configurations would share one state",
        dir.display(), owner.display(), config.display()
    )]
    WorkDirOwned {
        dir: PathBuf,
        owner: PathBuf,
        config: PathBuf,
    },
    #[error(
        "{}: the directory is not empty and provision did not create it (no {marker})",
        dir.display()
    )]
    WorkDirForeign {
        dir: PathBuf,
        /// The marker file provision writes into the directories it creates.
        marker: &'static str,
    },
    #[error("{}: not a marker provision wrote: {message}", path.display())]
    WorkDirMarker { path: PathBuf, message: String },
    #[error("{}: {context}: {source}", path.display())]
    Io {
        path: PathBuf,
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("terraform {command} failed{}", failure_text(errors, stderr))]
    Command {
        command: String,
        errors: Vec<RegionDiagnostic>,
        stderr: String,
    },
    #[error(
        "the Terraform state is locked (lock {}, held by {} since {}, operation {}, path {}){}",
        lock.id, lock.who, lock.created, lock.operation, lock.path,
        if lock.reason.is_empty() { String::new() } else { format!(": {}", lock.reason) }
    )]
    StateLocked { lock: Box<LockInfo> },
    #[error(
        "terraform {command} was interrupted: Terraform stopped after the operations under way, wrote the state and released its lock"
    )]
    Interrupted { command: String },
    #[error("terraform {command} printed what provision cannot read: {message}")]
    Output { command: String, message: String },
    #[error("{}: the Terraform state is unreadable, {message}; nothing was run or written", path.display())]
    CorruptState { path: PathBuf, message: String },
    /// Terraform refused a saved plan: the state changed since it was made.
    #[error("terraform apply refused the saved plan: {detail}")]
    StalePlan { detail: String },
}

/// An error diagnostic with the region of the resource it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionDiagnostic {
    pub region: Option<String>,
    pub diagnostic: Diagnostic,
}

impl std::fmt::Display for RegionDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(region) = &self.region {
            write!(f, "{region}: ")?;
        }
        if let Some(address) = &self.diagnostic.address {
            write!(f, "{address}: ")?;
        }
        write!(f, "{}", self.diagnostic.text())
    }
}

fn failure_text(errors: &[RegionDiagnostic], stderr: &str) -> String {
    if !errors.is_empty() {
        let lines: Vec<String> = errors.iter().map(|e| format!("\n  {e}")).collect();
        return format!(":{}", lines.concat());
    }
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(
            ": {}",
            stderr
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n  ")
        )
    }
}

impl Classify for TerraformError {
    fn exit(&self) -> Exit {
        match self {
            TerraformError::NotFound { .. }
            | TerraformError::NotExecutable { .. }
            | TerraformError::TooOld { .. }
            | TerraformError::WorkDirOwned { .. }
            | TerraformError::WorkDirForeign { .. }
            | TerraformError::WorkDirMarker { .. }
            | TerraformError::CorruptState { .. } => Exit::Invalid,
            _ => Exit::Failure,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            TerraformError::NotFound { .. } | TerraformError::NotExecutable { .. } => Some(
                "install Terraform (https://developer.hashicorp.com/terraform/install) or OpenTofu, or pass its path with --terraform PATH (PROVISION_TERRAFORM)".into(),
            ),
            TerraformError::TooOld { .. } => Some("install a newer Terraform, or point --terraform at one".into()),
            TerraformError::WorkDirOwned { .. } => Some(
                "give this configuration its own stack_name, or move one of the configuration files to its own directory".into(),
            ),
            TerraformError::WorkDirForeign { .. } | TerraformError::WorkDirMarker { .. } => Some(
                "move the directory away: provision creates and owns its working directory".into(),
            ),
            TerraformError::CorruptState { path, .. } => Some(format!(
                "restore it (Terraform keeps the previous state in {}.backup), or fix it by hand; provision will not overwrite it",
                path.display()
            )),
            TerraformError::StalePlan { .. } => Some(
                "run `provision plan --out FILE` again, review it, then `provision apply FILE`".into(),
            ),
            TerraformError::StateLocked { .. } => Some(
                "another run holds the lock: wait for it to finish; if none is running (it was killed), `terraform force-unlock LOCK_ID` in the working directory releases it".into(),
            ),
            _ => None,
        }
    }
}
