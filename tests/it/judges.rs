//! External judges on everything `provision render` produces for every example: cfn-lint,
//! checkov (CloudFormation and Terraform), parliament and python-hcl2, run as docs/testing.md
//! and docs/security.md describe. Each judge runs once over the output of all examples (they
//! are slow to start); a finding names the example and the file. Terraform's own judges
//! (`init`, `validate`, `fmt`) are in tests/it/terraform_judges.rs.
//!
//! The judges come from the repository's virtual environments (`scripts/python-env lint
//! checkov`, which scripts/test runs). A missing judge fails the test; it never skips.

use crate::support::{examples, output, provision, repo_root, venv_tool};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The rendered output of every example, once per test binary:
/// `<root>/{cloudformation,terraform,policies}/<example>/...`.
struct Rendered {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn rendered() -> &'static Rendered {
    static RENDERED: OnceLock<Rendered> = OnceLock::new();
    RENDERED.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = dir.path().to_path_buf();
        for (name, file) in examples() {
            for format in ["cloudformation", "terraform", "policies"] {
                let out = root.join(format).join(&name);
                let (code, _, stderr) = output(
                    provision(&root)
                        .args(["render", "-q", "--format", format, "--out"])
                        .arg(&out)
                        .arg("-f")
                        .arg(&file),
                );
                assert_eq!(
                    code, 0,
                    "provision render --format {format} of examples/{name}.yaml failed: {stderr}"
                );
            }
        }
        Rendered { _dir: dir, root }
    })
}

/// Files under `dir` whose name ends with `suffix`, recursively, sorted.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable directory") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    output(cmd.stdin(Stdio::null()))
}

#[test]
fn cfn_lint_finds_nothing_not_even_informational() {
    let root = rendered().root.join("cloudformation");
    let templates = files(&root, ".yaml");
    assert!(templates.len() >= examples().len(), "{templates:?}");
    let (code, stdout, stderr) = run(venv_tool("lint", "cfn-lint")
        .args(["--include-checks", "I", "--format", "parseable", "--"])
        .args(&templates));
    // Exit code is a bitmask: 2 error, 4 warning, 8 informational. Paths name the example.
    assert_eq!(
        code,
        0,
        "cfn-lint findings (file:line:col:...:rule:message, under {}):\n{stdout}{stderr}",
        root.display()
    );
}

