//! What every command gets: the global options, the output and (later) the AWS clients.
//! Depends only on leaves, so that every domain can take a `&Context`.

use crate::cli::GlobalArgs;
use crate::config::{self, Config, ConfigError};
use crate::ui::Ui;

/// What every command gets: the global options and the output.
pub struct Context {
    pub global: GlobalArgs,
    pub ui: Ui,
}

impl Context {
    /// Loads and validates the configuration file named by `-f`.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let cfg = config::load(&self.global.file)?;
        tracing::info!(
            file = %self.global.file.display(),
            regions = %cfg.regions.join(","),
            stack = %cfg.stack_name,
            "configuration loaded"
        );
        Ok(cfg)
    }

    /// AWS settings from the global options and, when given, the configuration's endpoints.
    pub fn aws_settings(&self, cfg: Option<&Config>) -> crate::aws::AwsSettings {
        crate::aws::AwsSettings::new(
            self.global.profile.clone(),
            self.global.endpoint_url.clone(),
            cfg.map(|c| c.endpoints.clone()).unwrap_or_default(),
        )
    }
}
