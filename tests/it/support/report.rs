//! Reading the reports commands print with `--output json`.

use serde_json::Value;

/// The command's standard output as one JSON document, validated against the schema it names
/// (`schema/<kind>.schema.json`).
pub fn json(stdout: &str) -> Value {
    super::schema::document(stdout)
}

/// One region's entry of a report's `regions` list.
pub fn region_report<'a>(report: &'a Value, region: &str) -> &'a Value {
    report["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .find(|r| r["region"] == region)
        .unwrap_or_else(|| panic!("no {region} in {report}"))
}
