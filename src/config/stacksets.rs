//! The `stacksets:` section (`engine: stacksets`): which accounts the stack set reaches, with
//! which roles, and how CloudFormation paces its operations. Model and offline rules.
//!
//! Two permission models, as CloudFormation has them:
//! - **service-managed**: `targets.organizational_units`; StackSets deploys to every account of
//!   those OUs (nested OUs included) through AWS Organizations, optionally to accounts that
//!   join them later (`auto_deployment`). The root (`r-…`) is accepted and means the whole
//!   organisation; StackSets never deploys to the management account itself.
//! - **self-managed**: `targets.accounts`; the administration role of the deploying account
//!   assumes the execution role in each target account.

use super::rules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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

/// An organisational unit ID (`ou-` root part `-` OU part), as Organizations issues them.
pub fn ou_id(id: &str) -> Result<(), String> {
    let lower_alnum = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    if let Some(root) = id.strip_prefix("r-") {
        return if (4..=32).contains(&root.len()) && lower_alnum(root) {
            Ok(())
        } else {
            Err("is not a root ID (`r-` and 4 to 32 lowercase letters or digits)".into())
        };
    }
    let ok = id
        .strip_prefix("ou-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(root, unit)| {
            (4..=32).contains(&root.len())
                && (8..=32).contains(&unit.len())
                && lower_alnum(root)
                && lower_alnum(unit)
        });
    if ok {
        Ok(())
    } else {
        Err("is not an organisational unit ID: `ou-` + 4 to 32 and `-` + 8 to 32 lowercase letters or digits, e.g. `ou-ab12-cd34ef56` (or a root, `r-ab12`)".into())
    }
}

/// A 12-digit AWS account ID.
pub fn account_id(id: &str) -> Result<(), String> {
    if id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err("is not an AWS account ID: 12 digits, quoted so that YAML keeps leading zeros (`\"012345678901\"`)".into())
    }
}

/// An IAM role name (no path): 1 to 64 of letters, digits and `+=,.@_-`.
pub fn role_name(name: &str) -> Result<(), String> {
    rules::iam_name(name, 64)
}

/// An IAM role ARN in `partition`: `arn:<partition>:iam::<account>:role/<path/>name`.
pub fn role_arn(arn: &str, partition: &str) -> Result<(), String> {
    let expected = format!("arn:{partition}:iam::");
    let Some(rest) = arn.strip_prefix(&expected) else {
        return Err(format!(
            "is not an IAM role ARN of partition `{partition}` (`{expected}<account>:role/<name>`)"
        ));
    };
    let Some((account, resource)) = rest.split_once(':') else {
        return Err("lacks the account ID (`arn:…:iam::<12 digits>:role/<name>`)".into());
    };
    account_id(account).map_err(|e| format!("account `{account}` {e}"))?;
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Err("is not a role ARN (`…:role/<name>`)".into());
    };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let path = &path_and_name[..path_and_name.len() - name.len()];
    if path.len() > 511 || path.contains("//") {
        return Err(format!("has an invalid role path `/{path}`"));
    }
    role_name(name).map_err(|e| format!("role name `{name}` {e}"))
}

/// Every rule of the `stacksets:` section and of its interplay with the rest of the file.
pub fn check(c: &super::Config, push: &mut impl FnMut(String, String)) {
    let is_stacksets = c.engine == super::Engine::Stacksets;
    let Some(s) = &c.stacksets else {
        if is_stacksets {
            push(
                "engine".into(),
                "`stacksets` needs a `stacksets:` section with `targets` (organizational_units or accounts)".into(),
            );
        }
        return;
    };
    if !is_stacksets {
        push(
            "stacksets".into(),
            format!(
                "is used only with `engine: stacksets` (the engine is `{}`); set the engine or remove the section",
                serde_json::to_value(c.engine)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            ),
        );
    }
    let partition = crate::region::partition_of(c.home_region()).id;
    check_targets(&s.targets, partition, push);
    check_preferences(&s.preferences, &c.regions, push);
    if let Err(e) = role_name(&s.setup_role_name) {
        push(
            "stacksets.setup_role_name".into(),
            format!("`{}` {e}", s.setup_role_name),
        );
    }
    if !c.access.is_empty() {
        push(
            "access".into(),
            "access lists are resolved to IAM unique IDs of one account, but a stack set spans several: not supported with `engine: stacksets`".into(),
        );
    }
    if let Some(name) = &c.bucket.name
        && !name.contains("{account_id}")
    {
        push(
            "bucket.name".into(),
            format!(
                "`{name}` would be the same in every target account, but bucket names are global: add `{{account_id}}`, e.g. `{name}-{{account_id}}`"
            ),
        );
    }
}

