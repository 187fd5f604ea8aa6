//! What the Terraform engine reads without changing anything: the state (inventory before a
//! destroy, `status`) and `plan -refresh-only` (`drift`).

use super::engine::{Shared, TerraformEngine, blocking};
use crate::deploy::model::{
    DriftState, EngineStack, Inventory, PropertyDiff, ResourceDrift, StackDrift, StackFailure,
    StackResource, StackStatus,
};
use crate::deploy::retained::forget_missing_buckets;
use crate::render::region_suffix;
use crate::runner::Target;
use crate::terraform::{self as tf, Drift, DriftKind, PlanMode, RawState, retain};
use std::collections::BTreeSet;
use std::sync::Arc;

impl TerraformEngine {
    /// The state (`state pull`), read once.
    async fn state(&self) -> Shared<Option<Arc<RawState>>> {
        self.state
            .get_or_init(|| async {
                let terraform = self.terraform()?;
                blocking("state pull", move || terraform.state_pull())
                    .await
                    .map(|s| s.map(Arc::new))
                    .map_err(Arc::new)
            })
            .await
            .clone()
    }

    /// The state's resource instances in one region (account-global ones in the home region).
    async fn instances(&self, region: &str) -> Result<Vec<tf::Instance>, StackFailure> {
        let state = self
            .state()
            .await
            .map_err(|e| self.shared_failure(&e, region))?;
        let home = self.cfg.home_region();
        Ok(state
            .map(|s| {
                s.instances()
                    .into_iter()
                    .filter(|i| self.regions.region_of(&i.provider).unwrap_or(home) == region)
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn inventory(&self, target: &Target) -> Result<Option<Inventory>, StackFailure> {
        let instances = self.instances(&target.region).await?;
        if instances.is_empty() {
            return Ok(None);
        }
        let kept: BTreeSet<String> = retain::retained(&self.cfg)
            .into_iter()
            .map(|r| r.address)
            .collect();
        let status = format!("{} resources in the Terraform state", instances.len());
        let mut resources: Vec<StackResource> = instances
            .into_iter()
            .map(|i| StackResource {
                retained: kept.contains(&i.address),
                logical_id: i.address,
                resource_type: i.resource_type,
                physical_id: i.id.unwrap_or_default(),
            })
            .collect();
        // A kept bucket deleted by hand since is not listed as retained.
        forget_missing_buckets(&self.clients.s3_reads(target), &mut resources).await;
        Ok(Some(Inventory {
            status,
            resources,
            engine: EngineStack::Terraform,
        }))
    }

    /// Read from the state: what is deployed in the region, and the module's outputs for it.
    pub async fn status(&self, target: &Target) -> Result<StackStatus, StackFailure> {
        let instances = self.instances(&target.region).await?;
        if instances.is_empty() {
            return Ok(StackStatus::not_deployed(self.stack()));
        }
        let state = self
            .state()
            .await
            .map_err(|e| self.shared_failure(&e, &target.region))?;
        let suffix = format!("_{}", region_suffix(&target.region));
        let outputs = state
            .as_ref()
            .map(|s| {
                s.outputs()
                    .into_iter()
                    .filter_map(|(k, v)| {
                        k.strip_suffix(&suffix)
                            .map(|name| (name.to_string(), v.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let tainted: Vec<&str> = instances
            .iter()
            .filter(|i| i.tainted)
            .map(|i| i.address.as_str())
            .collect();
        let mut status = StackStatus::not_deployed(self.stack());
        status.deployed = true;
        status.status = Some(if tainted.is_empty() {
            format!("{} resources in state", instances.len())
        } else {
            format!(
                "{} resources in state, {} tainted",
                instances.len(),
                tainted.len()
            )
        });
        if !tainted.is_empty() {
            status.status_reason = Some(format!(
                "tainted (replaced by the next apply): {}",
                tainted.join(", ")
            ));
        }
        status.outputs = outputs;
        Ok(status)
    }

    /// `plan -refresh-only` once; each region's drifted resources and attributes.
    pub async fn drift(&self, target: &Target) -> Result<StackDrift, StackFailure> {
        if self.instances(&target.region).await?.is_empty() {
            return Ok(StackDrift {
                state: DriftState::NotDeployed,
                drifted: Vec::new(),
                note: None,
            });
        }
        let drift = self
            .drift
            .get_or_init(|| async {
                let terraform = self.terraform()?;
                let options = self.run_options(PlanMode::RefreshOnly);
                let interrupt = self.options.interrupt.clone();
                blocking("plan -refresh-only", move || {
                    let outcome = terraform.plan(&options, &interrupt, &mut |_| {})?;
                    terraform.drift(&outcome.file)
                })
                .await
                .map(Arc::new)
                .map_err(Arc::new)
            })
            .await
            .clone()
            .map_err(|e| self.shared_failure(&e, &target.region))?;
        let home = self.cfg.home_region();
        let drifted: Vec<ResourceDrift> = drift
            .iter()
            .filter(|d| d.region.as_deref().unwrap_or(home) == target.region)
            .map(resource_drift)
            .collect();
        Ok(StackDrift {
            state: if drifted.is_empty() {
                DriftState::InSync
            } else {
                DriftState::Drifted
            },
            drifted,
            note: None,
        })
    }
}

fn resource_drift(d: &Drift) -> ResourceDrift {
    let shown = |v: &serde_json::Value, sensitive: bool| {
        Some(if sensitive {
            "(sensitive)".to_string()
        } else {
            v.to_string()
        })
    };
    ResourceDrift {
        resource_type: d.address.split('.').next().unwrap_or_default().to_string(),
        logical_id: d.address.clone(),
        physical_id: String::new(),
        status: match d.kind {
            DriftKind::Changed => "MODIFIED".into(),
            DriftKind::Deleted => "DELETED".into(),
        },
        differences: d
            .attributes
            .iter()
            .map(|a| PropertyDiff {
                path: a.path.clone(),
                kind: "NOT_EQUAL".into(),
                expected: shown(&a.before, a.sensitive),
                actual: shown(&a.after, a.sensitive),
            })
            .collect(),
    }
}
