//! The `stacksets:` section (`engine: stacksets`): which accounts the stack set reaches, with
//! which roles, and how CloudFormation paces its operations. The model here; the offline rules
//! in [`rules`].
//!
//! Two permission models, as CloudFormation has them:
//! - **service-managed**: `targets.organizational_units`; StackSets deploys to every account of
//!   those OUs (nested OUs included) through AWS Organizations, optionally to accounts that
//!   join them later (`auto_deployment`). The root (`r-…`) is accepted and means the whole
//!   organisation; StackSets never deploys to the management account itself.
//! - **self-managed**: `targets.accounts`; the administration role of the deploying account
//!   assumes the execution role in each target account.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

mod rules;
#[cfg(test)]
mod tests;

pub use rules::{account_id, check, ou_id, role_arn, role_name};

/// AWS's name for the administration role of self-managed stack sets (in the deploying account).
pub const DEFAULT_ADMINISTRATION_ROLE: &str = "AWSCloudFormationStackSetAdministrationRole";
/// AWS's name for the execution role of self-managed stack sets (in every target account).
pub const DEFAULT_EXECUTION_ROLE: &str = "AWSCloudFormationStackSetExecutionRole";
/// The role AWS Organizations creates in every account it creates; `setup --all-accounts`
/// assumes it by default.
pub const DEFAULT_SETUP_ROLE: &str = "OrganizationAccountAccessRole";

/// The stack set: targets, roles and operation preferences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackSets {
    /// Where the stack set deploys: `organizational_units` (service-managed) or `accounts`
    /// (self-managed), never both.
    pub targets: Targets,
    /// How CloudFormation paces each operation over accounts and regions.
    #[serde(default)]
    pub preferences: Preferences,
    /// `destroy` keeps each instance's stack (and all its resources) in its account, and only
    /// takes it out of the stack set (DeleteStackInstances `RetainStacks`).
    #[serde(default)]
    pub retain_stacks_on_delete: bool,
    /// The role `setup --all-accounts` assumes in each target account to write the
    /// organisation configuration.
    #[serde(default = "default_setup_role")]
    pub setup_role_name: String,
}

/// Where the stack set deploys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Organisational unit IDs (`ou-abcd-12345678`), or the root (`r-abcd`) for the whole
    /// organisation: service-managed permissions through AWS Organizations (trusted access for
    /// StackSets must be enabled). Every account of these OUs and of the OUs nested in them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizational_units: Vec<String>,
    /// Service-managed only: deploy to accounts that join the OUs later, and remove the stack
    /// from accounts that leave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_deployment: Option<AutoDeployment>,
    /// Account IDs (12 digits, quoted: `"012345678901"`): self-managed permissions through
    /// the administration and execution roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Self-managed only: the administration role in the deploying account. Default:
    /// `arn:<partition>:iam::<deploying account>:role/AWSCloudFormationStackSetAdministrationRole`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub administration_role_arn: Option<String>,
    /// Self-managed only: the execution role in every target account. Default:
    /// `AWSCloudFormationStackSetExecutionRole`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_name: Option<String>,
}

/// Automatic deployment to accounts that join the target OUs (service-managed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoDeployment {
    /// Deploy to accounts added to the OUs, and remove the stacks of accounts removed from them.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Keep the stack (and its bucket) in an account that leaves the OUs.
    #[serde(default)]
    pub retain_stacks_on_account_removal: bool,
}

/// How CloudFormation paces an operation (StackSetOperationPreferences). The defaults are
/// AWS's: one region after the other, one account at a time, no failure tolerated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// Regions in the order operations visit them (a subset of `regions`; the regions not
    /// listed follow in the order of `regions`). Default: the order of `regions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_order: Vec<String>,
    /// `sequential`: one region after the other (a region's failure stops the next ones);
    /// `parallel`: every region at once.
    #[serde(default)]
    pub region_concurrency: RegionConcurrency,
    /// Accounts deployed to at the same time, per region: a count (`3`, at least 1) or a
    /// percentage of the accounts (`"25%"`, 1% to 100%). With counts, CloudFormation runs at
    /// most `failure_tolerance + 1` accounts at once.
    #[serde(default = "one_account")]
    pub max_concurrent: Amount,
    /// Accounts that may fail, per region, before CloudFormation stops the operation there (and
    /// in the regions after it): a count (`0`) or a percentage (`"10%"`, 0% to 100%).
    #[serde(default)]
    pub failure_tolerance: Amount,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            region_order: Vec::new(),
            region_concurrency: RegionConcurrency::default(),
            max_concurrent: one_account(),
            failure_tolerance: Amount::Count(0),
        }
    }
}