fn check_targets(t: &Targets, partition: &str, push: &mut impl FnMut(String, String)) {
    let f = "stacksets.targets";
    match (t.organizational_units.is_empty(), t.accounts.is_empty()) {
        (true, true) => push(
            f.into(),
            "name `organizational_units` (service-managed) or `accounts` (self-managed)".into(),
        ),
        (false, false) => push(
            format!("{f}.accounts"),
            "a stack set targets organizational units (service-managed) or accounts (self-managed), not both".into(),
        ),
        _ => {}
    }
    let mut seen = BTreeSet::new();
    for (i, ou) in t.organizational_units.iter().enumerate() {
        let field = format!("{f}.organizational_units[{i}]");
        if let Err(e) = ou_id(ou) {
            push(field, format!("`{ou}` {e}"));
        } else if !seen.insert(ou) {
            push(field, format!("`{ou}` is listed twice; each OU once"));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, account) in t.accounts.iter().enumerate() {
        let field = format!("{f}.accounts[{i}]");
        if let Err(e) = account_id(account) {
            push(field, format!("`{account}` {e}"));
        } else if !seen.insert(account) {
            push(
                field,
                format!("`{account}` is listed twice; each account once"),
            );
        }
    }
    if t.auto_deployment.is_some() && t.organizational_units.is_empty() {
        push(
            format!("{f}.auto_deployment"),
            "applies to organizational units only (accounts that join or leave them); remove it or target `organizational_units`".into(),
        );
    }
    if !t.organizational_units.is_empty() {
        for (key, given) in [
            (
                "administration_role_arn",
                t.administration_role_arn.is_some(),
            ),
            ("execution_role_name", t.execution_role_name.is_some()),
        ] {
            if given {
                push(
                    format!("{f}.{key}"),
                    "applies to self-managed `accounts` only; with organizational units, StackSets uses the roles of AWS Organizations".into(),
                );
            }
        }
    }
    if let Some(arn) = &t.administration_role_arn
        && let Err(e) = role_arn(arn, partition)
    {
        push(
            format!("{f}.administration_role_arn"),
            format!("`{arn}` {e}"),
        );
    }
    if let Some(name) = &t.execution_role_name
        && let Err(e) = role_name(name)
    {
        push(format!("{f}.execution_role_name"), format!("`{name}` {e}"));
    }
}

fn check_preferences(p: &Preferences, regions: &[String], push: &mut impl FnMut(String, String)) {
    let f = "stacksets.preferences";
    let mut seen = BTreeSet::new();
    for (i, r) in p.region_order.iter().enumerate() {
        let field = format!("{f}.region_order[{i}]");
        if !regions.contains(r) {
            push(
                field,
                format!("`{r}` is not one of `regions` ({})", regions.join(", ")),
            );
        } else if !seen.insert(r) {
            push(field, format!("`{r}` is listed twice; each region once"));
        }
    }
    match p.max_concurrent {
        Amount::Count(0) => push(
            format!("{f}.max_concurrent"),
            "0 accounts at a time would never deploy; at least 1 (or a percentage such as \"25%\")"
                .into(),
        ),
        Amount::Percent(n) if !(1..=100).contains(&n) => push(
            format!("{f}.max_concurrent"),
            format!("{n}% is out of range; 1% to 100%"),
        ),
        _ => {}
    }
    if let Amount::Percent(n) = p.failure_tolerance
        && n > 100
    {
        push(
            format!("{f}.failure_tolerance"),
            format!("{n}% is out of range; 0% to 100%"),
        );
    }
    // StackSetOperationPreferences: with the default (strict) failure tolerance,
    // MaxConcurrentCount is at most one more than FailureToleranceCount.
    if let (Amount::Count(max), Amount::Count(tolerance)) = (p.max_concurrent, p.failure_tolerance)
        && max > tolerance.saturating_add(1)
    {
        push(
            format!("{f}.max_concurrent"),
            format!(
                "{max} accounts at a time needs `failure_tolerance` of at least {} (CloudFormation runs at most failure_tolerance + 1 = {} account{} at once); lower max_concurrent or raise failure_tolerance",
                max - 1,
                tolerance.saturating_add(1),
                if tolerance == 0 { "" } else { "s" }
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ou_ids_and_roots() {
        for ok in ["ou-ab12-cd34ef56", "ou-c217-542xhatq", "r-ab12", "r-c217"] {
            assert_eq!(ou_id(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ou-ab1-cd34ef56",
            "ou-ab12-cd34ef5",
            "ou-AB12-cd34ef56",
            "ou-ab12cd34ef56",
            "r-ab1",
            "o-ab12cd34",
            "ab12-cd34ef56",
            "",
        ] {
            assert!(ou_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn account_ids_and_roles() {
        assert_eq!(account_id("012345678901"), Ok(()));
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert!(account_id(bad).is_err(), "{bad}");
        }
        assert_eq!(
            role_arn(
                "arn:aws:iam::111122223333:role/AWSCloudFormationStackSetAdministrationRole",
                "aws"
            ),
            Ok(())
        );
        assert_eq!(
            role_arn("arn:aws:iam::111122223333:role/ops/stacksets/Admin", "aws"),
            Ok(())
        );
        for bad in [
            "arn:aws-cn:iam::111122223333:role/Admin",
            "arn:aws:iam::1111:role/Admin",
            "arn:aws:iam::111122223333:user/Admin",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:iam::111122223333:role/a b",
            "AWSCloudFormationStackSetAdministrationRole",
        ] {
            assert!(role_arn(bad, "aws").is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_read_counts_and_percentages() {
        let read = |s: &str| serde_saphyr::from_str::<Amount>(s);
        assert_eq!(read("3").unwrap(), Amount::Count(3));
        assert_eq!(read("\"25%\"").unwrap(), Amount::Percent(25));
        assert_eq!(read("25%").unwrap(), Amount::Percent(25));
        assert!(read("-1").is_err());
        assert!(read("many").is_err());
        assert_eq!(
            serde_json::to_string(&Amount::Percent(10)).unwrap(),
            "\"10%\""
        );
        assert_eq!(serde_json::to_string(&Amount::Count(2)).unwrap(), "2");
    }

    #[test]
    fn region_order_completes_with_the_configured_regions() {
        let s = StackSets {
            targets: Targets::default(),
            preferences: Preferences {
                region_order: vec!["us-east-1".into()],
                ..Preferences::default()
            },
            retain_stacks_on_delete: false,
            setup_role_name: DEFAULT_SETUP_ROLE.into(),
        };
        let regions = ["eu-west-1", "us-east-1", "eu-north-1"].map(String::from);
        assert_eq!(
            s.region_order(&regions),
            ["us-east-1", "eu-west-1", "eu-north-1"]
        );
        assert_eq!(
            s.administration_role_arn("aws", "111122223333"),
            "arn:aws:iam::111122223333:role/AWSCloudFormationStackSetAdministrationRole"
        );
        assert_eq!(s.execution_role_name(), DEFAULT_EXECUTION_ROLE);
        assert_eq!(
            s.setup_role_arn("aws", "444455556666"),
            "arn:aws:iam::444455556666:role/OrganizationAccountAccessRole"
        );
    }
}
