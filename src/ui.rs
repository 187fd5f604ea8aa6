//! Output: one `Ui` decides text or JSON, quiet or verbose, colour or not, progress bars or
//! plain lines, so that progress, logs and results never interleave.
//!
//! Results go to stdout (text, or one JSON document with a versioned `schema` field);
//! progress, status lines, warnings and errors go to stderr.
//!
//! Every write to stdout goes through [`Ui`] and reports its failure ([`OutputError`]): a
//! closed stdout (a reader like `head` that has seen enough) ends the run quietly with exit 0,
//! as ripgrep does; any other write error (a full disk) is exit 1 with a message. Writes to
//! stderr are best effort: there is nowhere left to report their failure.

use crate::cli::{ColorChoice, GlobalArgs, OutputFormat};
use crate::document::{self, Document};
use crate::exit::{Classify, Exit};
use crate::text::escape_keeping_lines;
use anstyle::{AnsiColor, Style};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::document::JSON_SCHEMA_VERSION;

#[derive(Debug, Clone)]
pub struct Ui {
    pub output: OutputFormat,
    pub quiet: bool,
    pub verbose: u8,
    /// Colour on stdout.
    pub color: bool,
    /// Colour on stderr.
    pub color_err: bool,
    /// stderr is a terminal: progress bars instead of plain lines.
    pub interactive: bool,
    /// Prompting is allowed: stdin is a terminal and `CI` is not set.
    pub can_prompt: bool,
    /// A write to stdout found it closed (EPIPE).
    stdout_closed: Arc<AtomicBool>,
    /// Something was written to stdout (a command's document).
    stdout_written: Arc<AtomicBool>,
}

/// A write to stdout that failed. When stdout was closed by its reader ([`Ui::stdout_closed`])
/// the run ends quietly with exit 0; otherwise it is an error (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output")]
pub struct OutputError {
    #[source]
    source: std::io::Error,
}

impl OutputError {
    /// Whether stdout was closed by its reader (EPIPE), rather than failing.
    pub fn is_closed(&self) -> bool {
        self.source.kind() == std::io::ErrorKind::BrokenPipe
    }
}

impl Classify for OutputError {}

/// A question that could not be asked or answered.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error(
        "{question} needs confirmation, and there is no terminal to ask on (stdin is not a terminal, or CI is set)"
    )]
    NoTerminal { question: String, flag: String },
    #[error("reading the answer from the terminal")]
    Read(#[source] std::io::Error),
}

impl Classify for PromptError {
    fn exit(&self) -> Exit {
        match self {
            PromptError::NoTerminal { .. } => Exit::Invalid,
            PromptError::Read(_) => Exit::Failure,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            PromptError::NoTerminal { flag, .. } => {
                Some(format!("pass {flag} to proceed without a prompt"))
            }
            PromptError::Read(_) => None,
        }
    }
}

/// Text styles, so commands name what they mean, not colours.
#[derive(Debug, Clone, Copy)]
pub enum Tone {
    Good,
    Bad,
    Warn,
    Dim,
    Bold,
    Add,
    Modify,
    Remove,
}

impl Tone {
    fn style(self) -> Style {
        match self {
            Tone::Good | Tone::Add => AnsiColor::Green.on_default(),
            Tone::Bad | Tone::Remove => AnsiColor::Red.on_default(),
            Tone::Warn | Tone::Modify => AnsiColor::Yellow.on_default(),
            Tone::Dim => Style::new().dimmed(),
            Tone::Bold => Style::new().bold(),
        }
    }
}

