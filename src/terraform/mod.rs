//! The Terraform CLI driver: finds the binary and checks its version, manages the working
//! directory, runs `init`, `plan -out`, `show -json`, `apply`, `state list` and `show -json` of
//! the state with machine-readable output, and parses what they print into typed values
//! (modelled on hashicorp/terraform-exec's `tfexec` and hashicorp/terraform-json).
//!
//! A leaf module: it uses the configuration and the renderer, nothing of `deploy`. The engine
//! that plans, applies, destroys and reports through it is built on top (docs/engines.md).
//!
//! Every command runs with `-input=false -no-color`, `-json` where Terraform has it, and an
//! explicit environment ([`Environment`]). State is never printed: attribute values are kept
//! in [`json::Values`], whose `Debug` shows none, and sensitive values never leave [`drift`].

pub mod binary;
pub mod drift;
pub mod emulator;
pub mod error;
pub mod events;
pub mod json;
pub mod process;
pub mod regions;
pub mod retain;
pub mod state;
pub mod workdir;

pub use binary::{Binary, Flavour, Requirement};
pub use drift::{AttributeDrift, Drift, DriftKind};
pub use error::{RegionDiagnostic, TerraformError};
pub use events::{ChangeSummary, Diagnostic, Event, LockInfo};
pub use json::{Action, Plan, ResourceChange, State};
pub use process::{Environment, Interrupt};
pub use regions::ResourceRegions;
pub use retain::Retained;
pub use state::{Instance, RawState};
pub use workdir::WorkDir;

use crate::render::RenderedFile;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `plan` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlanMode {
    /// Changes that make AWS match the configuration.
    #[default]
    Normal,
    /// Only what changed outside Terraform (drift); applying it updates the state alone.
    RefreshOnly,
}

/// Options of `plan` and `apply`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub mode: PlanMode,
    /// Concurrent operations (Terraform's default is 10). Each lifecycle configuration waits
    /// about a minute for S3 (docs/engines.md), so a module with many regions wants more.
    pub parallelism: Option<u32>,
    /// How long to wait for a held state lock before failing (default: fail at once).
    pub lock_timeout: Option<Duration>,
}

/// What `plan -out` produced.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    pub file: PathBuf,
    /// Whether the plan changes anything (`-detailed-exitcode` 2).
    pub changes: bool,
    pub warnings: Vec<Diagnostic>,
}

/// How an `apply` ended (successfully: failures are errors).
#[derive(Debug, Clone, Default)]
pub struct ApplyOutcome {
    pub summary: Option<ChangeSummary>,
    pub warnings: Vec<Diagnostic>,
}

/// One binary, one working directory, one environment.
#[derive(Debug, Clone)]
pub struct Terraform {
    binary: Binary,
    dir: WorkDir,
    env: Environment,
}

/// A streamed command's result.
struct Streamed {
    code: Option<i32>,
    interrupted: bool,
    diagnostics: Vec<RegionDiagnostic>,
    summary: Option<ChangeSummary>,
    stderr: String,
    /// Lines that were not JSON (a crash's stack trace, say).
    other: Vec<String>,
}

impl Terraform {
    pub fn new(binary: Binary, dir: WorkDir, env: Environment) -> Self {
        Terraform { binary, dir, env }
    }

    pub fn binary(&self) -> &Binary {
        &self.binary
    }

    pub fn dir(&self) -> &WorkDir {
        &self.dir
    }

    /// Writes the files of the module (or of the destroy configuration) into the working
    /// directory.
    pub fn write(&self, files: &[RenderedFile]) -> Result<(), TerraformError> {
        self.dir.write_files(files)
    }

