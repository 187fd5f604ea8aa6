//! JSON documents checked against the committed JSON Schemas under `schema/` with a real
//! validator (the `jsonschema` crate, draft 2020-12), not by hand-written field checks.

use serde_json::Value;

/// Parses `out` as one JSON document and validates it against `schema/<file>`; panics with
/// every violation (instance path and message) and the document.
pub fn validated(file: &str, out: &str) -> Value {
    let path = super::repo_root().join("schema").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    let doc: Value =
        serde_json::from_str(out).unwrap_or_else(|e| panic!("one JSON document: {e}\n{out}"));
    let violations = violations(&schema, &doc);
    assert!(
        violations.is_empty(),
        "the document does not match {file}:\n  {}\n{doc:#}",
        violations.join("\n  ")
    );
    doc
}

/// Parses `out` as one JSON document and validates it against the schema its `schema` field
/// names (`provision.stage/v1`: `schema/stage.schema.json`); panics on a document without
/// one, or one that breaks it.
pub fn document(out: &str) -> Value {
    let doc: Value =
        serde_json::from_str(out).unwrap_or_else(|e| panic!("one JSON document: {e}\n{out}"));
    let kind = doc["schema"]
        .as_str()
        .and_then(|s| s.strip_prefix("provision."))
        .and_then(|s| s.strip_suffix("/v1"))
        .unwrap_or_else(|| panic!("no `schema: provision.<kind>/v1` in {doc:#}"));
    validated(&format!("{kind}.schema.json"), out)
}

/// Panics unless `text` is a JSON Schema valid against the draft 2020-12 meta-schema.
pub fn assert_is_a_schema(text: &str) {
    let schema: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON: {e}\n{text}"));
    if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
        panic!("not a draft 2020-12 schema: {}: {e}", e.instance_path());
    }
}

/// What in `doc` breaks `schema` (draft 2020-12): instance path and message per violation.
fn violations(schema: &Value, doc: &Value) -> Vec<String> {
    let validator = jsonschema::draft202012::new(schema)
        .unwrap_or_else(|e| panic!("not a valid JSON Schema: {e}"));
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The validator is real: a document with a field missing, a field of the wrong type or one
/// the schema does not name is refused.
#[test]
fn a_document_that_breaks_the_error_schema_is_refused() {
    let path = super::repo_root().join("schema/error.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let good = serde_json::json!({"schema": "provision.error/v1", "command": "stage", "exit": 3,
        "error": "e", "causes": [], "hint": null, "failures": [{"region": "eu-west-1", "error": "x"}]});
    assert_eq!(violations(&schema, &good), Vec::<String>::new());
    for (field, value) in [
        ("hint", None),
        ("exit", Some(serde_json::json!("3"))),
        ("extra", Some(Value::Null)),
    ] {
        let mut bad = good.clone();
        match value {
            None => bad.as_object_mut().unwrap().remove(field),
            Some(v) => bad.as_object_mut().unwrap().insert(field.into(), v),
        };
        assert!(!violations(&schema, &bad).is_empty(), "{field}: {bad}");
    }
}