impl Ui {
    pub fn new(g: &GlobalArgs) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color_for = |tty: bool| match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color,
        };
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        let stderr_tty = std::io::stderr().is_terminal();
        Ui {
            output: g.output,
            quiet: g.quiet,
            verbose: g.verbose,
            color: color_for(std::io::stdout().is_terminal()),
            color_err: color_for(stderr_tty),
            interactive: stderr_tty && !g.quiet && !ci,
            can_prompt: std::io::stdin().is_terminal() && !ci,
            stdout_closed: Arc::default(),
            stdout_written: Arc::default(),
        }
    }

    /// A plain UI for tests and library callers: text, no colour, no prompts.
    pub fn plain() -> Self {
        Ui {
            output: OutputFormat::Text,
            quiet: false,
            verbose: 0,
            color: false,
            color_err: false,
            interactive: false,
            can_prompt: false,
            stdout_closed: Arc::default(),
            stdout_written: Arc::default(),
        }
    }

    /// A plain UI for JSON output: the failure document of arguments that did not parse.
    pub fn plain_json() -> Self {
        Ui {
            output: OutputFormat::Json,
            ..Ui::plain()
        }
    }

    /// A plain UI that prints only the requested data (`-q`): for tests of whole commands.
    pub fn quiet() -> Self {
        Ui {
            quiet: true,
            ..Ui::plain()
        }
    }

    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }

    /// `text` in `tone` for stdout.
    pub fn paint(&self, tone: Tone, text: impl std::fmt::Display) -> String {
        paint(self.color, tone, text)
    }

    /// `text` in `tone` for stderr.
    pub fn paint_err(&self, tone: Tone, text: impl std::fmt::Display) -> String {
        paint(self.color_err, tone, text)
    }

    /// A status line on stderr (suppressed by `-q` and in JSON mode).
    pub fn status(&self, line: impl std::fmt::Display) {
        if !self.quiet && !self.json() {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }

    /// A warning on stderr (always shown).
    pub fn warn(&self, line: impl std::fmt::Display) {
        let _ = writeln!(
            std::io::stderr(),
            "{} {}",
            self.paint_err(Tone::Warn, "warning:"),
            escape_keeping_lines(&line.to_string())
        );
    }

    /// Writes bytes to stdout: the one place every result goes through.
    pub fn write_stdout(&self, bytes: &[u8]) -> Result<(), OutputError> {
        self.stdout_written.store(true, Ordering::Relaxed);
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(bytes)
            .and_then(|()| stdout.flush())
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::BrokenPipe {
                    self.stdout_closed.store(true, Ordering::Relaxed);
                }
                OutputError { source }
            })
    }

    /// Whether a write found stdout closed by its reader: the run then ends quietly, exit 0.
    pub fn stdout_closed(&self) -> bool {
        self.stdout_closed.load(Ordering::Relaxed)
    }

    /// A result line on stdout (text mode only; JSON mode prints one document via `emit`).
    pub fn out(&self, line: impl std::fmt::Display) -> Result<(), OutputError> {
        if self.json() {
            return Ok(());
        }
        self.write_stdout(format!("{line}\n").as_bytes())
    }

    /// Prints the report of a command run for its effect (stage, apply, setup, ...): like
    /// [`Ui::emit`], but `-q` silences the text (JSON, when asked for, is always printed).
    pub fn emit_report<T: Document>(
        &self,
        value: &T,
        text: impl FnOnce() -> String,
    ) -> Result<(), OutputError> {
        if self.quiet && !self.json() {
            return Ok(());
        }
        self.emit(value, text)
    }

    /// Prints a command's result: its JSON document (`schema: "provision.<kind>/v1"`, see
    /// [`crate::document`]) or its text. This is the requested data (status, info, list,
    /// plan), so `-q` does not silence it.
    pub fn emit<T: Document>(
        &self,
        value: &T,
        text: impl FnOnce() -> String,
    ) -> Result<(), OutputError> {
        let mut out = if self.json() {
            serde_json::to_string_pretty(&document::to_json(value)).unwrap_or_default()
        } else {
            text()
        };
        if out.is_empty() {
            return Ok(());
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
        self.write_stdout(out.as_bytes())
    }

    /// With `--output json`, a command that ended in an error before it printed its document
    /// prints this one instead (`provision.error/v1`, [`document::Failure`],
    /// `schema/error.schema.json`), so that stdout always holds one document: the command, the
    /// exit code, the error with its causes and hint, and the per-region failures.
    pub fn emit_failure(&self, command: &str, exit: u8, e: &dyn Classify) {
        if !self.json() || self.stdout_written.load(Ordering::Relaxed) {
            return;
        }
        let doc = document::to_json(&document::Failure::of(command, exit, e));
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n";
        let _ = self.write_stdout(text.as_bytes());
    }

    /// Prints an error with its cause chain and hint on stderr.
    pub fn error(&self, e: &dyn Classify) {
        // Messages carry text from elsewhere (AWS's messages, keys, file names): no control
        // character of theirs reaches the terminal.
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "{} {}",
            self.paint_err(Tone::Bad, "error:"),
            escape_keeping_lines(&e.to_string())
        );
        let mut source = std::error::Error::source(e);
        // `transparent` variants repeat their inner message as the first source: skip repeats.
        let mut last = e.to_string();
        while let Some(s) = source {
            let msg = s.to_string();
            if msg != last && !last.contains(&msg) {
                let _ = writeln!(
                    err,
                    "  {} {}",
                    self.paint_err(Tone::Dim, "caused by:"),
                    escape_keeping_lines(&msg)
                );
            }
            last = msg;
            source = s.source();
        }
        if let Some(hint) = e.hint() {
            let _ = writeln!(
                err,
                "  {} {}",
                self.paint_err(Tone::Good, "hint:"),
                escape_keeping_lines(&hint)
            );
        }
    }

    /// Asks a yes/no question on the terminal. Refuses (with the flag to use) when prompting
    /// is not possible, so that CI never hangs on a prompt.
    pub fn confirm(&self, question: &str, flag: &str) -> Result<bool, PromptError> {
        if !self.can_prompt {
            return Err(PromptError::NoTerminal {
                question: question.to_string(),
                flag: flag.to_string(),
            });
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question} [y/N] ");
        let _ = err.flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(PromptError::Read)?;
        Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
    }

    /// A progress display: bars on a terminal, plain lines otherwise, nothing with `-q`/JSON.
    pub fn progress(&self) -> Progress {
        Progress::new(self)
    }
}

