//! What the stack set should be: its template, parameters, tags, targets, regions and
//! operation preferences, from the configuration and the rendered stack-set template.

use crate::config::Config;
use crate::config::stacksets::{Amount, PermissionModel, RegionConcurrency};
use crate::render::StackSetTemplate;
use aws_sdk_cloudformation::types::{
    self as cfn, Capability, DeploymentTargets, Parameter, PermissionModels, RegionConcurrencyType,
    StackSetOperationPreferences, Tag,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// Where the set deploys, and with which permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "permission_model", rename_all = "snake_case")]
pub enum Targets {
    /// SERVICE_MANAGED: every account of these OUs (nested ones included).
    OrganizationalUnits {
        ous: Vec<String>,
        auto_deployment: Option<AutoDeployment>,
    },
    /// SELF_MANAGED: these accounts, through the administration and execution roles.
    Accounts {
        accounts: Vec<String>,
        administration_role_arn: String,
        execution_role_name: String,
    },
}

/// Automatic deployment to accounts joining the OUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AutoDeployment {
    pub enabled: bool,
    pub retain_stacks_on_account_removal: bool,
}

/// How CloudFormation paces each operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Preferences {
    /// Every region of the set, in the order operations visit them.
    pub region_order: Vec<String>,
    pub parallel_regions: bool,
    pub max_concurrent: Amount,
    pub failure_tolerance: Amount,
}

impl Preferences {
    /// StackSetOperationPreferences (CloudFormation's default strict failure tolerance).
    pub fn sdk(&self) -> StackSetOperationPreferences {
        let mut b = StackSetOperationPreferences::builder()
            .set_region_order(Some(self.region_order.clone()))
            .region_concurrency_type(if self.parallel_regions {
                RegionConcurrencyType::Parallel
            } else {
                RegionConcurrencyType::Sequential
            });
        b = match self.max_concurrent {
            Amount::Count(n) => b.max_concurrent_count(clamp(n)),
            Amount::Percent(n) => b.max_concurrent_percentage(clamp(n)),
        };
        b = match self.failure_tolerance {
            Amount::Count(n) => b.failure_tolerance_count(clamp(n)),
            Amount::Percent(n) => b.failure_tolerance_percentage(clamp(n)),
        };
        b.build()
    }
}

/// The stack set as the configuration wants it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackSetSpec {
    pub name: String,
    pub description: String,
    pub template: String,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub targets: Targets,
    /// The regions of the instances, in operation order.
    pub regions: Vec<String>,
    pub preferences: Preferences,
    /// The region whose instances hold the IAM identities.
    pub home_region: String,
    /// `destroy` keeps the instances' stacks.
    pub retain_stacks_on_delete: bool,
}

impl StackSetSpec {
    /// The spec of `cfg` (which must be `engine: stacksets`, as validation guarantees for a
    /// configuration with a `stacksets:` section). `deploying_account` names the default
    /// administration role; `parameters` are the template's parameter values.
    pub fn from_config(
        cfg: &Config,
        template: &StackSetTemplate,
        parameters: BTreeMap<String, String>,
        deploying_account: &str,
    ) -> Option<StackSetSpec> {
        let s = cfg.stacksets.as_ref()?;
        let partition = crate::region::partition_of(cfg.home_region()).id;
        let targets = match s.permission_model() {
            PermissionModel::ServiceManaged => Targets::OrganizationalUnits {
                ous: s.targets.organizational_units.clone(),
                auto_deployment: s.targets.auto_deployment.map(|a| AutoDeployment {
                    enabled: a.enabled,
                    retain_stacks_on_account_removal: a.retain_stacks_on_account_removal,
                }),
            },
            PermissionModel::SelfManaged => Targets::Accounts {
                accounts: s.targets.accounts.clone(),
                administration_role_arn: s.administration_role_arn(partition, deploying_account),
                execution_role_name: s.execution_role_name().to_string(),
            },
        };
        let regions = s.region_order(&cfg.regions);
        let p = &s.preferences;
        Some(StackSetSpec {
            name: cfg.stack_name.clone(),
            description: format!(
                "{} artifact storage in every target account and region (provision; Startifact-compatible)",
                cfg.organisation
            ),
            template: template.body.clone(),
            parameters,
            tags: cfg.tags.clone(),
            targets,
            preferences: Preferences {
                region_order: regions.clone(),
                parallel_regions: p.region_concurrency == RegionConcurrency::Parallel,
                max_concurrent: p.max_concurrent,
                failure_tolerance: p.failure_tolerance,
            },
            regions,
            home_region: template.home_region.clone(),
            retain_stacks_on_delete: s.retain_stacks_on_delete,
        })
    }

    pub fn permission_model(&self) -> PermissionModels {
        match self.targets {
            Targets::OrganizationalUnits { .. } => PermissionModels::ServiceManaged,
            Targets::Accounts { .. } => PermissionModels::SelfManaged,
        }
    }

