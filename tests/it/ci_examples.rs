//! The CI workflows in examples/ are secure as zizmor, the GitHub Actions security linter,
//! judges them: zero findings, in its strictest persona (`auditor`), with no configuration
//! file and no inline ignores that could hide one. zizmor runs offline from the pinned
//! environment `.venv/zizmor` (`scripts/python-env zizmor`, which scripts/test runs); without
//! it the test fails.

use crate::support::{repo_root, venv_tool};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every workflow example (`examples/*.yml`), sorted.
fn workflows() -> Vec<PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    out.sort();
    let names: Vec<_> = out.iter().filter_map(|p| p.file_name()).collect();
    assert!(
        names.iter().any(|n| *n == "github-actions.yml")
            && names.iter().any(|n| *n == "github-actions-terraform.yml"),
        "expected both workflow examples, found {names:?}"
    );
    out
}

/// Runs zizmor offline on `files` and returns (exit code, JSON findings, stderr). The
/// environment is the same whatever the calling shell holds (the test bed's: no token, which
/// would enable online audits, no `ZIZMOR_*` or `GH_*` configuration), and no colour.
fn run_zizmor(files: &[PathBuf], cwd: &Path) -> (i32, Vec<Value>, String) {
    let mut cmd = venv_tool("zizmor", "zizmor");
    cmd.current_dir(cwd)
        .args([
            "--offline",
            "--no-config",
            "--no-ignores",
            "--persona",
            "auditor",
            "--format",
            "json",
            "--no-progress",
            "--color",
            "never",
        ])
        .args(files);
    let out = cmd.output().expect("run zizmor");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let findings: Vec<Value> = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("zizmor printed no JSON list ({e}): {stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), findings, stderr)
}

#[test]
fn every_workflow_example_has_zero_zizmor_findings() {
    let files = workflows();
    let (code, findings, stderr) = run_zizmor(&files, &repo_root());
    let summary: Vec<String> = findings
        .iter()
        .map(|f| {
            let location = &f["locations"][0];
            format!(
                "{}:{}: {} ({})",
                location["symbolic"]["key"]["Local"]["verbatim_path"]
                    .as_str()
                    .unwrap_or("?"),
                location["concrete"]["location"]["start_point"]["row"]
                    .as_u64()
                    .map_or(0, |row| row + 1),
                f["ident"].as_str().unwrap_or("?"),
                location["symbolic"]["annotation"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        findings.is_empty() && code == 0,
        "zizmor exit {code}, findings:\n{}\n(run `.venv/zizmor/bin/zizmor --offline --persona auditor examples/*.yml`)\n{stderr}",
        summary.join("\n")
    );
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(
            stderr.contains(&format!("completed examples/{name}"))
                || stderr.contains(&format!("completed {}", file.display())),
            "zizmor did not audit {name}:\n{stderr}"
        );
    }
}

/// The judge can fail: a workflow with the defects the issue found (an unpinned action, a
/// checkout persisting credentials, workflow-wide OIDC, an expansion into a script) is
/// reported with each of them.
#[test]
fn zizmor_reports_an_insecure_workflow() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("insecure.yml");
    std::fs::write(
        &file,
        "name: insecure\non: [push]\npermissions:\n  id-token: write\n  contents: read\n\
         jobs:\n  build:\n    name: build\n    runs-on: ubuntu-latest\n    steps:\n\
         \x20     - uses: actions/checkout@v4\n\
         \x20     - run: echo ${{ github.event.head_commit.message }}\n",
    )
    .expect("write workflow");
    let (code, findings, stderr) = run_zizmor(&[file], dir.path());
    assert_ne!(code, 0, "{stderr}");
    let idents: Vec<&str> = findings
        .iter()
        .filter_map(|f| f["ident"].as_str())
        .collect();
    for expected in [
        "unpinned-uses",
        "artipacked",
        "excessive-permissions",
        "template-injection",
    ] {
        assert!(idents.contains(&expected), "{expected} not in {idents:?}");
    }
}

/// Every action is pinned to a full commit SHA with its release in a comment, and one action
/// is pinned to the same commit and release everywhere.
#[test]
fn actions_are_pinned_to_commits_with_their_release_named() {
    let mut pins: std::collections::BTreeMap<String, String> = Default::default();
    for file in workflows() {
        let text = std::fs::read_to_string(&file).expect("read workflow");
        for (n, line) in text.lines().enumerate() {
            let Some(rest) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses:")
            else {
                continue;
            };
            let at = format!("{}:{}", file.display(), n + 1);
            let (reference, comment) = rest
                .split_once(" # ")
                .unwrap_or_else(|| panic!("{at}: no `# vX.Y.Z` comment: {line}"));
            let (action, sha) = reference
                .trim()
                .split_once('@')
                .unwrap_or_else(|| panic!("{at}: no @ref: {line}"));
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{at}: {action} is not pinned to a commit SHA: {line}"
            );
            let release = comment.trim();
            assert!(
                release.starts_with('v') && release.matches('.').count() == 2,
                "{at}: `{release}` is not a full release (vX.Y.Z)"
            );
            let pin = format!("{sha} {release}");
            let previous = pins.entry(action.to_string()).or_insert(pin.clone());
            assert_eq!(
                *previous, pin,
                "{at}: {action} pinned differently elsewhere"
            );
        }
    }
    assert!(pins.len() >= 5, "{pins:?}");
}
