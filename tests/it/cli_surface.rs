//! The command line as a user meets it: completions, man page, version, usage errors.

use crate::support::repo_root;
use crate::support::snapshot::assert_output_snapshot;
use std::process::Command;

/// `provision` in the repository (these tests read no configuration file).
fn provision() -> Command {
    crate::support::provision(&repo_root())
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = provision()
            .args(["completions", shell])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for word in ["stage", "download", "apply", "detailed-exitcode"] {
            assert!(text.contains(word), "{shell} completion lacks {word}");
        }
    }
}

#[test]
fn an_unknown_shell_is_invalid_input() {
    let out = provision()
        .args(["completions", "tcsh"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
}

#[test]
fn man_page_is_roff_and_lists_the_commands() {
    let out = provision().arg("man").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(".ie") || text.contains(".TH provision"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(text.contains("provision\\-stage") || text.contains("stage"));
}

#[test]
fn version_prints_the_crate_version() {
    let out = provision().arg("--version").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("provision {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_arguments_are_invalid_input_with_usage() {
    let out = provision()
        .args(["plan", "--frobnicate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    // The unknown argument named, then the usage.
    assert_output_snapshot!("unknown_argument", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn validate_reports_json_with_a_versioned_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("provision.yaml"),
        "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\n",
    )
    .expect("write");
    let out = crate::support::provision(dir.path())
        .args(["validate", "--output", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    crate::support::schema::document(&String::from_utf8_lossy(&out.stdout));
    assert_output_snapshot!("validate_as_json", String::from_utf8_lossy(&out.stdout));
}
