//! Exit codes and the classification every error gives the top level. A leaf: every module
//! may use it, it uses none.

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
    /// Cancelled by SIGINT (128 + 2, as a shell reports it).
    Interrupted = 130,
    /// Cancelled by SIGTERM (128 + 15).
    Terminated = 143,
}

impl Exit {
    /// The exit of a run made of parts: a failure wins over changes, changes over success.
    pub fn combine(self, other: Exit) -> Exit {
        let rank = |e: Exit| match e {
            Exit::Success => 0,
            Exit::Changes => 1,
            Exit::Failure => 2,
            Exit::Invalid => 3,
            Exit::Interrupted | Exit::Terminated => 4,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// What every error tells the top level: its exit code and an optional hint. The top level
/// prints the message, its cause chain and the hint (`Ui::error`).
pub trait Classify: std::error::Error {
    fn exit(&self) -> Exit {
        Exit::Failure
    }
    /// What the user can do about it, when we know.
    fn hint(&self) -> Option<String> {
        None
    }
}

/// A command-line argument that parses but makes no sense (exit 3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
    pub hint: Option<String>,
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl Classify for UsageError {
    fn exit(&self) -> Exit {
        Exit::Invalid
    }

    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_wins_over_changes_and_changes_over_success() {
        assert_eq!(Exit::Success.combine(Exit::Changes), Exit::Changes);
        assert_eq!(Exit::Changes.combine(Exit::Failure), Exit::Failure);
        assert_eq!(Exit::Failure.combine(Exit::Success), Exit::Failure);
        assert_eq!(Exit::Success.combine(Exit::Success), Exit::Success);
    }
}
