//! The error taxonomy and exit codes. Each domain has its own error type; this module maps
//! them to the documented exit codes and prints the cause chain with a hint.

use std::process::ExitCode;

/// How a run ended. The numbers are part of the interface (see `provision --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, or nothing to change.
    Success = 0,
    /// An operation failed (in at least one region); details were reported.
    Failure = 1,
    /// Changes present (`plan --detailed-exitcode`, `setup --check`) or drift found.
    Changes = 2,
    /// Invalid input: arguments, configuration file, artifact name or version.
    Invalid = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// What every domain error tells the top level: its exit code and an optional hint.
pub trait Classify: std::error::Error {
    fn exit(&self) -> Exit {
        Exit::Failure
    }
    /// What the user can do about it, when we know.
    fn hint(&self) -> Option<String> {
        None
    }
}

/// Any error that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A command-line argument that parses but makes no sense.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    Deploy(#[from] crate::deploy::DeployError),
    #[error(transparent)]
    Org(#[from] crate::org::OrgError),
    #[error(transparent)]
    Stage(#[from] crate::stage::StageError),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn exit(&self) -> Exit {
        match self {
            Error::Config(_) | Error::Usage { .. } => Exit::Invalid,
            Error::Render(e) => e.exit(),
            Error::Deploy(e) => e.exit(),
            Error::Org(e) => e.exit(),
            Error::Stage(e) => e.exit(),
            Error::Io { .. } => Exit::Failure,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config(e) => match e {
                crate::config::ConfigError::Read { .. } => Some(
                    "pass the configuration with -f FILE (default: ./provision.yaml); `provision schema` describes it".into(),
                ),
                _ => None,
            },
            Error::Usage { hint, .. } => hint.clone(),
            Error::Render(e) => e.hint(),
            Error::Deploy(e) => e.hint(),
            Error::Org(e) => e.hint(),
            Error::Stage(e) => e.hint(),
            Error::Io { .. } => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