/// The order of regions within an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum RegionConcurrency {
    /// One region after the other.
    #[default]
    #[serde(alias = "SEQUENTIAL")]
    Sequential,
    /// Every region at once.
    #[serde(alias = "PARALLEL")]
    Parallel,
}

/// A number of accounts: a count, or a percentage of the accounts of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    Count(u32),
    Percent(u32),
}

impl Default for Amount {
    fn default() -> Self {
        Amount::Count(0)
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Amount::Count(n) => write!(f, "{n}"),
            Amount::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Amount::Count(n) => s.serialize_u32(*n),
            Amount::Percent(_) => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a count of accounts (e.g. `2`) or a percentage (e.g. `\"25%\"`)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Amount, E> {
                u32::try_from(v).map(Amount::Count).map_err(|_| {
                    E::custom(format!("{v} accounts is more than any organisation has"))
                })
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Amount, E> {
                if v < 0 {
                    return Err(E::custom(format!(
                        "{v} is negative; expected a count of accounts (0 or more) or a percentage such as \"25%\""
                    )));
                }
                self.visit_u64(v as u64)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                let digits = v.trim().strip_suffix('%').map(str::trim);
                match digits.and_then(|d| d.parse::<u32>().ok()) {
                    Some(p) => Ok(Amount::Percent(p)),
                    None => Err(E::custom(format!(
                        "`{v}` is neither a count of accounts (e.g. `2`) nor a percentage (e.g. `\"25%\"`)"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Amount {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A count of accounts (an integer) or a percentage (a string such as \"25%\").",
            "type": ["integer", "string"],
            "minimum": 0,
            "pattern": "^[0-9]{1,3}%$"
        })
    }
}

fn yes() -> bool {
    true
}
fn one_account() -> Amount {
    Amount::Count(1)
}
fn default_setup_role() -> String {
    DEFAULT_SETUP_ROLE.into()
}

/// The permission model the targets imply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionModel {
    ServiceManaged,
    SelfManaged,
}

impl StackSets {
    pub fn permission_model(&self) -> PermissionModel {
        if self.targets.organizational_units.is_empty() {
            PermissionModel::SelfManaged
        } else {
            PermissionModel::ServiceManaged
        }
    }

    /// The administration role of a self-managed set: the configured one, or AWS's default
    /// name in the deploying account.
    pub fn administration_role_arn(&self, partition: &str, deploying_account: &str) -> String {
        self.targets
            .administration_role_arn
            .clone()
            .unwrap_or_else(|| {
                format!(
                    "arn:{partition}:iam::{deploying_account}:role/{DEFAULT_ADMINISTRATION_ROLE}"
                )
            })
    }

    /// The execution role name of a self-managed set.
    pub fn execution_role_name(&self) -> &str {
        self.targets
            .execution_role_name
            .as_deref()
            .unwrap_or(DEFAULT_EXECUTION_ROLE)
    }

    /// The role `setup --all-accounts` assumes in `account`.
    pub fn setup_role_arn(&self, partition: &str, account: &str) -> String {
        format!(
            "arn:{partition}:iam::{account}:role/{}",
            self.setup_role_name
        )
    }

    /// The regions in the order operations visit them: `region_order`, then the other
    /// `regions` in their order.
    pub fn region_order(&self, regions: &[String]) -> Vec<String> {
        let mut order: Vec<String> = self.preferences.region_order.clone();
        for r in regions {
            if !order.contains(r) {
                order.push(r.clone());
            }
        }
        order
    }
}
