//! What every command gets: the global options, the output, the AWS client source and the
//! environment variables the commands consult. Depends only on leaves, so that every domain
//! can take a `&Context`.

use crate::aws::ClientSource;
use crate::cancel::Cancel;
use crate::cli::GlobalArgs;
use crate::config::{self, Config, ConfigError};
use crate::ui::Ui;

/// What every command gets.
pub struct Context {
    pub global: GlobalArgs,
    pub ui: Ui,
    /// The one place AWS clients come from.
    pub clients: ClientSource,
    pub env: Environment,
    /// Set by SIGINT or SIGTERM: what a command awaits or polls to stop (see
    /// [`crate::cancel`]).
    pub cancel: Cancel,
}

/// The environment variables the commands consult (beyond those clap and the AWS SDK read),
/// read once, so that tests can give their own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `AWS_REGION`: where the staging commands read first.
    pub aws_region: Option<String>,
    /// `AWS_DEFAULT_REGION`: read first when `AWS_REGION` is not set.
    pub aws_default_region: Option<String>,
    /// `STARTIFACT_REGIONS`: the regions to stage to, comma-separated.
    pub startifact_regions: Option<String>,
    /// `STARTIFACT_PARAMETER`: the organisation configuration parameter's name.
    pub startifact_parameter: Option<String>,
}

impl Environment {
    /// The variables as the process has them (blank values count as unset; a blank
    /// parameter name is kept, to be refused as such).
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok();
        let nonblank = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        Environment {
            aws_region: nonblank("AWS_REGION"),
            aws_default_region: nonblank("AWS_DEFAULT_REGION"),
            startifact_regions: nonblank(crate::startifact::document::REGIONS_ENV),
            startifact_parameter: var(crate::startifact::document::PARAMETER_ENV)
                .filter(|v| !v.is_empty()),
        }
    }
}

impl Context {
    /// Loads and validates the configuration file named by `-f`.
    /// Warnings (a region this build does not know) go to stderr, positioned.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let (cfg, notes) = config::load_noting(&self.global.file)?;
        for note in &notes {
            self.ui.warn(note.display_with(&self.global.file));
        }
        tracing::info!(
            file = %self.global.file.display(),
            regions = %cfg.regions.join(","),
            stack = %cfg.stack_name,
            "configuration loaded"
        );
        Ok(cfg)
    }
}
