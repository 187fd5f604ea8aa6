//! The organisation configuration document: Startifact 1.0's JSON in the configuration
//! parameter (`/startifact`, or `STARTIFACT_PARAMETER`).
//!
//! Startifact 1.0a10 reads it with defaults for missing keys (`""`, and for `regions` the
//! `STARTIFACT_REGIONS` variable) and writes it with `json.dumps(indent=2, sort_keys=True)`,
//! every value a string, `regions` comma-separated, `save_ok` `"y"`. Keys it does not know are
//! kept when it saves, and so are they here.

use super::pyjson;
use crate::config::Config;
use serde_json::{Map, Value};

/// The parameter name Startifact uses when `STARTIFACT_PARAMETER` is not set.
pub const DEFAULT_PARAMETER: &str = "/startifact";
/// The environment variable naming the configuration parameter.
pub const PARAMETER_ENV: &str = "STARTIFACT_PARAMETER";
/// The environment variable listing the regions to stage to (comma-separated).
pub const REGIONS_ENV: &str = "STARTIFACT_REGIONS";

/// The keys Startifact 1.0 defines, all strings.
pub const KNOWN_KEYS: [&str; 5] = [
    "bucket_key_prefix",
    "bucket_name_param",
    "parameter_name_prefix",
    "regions",
    "save_ok",
];

/// The configuration parameter's name: `from_env` (`STARTIFACT_PARAMETER`) wins over the
/// configuration file's `parameters.configuration`, which wins over Startifact's default. A
/// name from the environment must follow SSM's naming rules (the file's was checked when it
/// was loaded).
pub fn parameter_name(cfg: Option<&Config>, from_env: Option<&str>) -> Result<String, String> {
    if let Some(name) = from_env {
        crate::config::rules::parameter_name(name)
            .map_err(|e| format!("{PARAMETER_ENV}: `{name}` {e}"))?;
        return Ok(name.to_string());
    }
    Ok(cfg
        .map(|c| c.parameters.configuration.clone())
        .unwrap_or_else(|| DEFAULT_PARAMETER.to_string()))
}

/// What the staging commands need from the organisation configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgConfig {
    /// Prepended to every artifact key: empty or ending in `/`.
    pub bucket_key_prefix: String,
    /// The parameter (same name in every region) holding the region's bucket name.
    pub bucket_name_param: String,
    /// Prefix of the `<prefix>/<project>/latest` parameters.
    pub parameter_name_prefix: String,
    /// The configured regions, in the order written.
    pub regions: Vec<String>,
}

/// Splits Startifact's comma-separated region list (it strips blanks around each name).
pub fn split_regions(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect()
}

impl OrgConfig {
    /// Parses the parameter's value the way Startifact reads it: missing keys are empty.
    pub fn parse(text: &str) -> Result<OrgConfig, String> {
        let map = parse_object(text)?;
        let get = |key: &str| -> Result<String, String> {
            match map.get(key) {
                None => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(format!("`{key}` is {other}, not a string")),
            }
        };
        Ok(OrgConfig {
            bucket_key_prefix: get("bucket_key_prefix")?,
            bucket_name_param: get("bucket_name_param")?,
            parameter_name_prefix: get("parameter_name_prefix")?,
            regions: split_regions(&get("regions")?),
        })
    }
}

/// Parses a JSON object (the configuration or a metadata document).
pub fn parse_object(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "is JSON but not an object (found {})",
            json_kind(&other)
        )),
        Err(e) => Err(format!("is not JSON: {e}")),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The values the configuration file asks for, keyed like Startifact's document.
pub fn desired(cfg: &Config) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "bucket_key_prefix".into(),
        cfg.bucket.key_prefix.clone().into(),
    );
    m.insert(
        "bucket_name_param".into(),
        cfg.parameters.bucket_name.clone().into(),
    );
    m.insert(
        "parameter_name_prefix".into(),
        cfg.parameters.artifact_prefix.clone().into(),
    );
    m.insert("regions".into(), cfg.regions.join(",").into());
    m.insert("save_ok".into(), "y".into());
    m
}

/// One key's change between what a region has and what it should have.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct KeyChange {
    pub key: String,
    /// The current value; `null` when the key is new.
    pub from: Option<Value>,
    pub to: Value,
}