    /// The region of every resource, from the module in the working directory.
    pub fn regions(&self) -> ResourceRegions {
        let mut files = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "tf")
                    && let Ok(content) = std::fs::read_to_string(&path)
                {
                    files.push(RenderedFile {
                        name: entry.file_name().to_string_lossy().into_owned(),
                        content,
                    });
                }
            }
        }
        ResourceRegions::from_module(&files)
    }

    /// `terraform init`: providers (and with `backend`, the state backend).
    pub fn init(&self, backend: bool) -> Result<Vec<Diagnostic>, TerraformError> {
        let mut args = vec!["init", "-json", "-input=false", "-no-color"];
        if !backend {
            args.push("-backend=false");
        }
        let streamed = self.stream("init", &args, &Interrupt::new(), &mut |_| {})?;
        self.finish("init", streamed, &[0]).map(|s| warnings(&s))
    }

    /// `terraform plan -out`: writes the plan file and tells whether it changes anything.
    pub fn plan(
        &self,
        options: &RunOptions,
        interrupt: &Interrupt,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<PlanOutcome, TerraformError> {
        let file = self.dir.plan_file();
        let mut args: Vec<String> = [
            "plan",
            "-json",
            "-input=false",
            "-no-color",
            "-detailed-exitcode",
        ]
        .map(String::from)
        .to_vec();
        args.push(format!("-out={}", workdir::PLAN_FILE));
        if options.mode == PlanMode::RefreshOnly {
            args.push("-refresh-only".into());
        }
        push_common(&mut args, options);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let streamed = self.stream("plan", &args, interrupt, on_event)?;
        let streamed = self.finish("plan", streamed, &[0, 2])?;
        Ok(PlanOutcome {
            file,
            changes: streamed.code == Some(2),
            warnings: warnings(&streamed),
        })
    }

    /// `terraform show -json PLANFILE`.
    pub fn show_plan(&self, file: &Path) -> Result<Plan, TerraformError> {
        let text = self.document(
            "show",
            &["show", "-json", "-no-color", &file.display().to_string()],
        )?;
        serde_json::from_str(&text).map_err(|e| TerraformError::Output {
            command: "show -json".into(),
            message: e.to_string(),
        })
    }

    /// `terraform apply PLANFILE`, streaming events. A stale plan (the state changed since)
    /// is refused by Terraform itself.
    pub fn apply(
        &self,
        file: &Path,
        options: &RunOptions,
        interrupt: &Interrupt,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<ApplyOutcome, TerraformError> {
        let mut args: Vec<String> = ["apply", "-json", "-input=false", "-no-color"]
            .map(String::from)
            .to_vec();
        push_common(&mut args, options);
        args.push(file.display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let streamed = self.stream("apply", &args, interrupt, on_event)?;
        let streamed = self.finish("apply", streamed, &[0])?;
        Ok(ApplyOutcome {
            warnings: warnings(&streamed),
            summary: streamed.summary,
        })
    }

    /// `terraform state list`: every resource address in the state.
    pub fn state_list(&self) -> Result<Vec<String>, TerraformError> {
        let text = self.document("state list", &["state", "list", "-no-color"])?;
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    /// `terraform state pull`: the raw state's lineage, serial and resource instances (values
    /// are not read); None before the first apply.
    pub fn state_pull(&self) -> Result<Option<RawState>, TerraformError> {
        let text = self.document("state pull", &["state", "pull"])?;
        RawState::parse(&text).map_err(|message| TerraformError::Output {
            command: "state pull".into(),
            message,
        })
    }

    /// `terraform untaint ADDRESS`: trust an object again (it exists; a plan updates it in
    /// place instead of replacing it).
    pub fn untaint(&self, address: &str) -> Result<(), TerraformError> {
        self.document(
            "untaint",
            &[
                "untaint",
                "-no-color",
                "-input=false",
                "-lock-timeout=0s",
                address,
            ],
        )
        .map(|_| ())
    }

    /// `terraform show -json`: the state (held in memory, never printed).
    pub fn show_state(&self) -> Result<State, TerraformError> {
        let text = self.document("show", &["show", "-json", "-no-color"])?;
        serde_json::from_str(&text).map_err(|e| TerraformError::Output {
            command: "show -json".into(),
            message: e.to_string(),
        })
    }

    /// The drift of a refresh-only plan file, per resource and region.
    pub fn drift(&self, file: &Path) -> Result<Vec<Drift>, TerraformError> {
        let plan = self.show_plan(file)?;
        let mut regions = plan.regions();
        if regions.is_empty() {
            regions = self.regions();
        }
        Ok(drift::drift(&plan, &regions))
    }

    /// Runs a command that prints one document (not `-json` lines) and returns it.
    fn document(&self, command: &str, args: &[&str]) -> Result<String, TerraformError> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (finished, stdout) =
            process::output(&self.binary.path, self.dir.path(), &args, &self.env).map_err(
                |source| TerraformError::Spawn {
                    binary: self.binary.path.clone(),
                    source,
                },
            )?;
        if finished.status.success() {
            Ok(stdout)
        } else {
            // A document on stdout may be state: it never goes into a message.
            let printed = if stdout.trim_start().starts_with('{') {
                ""
            } else {
                stdout.as_str()
            };
            Err(TerraformError::Command {
                command: command.into(),
                errors: Vec::new(),
                stderr: format!("{}{printed}", finished.stderr),
            })
        }
    }

    fn stream(
        &self,
        command: &str,
        args: &[&str],
        interrupt: &Interrupt,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<Streamed, TerraformError> {
        let regions = self.regions();
        let mut diagnostics = Vec::new();
        let mut summary = None;
        let mut other = Vec::new();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let finished = process::run(
            &self.binary.path,
            self.dir.path(),
            &args,
            &self.env,
            interrupt,
            &mut |line| match Event::parse(line, &regions) {
                Ok(Some(event)) => {
                    match &event {
                        Event::Diagnostic { diagnostic, region } => {
                            diagnostics.push(RegionDiagnostic {
                                region: region.clone(),
                                diagnostic: diagnostic.clone(),
                            })
                        }
                        Event::Summary(s) => summary = Some(s.clone()),
                        _ => {}
                    }
                    on_event(&event);
                }
                Ok(None) => {}
                Err(line) => other.push(line),
            },
        )
        .map_err(|source| TerraformError::Spawn {
            binary: self.binary.path.clone(),
            source,
        })?;
        tracing::debug!(command, code = ?finished.code(), interrupted = finished.interrupted, "terraform finished");
        Ok(Streamed {
            code: finished.code(),
            interrupted: finished.interrupted,
            diagnostics,
            summary,
            stderr: finished.stderr,
            other,
        })
    }

    /// Turns a streamed command's end into a result: a held lock, an interrupt or a failure
    /// (any exit code not in `ok`) is an error.
    fn finish(&self, command: &str, s: Streamed, ok: &[i32]) -> Result<Streamed, TerraformError> {
        if let Some(lock) = s
            .diagnostics
            .iter()
            .find_map(|d| LockInfo::from_diagnostic(&d.diagnostic))
        {
            return Err(TerraformError::StateLocked {
                lock: Box::new(lock),
            });
        }
        if s.interrupted {
            return Err(TerraformError::Interrupted {
                command: command.into(),
            });
        }
        if let Some(stale) = s.diagnostics.iter().find(|d| {
            d.diagnostic.is_error() && d.diagnostic.summary.contains("Saved plan is stale")
        }) {
            return Err(TerraformError::StalePlan {
                detail: stale.diagnostic.text(),
            });
        }
        if s.code.is_some_and(|c| ok.contains(&c)) {
            return Ok(s);
        }
        let errors: Vec<RegionDiagnostic> = s
            .diagnostics
            .into_iter()
            .filter(|d| d.diagnostic.is_error())
            .collect();
        let mut stderr = s.stderr;
        for line in s.other {
            stderr.push_str(&line);
            stderr.push('\n');
        }
        Err(TerraformError::Command {
            command: command.into(),
            errors,
            stderr,
        })
    }
}

fn push_common(args: &mut Vec<String>, options: &RunOptions) {
    if let Some(n) = options.parallelism {
        args.push(format!("-parallelism={n}"));
    }
    let timeout = options.lock_timeout.unwrap_or_default();
    args.push(format!("-lock-timeout={}s", timeout.as_secs()));
}

fn warnings(s: &Streamed) -> Vec<Diagnostic> {
    s.diagnostics
        .iter()
        .filter(|d| !d.diagnostic.is_error())
        .map(|d| d.diagnostic.clone())
        .collect()
}

/// Output recorded from Terraform against moto (`scripts/record-terraform-fixtures`).
#[cfg(test)]
fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/terraform/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Finds the binary (`explicit`, else `terraform` then `tofu` on the PATH of `env`) and checks
/// that its version runs what `provision` writes (with `backend`: an S3 backend with a lock file).
pub fn find(
    explicit: Option<&Path>,
    env: &Environment,
    backend: bool,
) -> Result<Binary, TerraformError> {
    let path = binary::locate(explicit, env.path())?;
    binary::inspect(&path, env, backend)
}
