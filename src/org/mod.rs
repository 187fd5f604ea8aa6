//! The organisation configuration: read, compare and write it in every region (`setup`).
mod accounts;
mod setup;

/// `provision.setup/v1` (`crate::docs::json_schemas`).
pub use setup::SetupReport;
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
    /// `--all-accounts`: the organisation could not say which accounts.
    #[error(transparent)]
    Organization(#[from] crate::org_accounts::OrgAccountsError),
}

impl Classify for OrgError {
    fn exit(&self) -> Exit {
        match self {
            OrgError::Input(_) => Exit::Invalid,
            OrgError::Config(e) => e.exit(),
            OrgError::Output(e) => e.exit(),
            OrgError::Organization(e) => e.exit(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            OrgError::Config(e) => e.hint(),
            OrgError::Organization(e) => e.hint(),
            _ => None,
        }
    }
}
