//! `engine: terraform` before the Terraform engine is wired into the deploy commands: they
//! refuse (exit 3, naming the file and the way out) rather than deploy with CloudFormation.

use crate::support::{output, provision};

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
        // The test bed's endpoint is the loopback trap: nothing could be deployed anyway.
        let (code, _, stderr) = output(provision(dir.path()).args(command).arg("-f").arg(&file));
        assert_eq!(code, 3, "{command:?}: {stderr}");
        assert!(
            stderr.contains("engine: terraform") && stderr.contains("render --format terraform"),
            "{command:?}: {stderr}"
        );
    }
    let (code, _, _) = output(
        provision(dir.path())
            .args(["validate", "-q", "-f"])
            .arg(&file),
    );
    assert_eq!(code, 0, "the configuration itself is valid");
}
