//! The command layer: parses the command line, dispatches to the domains, and owns the one
//! error type that aggregates theirs. Nothing below imports it: each domain returns its own
//! error, classified (exit code, hint) through [`Classify`].

use crate::aws::ClientSource;
use crate::cancel::{Cancel, Cancelled};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{self, ConfigError};
use crate::context::{Context, Environment};
use crate::exit::{Classify, Exit, UsageError};
use crate::terraform::Interrupt;
use crate::ui::{OutputError, Ui};
use crate::{adopt, deploy, org, render, stage, ui};
use clap::{CommandFactory, Parser};
use std::process::ExitCode;

/// Any error that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error(transparent)]
    Deploy(#[from] deploy::DeployError),
    #[error(transparent)]
    Org(#[from] org::OrgError),
    #[error(transparent)]
    Stage(#[from] stage::StageError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Adopt(#[from] adopt::AdoptError),
    #[error("starting the async runtime")]
    Runtime(#[source] std::io::Error),
    /// A signal ended the command before it finished.
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

impl Error {
    fn inner(&self) -> Option<&dyn Classify> {
        match self {
            Error::Config(e) => Some(e),
            Error::Render(e) => Some(e),
            Error::Deploy(e) => Some(e),
            Error::Org(e) => Some(e),
            Error::Stage(e) => Some(e),
            Error::Output(e) => Some(e),
            Error::Adopt(e) => Some(e),
            Error::Runtime(_) => None,
            Error::Cancelled(e) => Some(e),
        }
    }
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        self.inner().map_or(Exit::Failure, Classify::exit)
    }

    fn hint(&self) -> Option<String> {
        self.inner().and_then(Classify::hint)
    }

    fn failures(&self) -> Vec<(String, String)> {
        self.inner().map(Classify::failures).unwrap_or_default()
    }
}

/// Parses `args` (the program's name first), builds the AWS client source with `clients`
/// from the global options, runs the command, prints any error, and returns the exit code.
/// `main` is `run(ClientSource::from_args, std::env::args_os())`.
pub fn run<C, I, T>(clients: C, args: I) -> ExitCode
where
    C: FnOnce(&GlobalArgs) -> ClientSource,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => {
                    if wants_json(&args) {
                        // The message up to clap's usage lines, on one line.
                        let text = e.to_string();
                        let message: Vec<&str> = text
                            .lines()
                            .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
                            .map(str::trim)
                            .collect();
                        let usage =
                            UsageError::new(message.join(" ").trim_start_matches("error: "))
                                .with_hint("see `provision --help`");
                        let ui = Ui::plain_json();
                        let cli = Cli::command();
                        let command = args
                            .iter()
                            .skip(1)
                            .filter_map(|a| a.to_str())
                            .find(|a| cli.find_subcommand(a).is_some())
                            .unwrap_or_default();
                        ui.emit_failure(command, Exit::Invalid as u8, &usage);
                    }
                    Exit::Invalid.into()
                }
            };
        }
    };
    let ui = Ui::new(&cli.global);
    ui::init_tracing(cli.global.verbose, ui.color_err);
    tracing::debug!(version = env!("CARGO_PKG_VERSION"), command = ?cli.command, "starting");
    let ctx = Context {
        clients: clients(&cli.global),
        global: cli.global,
        ui,
        env: Environment::from_process(),
        cancel: Cancel::new(),
    };
    let command = command_name(&cli.command);
    let result = dispatch(&ctx, cli.command);
    if ctx.ui.stdout_closed() {
        // The reader of stdout has seen enough (`| head`): not an error.
        return ExitCode::SUCCESS;
    }
    // A signal decides the exit code, whatever the command made of it (an error it ended
    // with is said too).
    let result = match (ctx.cancel.signal(), result) {
        (Some(signal), Err(e)) if !matches!(e, Error::Cancelled(_)) => {
            ctx.ui.error(&e);
            Err(Error::Cancelled(Cancelled(signal)))
        }
        (Some(signal), Ok(_)) => Err(Error::Cancelled(Cancelled(signal))),
        (_, result) => result,
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            ctx.ui.error(&e);
            ctx.ui.emit_failure(&command, e.exit() as u8, &e);
            e.exit().into()
        }
    }
}

