//! Running the Terraform binary: an explicit environment, `-input=false -no-color`, stdout
//! read line by line as it comes, stderr kept for the error report, and an interrupt that is
//! passed on to Terraform exactly once.
//!
//! Terraform runs in its own process group, so a Ctrl-C in the terminal reaches `provision`
//! only; `provision` then sends Terraform one SIGINT (Terraform's graceful stop: it finishes
//! the calls under way, writes the state and releases the lock) and waits for it. A second
//! SIGINT would make Terraform exit at once, state unwritten, so none is ever sent.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Variables passed from `provision`'s environment to Terraform. Everything else is left
/// out: `TF_CLI_ARGS*`, `TF_VAR_*`, `TF_WORKSPACE`, `TF_DATA_DIR` would change what the
/// commands do behind `provision`'s back.
const PASSED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    // The user's CLI configuration (mirrors, credentials for private registries) and logs.
    "TF_CLI_CONFIG_FILE",
    "TF_PLUGIN_CACHE_DIR",
    "TF_LOG",
    "TF_LOG_CORE",
    "TF_LOG_PROVIDER",
    "TF_LOG_PATH",
];

/// The environment Terraform runs with: built explicitly, never inherited wholesale.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<OsString, OsString>,
}

impl Environment {
    /// Nothing but the settings every run gets (see [`Environment::set_defaults`]).
    pub fn empty() -> Self {
        let mut env = Environment::default();
        env.set_defaults();
        env
    }

    /// From `provision`'s own environment: the variables of [`PASSED`], every `AWS_*` variable
    /// (credentials, profile, region, endpoints, CA bundle: the AWS provider and the S3
    /// backend read them as the SDK does), and the defaults.
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars_os())
    }

    /// As [`Environment::from_process`], from the given variables.
    pub fn from_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let mut env = Environment::default();
        for (k, v) in vars {
            let name = k.to_string_lossy();
            if PASSED.contains(&name.as_ref()) || name.starts_with("AWS_") {
                env.vars.insert(k, v);
            }
        }
        env.set_defaults();
        env
    }

    /// No prompts, no colour, no version check against checkpoint.hashicorp.com.
    fn set_defaults(&mut self) {
        self.set("TF_IN_AUTOMATION", "1");
        self.set("TF_INPUT", "0");
        self.set("CHECKPOINT_DISABLE", "1");
    }

    pub fn set(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.vars
            .insert(key.as_ref().to_os_string(), value.as_ref().to_os_string());
        self
    }

    pub fn remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        self.vars.remove(key.as_ref());
        self
    }

    pub fn get(&self, key: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(key)).map(OsString::as_os_str)
    }

    /// The PATH Terraform gets (for finding the binary the same way).
    pub fn path(&self) -> Option<&OsStr> {
        self.get("PATH")
    }

    fn apply_to(&self, cmd: &mut Command) {
        cmd.env_clear();
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
    }
}

/// Set to stop a running command: Terraform gets one SIGINT and is waited for. Clone it into
/// the Ctrl-C handler; `trigger` may be called any number of times.
///
/// It also counts the commands running under it, so that the handler knows whether there is
/// a Terraform to pass the interrupt to ([`Interrupt::running`]) or the program can simply
/// end. Once triggered, no new command starts under it: a handler that triggers and then
/// finds nothing running can exit without a command slipping in between (both sides use
/// sequentially consistent operations: at least one of them sees the other).
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<InterruptState>);

#[derive(Debug, Default)]
struct InterruptState {
    triggered: AtomicBool,
    running: AtomicUsize,
}

impl Interrupt {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn trigger(&self) {
        self.0.triggered.store(true, Ordering::SeqCst);
    }

    pub fn is_triggered(&self) -> bool {
        self.0.triggered.load(Ordering::SeqCst)
    }

    /// How many commands run under this interrupt now.
    pub fn running(&self) -> usize {
        self.0.running.load(Ordering::SeqCst)
    }

    /// Counts a command as running until the guard is dropped; None when the interrupt was
    /// triggered already (the command must not start).
    fn start(&self) -> Option<RunningGuard<'_>> {
        self.0.running.fetch_add(1, Ordering::SeqCst);
        let guard = RunningGuard(self);
        (!self.is_triggered()).then_some(guard)
    }
}

struct RunningGuard<'a>(&'a Interrupt);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How a command ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    /// Everything Terraform wrote to stderr (errors of commands without `-json`).
    pub stderr: String,
    /// Whether an interrupt was passed on to Terraform while it ran.
    pub interrupted: bool,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs `binary args` in `dir` and hands each stdout line to `on_line` as it comes.
