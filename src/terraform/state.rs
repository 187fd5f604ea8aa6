//! The raw state as `terraform state pull` prints it (format version 4): only what `provision`
//! needs to know about it — its lineage and serial (a saved plan is stale once they move),
//! and each resource instance's address, provider configuration and whether it is tainted.
//! Attribute values are never read: serde skips them.
//!
//! Also the check of a local state file before Terraform runs: a state edited by hand into
//! invalid JSON is refused naming the file, and nothing is written.

use super::TerraformError;
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

/// The local backend's state file in the working directory.
pub const LOCAL_STATE: &str = "terraform.tfstate";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RawState {
    pub version: u32,
    #[serde(default)]
    pub serial: u64,
    #[serde(default)]
    pub lineage: String,
    #[serde(default)]
    pub outputs: std::collections::BTreeMap<String, RawOutput>,
    #[serde(default)]
    pub resources: Vec<RawResource>,
}

/// An output of the state: names and ARNs in the rendered module. A sensitive one is never
/// shown.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct RawOutput {
    #[serde(default)]
    pub value: Value,
    #[serde(default)]
    pub sensitive: bool,
}

impl std::fmt::Debug for RawOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawOutput(sensitive: {})", self.sensitive)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RawResource {
    #[serde(default)]
    pub module: Option<String>,
    pub mode: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    /// `provider["registry.terraform.io/hashicorp/aws"].eu_west_1`.
    pub provider: String,
    #[serde(default)]
    pub instances: Vec<RawInstance>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RawInstance {
    /// `tainted` when Terraform no longer trusts the object.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub index_key: Option<Value>,
    /// Only the object's `id` is read (a bucket's name, a key's ID, a policy's ARN).
    #[serde(default)]
    pub attributes: Option<IdOnly>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdOnly {
    #[serde(default)]
    pub id: Option<String>,
}

/// One managed resource instance of the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `aws_s3_bucket.artifacts_eu_west_1`, `aws_iam_user.apps["app"]`.
    pub address: String,
    pub resource_type: String,
    pub provider: String,
    pub tainted: bool,
    /// The object's `id`.
    pub id: Option<String>,
}

impl RawState {
    /// Parses `state pull` output; None for an empty output (no state yet).
    pub fn parse(text: &str) -> Result<Option<RawState>, String> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))
    }

    /// Every managed resource instance of the root module.
    pub fn instances(&self) -> Vec<Instance> {
        let mut out = Vec::new();
        for r in &self.resources {
            if r.mode != "managed" || r.module.is_some() {
                continue;
            }
            for i in &r.instances {
                let key = match &i.index_key {
                    None => String::new(),
                    Some(Value::String(s)) => format!("[{}]", serde_json::json!(s)),
                    Some(other) => format!("[{other}]"),
                };
                out.push(Instance {
                    address: format!("{}.{}{key}", r.resource_type, r.name),
                    resource_type: r.resource_type.clone(),
                    provider: r.provider.clone(),
                    tainted: i.status.as_deref() == Some("tainted"),
                    id: i.attributes.as_ref().and_then(|a| a.id.clone()),
                });
            }
        }
        out
    }

    /// The outputs that are plain strings and not sensitive.
    pub fn outputs(&self) -> std::collections::BTreeMap<&str, &str> {
        self.outputs
            .iter()
            .filter(|(_, o)| !o.sensitive)
            .filter_map(|(k, o)| o.value.as_str().map(|v| (k.as_str(), v)))
            .collect()
    }
}

/// Checks the local state file of a working directory, if there is one: it must be a state
/// Terraform can read (JSON with a `version`). A state edited by hand is refused here, naming
/// the file, before Terraform runs (Terraform would fail acquiring its lock, with a message
/// that does not name the file).
pub fn check_local(dir: &Path) -> Result<(), TerraformError> {
    let path = dir.join(LOCAL_STATE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(TerraformError::Io {
                path,
                context: "reading the Terraform state".into(),
                source,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(());
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) if map.get("version").is_some_and(Value::is_u64) => Ok(()),
        Ok(_) => Err(TerraformError::CorruptState {
            path,
            message: "not a Terraform state: a JSON object with a `version` is expected".into(),
        }),
        Err(e) => Err(TerraformError::CorruptState {
            path,
            message: format!(
                "not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_with_their_addresses_and_taint() {
        let state = RawState::parse(
            r#"{"version":4,"terraform_version":"1.11.4","serial":7,"lineage":"abc",
                "outputs":{"bucket_name_eu_west_1":{"value":"b1","type":"string"},
                           "token":{"value":"s3cr3t","type":"string","sensitive":true}},
                "resources":[
                  {"mode":"data","type":"aws_partition","name":"current","provider":"provider[\"registry.terraform.io/hashicorp/aws\"].eu_west_1","instances":[{"attributes":{}}]},
                  {"mode":"managed","type":"aws_s3_bucket","name":"artifacts_eu_west_1","provider":"provider[\"registry.terraform.io/hashicorp/aws\"].eu_west_1",
                   "instances":[{"status":"tainted","schema_version":0,"attributes":{"id":"b1","bucket":"secret-ish"}}]},
                  {"mode":"managed","type":"aws_iam_user","name":"apps","provider":"provider[\"registry.terraform.io/hashicorp/aws\"].eu_west_1",
                   "instances":[{"index_key":"app","attributes":{}}]}
                ]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!((state.serial, state.lineage.as_str()), (7, "abc"));
        let instances = state.instances();
        let addresses: Vec<(&str, bool)> = instances
            .iter()
            .map(|i| (i.address.as_str(), i.tainted))
            .collect();
        assert_eq!(
            addresses,
            [
                ("aws_s3_bucket.artifacts_eu_west_1", true),
                ("aws_iam_user.apps[\"app\"]", false)
            ]
        );
        assert!(
            !format!("{state:?}").contains("secret-ish"),
            "values are never read"
        );
        assert_eq!(instances[0].id.as_deref(), Some("b1"));
        assert_eq!(
            state.outputs().into_iter().collect::<Vec<_>>(),
            [("bucket_name_eu_west_1", "b1")]
        );
        assert!(!format!("{state:?}").contains("s3cr3t"));
        assert_eq!(RawState::parse(" \n"), Ok(None));
    }

    #[test]
    fn a_state_edited_by_hand_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_local(dir.path()).is_ok(), "no state yet");
        std::fs::write(
            dir.path().join(LOCAL_STATE),
            r#"{"version": 4, "serial": 3,"#,
        )
        .unwrap();
        let err = check_local(dir.path()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("terraform.tfstate"), "{message}");
        assert!(message.contains("line 1"), "{message}");
        std::fs::write(dir.path().join(LOCAL_STATE), "[1, 2]").unwrap();
        assert!(matches!(
            check_local(dir.path()),
            Err(TerraformError::CorruptState { .. })
        ));
        std::fs::write(dir.path().join(LOCAL_STATE), r#"{"version": 4}"#).unwrap();
        assert!(check_local(dir.path()).is_ok());
    }
}