fn paint(on: bool, tone: Tone, text: impl std::fmt::Display) -> String {
    if on {
        let s = tone.style();
        format!("{s}{text}{s:#}")
    } else {
        text.to_string()
    }
}

/// Progress of several concurrent tasks (one line each, e.g. one per region).
#[derive(Clone)]
pub struct Progress {
    multi: Option<indicatif::MultiProgress>,
    plain: bool,
}

/// One task's line.
#[derive(Clone)]
pub struct ProgressLine {
    bar: Option<indicatif::ProgressBar>,
    label: String,
    plain: bool,
}

impl Progress {
    fn new(ui: &Ui) -> Self {
        let silent = ui.quiet || ui.json();
        Progress {
            multi: (ui.interactive && !silent).then(indicatif::MultiProgress::new),
            plain: !ui.interactive && !silent,
        }
    }

    pub fn line(&self, label: &str) -> ProgressLine {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(indicatif::ProgressBar::new_spinner());
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {prefix:<16} {wide_msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        ProgressLine {
            bar,
            label: label.to_string(),
            plain: self.plain,
        }
    }
}

impl ProgressLine {
    /// A line that shows nothing (a target without progress to show).
    pub fn silent() -> Self {
        ProgressLine {
            bar: None,
            label: String::new(),
            plain: false,
        }
    }

    /// Updates the line (plain mode: prints it).
    pub fn set(&self, message: impl std::fmt::Display) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None if self.plain => {
                let _ = writeln!(std::io::stderr(), "{:<16} {message}", self.label);
            }
            None => {}
        }
    }

    /// Ends the line with a final message.
    pub fn finish(&self, message: impl std::fmt::Display) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(message.to_string()),
            None => self.set(message),
        }
    }
}

/// Initialises tracing on stderr at the level `-v` asks for (nothing by default).
pub fn init_tracing(verbose: u8, ansi: bool) {
    let level = match verbose {
        0 => return,
        1 => "provision=info",
        2 => "provision=debug,aws_config=info",
        _ => "provision=trace,aws_smithy_runtime=debug,aws_config=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PROVISION_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}
