//! What `terraform show -json` and `terraform version -json` print, as typed values (modelled on
//! hashicorp/terraform-json's `plan.go` and `state.go`; format version 1.x).
//!
//! Attribute values (a resource's before, after and state) are wrapped in [`Values`], whose
//! `Debug` prints no value: state may hold secrets, and `provision` never prints state.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// `terraform version -json`.
#[derive(Debug, Clone, Deserialize)]
pub struct VersionOutput {
    /// The core version (OpenTofu prints its own version under the same key).
    pub terraform_version: String,
    #[serde(default)]
    pub platform: Option<String>,
}

/// Attribute values of a resource (or a sensitivity or unknown-ness mask of the same shape).
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Values(pub Value);

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Value::Object(map) => write!(f, "Values({} attributes)", map.len()),
            Value::Null => write!(f, "Values(null)"),
            _ => write!(f, "Values(..)"),
        }
    }
}

impl Values {
    /// A top-level attribute.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A top-level string attribute.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    pub fn is_null(&self) -> bool {
        self.0.is_null()
    }
}

/// `terraform show -json PLANFILE`.
#[derive(Debug, Clone, Deserialize)]
pub struct Plan {
    pub format_version: String,
    pub terraform_version: String,
    #[serde(default)]
    pub resource_changes: Vec<ResourceChange>,
    /// Changes made outside Terraform, found by the refresh (all of them in a refresh-only
    /// plan; in a normal plan those that matter to the planned changes).
    #[serde(default)]
    pub resource_drift: Vec<ResourceChange>,
    #[serde(default)]
    pub output_changes: BTreeMap<String, Change>,
    #[serde(default)]
    pub configuration: Option<Configuration>,
    /// Attributes whose drift contributed to the planned changes.
    #[serde(default)]
    pub relevant_attributes: Vec<ResourceAttribute>,
    #[serde(default)]
    pub applyable: Option<bool>,
    #[serde(default)]
    pub complete: Option<bool>,
    #[serde(default)]
    pub errored: Option<bool>,
}

impl Plan {
    /// The changes that do something (everything but `no-op` and `read`).
    pub fn effective_changes(&self) -> impl Iterator<Item = &ResourceChange> {
        self.resource_changes.iter().filter(|c| {
            !c.change
                .actions
                .iter()
                .all(|a| matches!(a, Action::NoOp | Action::Read))
        })
    }

    /// The change of `address`, if the plan has one.
    pub fn change(&self, address: &str) -> Option<&ResourceChange> {
        self.resource_changes.iter().find(|c| c.address == address)
    }
}

/// One resource instance's planned change.
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceChange {
    /// `aws_s3_bucket.artifacts_eu_west_1`, `data.aws_iam_role.access["ci"]`.
    pub address: String,
    #[serde(default)]
    pub previous_address: Option<String>,
    pub mode: Mode,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    /// The `count` or `for_each` key.
    #[serde(default)]
    pub index: Option<Value>,
    pub provider_name: String,
    pub change: Change,
    /// Why Terraform chose the action (`replace_because_cannot_update`, ...).
    #[serde(default)]
    pub action_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Managed,
    Data,
}

/// Before and after of one change. Unknown values are null in `after` and true in
/// `after_unknown`; sensitive ones are marked true in `before_sensitive`/`after_sensitive`.
#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    pub actions: Vec<Action>,
    #[serde(default)]
    pub before: Values,
    #[serde(default)]
    pub after: Values,
    #[serde(default)]
    pub after_unknown: Values,
    #[serde(default)]
    pub before_sensitive: Values,
    #[serde(default)]
    pub after_sensitive: Values,
    /// Paths of the attributes that force a replacement (`[["bucket"]]`).
    #[serde(default)]
    pub replace_paths: Vec<Vec<Value>>,
    /// Set when an `import` block brings an existing object under management (`{"id": ...}`).
    #[serde(default)]
    pub importing: Option<Value>,
}

impl Change {
    /// Delete then create, or create then delete.
    pub fn is_replace(&self) -> bool {
        self.actions.contains(&Action::Create) && self.actions.contains(&Action::Delete)
    }
}

/// One action of a change (`["delete", "create"]` is a replacement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    Read,
    Update,
    Delete,
    /// Removed from state without being destroyed (`removed` with `destroy = false`).
    Forget,
    /// An action newer than this driver.
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ResourceAttribute {
    pub resource: String,
    pub attribute: Vec<Value>,
}

