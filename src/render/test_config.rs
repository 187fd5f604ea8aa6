//! Configurations for the render tests.

use crate::config::Config;
use std::path::Path;

/// The configuration in `yaml` (it must be valid).
pub fn config(yaml: &str) -> Config {
    crate::config::parse(Path::new("test.yaml"), yaml).unwrap()
}

/// A one-region configuration with `hostile` as a CORS header and a tag key and value full of
/// YAML syntax: a renderer that pastes values verbatim breaks the document.
pub fn with_hostile_strings(hostile: &str) -> Config {
    config(&format!(
        "version: 1\norganisation: acme\nregions: [eu-west-1]\ntags: {{\"team: x\": \"a: b @=+- /x\"}}\nbucket:\n  cors:\n    - allowed_origins: [\"*\"]\n      allowed_methods: [GET]\n      allowed_headers: [{}]\n",
        serde_json::to_string(hostile).unwrap()
    ))
}
