//! Destroying the set: every instance read first (its stack's resources, through the setup
//! role in its account, to name what stays), then one run of the driver's destroy (the
//! instances deleted, their stacks retained when configured, then the set), then each
//! target's result read from its report.

use super::diff;
use super::prepare;
use super::set::{OpenLine, StackSets};
use crate::deploy::cloudformation::security;
use crate::deploy::error::DeployError;
use crate::deploy::model::{
    DestroyResult, Destroyed, EngineStack, Inventory, StackFailure, StackResource, holds_data,
};
use crate::deploy::retained::forget_missing_buckets;
use crate::runner::{Failure, Target};
use crate::stacksets::destroy::retained_logical_ids;
use crate::stacksets::{self, DestroyReport, InstanceKey, StackResourceRef};
use serde_json::Value;
use std::collections::BTreeMap;

/// What an instance holds: its stack's resources as CloudFormation lists them in its
/// account, or, when that account cannot be read, as the set's template says them for its
/// account and region (fixed names resolved, the others unnamed).
pub async fn inventory(
    engine: &StackSets,
    target: &Target,
) -> Result<Option<Inventory>, StackFailure> {
    let state = engine.state();
    let Some(info) = &state.info else {
        return Ok(None);
    };
    let Some(instance) = prepare::instance(&state.instances, target) else {
        return Ok(None);
    };
    let retain_stacks = retain_stacks(engine);
    let kept = retained_logical_ids(&info.template);
    let listed = match &instance.stack_id {
        Some(id) => stacksets::instance_resources(&engine.member.cloudformation(target), id)
            .await
            .ok(),
        None => None,
    };
    let mut resources = match listed {
        Some(list) => list
            .into_iter()
            .map(|r| StackResource {
                retained: retain_stacks || kept.contains_key(&r.logical_id),
                logical_id: r.logical_id,
                resource_type: r.resource_type,
                physical_id: r.physical_id.unwrap_or_default(),
            })
            .collect(),
        None => from_template(&info.template, target, retain_stacks, &kept),
    };
    forget_missing_buckets(&engine.member.s3_reads(target), &mut resources).await;
    Ok(Some(Inventory {
        status: instance.status.clone(),
        resources,
        engine: EngineStack::StackSetInstance {
            stack_id: instance.stack_id.clone(),
        },
    }))
}

fn retain_stacks(engine: &StackSets) -> bool {
    engine
        .cfg
        .stacksets
        .as_ref()
        .is_some_and(|s| s.retain_stacks_on_delete)
}

/// The instance's resources as the template says them in `target`.
fn from_template(
    template: &str,
    target: &Target,
    retain_stacks: bool,
    kept: &BTreeMap<String, String>,
) -> Vec<StackResource> {
    let known = diff::known(
        target.account.as_deref().unwrap_or_default(),
        &target.region,
    );
    let narrowed = diff::in_target(
        &security::parse_template(template).unwrap_or(Value::Null),
        &known,
    );
    let names = diff::physical_names(&narrowed, &known);
    narrowed["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(id, entry)| StackResource {
            logical_id: id.clone(),
            resource_type: entry["Type"].as_str().unwrap_or_default().to_string(),
            physical_id: names.get(id).cloned().unwrap_or_default(),
            retained: retain_stacks || kept.contains_key(id),
        })
        .collect()
}

type Found = [(Target, Result<Option<Inventory>, StackFailure>)];

/// Deletes every instance, then the set (`None`: there is no set).
pub async fn run(
    engine: &StackSets,
    found: &Found,
    open_line: &OpenLine<'_>,
) -> Result<Option<DestroyReport>, DeployError> {
    if engine.state().info.is_none() {
        return Ok(None);
    }
    let physical: BTreeMap<InstanceKey, Vec<StackResourceRef>> = found
        .iter()
        .filter_map(|(t, i)| Some((key(t), i.as_ref().ok()?.as_ref()?)))
        .map(|(k, inventory)| {
            let resources = inventory
                .resources
                .iter()
                .map(|r| StackResourceRef {
                    logical_id: r.logical_id.clone(),
                    resource_type: r.resource_type.clone(),
                    physical_id: Some(r.physical_id.clone()).filter(|p| !p.is_empty()),
                })
                .collect();
            (k, resources)
        })
        .collect();
    let ous: Vec<String> = engine
        .cfg
        .stacksets
        .as_ref()
        .map(|s| s.targets.organizational_units.clone())
        .unwrap_or_default();
    let line = open_line();
    let progress = |m: String| line.set(m);
    let result = stacksets::destroy(
        &engine.cloudformation(),
        engine.name(),
        &ous,
        retain_stacks(engine),
        &physical,
        &engine.polling(),
        &progress,
    )
    .await;
    match result {
        Ok(report) => {
            line.finish(if report.deleted {
                "deleted"
            } else {
                "instances remain; the set is kept"
            });
            Ok(Some(report))
        }
        Err(e) => {
            line.finish("failed");
            Err(e.into())
        }
    }
}

fn key(target: &Target) -> InstanceKey {
    InstanceKey::new(target.account.clone().unwrap_or_default(), &target.region)
}

/// One target's part of the destroy: deleted (with what stays), or still there. What the
/// inventory found gone (a bucket deleted by hand) is not listed as kept.
pub fn outcome(
    engine: &StackSets,
    report: Option<&DestroyReport>,
    target: &Target,
    inventory: &Inventory,
) -> Result<Destroyed, StackFailure> {
    let not_deployed = Destroyed {
        result: DestroyResult::NotDeployed,
        retained: Vec::new(),
    };
    let Some(report) = report.filter(|r| r.existed) else {
        return Ok(not_deployed);
    };
    let key = key(target);
    if report.remaining.contains(&key) {
        let mut failure = StackFailure::new(
            engine.name(),
            Failure::new("the instance is still there after its deletion; the stack set is kept")
                .with_hint(format!(
                    "`aws cloudformation list-stack-instances --stack-set-name {}` shows why; run `provision destroy` again once it can go",
                    engine.name()
                )),
        );
        failure.status = Some("remaining".into());
        return Err(failure);
    }
    let Some(kept) = report.retained.iter().find(|r| r.key == key) else {
        return Ok(not_deployed);
    };
    let mut retained: Vec<StackResource> = Vec::new();
    if kept.whole_stack {
        retained.push(StackResource {
            logical_id: "(stack)".into(),
            resource_type: "AWS::CloudFormation::Stack".into(),
            physical_id: kept.stack_id.clone().unwrap_or_default(),
            retained: true,
        });
    }
    let gone = |logical_id: &str| {
        inventory
            .resources
            .iter()
            .any(|r| r.logical_id == logical_id && !r.retained)
    };
    retained.extend(
        kept.resources
            .iter()
            .filter(|r| !kept.whole_stack || holds_data(&r.resource_type))
            .filter(|r| !gone(&r.logical_id))
            .map(|r| StackResource {
                logical_id: r.logical_id.clone(),
                resource_type: r.resource_type.clone(),
                physical_id: r.physical_id.clone().unwrap_or_default(),
                retained: true,
            }),
    );
    Ok(Destroyed {
        result: DestroyResult::Deleted,
        retained,
    })
}