/// The configuration as Terraform read it: provider configurations and, per resource, the
/// provider configuration it uses and the expressions of its arguments.
#[derive(Debug, Clone, Deserialize)]
pub struct Configuration {
    #[serde(default)]
    pub provider_config: BTreeMap<String, ProviderConfig>,
    #[serde(default)]
    pub root_module: ConfigModule,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProviderConfig {
    pub name: String,
    #[serde(default)]
    pub alias: Option<String>,
    /// `{"region": {"constant_value": "eu-west-1"}, ...}`.
    #[serde(default)]
    pub expressions: Value,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigModule {
    #[serde(default)]
    pub resources: Vec<ConfigResource>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConfigResource {
    /// `aws_s3_bucket.artifacts_eu_west_1` (no instance key).
    pub address: String,
    pub mode: Mode,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    /// `aws.eu_west_1`.
    #[serde(default)]
    pub provider_config_key: Option<String>,
    /// The arguments the configuration sets, as expressions (blocks as lists of objects).
    #[serde(default)]
    pub expressions: Value,
}

/// `terraform show -json` without a plan file: the current state.
#[derive(Debug, Clone, Deserialize)]
pub struct State {
    #[serde(default)]
    pub format_version: Option<String>,
    #[serde(default)]
    pub terraform_version: Option<String>,
    #[serde(default)]
    pub values: Option<StateValues>,
}

impl State {
    /// Every resource instance of the root module (none before the first apply).
    pub fn resources(&self) -> &[StateResource] {
        self.values
            .as_ref()
            .map(|v| v.root_module.resources.as_slice())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct StateValues {
    #[serde(default)]
    pub root_module: StateModule,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StateModule {
    #[serde(default)]
    pub resources: Vec<StateResource>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StateResource {
    pub address: String,
    pub mode: Mode,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    #[serde(default)]
    pub index: Option<Value>,
    pub provider_name: String,
    #[serde(default)]
    pub values: Values,
    #[serde(default)]
    pub sensitive_values: Values,
}

impl StateResource {
    /// The resource's `id` attribute (the bucket name, the key ID, the policy ARN, ...).
    pub fn id(&self) -> Option<&str> {
        self.values.str("id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::fixture;

    #[test]
    fn a_first_plan_creates_everything_with_unknown_ids() {
        let plan: Plan = serde_json::from_str(&fixture("show-plan-create.json")).unwrap();
        assert_eq!(plan.format_version.split('.').next(), Some("1"));
        assert_eq!(plan.terraform_version, "1.11.4");
        let bucket = plan.change("aws_s3_bucket.artifacts_eu_west_1").unwrap();
        assert_eq!(bucket.mode, Mode::Managed);
        assert_eq!(bucket.resource_type, "aws_s3_bucket");
        assert_eq!(bucket.change.actions, [Action::Create]);
        assert!(bucket.change.before.is_null());
        assert_eq!(
            bucket.change.after_unknown.get("id"),
            Some(&Value::Bool(true))
        );
        assert!(!bucket.change.is_replace());
        assert!(plan.effective_changes().count() > 10);
        assert!(plan.effective_changes().all(|c| c.mode == Mode::Managed));
        let param = plan
            .change("aws_ssm_parameter.bucket_name_eu_west_1")
            .unwrap();
        assert_eq!(
            param.change.after_sensitive.get("value"),
            Some(&Value::Bool(true)),
            "the parameter's value is marked sensitive"
        );
        let config = plan.configuration.as_ref().unwrap();
        assert_eq!(
            config.provider_config["aws.eu_west_1"].alias.as_deref(),
            Some("eu_west_1")
        );
        assert!(
            format!("{:?}", bucket.change.after).starts_with("Values("),
            "Debug prints no values"
        );
    }

    #[test]
    fn a_plan_after_apply_changes_nothing() {
        let plan: Plan = serde_json::from_str(&fixture("show-plan-noop.json")).unwrap();
        assert!(!plan.resource_changes.is_empty());
        assert_eq!(plan.effective_changes().count(), 0);
        let bucket = plan.change("aws_s3_bucket.artifacts_eu_west_1").unwrap();
        assert_eq!(bucket.change.actions, [Action::NoOp]);
        assert_eq!(bucket.change.before, bucket.change.after);
        assert!(bucket.change.after.str("bucket").is_some());
    }

    #[test]
    fn actions_read_every_spelling() {
        let actions: Vec<Action> = serde_json::from_str(
            r#"["no-op","create","read","update","delete","forget","something-new"]"#,
        )
        .unwrap();
        assert_eq!(
            actions,
            [
                Action::NoOp,
                Action::Create,
                Action::Read,
                Action::Update,
                Action::Delete,
                Action::Forget,
                Action::Other
            ]
        );
    }

    #[test]
    fn state_lists_resources_with_their_ids() {
        let state: State = serde_json::from_str(&fixture("show-state.json")).unwrap();
        let bucket = state
            .resources()
            .iter()
            .find(|r| r.address == "aws_s3_bucket.artifacts_eu_west_1")
            .unwrap();
        assert!(bucket.id().is_some_and(|id| !id.is_empty()));
        let empty: State = serde_json::from_str(r#"{"format_version":"1.0"}"#).unwrap();
        assert!(empty.resources().is_empty());
    }

    #[test]
    fn the_version_of_terraform() {
        let v: VersionOutput = serde_json::from_str(&fixture("version.json")).unwrap();
        assert_eq!(v.terraform_version, "1.11.4");
        assert_eq!(v.platform.as_deref(), Some("linux_amd64"));
    }
}
