//! Render: stub, to be implemented.

use crate::Context;
use crate::error::{Classify, Error, Exit};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("not implemented yet: {0}")]
    NotImplemented(&'static str),
}

impl Classify for RenderError {}

pub fn cmd_render(_ctx: &Context, _args: &crate::cli::RenderArgs) -> Result<Exit, Error> {
    Err(RenderError::NotImplemented("cmd_render").into())
}
