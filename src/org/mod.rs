//! The organisation configuration: read, compare and write it in every region (`setup`).
pub mod document;
mod setup;

pub use setup::cmd_setup;

use crate::error::Classify;

/// Why `setup` stopped as a whole (per-region failures are reported per region).
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("{0}")]
    Input(String),
}

impl Classify for OrgError {
    fn exit(&self) -> crate::error::Exit {
        crate::error::Exit::Invalid
    }
}
