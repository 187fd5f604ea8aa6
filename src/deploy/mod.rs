//! Deploy: stub, to be implemented.

use crate::Context;
use crate::error::{Classify, Error, Exit};

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("not implemented yet: {0}")]
    NotImplemented(&'static str),
}

impl Classify for DeployError {}

pub async fn cmd_plan(_ctx: &Context, _args: &crate::cli::PlanArgs) -> Result<Exit, Error> {
    Err(DeployError::NotImplemented("cmd_plan").into())
}

pub async fn cmd_apply(_ctx: &Context, _args: &crate::cli::ApplyArgs) -> Result<Exit, Error> {
    Err(DeployError::NotImplemented("cmd_apply").into())
}

pub async fn cmd_destroy(_ctx: &Context, _args: &crate::cli::DestroyArgs) -> Result<Exit, Error> {
    Err(DeployError::NotImplemented("cmd_destroy").into())
}

pub async fn cmd_status(_ctx: &Context, _args: &crate::cli::RegionArgs) -> Result<Exit, Error> {
    Err(DeployError::NotImplemented("cmd_status").into())
}

pub async fn cmd_drift(_ctx: &Context, _args: &crate::cli::RegionArgs) -> Result<Exit, Error> {
    Err(DeployError::NotImplemented("cmd_drift").into())
}
