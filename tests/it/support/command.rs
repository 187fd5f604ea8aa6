//! The one place where the tests build a command. Every process a test starts (`provision`,
//! the emulator, Startifact, the judges, later Terraform) comes from [`command`], so that none
//! of them sees the developer's shell:
//!
//! - the environment is cleared: no `AWS_*` (profile, region, keys, endpoints), `STARTIFACT_*`,
//!   `PROVISION_*`, `TF_*`, `NO_COLOR`, `CLICOLOR*`, `CI`, `RUST_LOG`, `COLUMNS`, proxies...;
//!   only `PATH` and `TMPDIR` pass (to find system tools and keep temporary files where the
//!   test's are), and `LLVM_PROFILE_FILE` for coverage tools;
//! - `HOME` is an empty directory of this test run, and the shared AWS config and credentials
//!   files are empty files in it: no profile, SSO session or `credential_process` of the
//!   developer can be read;
//! - fixed fake credentials, instance metadata disabled;
//! - belt and braces: the default endpoint and the HTTP(S) proxy are the loopback
//!   [`trap`](super::trap), so that a request that escapes every override (a test that forgot
//!   its endpoint, a region without one) stops on 127.0.0.1 and is recorded, instead of
//!   reaching AWS. The SDK's default HTTPS client honours `HTTPS_PROXY` (since behaviour
//!   version 2025-08-07); `hermetic::` proves both layers.
//!
//! Tests add their own settings on top (an emulator's endpoint, a region, a parameter name).
//! `hermetic::no_test_builds_a_command_outside_support` fails on a command built elsewhere.

use super::trap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Variables passed through from the test process: where system tools are, where temporary
/// files go, where coverage tools want their profiles. Nothing else of the shell.
pub const PASSED_THROUGH: &[&str] = &["PATH", "TMPDIR", "LLVM_PROFILE_FILE"];

/// The fake credentials every command gets (moto accepts any).
pub const FAKE_ACCESS_KEY_ID: &str = "testing";

/// `program` with the test bed's environment and nothing of the developer's (see the module
/// documentation).
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear().envs(environment());
    cmd
}

/// The whole environment of a command of the tests: the variables passed through, then the
/// test bed's. (For a driver that starts processes itself, e.g. `provision::terraform`.)
pub fn environment() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = PASSED_THROUGH
        .iter()
        .filter_map(|name| {
            std::env::var_os(name).map(|v| (name.to_string(), v.to_string_lossy().into_owned()))
        })
        .collect();
    env.extend(test_bed_env().into_iter().map(|(k, v)| (k.to_string(), v)));
    env
}

/// The variables [`command`] sets, after clearing the environment.
pub fn test_bed_env() -> Vec<(&'static str, String)> {
    let home = fake_home();
    let trap = trap::url();
    vec![
        ("HOME", home.display().to_string()),
        (
            "AWS_CONFIG_FILE",
            home.join(".aws/config").display().to_string(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join(".aws/credentials").display().to_string(),
        ),
        ("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID.into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_SESSION_TOKEN", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_ENDPOINT_URL", trap.clone()),
        ("HTTPS_PROXY", trap.clone()),
        ("HTTP_PROXY", trap),
        ("NO_PROXY", "127.0.0.1,localhost".into()),
        ("NO_COLOR", "1".into()),
    ]
}

/// An empty home directory for this test run, with empty `.aws/config` and
/// `.aws/credentials`, under cargo's temporary directory for tests (`target/tmp/`): the
/// process ends without removing it, and `cargo clean` does.
pub fn fake_home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| {
        let home = tempfile::Builder::new()
            .prefix("home-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("a temporary home directory");
        let aws = home.path().join(".aws");
        std::fs::create_dir(&aws).expect("create .aws");
        std::fs::write(aws.join("config"), "").expect("write an empty AWS config file");
        std::fs::write(aws.join("credentials"), "").expect("write an empty credentials file");
        home
    })
    .path()
}

/// The `provision` binary under test, run in `dir`.
pub fn provision(dir: &Path) -> Command {
    let mut cmd = command(env!("CARGO_BIN_EXE_provision"));
    cmd.current_dir(dir);
    cmd
}

/// A program of one of the repository's Python environments (`.venv/<venv>/bin/<exe>`, built
/// by `scripts/python-env`), or a failure naming the command that installs it.
pub fn venv_tool(venv: &str, exe: &str) -> Command {
    command(venv_path(venv, exe))
}

/// The path of a program of a Python environment; fails naming how to install it.
pub fn venv_path(venv: &str, exe: &str) -> PathBuf {
    let path = super::repo_root()
        .join(".venv")
        .join(venv)
        .join("bin")
        .join(exe);
    assert!(
        path.exists(),
        "{exe} is not installed at {}: run `scripts/python-env {venv}` (scripts/test does)",
        path.display()
    );
    path
}
