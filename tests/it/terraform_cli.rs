//! The Terraform engine's refusals of bad input, through the real binary and before any
//! Terraform run reaches AWS (the test bed's endpoint is the loopback trap): exit 3 with the
//! file, flag or binary named, and nothing written.

use crate::support::terraform::tools;
use crate::support::{output, provision};
use std::path::Path;

const CONFIG: &str = "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\nstack_name: acme\nengine: terraform\n";

fn write_config(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("provision.yaml");
    std::fs::write(&file, CONFIG).expect("write provision.yaml");
    file
}

/// `provision ARGS` in `dir` with the test bed's Terraform: (exit code, stderr).
fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let (code, _, stderr) = output(
        provision(dir)
            .env("PROVISION_TERRAFORM", &tools().binary)
            .args(args),
    );
    (code, stderr)
}

#[test]
fn terraform_missing_or_too_old_is_refused_naming_the_binary() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_config(dir.path());
    let (code, stderr) = run(
        dir.path(),
        &["plan", "--terraform", "/nonexistent/terraform"],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("/nonexistent/terraform"), "{stderr}");
    let old = dir.path().join("terraform");
    std::fs::write(
        &old,
        "#!/bin/sh\necho '{\"terraform_version\":\"1.4.6\",\"platform\":\"linux_amd64\",\"provider_selections\":{},\"terraform_outdated\":true}'\n",
    )
    .expect("write a fake terraform");
    let mut perms = std::fs::metadata(&old).expect("metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&old, perms).expect("chmod");
    for command in [
        &["plan"][..],
        &["status"],
        &["drift"],
        &["destroy", "--yes"],
    ] {
        let args = [command, &["--terraform", old.to_str().expect("utf-8")]].concat();
        let (code, stderr) = run(dir.path(), &args);
        assert_eq!(code, 3, "{command:?}: {stderr}");
        assert!(
            stderr.contains("1.4.6 is too old") && stderr.contains("terraform"),
            "{command:?}: {stderr}"
        );
    }
    assert!(
        !dir.path().join(".provision").exists(),
        "nothing is written before the binary is accepted"
    );
}

#[test]
fn engine_flags_and_region_subsets_are_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_config(dir.path());
    let (code, stderr) = run(dir.path(), &["plan", "--engine", "cloudformations"]);
    assert_eq!(code, 3, "an unknown engine: {stderr}");
    for command in [&["plan"][..], &["apply", "--yes"], &["destroy", "--yes"]] {
        let args = [command, &["--region", "us-east-1"]].concat();
        let (code, stderr) = run(dir.path(), &args);
        assert_eq!(code, 3, "{command:?}: {stderr}");
        assert!(
            stderr.contains("--region us-east-1") && stderr.contains("every region"),
            "{command:?}: {stderr}"
        );
    }
}

#[test]
fn a_working_directory_of_another_configuration_or_a_state_edited_by_hand_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(dir.path());
    let workdir = dir.path().join(".provision/terraform/acme");
    std::fs::create_dir_all(&workdir).expect("create the working directory");
    let marker = workdir.join(".provision-workdir.json");
    std::fs::write(
        &marker,
        r#"{"config": "/elsewhere/provision.yaml", "files": []}"#,
    )
    .expect("write a marker");
    let (code, stderr) = run(dir.path(), &["status"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("/elsewhere/provision.yaml") && stderr.contains("belongs to"),
        "{stderr}"
    );
    let config = std::fs::canonicalize(&file).expect("canonical path");
    std::fs::write(
        &marker,
        serde_json::json!({"config": config, "files": []}).to_string(),
    )
    .expect("write a marker");
    let state = workdir.join("terraform.tfstate");
    let edited = "{\"version\": 4, \"serial\": 3,";
    std::fs::write(&state, edited).expect("write a broken state");
    for command in [&["plan"][..], &["status"], &["destroy", "--yes"]] {
        let (code, stderr) = run(dir.path(), command);
        assert_eq!(code, 3, "{command:?}: {stderr}");
        assert!(
            stderr.contains("terraform.tfstate") && stderr.contains("unreadable"),
            "{command:?}: {stderr}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&state).expect("read the state"),
        edited,
        "the state is left as it was"
    );
}
