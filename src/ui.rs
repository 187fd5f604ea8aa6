//! Output: one `Ui` decides text or JSON, quiet or verbose, colour or not, progress bars or
//! plain lines, so that progress, logs and results never interleave.
//!
//! Results go to stdout (text, or one JSON document with a versioned `schema` field);
//! progress, status lines, warnings and errors go to stderr.

use crate::cli::{ColorChoice, GlobalArgs, OutputFormat};
use crate::error::Error;
use anstyle::{AnsiColor, Style};
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// Version of every JSON document `provision` prints; bumped on incompatible changes.
pub const JSON_SCHEMA_VERSION: u32 = 1;

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
            "{} {line}",
            self.paint_err(Tone::Warn, "warning:")
        );
    }

    /// A result line on stdout (text mode only; JSON mode prints one document via `emit`).
    pub fn out(&self, line: impl std::fmt::Display) {
        if !self.json() {
            let _ = writeln!(std::io::stdout(), "{line}");
        }
    }

    /// Prints the report of a command run for its effect (stage, apply, setup, ...): like
    /// [`Ui::emit`], but `-q` silences the text (JSON, when asked for, is always printed).
    pub fn emit_report<T: Serialize>(&self, kind: &str, value: &T, text: impl FnOnce() -> String) {
        if self.quiet && !self.json() {
            return;
        }
        self.emit(kind, value, text);
    }

    /// Prints a command's result: JSON (with `schema: "provision.<kind>/v1"`) or its text.
    /// This is the requested data (status, info, list, plan), so `-q` does not silence it.
    pub fn emit<T: Serialize>(&self, kind: &str, value: &T, text: impl FnOnce() -> String) {
        let mut stdout = std::io::stdout().lock();
        if self.json() {
            let mut doc = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
            if let serde_json::Value::Object(map) = &mut doc {
                map.insert(
                    "schema".into(),
                    format!("provision.{kind}/v{JSON_SCHEMA_VERSION}").into(),
                );
            }
            let rendered = serde_json::to_string_pretty(&doc).unwrap_or_default();
            let _ = writeln!(stdout, "{rendered}");
        } else {
            let t = text();
            if !t.is_empty() {
                let _ = write!(stdout, "{t}");
                if !t.ends_with('\n') {
                    let _ = writeln!(stdout);
                }
            }
        }
    }

    /// Prints an error with its cause chain and hint on stderr.
    pub fn error(&self, e: &Error) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{} {e}", self.paint_err(Tone::Bad, "error:"));
        let mut source = std::error::Error::source(e);
        // `transparent` variants repeat their inner message as the first source: skip repeats.
        let mut last = e.to_string();
        while let Some(s) = source {
            let msg = s.to_string();
            if msg != last && !last.contains(&msg) {
                let _ = writeln!(err, "  {} {msg}", self.paint_err(Tone::Dim, "caused by:"));
            }
            last = msg;
            source = s.source();
        }
        if let Some(hint) = e.hint() {
            let _ = writeln!(err, "  {} {hint}", self.paint_err(Tone::Good, "hint:"));
        }
    }

    /// Asks a yes/no question on the terminal. Refuses (with the flag to use) when prompting
    /// is not possible, so that CI never hangs on a prompt.
    pub fn confirm(&self, question: &str, flag: &str) -> Result<bool, Error> {
        if !self.can_prompt {
            return Err(Error::Usage {
                message: format!(
                    "{question} needs confirmation, and there is no terminal to ask on (stdin is not a terminal, or CI is set)"
                ),
                hint: Some(format!("pass {flag} to proceed without a prompt")),
            });
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question} [y/N] ");
        let _ = err.flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::io("reading the answer from the terminal", e))?;
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
