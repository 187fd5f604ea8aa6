//! Generated reference docs must match the code: docs/cli.md, docs/configuration.md,
//! docs/iam-permissions.md and the JSON Schemas of the output documents (`schema/*.schema.json`
//! but the configuration's, which `the_committed_schema_matches_the_code` checks).
//! `UPDATE_DOCS=1 cargo test --test it docs_drift` rewrites them.

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

#[test]
fn output_document_schemas_match_their_types() {
    let schemas = provision::docs::json_schemas();
    for (file, text) in &schemas {
        check(file, text.clone());
    }
    // Every schema file under schema/ is a document's or the configuration's: none is stale.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    let mut committed: Vec<String> = std::fs::read_dir(&dir)
        .expect("schema/")
        .filter_map(|e| e.ok())
        .map(|e| format!("schema/{}", e.file_name().to_string_lossy()))
        .filter(|f| f != "schema/provision.schema.json")
        .collect();
    committed.sort();
    let mut generated: Vec<String> = schemas.into_iter().map(|(f, _)| f).collect();
    generated.sort();
    assert_eq!(committed, generated, "schema/ holds a file no document has");
}

/// Every field of every document is required: present as `null`, `[]` or `{}` when it does
/// not apply, never left out (issue 13).
#[test]
fn every_field_of_every_document_is_required() {
    for (file, text) in provision::docs::json_schemas() {
        let schema: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            provision::document::optional_properties(&schema),
            Vec::<String>::new(),
            "{file}: fields that may be left out"
        );
    }
}
