//! The test bed is hermetic, and no test can reach a real AWS account: every command gets
//! the test bed's environment and nothing of the developer's shell; a request that misses the
//! emulator stops at a loopback trap, signed with the fake credentials; and no test builds a
//! command any other way. (`scripts/test-hostile-env` runs the suite from a shell full of AWS
//! settings, a real-looking profile and colour variables.)

use crate::support::command::{PASSED_THROUGH, fake_home, test_bed_env};
use crate::support::{command, output, provision, repo_root, trap, unique};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[test]
fn every_command_gets_only_the_test_beds_environment() {
    let (code, out, err) = output(&mut command("env"));
    assert_eq!(code, 0, "{err}");
    let seen: BTreeMap<&str, &str> = out.lines().filter_map(|l| l.split_once('=')).collect();
    let mut expected: BTreeSet<&str> = test_bed_env().iter().map(|(k, _)| *k).collect();
    expected.extend(
        PASSED_THROUGH
            .iter()
            .filter(|k| std::env::var_os(k).is_some()),
    );
    assert_eq!(
        seen.keys().copied().collect::<BTreeSet<_>>(),
        expected,
        "the environment of a command is exactly the test bed's"
    );
    for (name, value) in test_bed_env() {
        assert_eq!(seen[name], value, "{name}");
    }
    assert_eq!(Path::new(seen["HOME"]), fake_home());
    for file in ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"] {
        let path = Path::new(seen[file]);
        assert!(path.starts_with(fake_home()), "{file}: {}", path.display());
        assert_eq!(
            std::fs::read_to_string(path).expect("the file exists"),
            "",
            "{file} is empty: no profile, no credentials"
        );
    }
    assert_eq!(seen["AWS_ENDPOINT_URL"], trap::url());
    assert_eq!(seen["HTTPS_PROXY"], trap::url());
}

/// A request that no emulator endpoint catches goes to the trap (the default endpoint), signed
/// with the fake credentials: the developer's profile is never used.
#[test]
fn a_request_without_an_emulator_stops_at_the_loopback_trap_with_fake_credentials() {
    let dir = tempfile::tempdir().expect("temp dir");
    let parameter = format!("/{}/startifact", unique("trap"));
    let (code, _, err) = output(
        provision(dir.path())
            .env("AWS_REGION", "eu-west-1")
            .env("STARTIFACT_PARAMETER", &parameter)
            .args(["list", "app"]),
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(trap::MESSAGE),
        "the trap's answer is shown: {err}"
    );
    let request = trap::requests()
        .into_iter()
        .find(|r| r.contains(&parameter))
        .unwrap_or_else(|| panic!("the GetParameter of {parameter} reached the trap: {err}"));
    assert!(
        request.starts_with("POST / HTTP/1.1"),
        "an SSM request: {request}"
    );
    assert!(
        request.contains("Credential=testing/"),
        "signed with the fake credentials: {request}"
    );
}

/// Without any endpoint override, a request to AWS's real endpoint goes through the proxy,
/// which is the trap: it never leaves 127.0.0.1. (The SDK's default HTTPS client honours
/// HTTPS_PROXY.)
#[test]
fn a_request_to_a_real_aws_endpoint_goes_no_further_than_the_loopback_proxy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, err) = output(
        provision(dir.path())
            .env_remove("AWS_ENDPOINT_URL")
            .env("AWS_REGION", "sa-east-1")
            .env("STARTIFACT_PARAMETER", format!("/{}/x", unique("proxy")))
            .args(["list", "app"]),
    );
    assert_eq!(code, 1, "{err}");
    let connect = "CONNECT ssm.sa-east-1.amazonaws.com:443 ";
    assert!(
        trap::requests().iter().any(|r| r.starts_with(connect)),
        "`{connect}` reached the trap: {:?}\nstderr: {err}",
        trap::requests()
    );
}

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The one test binary besides `it`: the shaped bed's check measures time, so it runs alone
/// (cargo runs test binaries one after the other). It clears its commands' environment itself.
const SEPARATE_BINARY: &str = "shaped_bed.rs";

/// Every integration test is a module of this binary, so the guard below sees all of them
/// (and the SDK is linked once): a test file elsewhere under tests/ would be a binary of its
/// own. The one exception is [`SEPARATE_BINARY`].
#[test]
fn every_integration_test_is_a_module_of_this_binary() {
    let tests = repo_root().join("tests");
    let mut others = Vec::new();
    for entry in std::fs::read_dir(&tests).expect("tests/") {
        let path = entry.expect("readable entry").path();
        let binary = if path.is_dir() {
            path.join("main.rs").exists()
        } else {
            path.extension().is_some_and(|e| e == "rs")
        };
        if binary && path != tests.join("it") && path != tests.join(SEPARATE_BINARY) {
            others.push(path.display().to_string());
        }
    }
    assert!(
        others.is_empty(),
        "add these as modules of tests/it/main.rs (docs/testing.md, Layout): {others:?}"
    );
}

#[test]
fn no_test_builds_a_command_outside_support() {
    let root = repo_root().join("tests/it");
    let builder = root.join("support/command.rs");
    // Split so that this file does not match itself.
    let constructors = [concat!("Command", "::new("), concat!("cargo", "_bin(")];
    let mut files = sources(&root);
    assert!(files.contains(&builder), "{files:?}");
    files.retain(|f| *f != builder);
    assert!(files.len() > 10, "{files:?}");
    // The separate binary builds its commands in one function that clears the environment.
    let separate = std::fs::read_to_string(repo_root().join("tests").join(SEPARATE_BINARY))
        .expect("the separate test binary");
    let builders = separate
        .lines()
        .filter(|l| constructors.iter().any(|c| l.contains(c)))
        .count();
    assert!(
        builders == 1 && separate.contains(".env_clear()"),
        "tests/{SEPARATE_BINARY}: one command constructor, clearing the environment ({builders} found)"
    );
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            if constructors.iter().any(|c| line.contains(c)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "build commands with tests/it/support/command.rs (support::command, provision, venv_tool) so that they get the test bed's environment:\n{}",
        found.join("\n")
    );
}
