//! Generated reference docs must match the code. `UPDATE_DOCS=1 cargo test --test it docs_drift`
//! rewrites them.

use std::path::Path;

fn check(file: &str, generated: String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write generated doc");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{file} drifted from the code: run `UPDATE_DOCS=1 cargo test --test it docs_drift` and commit the result"
    );
}

#[test]
fn cli_reference_matches_the_clap_model() {
    check("docs/cli.md", provision::docs::cli_reference());
}

#[test]
fn configuration_reference_matches_the_schema() {
    check("docs/configuration.md", provision::docs::config_reference());
}

#[test]
fn iam_permissions_match_the_policy_templates() {
    check(
        "docs/iam-permissions.md",
        provision::docs::iam_permissions(),
    );
}
