//! Org: stub, to be implemented.

use crate::Context;
use crate::error::{Classify, Error, Exit};

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("not implemented yet: {0}")]
    NotImplemented(&'static str),
}

impl Classify for OrgError {}

pub async fn cmd_setup(_ctx: &Context, _args: &crate::cli::SetupArgs) -> Result<Exit, Error> {
    Err(OrgError::NotImplemented("cmd_setup").into())
}
