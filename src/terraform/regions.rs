//! The region of each resource, taken from its provider alias: the module has one `aws`
//! provider configuration per region (`provider "aws" { alias = "eu_west_1" region =
//! "eu-west-1" }`) and every resource names one (`provider = aws.eu_west_1`).
//!
//! Two sources give the same map: the `configuration` of `terraform show -json PLANFILE`
//! (Terraform's own reading), and the module's files (for the state, which keeps no
//! configuration).

use super::json::Configuration;
use crate::render::RenderedFile;
use serde_json::Value;
use std::collections::BTreeMap;

/// Resource address (without instance key) → region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceRegions {
    by_resource: BTreeMap<String, String>,
    /// Provider configuration key (`aws.eu_west_1`) → region.
    by_provider: BTreeMap<String, String>,
}

impl ResourceRegions {
    /// From a plan's configuration.
    pub fn from_configuration(config: &Configuration) -> Self {
        let alias_regions: BTreeMap<&str, &str> = config
            .provider_config
            .iter()
            .filter_map(|(key, p)| {
                let region = p
                    .expressions
                    .get("region")
                    .and_then(|r| r.get("constant_value"))
                    .and_then(Value::as_str)?;
                Some((key.as_str(), region))
            })
            .collect();
        let by_resource = config
            .root_module
            .resources
            .iter()
            .filter_map(|r| {
                let key = r.provider_config_key.as_deref()?;
                let region = alias_regions.get(key)?;
                Some((r.address.clone(), region.to_string()))
            })
            .collect();
        let by_provider = alias_regions
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ResourceRegions {
            by_resource,
            by_provider,
        }
    }

    /// From the module's files: provider blocks give alias → region, resource and data
    /// blocks their `provider = aws.ALIAS`. Files that are not HCL are skipped.
    pub fn from_module(files: &[RenderedFile]) -> Self {
        let bodies: Vec<hcl::Body> = files
            .iter()
            .filter(|f| f.name.ends_with(".tf"))
            .filter_map(|f| hcl::parse(&f.content).ok())
            .collect();
        let mut alias_regions = BTreeMap::new();
        for body in &bodies {
            for block in body.blocks().filter(|b| b.identifier() == "provider") {
                let attr = |name: &str| {
                    block
                        .body()
                        .attributes()
                        .find(|a| a.key() == name)
                        .and_then(|a| match a.expr() {
                            hcl::Expression::String(s) => Some(s.clone()),
                            _ => None,
                        })
                };
                if let (Some(alias), Some(region)) = (attr("alias"), attr("region")) {
                    alias_regions.insert(format!("aws.{alias}"), region);
                }
            }
        }
        let mut by_resource = BTreeMap::new();
        for body in &bodies {
            for block in body
                .blocks()
                .filter(|b| matches!(b.identifier(), "resource" | "data"))
            {
                let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
                let [kind, name] = labels.as_slice() else {
                    continue;
                };
                let provider = block
                    .body()
                    .attributes()
                    .find(|a| a.key() == "provider")
                    .map(|a| a.expr().to_string());
                let Some(region) = provider.and_then(|p| alias_regions.get(p.trim())) else {
                    continue;
                };
                let address = if block.identifier() == "data" {
                    format!("data.{kind}.{name}")
                } else {
                    format!("{kind}.{name}")
                };
                by_resource.insert(address, region.clone());
            }
        }
        ResourceRegions {
            by_resource,
            by_provider: alias_regions,
        }
    }

    /// The region of a resource instance address (`data.aws_iam_role.access["ci"]` is looked
    /// up as `data.aws_iam_role.access`), or of a provider configuration as diagnostics and
    /// the state name it (`provider["registry.terraform.io/hashicorp/aws"].eu_west_1`).
    pub fn region_of(&self, address: &str) -> Option<&str> {
        if let Some(alias) = provider_alias(address) {
            return self
                .by_provider
                .get(&format!("aws.{alias}"))
                .map(String::as_str);
        }
        let resource = address.split_once('[').map_or(address, |(a, _)| a);
        self.by_resource.get(resource).map(String::as_str)
    }

    /// Every region the module uses.
    pub fn regions(&self) -> std::collections::BTreeSet<&str> {
        self.by_resource.values().map(String::as_str).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.by_resource.is_empty()
    }
}

/// The alias of a provider configuration address: `provider["registry.terraform.io/hashicorp/aws"].eu_west_1`
/// is `eu_west_1`; None for a resource address or a provider without alias.
pub fn provider_alias(address: &str) -> Option<&str> {
    let rest = address.strip_prefix("provider[")?;
    let (_, after) = rest.split_once("].")?;
    (!after.is_empty()).then_some(after)
}

impl super::json::Plan {
    /// The region of each resource, from the plan's own configuration (empty without one).
    pub fn regions(&self) -> ResourceRegions {
        self.configuration
            .as_ref()
            .map(ResourceRegions::from_configuration)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Templates, terraform};

    #[test]
    fn the_module_and_terraform_agree_on_every_resource_region() {
        let cfg = crate::config::parse(
            std::path::Path::new("t.yaml"),
            "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\nkms: {alias: alias/a}\naccess: {roles: [ci]}\nidentities: {group: Apps, users: [app], policy: read}\n",
        )
        .unwrap();
        let files = terraform(&cfg, &Templates::default()).unwrap();
        let regions = ResourceRegions::from_module(&files);
        assert_eq!(
            regions.region_of("aws_s3_bucket.artifacts_us_east_1"),
            Some("us-east-1")
        );
        assert_eq!(
            regions.region_of("aws_kms_key.artifacts_eu_west_1"),
            Some("eu-west-1")
        );
        assert_eq!(
            regions.region_of("data.aws_iam_role.access[\"ci\"]"),
            Some("eu-west-1"),
            "account-global look-ups use the home region's provider"
        );
        assert_eq!(regions.region_of("aws_iam_user.app"), Some("eu-west-1"));
        assert_eq!(regions.region_of("aws_nothing.here"), None);
        assert_eq!(
            regions.region_of(r#"provider["registry.terraform.io/hashicorp/aws"].us_east_1"#),
            Some("us-east-1"),
            "a provider configuration's diagnostics name its region"
        );
        assert_eq!(
            regions.region_of(r#"provider["registry.terraform.io/hashicorp/aws"]"#),
            None
        );
        assert_eq!(
            regions.regions().into_iter().collect::<Vec<_>>(),
            ["eu-west-1", "us-east-1"]
        );

        // Terraform's reading of the recorded minimal example gives the same answer.
        let plan: super::super::json::Plan =
            serde_json::from_str(&crate::terraform::fixture("show-plan-create.json")).unwrap();
        let from_plan = ResourceRegions::from_configuration(plan.configuration.as_ref().unwrap());
        let minimal = crate::config::parse(
            std::path::Path::new("minimal.yaml"),
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal.yaml"),
            )
            .unwrap(),
        )
        .unwrap();
        let from_module =
            ResourceRegions::from_module(&terraform(&minimal, &Templates::default()).unwrap());
        assert!(!from_plan.is_empty());
        assert_eq!(from_plan, from_module);
    }
}