    /// The self-managed target accounts (empty for OUs, which Organizations resolves).
    pub fn accounts(&self) -> &[String] {
        match &self.targets {
            Targets::Accounts { accounts, .. } => accounts,
            Targets::OrganizationalUnits { .. } => &[],
        }
    }

    /// The OUs (empty for accounts).
    pub fn organizational_units(&self) -> &[String] {
        match &self.targets {
            Targets::OrganizationalUnits { ous, .. } => ous,
            Targets::Accounts { .. } => &[],
        }
    }

    pub(crate) fn sdk_parameters(&self) -> Vec<Parameter> {
        self.parameters
            .iter()
            .map(|(k, v)| {
                Parameter::builder()
                    .parameter_key(k)
                    .parameter_value(v)
                    .build()
            })
            .collect()
    }

    pub(crate) fn sdk_tags(&self) -> Vec<Tag> {
        self.tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    }

    /// The IAM group, users and managed policies have names: CAPABILITY_NAMED_IAM.
    pub(crate) fn capabilities(&self) -> Vec<Capability> {
        vec![Capability::CapabilityNamedIam]
    }

    pub(crate) fn sdk_auto_deployment(&self) -> Option<cfn::AutoDeployment> {
        match &self.targets {
            Targets::OrganizationalUnits {
                auto_deployment, ..
            } => {
                let a = auto_deployment.unwrap_or(AutoDeployment {
                    enabled: false,
                    retain_stacks_on_account_removal: false,
                });
                Some(
                    cfn::AutoDeployment::builder()
                        .enabled(a.enabled)
                        .set_retain_stacks_on_account_removal(
                            a.enabled.then_some(a.retain_stacks_on_account_removal),
                        )
                        .build(),
                )
            }
            Targets::Accounts { .. } => None,
        }
    }
}

/// Deployment targets of a service-managed operation on `ous`, narrowed to `accounts`
/// when given (AccountFilterType INTERSECTION: only those accounts of the OUs).
pub(crate) fn ou_targets(ous: &[String], accounts: &[String]) -> DeploymentTargets {
    let b = DeploymentTargets::builder().set_organizational_unit_ids(Some(ous.to_vec()));
    if accounts.is_empty() {
        b.build()
    } else {
        b.set_accounts(Some(accounts.to_vec()))
            .account_filter_type(cfn::AccountFilterType::Intersection)
            .build()
    }
}

fn clamp(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> StackSetSpec {
        let cfg = crate::config::parse(std::path::Path::new("p.yaml"), &format!(
            "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1, eu-north-1]\nengine: stacksets\n{extra}"
        ))
        .expect("valid");
        let t = crate::render::stack_set(&cfg, &crate::render::Templates::default()).unwrap();
        StackSetSpec::from_config(&cfg, &t, BTreeMap::new(), "999988887777").expect("spec")
    }

    #[test]
    fn self_managed_defaults_to_aws_role_names_in_the_deploying_account() {
        let s = spec("stacksets: {targets: {accounts: [\"111122223333\"]}}\n");
        assert_eq!(s.permission_model(), PermissionModels::SelfManaged);
        assert_eq!(
            s.targets,
            Targets::Accounts {
                accounts: vec!["111122223333".into()],
                administration_role_arn:
                    "arn:aws:iam::999988887777:role/AWSCloudFormationStackSetAdministrationRole"
                        .into(),
                execution_role_name: "AWSCloudFormationStackSetExecutionRole".into(),
            }
        );
        assert!(s.sdk_auto_deployment().is_none());
        let p = s.preferences.sdk();
        assert_eq!(p.region_order(), ["eu-west-1", "us-east-1", "eu-north-1"]);
        assert_eq!(p.max_concurrent_count(), Some(1));
        assert_eq!(p.failure_tolerance_count(), Some(0));
        assert_eq!(
            p.region_concurrency_type(),
            Some(&RegionConcurrencyType::Sequential)
        );
    }

    #[test]
    fn service_managed_with_percentages_and_a_region_order() {
        let s = spec(
            "stacksets:\n  targets: {organizational_units: [ou-ab12-cd34ef56], auto_deployment: {enabled: true, retain_stacks_on_account_removal: true}}\n  preferences: {region_order: [us-east-1], region_concurrency: parallel, max_concurrent: \"50%\", failure_tolerance: \"10%\"}\n",
        );
        assert_eq!(s.permission_model(), PermissionModels::ServiceManaged);
        assert_eq!(s.regions, ["us-east-1", "eu-west-1", "eu-north-1"]);
        let p = s.preferences.sdk();
        assert_eq!(p.max_concurrent_percentage(), Some(50));
        assert_eq!(p.failure_tolerance_percentage(), Some(10));
        assert_eq!(p.max_concurrent_count(), None);
        assert_eq!(
            p.region_concurrency_type(),
            Some(&RegionConcurrencyType::Parallel)
        );
        let auto = s.sdk_auto_deployment().expect("service-managed");
        assert_eq!(auto.enabled(), Some(true));
        assert_eq!(auto.retain_stacks_on_account_removal(), Some(true));
        assert_eq!(s.capabilities(), [Capability::CapabilityNamedIam]);
    }
}
