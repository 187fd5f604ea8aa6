//! `provision render` and `provision validate` on the command line: files written, the
//! report, template overrides, and every way a template can be wrong (exit 3, naming it).

use crate::support;
use crate::support::snapshot::assert_output_snapshot;
use serde_json::Value;
use std::path::{Path, PathBuf};

const CONFIG: &str = "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\n";

fn workdir(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("provision.yaml"), config).expect("write config");
    dir
}

fn example(name: &str) -> PathBuf {
    support::repo_root()
        .join("examples")
        .join(format!("{name}.yaml"))
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn every_example_validates_and_renders_in_every_format() {
    for name in [
        "minimal",
        "multi-region",
        "kms-access-lists",
        "startifact-compatible",
        "app-identities-cors",
    ] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (code, _, stderr) = support::output(
            support::provision(dir.path())
                .arg("validate")
                .arg("-f")
                .arg(example(name)),
        );
        assert_eq!(code, 0, "validate {name}: {stderr}");
        for format in ["cloudformation", "terraform", "policies"] {
            let (code, _, stderr) = support::output(
                support::provision(dir.path())
                    .args(["render", "--format", format, "--out", format, "-f"])
                    .arg(example(name)),
            );
            assert_eq!(code, 0, "render {format} {name}: {stderr}");
        }
    }
}