/// What a region should hold, given what it holds now.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The complete parameter value to write (Python's formatting).
    pub text: String,
    /// Keys added or changed (unknown keys are never removed).
    pub changes: Vec<KeyChange>,
    /// The current value is not a JSON object and is replaced as a whole.
    pub replaces_invalid: Option<String>,
    /// Keys present that Startifact does not define: kept as they are.
    pub kept_unknown: Vec<String>,
}

/// Merges the desired keys into the current document, keeping every other key.
pub fn merge(current: Option<&str>, desired: &Map<String, Value>) -> Merged {
    let (mut doc, replaces_invalid) = match current.map(parse_object) {
        None => (Map::new(), None),
        Some(Ok(map)) => (map, None),
        Some(Err(e)) => (Map::new(), Some(e)),
    };
    let mut changes = Vec::new();
    for (key, value) in desired {
        let before = doc.insert(key.clone(), value.clone());
        if before.as_ref() != Some(value) {
            changes.push(KeyChange {
                key: key.clone(),
                from: before,
                to: value.clone(),
            });
        }
    }
    let kept_unknown = doc
        .keys()
        .filter(|k| !KNOWN_KEYS.contains(&k.as_str()))
        .cloned()
        .collect();
    Merged {
        text: pyjson::dumps(&Value::Object(doc)),
        changes,
        replaces_invalid,
        kept_unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> Config {
        crate::config::parse(std::path::Path::new("provision.yaml"), yaml).unwrap()
    }

    const MINIMAL: &str = "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\n";

    #[test]
    fn desired_document_is_startifacts_json() {
        // What Startifact 1.0a10's setup writes for the same answers (json.dumps, indent 2,
        // sorted keys, no trailing newline).
        let merged = merge(None, &desired(&cfg(MINIMAL)));
        assert_eq!(
            merged.text,
            "{\n  \"bucket_key_prefix\": \"\",\n  \"bucket_name_param\": \"/buckets/staging\",\n  \"parameter_name_prefix\": \"/artifacts\",\n  \"regions\": \"eu-west-1,us-east-1\",\n  \"save_ok\": \"y\"\n}"
        );
        assert_eq!(merged.changes.len(), 5);
    }

    #[test]
    fn unknown_keys_are_kept_and_only_differences_reported() {
        let current = "{\"bucket_key_prefix\": \"\", \"bucket_name_param\": \"/old\", \"team\": {\"x\": 1}, \"regions\": \"eu-west-1,us-east-1\", \"parameter_name_prefix\": \"/artifacts\", \"save_ok\": \"y\"}";
        let merged = merge(Some(current), &desired(&cfg(MINIMAL)));
        assert_eq!(
            merged.changes,
            vec![KeyChange {
                key: "bucket_name_param".into(),
                from: Some("/old".into()),
                to: "/buckets/staging".into()
            }]
        );
        assert_eq!(merged.kept_unknown, vec!["team".to_string()]);
        assert!(merged.text.contains("\"team\": {\n    \"x\": 1\n  }"));
    }

    #[test]
    fn same_values_in_other_formatting_have_no_key_changes() {
        let d = desired(&cfg(MINIMAL));
        let compact = serde_json::to_string(&d).unwrap();
        let merged = merge(Some(&compact), &d);
        assert!(merged.changes.is_empty());
        assert_ne!(merged.text, compact);
    }

    #[test]
    fn an_invalid_document_is_replaced_and_said() {
        let merged = merge(Some("not json"), &desired(&cfg(MINIMAL)));
        assert!(merged.replaces_invalid.unwrap().starts_with("is not JSON"));
        assert_eq!(merged.changes.len(), 5);
    }

    #[test]
    fn parse_reads_missing_keys_as_empty_and_splits_regions() {
        let c = OrgConfig::parse(
            "{\"bucket_name_param\": \"/b\", \"regions\": \" eu-west-1 , us-east-1,\"}",
        )
        .unwrap();
        assert_eq!(c.bucket_key_prefix, "");
        assert_eq!(c.parameter_name_prefix, "");
        assert_eq!(c.regions, vec!["eu-west-1", "us-east-1"]);
        assert!(
            OrgConfig::parse("{\"regions\": 3}")
                .unwrap_err()
                .contains("`regions`")
        );
        assert!(
            OrgConfig::parse("[]")
                .unwrap_err()
                .contains("not an object")
        );
    }
}
