//! `provision`: render, deploy and use multi-region artifact storage on AWS.
//!
//! `main.rs` only calls [`run`]; each command lives in its domain module.

pub mod aws;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod docs;
pub mod error;
pub mod org;
pub mod org_accounts;
pub mod region;
pub mod render;
pub mod replacement;
pub mod stacksets;
pub mod stage;
pub mod terraform;
pub mod ui;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command, GlobalArgs};
use error::{Error, Exit};
use std::process::ExitCode;
use ui::Ui;

/// What every command gets: the global options and the output.
pub struct Context {
    pub global: GlobalArgs,
    pub ui: Ui,
}

impl Context {
    /// Loads and validates the configuration file named by `-f`.
    /// Warnings (a region this build does not know) go to stderr, positioned.
    pub fn config(&self) -> Result<config::Config, Error> {
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

    /// AWS settings from the global options and, when given, the configuration's endpoints.
    pub fn aws_settings(&self, cfg: Option<&config::Config>) -> aws::AwsSettings {
        aws::AwsSettings::new(
            self.global.profile.clone(),
            self.global.endpoint_url.clone(),
            cfg.map(|c| c.endpoints.clone()).unwrap_or_default(),
        )
    }
}

/// Parses the command line, runs the command, prints any error, and returns the exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => Exit::Invalid.into(),
            };
        }
    };
    let ui = Ui::new(&cli.global);
    ui::init_tracing(cli.global.verbose, ui.color_err);
    tracing::debug!(version = env!("CARGO_PKG_VERSION"), command = ?cli.command, "starting");
    let ctx = Context {
        global: cli.global,
        ui,
    };
    match dispatch(&ctx, cli.command) {
        Ok(exit) => exit.into(),
        Err(e) => {
            ctx.ui.error(&e);
            e.exit().into()
        }
    }
}

/// Runs an async command on a runtime built only for it, so offline commands start instantly.
fn block_on<F: std::future::Future<Output = Result<Exit, Error>>>(fut: F) -> Result<Exit, Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the async runtime", e))?;
    rt.block_on(fut)
}

fn dispatch(ctx: &Context, command: Command) -> Result<Exit, Error> {
    match command {
        Command::Validate => {
            let cfg = ctx.config()?;
            ctx.ui.emit_report(
                "validate",
                &serde_json::json!({"file": ctx.global.file, "valid": true, "regions": cfg.regions}),
                || format!("{}: valid ({} region{})", ctx.global.file.display(), cfg.regions.len(),
                    if cfg.regions.len() == 1 { "" } else { "s" }),
            );
            Ok(Exit::Success)
        }
        Command::Render(args) => render::cmd_render(ctx, &args),
        Command::Plan(args) => block_on(deploy::cmd_plan(ctx, &args)),
        Command::Apply(args) => block_on(deploy::cmd_apply(ctx, &args)),
        Command::Destroy(args) => block_on(deploy::cmd_destroy(ctx, &args)),
        Command::Status(args) => block_on(deploy::cmd_status(ctx, &args)),
        Command::Drift(args) => block_on(deploy::cmd_drift(ctx, &args)),
        Command::Setup(args) => block_on(org::cmd_setup(ctx, &args)),
        Command::Stage(args) => block_on(stage::cmd_stage(ctx, &args)),
        Command::Download(args) => block_on(stage::cmd_download(ctx, &args)),
        Command::Info(args) => block_on(stage::cmd_info(ctx, &args)),
        Command::List(args) => block_on(stage::cmd_list(ctx, &args)),
        Command::Metadata(args) => block_on(stage::cmd_metadata(ctx, &args)),
        Command::Presign(args) => block_on(stage::cmd_presign(ctx, &args)),
        Command::Schema => {
            print!("{}", config::json_schema());
            Ok(Exit::Success)
        }
        Command::Completions(args) => {
            let mut cmd = Cli::command();
            clap_complete::generate(args.shell, &mut cmd, "provision", &mut std::io::stdout());
            Ok(Exit::Success)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(|e| Error::io("writing the man page", e))?;
            Ok(Exit::Success)
        }
    }
}
