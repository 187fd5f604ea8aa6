//! Stage: stub, to be implemented.

use crate::Context;
use crate::error::{Classify, Error, Exit};

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("not implemented yet: {0}")]
    NotImplemented(&'static str),
}

impl Classify for StageError {}

pub async fn cmd_stage(_ctx: &Context, _args: &crate::cli::StageArgs) -> Result<Exit, Error> {
    Err(StageError::NotImplemented("cmd_stage").into())
}

pub async fn cmd_download(_ctx: &Context, _args: &crate::cli::DownloadArgs) -> Result<Exit, Error> {
    Err(StageError::NotImplemented("cmd_download").into())
}

pub async fn cmd_info(_ctx: &Context, _args: &crate::cli::InfoArgs) -> Result<Exit, Error> {
    Err(StageError::NotImplemented("cmd_info").into())
}

pub async fn cmd_list(_ctx: &Context, _args: &crate::cli::ListArgs) -> Result<Exit, Error> {
    Err(StageError::NotImplemented("cmd_list").into())
}

pub async fn cmd_metadata(_ctx: &Context, _args: &crate::cli::MetadataArgs) -> Result<Exit, Error> {
    Err(StageError::NotImplemented("cmd_metadata").into())
}

pub async fn cmd_presign(_ctx: &Context, _args: &crate::cli::PresignArgs) -> Result<Exit, Error> {
    Err(StageError::NotImplemented("cmd_presign").into())
}
