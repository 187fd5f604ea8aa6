//! The organisation configuration: read, compare and write it in every region (`setup`).
mod setup;

pub use setup::cmd_setup;

use crate::exit::{Classify, Exit};

/// Why `setup` stopped as a whole (per-region failures are reported per region).
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Output(#[from] crate::ui::OutputError),
}

impl Classify for OrgError {
    fn exit(&self) -> Exit {
        match self {
            OrgError::Input(_) => Exit::Invalid,
            OrgError::Config(e) => e.exit(),
            OrgError::Output(e) => e.exit(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            OrgError::Config(e) => e.hint(),
            _ => None,
        }
    }
}
