//! Writing to stdout can fail: a reader that closed its end (`| head -c 1`) ends the run
//! quietly with exit 0, as ripgrep does; any other failure (a full disk, `/dev/full`) is
//! exit 1 with a message on stderr. Never a panic.

use std::process::{Command, Output, Stdio};

/// The binary with only the test bed's environment (these commands need nothing else).
fn provision(args: &[&str], dir: &std::path::Path) -> Command {
    let mut cmd = crate::support::provision(dir);
    cmd.args(args);
    cmd
}

/// Runs with stdout a pipe whose reading end is already closed.
fn into_closed_pipe(mut cmd: Command) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    cmd.stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run provision")
}

/// Runs with stdout `/dev/full`: every write fails with "no space left on device".
fn into_full_device(mut cmd: Command) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    cmd.stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("run provision")
}

fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("provision.yaml"),
        "version: 1\norganisation: acme\nregions: [eu-west-1]\n",
    )
    .expect("write the configuration");
    dir
}

#[test]
fn a_closed_stdout_ends_the_run_quietly_with_exit_0() {
    let dir = config_dir();
    for args in [
        &["completions", "bash"][..],
        &["schema"],
        &["man"],
        &["validate"],
        &["--output", "json", "validate"],
        &["render", "--format", "cloudformation", "--out", "out"],
    ] {
        let out = into_closed_pipe(provision(args, dir.path()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            stderr.is_empty(),
            "{args:?}: nothing on stderr, got {stderr}"
        );
    }
}

#[test]
fn a_full_stdout_is_exit_1_with_a_message() {
    let dir = config_dir();
    for args in [
        &["completions", "bash"][..],
        &["schema"],
        &["validate"],
        &["--output", "json", "validate"],
    ] {
        let out = into_full_device(provision(args, dir.path()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: cannot write to standard output")
                && stderr.contains("No space left on device"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
