//! The invalid-configuration corpus: every file under tests/config-invalid/ must be refused by
//! `provision validate` with exit code 3 and one clear message naming the file, the position
//! (where the YAML has one), the field and what is allowed. Never a panic.

use crate::support::{provision, repo_root};
use std::path::{Path, PathBuf};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config-invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Files without a position: the problem is the file as a whole.
const WHOLE_FILE: &[&str] = &["empty-file", "only-comments", "not-utf8"];

#[test]
fn corpus_has_at_least_thirty_cases() {
    assert!(
        corpus().len() >= 30,
        "only {} invalid configurations",
        corpus().len()
    );
}

#[test]
fn every_invalid_configuration_is_refused_with_a_positioned_message() {
    let mut report = String::new();
    for file in corpus() {
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name")
            .to_string();
        let expect = std::fs::read_to_string(file.with_extension("expect"))
            .unwrap_or_else(|_| panic!("{name}: missing .expect file"));
        let rel = format!("tests/config-invalid/{name}.yaml");
        let out = provision(&repo_root())
            .args(["validate", "-f", &rel])
            .output()
            .expect("run provision");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{name}: exit code, stderr:\n{stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
        assert!(!stderr.contains("panicked"), "{name}: panic:\n{stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        let prefix = format!("error: {rel}:");
        assert!(
            first.starts_with(&prefix),
            "{name}: first line names the file: {first}"
        );
        if !WHOLE_FILE.contains(&name.as_str()) {
            let rest = &first[prefix.len()..];
            let mut parts = rest.splitn(3, ':');
            let line = parts.next().and_then(|l| l.parse::<u32>().ok());
            let col = parts.next().and_then(|c| c.parse::<u32>().ok());
            assert!(
                line.is_some() && col.is_some(),
                "{name}: line:column in {first}"
            );
        }
        let expect = expect.trim();
        assert!(
            stderr.contains(expect),
            "{name}: expected `{expect}` in:\n{stderr}"
        );
        report.push_str(&stderr);
    }
    insta::assert_snapshot!("invalid_configuration_messages", report);
}

#[test]
fn a_missing_file_is_named_with_a_hint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = provision(dir.path()).arg("validate").output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("provision.yaml: cannot read the configuration file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: pass the configuration with -f FILE"),
        "{stderr}"
    );
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = provision(dir.path())
        .args(["validate", "-f", "."])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("is a directory"), "{stderr}");
}

#[test]
fn every_example_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("examples directory") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "yaml")
            || path.file_name().is_some_and(|f| f == "github-actions.yml")
        {
            continue;
        }
        let out = provision(&repo_root())
            .arg("validate")
            .arg("-f")
            .arg(&path)
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&path).expect("read example");
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema/provision.schema.json"),
            "{}: schema header",
            path.display()
        );
        // What an editor checks the file with agrees: valid against the configuration's schema.
        let as_json: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
        crate::support::schema::validated(
            "provision.schema.json",
            &serde_json::to_string(&as_json).expect("JSON"),
        );
        n += 1;
    }
    assert!(n >= 5, "only {n} examples");
}

#[test]
fn the_committed_schema_matches_the_code() {
    let out = provision(&repo_root()).arg("schema").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    // `provision schema` prints a valid draft 2020-12 schema (checked against the meta-schema).
    crate::support::schema::assert_is_a_schema(&String::from_utf8_lossy(&out.stdout));
    let committed = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/provision.schema.json"))
        .expect("schema/provision.schema.json (regenerate: provision schema > schema/provision.schema.json)");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        committed,
        "schema/provision.schema.json drifted from the code: run `cargo run -- schema > schema/provision.schema.json`"
    );
}
