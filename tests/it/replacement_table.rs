//! The create-only table of src/replacement/ is generated, current and complete:
//! - it is what `scripts/gen-create-only` produces from the pinned cfn-lint's schemas
//!   (`UPDATE_CREATE_ONLY=1 cargo test --test it replacement_table` rewrites it);
//! - every resource type any example renders is in it.
//!
//! The generator runs with `.venv/lint`'s Python (`scripts/python-env lint`, which
//! scripts/test runs); without it the test fails.

use crate::support::{command, examples, repo_root};
use provision::render::{self, Templates};
use std::collections::BTreeSet;

const TABLE: &str = "src/replacement/create_only.rs";

#[test]
fn the_table_is_what_the_generator_makes_from_cfn_lint() {
    let python = repo_root().join(".venv/lint/bin/python");
    assert!(
        python.exists(),
        "cfn-lint's Python is not installed at {}: run `scripts/python-env lint` (scripts/test does)",
        python.display()
    );
    let out = command(repo_root().join("scripts/gen-create-only"))
        .arg("--stdout")
        .output()
        .expect("run scripts/gen-create-only");
    assert!(
        out.status.success(),
        "scripts/gen-create-only failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).expect("UTF-8 output");
    let path = repo_root().join(TABLE);
    if std::env::var_os("UPDATE_CREATE_ONLY").is_some() {
        std::fs::write(&path, &generated).expect("write the table");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{TABLE} drifted from scripts/gen-create-only (a template's types or cfn-lint changed): \
         run `UPDATE_CREATE_ONLY=1 cargo test --test it replacement_table` and commit the result"
    );
}

#[test]
fn every_rendered_resource_type_is_in_the_table() {
    let templates = Templates::default();
    let mut rendered = BTreeSet::new();
    for (name, path) in examples() {
        let cfg = provision::config::load(&path).expect("the example is valid");
        for stack in render::cloudformation(&cfg, &templates).expect("cloudformation") {
            for line in stack.body.lines() {
                if let Some(t) = line.trim().strip_prefix("Type: ")
                    && t.starts_with("AWS::")
                {
                    rendered.insert((t.trim_matches(['"', '\'']).to_string(), name.clone()));
                }
            }
        }
    }
    let types: BTreeSet<&str> = rendered.iter().map(|(t, _)| t.as_str()).collect();
    assert!(
        types.len() >= 8,
        "expected the examples to render at least 8 resource types: {types:?}"
    );
    let missing: Vec<String> = rendered
        .iter()
        .filter(|(t, _)| provision::replacement::rules(t).is_none())
        .map(|(t, example)| format!("{t} (examples/{example}.yaml)"))
        .collect();
    assert!(
        missing.is_empty(),
        "rendered but not in {TABLE}: {}; run scripts/gen-create-only",
        missing.join(", ")
    );
}