#[test]
fn cloudformation_writes_one_template_per_region_and_reports_them_as_json() {
    let dir = workdir(CONFIG);
    let (code, stdout, stderr) = support::output(
        support::provision(dir.path()).args(["--output", "json", "render", "--out", "out"]),
    );
    assert_eq!(code, 0, "{stderr}");
    support::schema::document(&stdout);
    // The format and every file written, relative to the working directory.
    assert_output_snapshot!("render_report_as_json", stdout);
    for region in ["eu-west-1", "us-east-1"] {
        let body =
            std::fs::read_to_string(dir.path().join("out").join(format!("{region}.yaml"))).unwrap();
        assert!(
            body.contains(&format!("artifact storage in {region}")),
            "{body}"
        );
    }
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn terraform_and_policies_write_their_files() {
    let dir = workdir(&format!("{CONFIG}kms: {{alias: alias/acme}}\n"));
    let (code, stdout, stderr) = support::output(support::provision(dir.path()).args([
        "render",
        "--format",
        "terraform",
        "--out",
        "tf",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("rendered 5 files (terraform)"), "{stdout}");
    for f in [
        "main.tf",
        "kms.tf",
        "variables.tf",
        "terraform.tfvars",
        "outputs.tf",
    ] {
        assert!(dir.path().join("tf").join(f).is_file(), "{f}");
    }
    let (code, _, stderr) = support::output(
        support::provision(dir.path()).args(["render", "--format", "policies", "--out", "p"]),
    );
    assert_eq!(code, 0, "{stderr}");
    for region in ["eu-west-1", "us-east-1"] {
        for kind in ["read", "write", "configure", "bucket", "key", "log-bucket"] {
            let path = dir
                .path()
                .join("p")
                .join(region)
                .join(format!("{kind}.json"));
            let doc: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(doc["Version"], "2012-10-17", "{}", path.display());
            let text = doc.to_string();
            assert!(
                !text.contains("${"),
                "placeholders left in {}: {text}",
                path.display()
            );
        }
        assert!(
            !dir.path()
                .join("p")
                .join(region)
                .join("manage.json")
                .exists()
        );
    }
}

#[test]
fn an_override_replaces_only_its_template() {
    let dir = workdir(CONFIG);
    write(
        &dir.path().join("tpl/cloudformation/outputs.yaml.hbs"),
        "Outputs:\n  Custom:\n    Value: \"{{region}} of {{organisation}}\"\n",
    );
    let (code, _, stderr) = support::output(support::provision(dir.path()).args([
        "render",
        "--out",
        "out",
        "--templates",
        "tpl",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let body = std::fs::read_to_string(dir.path().join("out/us-east-1.yaml")).unwrap();
    assert!(body.contains("Value: \"us-east-1 of acme\""), "{body}");
    assert!(
        !body.contains("BucketArn"),
        "the embedded outputs were not replaced: {body}"
    );
    assert!(
        body.contains("Type: AWS::S3::Bucket"),
        "the other parts stay embedded: {body}"
    );
}

/// Runs `render` with one override and returns the exit code, stderr, the override's path
/// and the directory holding it (removed when dropped).
fn render_with_override(
    relative: &str,
    text: &str,
    format: &str,
) -> (i32, String, PathBuf, tempfile::TempDir) {
    let dir = workdir(CONFIG);
    let file = dir.path().join("tpl").join(relative);
    write(&file, text);
    let (code, _, stderr) = support::output(support::provision(dir.path()).args([
        "render",
        "--format",
        format,
        "--out",
        "out",
        "--templates",
        "tpl",
    ]));
    (code, stderr, file, dir)
}

#[test]
fn a_broken_override_is_invalid_input_naming_the_file() {
    let cases = [
        // Handlebars syntax error.
        (
            "cloudformation/kms.yaml.hbs",
            "{{#if kms}}\n  Key: x\n",
            "cloudformation",
        ),
        // Strict mode: a field the context does not have.
        (
            "cloudformation/kms.yaml.hbs",
            "  Key: {{no_such_field}}\n",
            "cloudformation",
        ),
        // Renders, but not as YAML.
        (
            "cloudformation/outputs.yaml.hbs",
            "Outputs: [unclosed\n  - {\n",
            "cloudformation",
        ),
        // A policy that is not JSON.
        (
            "policies/read.json.hbs",
            "{\"Version\": \"2012-10-17\",}",
            "policies",
        ),
        // A placeholder that does not exist.
        (
            "policies/configure.json.hbs",
            "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"ssm:GetParameter\", \"Resource\": \"arn:${Partiton}:ssm:::x\"}]}",
            "policies",
        ),
        // Terraform that is not HCL.
        (
            "terraform/outputs.tf.hbs",
            "output \"x\" {\n  value = \n",
            "terraform",
        ),
    ];
    let mut messages = String::new();
    for (relative, text, format) in cases {
        let (code, stderr, file, _dir) = render_with_override(relative, text, format);
        assert_eq!(code, 3, "{relative}: {stderr}");
        let named = format!("tpl/{relative}");
        assert!(file.is_file());
        assert!(
            stderr.contains(&named),
            "{relative}: the error must name {named}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        messages.push_str(&format!("$ override {relative}\n{stderr}\n"));
    }
    assert_output_snapshot!("broken_override_messages", messages);
}

#[test]
fn an_override_matching_no_template_is_refused() {
    let (code, stderr, file, _dir) =
        render_with_override("cloudformation/bucket.yml.hbs", "x", "cloudformation");
    assert_eq!(code, 3, "{stderr}");
    assert!(file.is_file());
    assert!(
        stderr.contains("tpl/cloudformation/bucket.yml.hbs"),
        "{stderr}"
    );
    // Lists the templates an override may replace.
    assert_output_snapshot!("override_matching_no_template", stderr);

    let dir = workdir(CONFIG);
    let (code, _, stderr) = support::output(support::provision(dir.path()).args([
        "render",
        "--templates",
        "missing-dir",
    ]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("missing-dir"), "{stderr}");
}

#[test]
fn an_invalid_configuration_renders_nothing() {
    let dir = workdir("version: 1\norganisation: acme\nregions: [eu_west_9]\n");
    let (code, _, stderr) =
        support::output(support::provision(dir.path()).args(["render", "--out", "out"]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("provision.yaml:3:"), "{stderr}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn quiet_prints_nothing_but_still_writes() {
    let dir = workdir(CONFIG);
    let (code, stdout, stderr) =
        support::output(support::provision(dir.path()).args(["-q", "render", "--out", "out"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""));
    assert!(dir.path().join("out/eu-west-1.yaml").is_file());
}