/// Runs checkov on `dir` for `framework` and checks: no parse error, resources seen, no
/// failed check, and every skip carries a reason that docs/security.md lists.
fn checkov(framework: &str) {
    let dir = rendered().root.join(framework);
    let (code, stdout, stderr) = run(venv_tool("checkov", "checkov")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .arg("-d")
        .arg(&dir)
        .args([
            "--framework",
            framework,
            "--skip-download",
            "--compact",
            "-o",
            "json",
        ]));
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("checkov printed no JSON report ({e}); exit {code}:\n{stdout}\n{stderr}")
    });
    let summary = &report["summary"];
    let failed = report["results"]["failed_checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let findings: Vec<String> = failed
        .iter()
        .map(|f| {
            format!(
                "{} {} in {} ({})",
                f["check_id"].as_str().unwrap_or("?"),
                f["check_name"].as_str().unwrap_or("?"),
                f["file_path"].as_str().unwrap_or("?"),
                f["resource"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert!(
        findings.is_empty(),
        "checkov {framework} failed checks (file paths are /<example>/<file>):\n{}",
        findings.join("\n")
    );
    assert_eq!(code, 0, "checkov {framework} exit {code}:\n{stderr}");
    assert_eq!(
        summary["parsing_errors"], 0,
        "checkov {framework} could not parse some files: {summary}"
    );
    assert!(
        summary["resource_count"].as_u64().unwrap_or(0) > 0,
        "checkov {framework} saw no resources: {summary}"
    );

    let security =
        std::fs::read_to_string(repo_root().join("docs/security.md")).expect("docs/security.md");
    for skip in report["results"]["skipped_checks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let id = skip["check_id"].as_str().unwrap_or("?");
        let reason = skip["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or("")
            .trim();
        let place = format!("{} in {}", skip["resource"], skip["file_path"]);
        assert!(
            reason.len() >= 20,
            "checkov skip {id} of {place} has no written reason: {reason:?}"
        );
        assert!(
            security.contains(id),
            "checkov skip {id} ({place}) is not listed in docs/security.md"
        );
    }
}

#[test]
fn checkov_cloudformation_has_no_failed_check() {
    checkov("cloudformation");
}

#[test]
fn checkov_terraform_has_no_failed_check() {
    checkov("terraform");
}

/// Runs parliament in directory mode over `dir` with an optional config, and returns its
/// findings (one per line).
fn parliament(dir: &Path, config: Option<&Path>) -> Vec<String> {
    let mut cmd = venv_tool("lint", "parliament");
    cmd.args(["--include-community-auditors", "--json", "--directory"])
        .arg(dir)
        .args(["--include_policy_extension", ".json"]);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let (code, stdout, stderr) = run(&mut cmd);
    assert!(
        code == 0 || code == 1,
        "parliament crashed (exit {code}):\n{stdout}\n{stderr}"
    );
    let lines: Vec<String> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect();
    assert_eq!(
        code != 0,
        !lines.is_empty(),
        "parliament exit {code} disagrees with its output:\n{stdout}\n{stderr}"
    );
    lines
}

/// Copies the policies whose file name satisfies `keep` into a fresh directory, with a
/// canary: a policy with a known finding, proving that parliament read the directory.
fn policy_dir(keep: impl Fn(&Path) -> bool) -> (tempfile::TempDir, usize) {
    let root = rendered().root.join("policies");
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut count = 0;
    for file in files(&root, ".json").into_iter().filter(|f| keep(f)) {
        let relative = file.strip_prefix(&root).expect("under root");
        let target = dir.path().join(relative);
        std::fs::create_dir_all(target.parent().expect("has a parent")).expect("mkdir");
        std::fs::copy(&file, &target).expect("copy policy");
        count += 1;
    }
    std::fs::write(
        dir.path().join("canary.json"),
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#,
    )
    .expect("write canary");
    (dir, count)
}

fn assert_only_canary(findings: &[String], what: &str) {
    let canary: Vec<_> = findings
        .iter()
        .filter(|l| l.contains("canary.json"))
        .collect();
    assert!(
        !canary.is_empty(),
        "parliament did not report the canary policy: it read nothing ({what})"
    );
    let real: Vec<_> = findings
        .iter()
        .filter(|l| !l.contains("canary.json"))
        .collect();
    assert!(
        real.is_empty(),
        "parliament findings on {what} (paths are <example>/<region>/<policy>.json):\n{}",
        real.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn parliament_finds_nothing_in_any_policy() {
    let is_key = |p: &Path| p.file_name().is_some_and(|n| n == "key.json");
    let (identity_and_bucket, count) = policy_dir(|p| !is_key(p));
    assert!(
        count >= 5 * examples().len() - 5,
        "too few policies rendered: {count}"
    );
    assert_only_canary(
        &parliament(identity_and_bucket.path(), None),
        "the managed and bucket policies",
    );

    // Key policies: the account root's kms:* and Resource "*" are required in a key policy;
    // the config mutes exactly those two findings, with the reasons written in it.
    let (keys, count) = policy_dir(is_key);
    assert!(count > 0, "no example renders a KMS key policy");
    let config = repo_root().join("tests/judges/parliament-key-policy.yaml");
    let findings = parliament(keys.path(), Some(&config));
    // The canary's finding is RESOURCE_STAR, muted for key policies: with the config the
    // directory must come back clean; without it the key policies must show exactly the
    // two muted findings, proving that parliament read them.
    assert!(
        findings.is_empty(),
        "parliament findings on key policies:\n{}",
        findings.join("\n")
    );
    let unmuted = parliament(keys.path(), None);
    let issues: std::collections::BTreeSet<String> = unmuted
        .iter()
        .filter(|l| !l.contains("canary.json"))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["issue"].as_str().map(String::from))
        .collect();
    assert_eq!(
        issues.into_iter().collect::<Vec<_>>(),
        ["PERMISSIONS_MANAGEMENT_ACTIONS", "RESOURCE_STAR"],
        "key policies should differ from identity policies only by the account root's administration: {unmuted:?}"
    );
}

#[test]
fn python_hcl2_parses_every_terraform_file() {
    let root = rendered().root.join("terraform");
    let mut tf = files(&root, ".tf");
    tf.extend(files(&root, ".tfvars"));
    assert!(tf.len() >= 5 * examples().len(), "{tf:?}");
    let script = "import hcl2, sys\nbad = 0\nfor f in sys.argv[1:]:\n    try:\n        hcl2.load(open(f))\n    except Exception as e:\n        bad += 1\n        print(f'{f}: {e}')\nsys.exit(1 if bad else 0)\n";
    let (code, stdout, stderr) = run(venv_tool("lint", "python").arg("-c").arg(script).args(&tf));
    assert_eq!(code, 0, "python-hcl2 cannot parse:\n{stdout}{stderr}");
}
