//! Terraform judges the module `provision render --format terraform` writes, for every example
//! and for a configuration that turns every option on: `terraform init -backend=false`,
//! `terraform validate` (no error, no warning) and `terraform fmt -check -recursive` (the
//! templates render formatted HCL; nothing formats the output afterwards). Offline: the
//! provider comes from the mirror (tests/it/support/terraform.rs), nothing is downloaded.

use crate::support;
use crate::support::terraform::{expect, render};
use std::path::{Path, PathBuf};

/// Every option on: key, access lists, identities, CORS, noncurrent expiry, key prefix,
/// metadata append, manage policy, and an S3 state backend.
const EVERYTHING: &str = r#"version: 1
organisation: acme
regions: [eu-west-1, us-east-1]
stack_name: acme-everything
tags: {team: platform}
bucket:
  name: "acme-everything-{region}"
  key_prefix: "artifacts/"
  noncurrent_version_expiration_days: 30
  cors:
    - allowed_origins: ["https://app.example.com"]
      allowed_methods: [GET, PUT]
      allowed_headers: ["*"]
      expose_headers: [ETag]
      max_age_seconds: 600
kms: {alias: alias/acme-everything}
access:
  role_users: ["DevOps/me@example.com"]
  roles: [ci]
  users: [bot]
policies:
  read: {allow_metadata_append: true}
  manage: {enabled: true}
identities: {group: Apps, users: [app-one, app-two], policy: manage}
engine: terraform
terraform:
  backend: {bucket: acme-terraform-state, kms_key_id: alias/acme-state}
"#;

/// The configurations judged: every example, and EVERYTHING.
fn configurations(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = crate::support::examples();
    let everything = dir.join("everything.yaml");
    std::fs::write(&everything, EVERYTHING).expect("write everything.yaml");
    out.push(("everything".into(), everything));
    out
}

#[test]
fn terraform_init_validate_and_fmt_pass_on_every_rendered_module() {
    let dir = tempfile::tempdir().expect("temp dir");
    let configs = configurations(dir.path());
    // One thread per module: each `validate` starts a provider per region, mostly waiting.
    std::thread::scope(|scope| {
        for (name, file) in &configs {
            let module = dir.path().join("modules").join(name);
            scope.spawn(move || judge(name, file, &module));
        }
    });
}

fn judge(name: &str, config: &Path, module: &Path) {
    render(config, module);
    if name == "everything" {
        assert!(module.join("backend.tf").is_file(), "{name}: backend.tf");
    }
    expect(
        module,
        None,
        &["init", "-backend=false", "-input=false", "-no-color"],
        0,
    );
    let validate = expect(module, None, &["validate", "-json", "-no-color"], 0);
    let report: serde_json::Value = serde_json::from_str(&validate).unwrap_or_else(|e| {
        panic!("{name}: terraform validate -json printed no JSON ({e}):\n{validate}")
    });
    assert_eq!(report["valid"], true, "{name}: {report:#}");
    assert_eq!(
        (
            report["error_count"].as_u64(),
            report["warning_count"].as_u64()
        ),
        (Some(0), Some(0)),
        "{name}: terraform validate found problems: {:#}",
        report["diagnostics"]
    );
    // Exit 3 means unformatted files; -diff shows what terraform fmt would change.
    expect(
        module,
        None,
        &["fmt", "-check", "-recursive", "-diff", "-no-color"],
        0,
    );
}

#[test]
fn the_mirror_is_used_and_the_provider_is_linked_not_copied() {
    let tools = support::terraform::tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let module = dir.path().join("minimal");
    render(&support::repo_root().join("examples/minimal.yaml"), &module);
    let out = expect(
        &module,
        None,
        &["init", "-backend=false", "-input=false", "-no-color"],
        0,
    );
    assert!(out.contains("hashicorp/aws v5.100.0"), "{out}");
    // The installed provider directory is a link into the mirror: `init` costs no copy of
    // the ~700 MB binary.
    let installed = module.join(".terraform/providers/registry.terraform.io/hashicorp/aws");
    let version_dir = std::fs::read_dir(&installed)
        .expect("installed provider")
        .next()
        .expect("a version")
        .expect("entry")
        .path();
    let platform = std::fs::read_dir(&version_dir)
        .expect("version directory")
        .next()
        .expect("a platform")
        .expect("entry")
        .path();
    let meta = std::fs::symlink_metadata(&platform).expect("platform entry");
    assert!(
        meta.file_type().is_symlink(),
        "{} is a copy, not a link",
        platform.display()
    );
    let target = std::fs::canonicalize(&platform).expect("resolve the link");
    assert!(
        target.starts_with(std::fs::canonicalize(&tools.mirror).expect("mirror")),
        "{} -> {} is not in the mirror {}",
        platform.display(),
        target.display(),
        tools.mirror.display()
    );
}