pub fn run(
    binary: &Path,
    dir: &Path,
    args: &[String],
    env: &Environment,
    interrupt: &Interrupt,
    on_line: &mut dyn FnMut(&str),
) -> std::io::Result<Finished> {
    let Some(_running) = interrupt.start() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::Interrupted,
            "interrupted before it started",
        ));
    };
    let mut cmd = Command::new(binary);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    env.apply_to(&mut cmd);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        if let Some(out) = stdout {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        }
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut err) = stderr {
            let _ = err.read_to_string(&mut text);
        }
        text
    });
    let mut interrupted = false;
    loop {
        match lines_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => on_line(&line),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if interrupt.is_triggered() && !interrupted {
            interrupted = true;
            send_interrupt(child.id());
        }
    }
    // stdout is closed: Terraform is exiting. An interrupt that came meanwhile still goes out.
    if interrupt.is_triggered() && !interrupted {
        interrupted = true;
        send_interrupt(child.id());
    }
    let status = child.wait()?;
    let _ = reader.join();
    let stderr = stderr_reader.join().unwrap_or_default();
    Ok(Finished {
        status,
        stderr,
        interrupted,
    })
}

/// Runs `binary args` in `dir` and returns its whole stdout (for `show -json`, `version`,
/// `state list`: short commands that print one document).
pub fn output(
    binary: &Path,
    dir: &Path,
    args: &[String],
    env: &Environment,
) -> std::io::Result<(Finished, String)> {
    let mut stdout = String::new();
    let finished = run(binary, dir, args, env, &Interrupt::new(), &mut |line| {
        stdout.push_str(line);
        stdout.push('\n');
    })?;
    Ok((finished, stdout))
}

#[cfg(unix)]
fn send_interrupt(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid of our own child and a valid signal number has no
        // memory-safety preconditions; an error (the child already exited) is harmless.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
    }
}

#[cfg(not(unix))]
fn send_interrupt(_pid: u32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_variables_pass_and_the_defaults_are_set() {
        let env = Environment::from_vars([
            ("PATH".into(), "/bin".into()),
            ("AWS_PROFILE".into(), "ci".into()),
            ("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:1".into()),
            ("TF_CLI_ARGS_apply".into(), "-auto-approve".into()),
            ("TF_VAR_tags".into(), "{}".into()),
            ("TF_WORKSPACE".into(), "prod".into()),
            ("NO_COLOR".into(), "1".into()),
            ("TF_CLI_CONFIG_FILE".into(), "/etc/tf.rc".into()),
        ]);
        assert_eq!(env.get("PATH"), Some(OsStr::new("/bin")));
        assert_eq!(env.get("AWS_PROFILE"), Some(OsStr::new("ci")));
        assert_eq!(
            env.get("AWS_ENDPOINT_URL"),
            Some(OsStr::new("http://127.0.0.1:1"))
        );
        assert_eq!(
            env.get("TF_CLI_CONFIG_FILE"),
            Some(OsStr::new("/etc/tf.rc"))
        );
        for dropped in [
            "TF_CLI_ARGS_apply",
            "TF_VAR_tags",
            "TF_WORKSPACE",
            "NO_COLOR",
        ] {
            assert_eq!(env.get(dropped), None, "{dropped}");
        }
        assert_eq!(env.get("TF_IN_AUTOMATION"), Some(OsStr::new("1")));
        assert_eq!(env.get("CHECKPOINT_DISABLE"), Some(OsStr::new("1")));
    }

    #[test]
    fn lines_arrive_in_order_and_stderr_is_kept() {
        let mut lines = Vec::new();
        let mut env = Environment::empty();
        env.set("PATH", "/usr/bin:/bin");
        let finished = run(
            Path::new("/bin/sh"),
            Path::new("/"),
            &[
                "-c".into(),
                "echo one; echo two; echo oops >&2; exit 3".into(),
            ],
            &env,
            &Interrupt::new(),
            &mut |l| lines.push(l.to_string()),
        )
        .unwrap();
        assert_eq!(lines, ["one", "two"]);
        assert_eq!(finished.code(), Some(3));
        assert_eq!(finished.stderr.trim(), "oops");
        assert!(!finished.interrupted);
    }

    #[test]
    fn an_interrupt_is_passed_on_once_and_the_child_finishes_its_work() {
        // The child traps SIGINT like Terraform does: it counts the signals, cleans up and
        // exits on its own. One signal must arrive, not two.
        let script = "n=0; trap 'n=$((n+1)); echo interrupted $n' INT; echo ready; \
                      i=0; while [ $i -lt 50 ] && [ $n -eq 0 ]; do sleep 0.1; i=$((i+1)); done; \
                      sleep 0.3; echo signals $n; exit 0";
        let interrupt = Interrupt::new();
        let trigger = interrupt.clone();
        let mut lines = Vec::new();
        let mut env = Environment::empty();
        env.set("PATH", "/usr/bin:/bin");
        let finished = run(
            Path::new("/bin/sh"),
            Path::new("/"),
            &["-c".into(), script.into()],
            &env,
            &interrupt,
            &mut |l| {
                lines.push(l.to_string());
                if l == "ready" {
                    // Ctrl-C pressed twice: the second must not reach the child.
                    trigger.trigger();
                    trigger.trigger();
                }
            },
        )
        .unwrap();
        assert!(finished.interrupted);
        assert_eq!(finished.code(), Some(0), "{lines:?}");
        assert_eq!(
            lines.last().map(String::as_str),
            Some("signals 1"),
            "{lines:?}"
        );
    }
}
