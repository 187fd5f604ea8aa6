//! `engine: terraform` before the Terraform engine is wired into the deploy commands: they
//! refuse (exit 3, naming the file and the way out) rather than deploy with CloudFormation.

use std::process::Command;

#[test]
fn deploy_commands_refuse_the_terraform_engine_until_it_is_wired() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("provision.yaml");
    std::fs::write(
        &file,
        "version: 1\norganisation: acme\nregions: [eu-west-1]\nengine: terraform\n",
    )
    .expect("write provision.yaml");
    for command in [
        &["plan"][..],
        &["apply", "--yes"],
        &["destroy", "--yes"],
        &["status"],
        &["drift"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_provision"))
            .args(command)
            .arg("-f")
            .arg(&file)
            .env("NO_COLOR", "1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env_remove("AWS_PROFILE")
            .env_remove("PROVISION_FILE")
            .output()
            .expect("run provision");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{command:?}: {stderr}");
        assert!(
            stderr.contains("engine: terraform") && stderr.contains("render --format terraform"),
            "{command:?}: {stderr}"
        );
    }
    let valid = Command::new(env!("CARGO_BIN_EXE_provision"))
        .args(["validate", "-q", "-f"])
        .arg(&file)
        .output()
        .expect("run provision");
    assert!(valid.status.success(), "the configuration itself is valid");
}