/// The subcommand's name (`stage`), as the failure document names it.
fn command_name(command: &Command) -> String {
    let debug = format!("{command:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

/// `--output json` (or `--output=json`) among arguments that did not parse.
fn wants_json(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .zip(args.iter().skip(1))
        .any(|(a, b)| a == "--output" && b == "json")
        || args.iter().any(|a| a == "--output=json")
}

/// How long the clean-up after SIGINT or SIGTERM may take.
const CLEANUP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs an async command on a runtime built only for it, so offline commands start instantly.
/// SIGINT and SIGTERM cancel it through `ctx.cancel` (see [`crate::cancel`]).
fn block_on<E, F>(ctx: &Context, fut: F) -> Result<Exit, Error>
where
    F: std::future::Future<Output = Result<Exit, E>>,
    Error: From<E>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let outcome = rt.block_on(async {
        ctx.cancel.listen();
        ctx.cancel.run(fut).await
    });
    match outcome {
        Ok(result) => Ok(result?),
        Err(signal) => {
            // What the dropped command left registered (multipart uploads in flight) is
            // cleaned up, best effort, briefly: a CI runner sends SIGKILL soon after SIGTERM.
            let cleaned = rt.block_on(ctx.cancel.clean_up(CLEANUP_DEADLINE));
            tracing::info!("{cleaned} clean-up(s) after {}", signal.name());
            // Blocking work of the dropped command (hashing a file) is not waited for.
            rt.shutdown_background();
            Err(Error::Cancelled(Cancelled(signal)))
        }
    }
}

/// Runs a deploy command with a Ctrl-C (SIGINT) and SIGTERM handler: while Terraform runs,
/// the signal is passed on to it once through `Interrupt` (it stops after the calls under way,
/// writes its state and releases its lock; a second signal is never passed on, it would make
/// Terraform exit with the state unwritten); otherwise the program ends at once, as it would
/// without a handler.
fn interruptible<F, Fut>(ctx: &Context, command: F) -> Result<Exit, Error>
where
    F: FnOnce(Interrupt) -> Fut,
    Fut: std::future::Future<Output = Result<Exit, deploy::DeployError>>,
{
    let interrupt = Interrupt::new();
    let run = command(interrupt.clone());
    // Its own runtime, without the context's cancellation: a signal must reach Terraform
    // (which then writes its state), not drop the command while Terraform runs on.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    Ok(rt.block_on(async {
        tokio::select! {
            result = run => result,
            never = forward_signals(&ctx.ui, &interrupt) => match never {},
        }
    })?)
}

/// Waits for SIGINT and SIGTERM forever, passing them on as described at [`interruptible`].
async fn forward_signals(ui: &Ui, interrupt: &Interrupt) -> std::convert::Infallible {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            loop {
                let code = tokio::select! {
                    _ = int.recv() => 130,
                    _ = term.recv() => 143,
                };
                let again = interrupt.is_triggered();
                interrupt.trigger();
                if interrupt.running() == 0 {
                    std::process::exit(code);
                }
                ui.warn(if again {
                    "Terraform is still stopping: waiting for it to write its state (the interrupt is passed on once only)"
                } else {
                    "interrupting Terraform: it stops after the calls under way, writes its state and releases its lock; wait for it"
                });
            }
        }
    }
    std::future::pending().await
}

/// What `validate` reports: the file is valid (an invalid one is an error document, exit 3),
/// and the regions it names.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Validated {
    file: std::path::PathBuf,
    valid: bool,
    regions: Vec<String>,
}

impl crate::document::Document for Validated {
    const KIND: &'static str = "validate";
}

fn dispatch(ctx: &Context, command: Command) -> Result<Exit, Error> {
    match command {
        Command::Validate => {
            let cfg = ctx.config()?;
            let validated = Validated {
                file: ctx.global.file.clone(),
                valid: true,
                regions: cfg.regions.clone(),
            };
            ctx.ui.emit_report(&validated, || {
                format!(
                    "{}: valid ({} region{})",
                    ctx.global.file.display(),
                    cfg.regions.len(),
                    if cfg.regions.len() == 1 { "" } else { "s" }
                )
            })?;
            Ok(Exit::Success)
        }
        Command::Render(args) => Ok(render::cmd_render(ctx, &args)?),
        Command::Plan(args) => {
            interruptible(
                ctx,
                |i| async move { deploy::cmd_plan(ctx, &args, &i).await },
            )
        }
        Command::Apply(args) => {
            interruptible(
                ctx,
                |i| async move { deploy::cmd_apply(ctx, &args, &i).await },
            )
        }
        Command::Destroy(args) => {
            interruptible(
                ctx,
                |i| async move { deploy::cmd_destroy(ctx, &args, &i).await },
            )
        }
        Command::Status(args) => {
            interruptible(
                ctx,
                |i| async move { deploy::cmd_status(ctx, &args, &i).await },
            )
        }
        Command::Drift(args) => {
            interruptible(
                ctx,
                |i| async move { deploy::cmd_drift(ctx, &args, &i).await },
            )
        }
        Command::Setup(args) => block_on(ctx, org::cmd_setup(ctx, &args)),
        Command::Stage(args) => block_on(ctx, stage::cmd_stage(ctx, &args)),
        Command::Download(args) => block_on(ctx, stage::cmd_download(ctx, &args)),
        Command::Info(args) => block_on(ctx, stage::cmd_info(ctx, &args)),
        Command::List(args) => block_on(ctx, stage::cmd_list(ctx, &args)),
        Command::Metadata(args) => block_on(ctx, stage::cmd_metadata(ctx, &args)),
        Command::Presign(args) => block_on(ctx, stage::cmd_presign(ctx, &args)),
        Command::Adopt(args) => block_on(ctx, adopt::cmd_adopt(ctx, &args)),
        Command::Schema => {
            ctx.ui.write_stdout(config::json_schema().as_bytes())?;
            Ok(Exit::Success)
        }
        Command::Completions(args) => {
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "provision", &mut script);
            ctx.ui.write_stdout(&script)?;
            Ok(Exit::Success)
        }
        Command::Man => {
            let mut page = Vec::new();
            // Rendering into memory cannot fail; writing it out can.
            let _ = clap_mangen::Man::new(Cli::command()).render(&mut page);
            ctx.ui.write_stdout(&page)?;
            Ok(Exit::Success)
        }
    }
}
