//! Every stack instance's plan, from the preview: what happens to it (created, updated,
//! retried, deleted, left alone), its resource changes against the set's current template,
//! its security changes, and what the display says beyond them.

use super::diff;
use crate::deploy::model::{Action, EnginePlan, StackSetPlan, TargetPlan};
use crate::runner::Target;
use crate::stacksets::{InstanceKey, InstanceSummary, Preview, StackSetSpec};
use serde_json::Value;

/// The set's current template (None: no set) and the new one, parsed.
#[derive(Debug, Clone)]
pub struct Templates {
    pub current: Option<Value>,
    pub new: Value,
}

/// The plan of every target: the instances wanted and those that exist, sorted by account,
/// then by the configuration's `regions`.
pub fn target_plans(
    spec: &StackSetSpec,
    preview: &Preview,
    instances: &[InstanceSummary],
    templates: &Templates,
    regions: &[String],
) -> Vec<(Target, TargetPlan)> {
    let mut keys: Vec<(String, String)> = preview
        .instances_to_add
        .iter()
        .chain(&preview.instances_to_remove)
        .chain(&preview.instances_to_retry)
        .chain(&preview.instances_inoperable)
        .chain(&preview.instances_unchanged)
        .map(|k| (k.account.clone(), k.region.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    order(&mut keys, regions);
    keys.into_iter()
        .map(|(account, region)| {
            let target = Target::in_account(&account, &region);
            let key = InstanceKey::new(account, region);
            let plan = target_plan(spec, preview, instances, templates, &key);
            (target, plan)
        })
        .collect()
}

fn target_plan(
    spec: &StackSetSpec,
    preview: &Preview,
    instances: &[InstanceSummary],
    templates: &Templates,
    key: &InstanceKey,
) -> TargetPlan {
    let known = diff::known(&key.account, &key.region);
    let new = diff::in_target(&templates.new, &known);
    let old = templates
        .current
        .as_ref()
        .map(|t| diff::in_target(t, &known))
        .unwrap_or(Value::Null);
    let instance = instances.iter().find(|i| &i.key == key);
    let mut payload = StackSetPlan {
        instance_status: instance.map(|i| i.status.clone()),
        status_reason: instance.and_then(|i| i.status_reason.clone()),
        organizational_unit: instance
            .and_then(|i| i.organizational_unit.clone())
            .or_else(|| preview.instance_ous.get(key).cloned()),
        ..StackSetPlan::default()
    };
    let outdated = preview.instances_to_retry.contains(key);
    let mut plan = TargetPlan {
        stack_name: spec.name.clone(),
        action: Action::NoChanges,
        engine: EnginePlan::StackSets(StackSetPlan::default()),
        changes: Vec::new(),
        security: Vec::new(),
    };
    if preview.instances_to_add.contains(key) {
        plan.action = Action::Create;
        plan.changes = diff::additions(&new);
        plan.security = diff::security_changes(&Value::Null, &new);
    } else if preview.instances_to_remove.contains(key) {
        plan.action = Action::Delete;
        if spec.retain_stacks_on_delete {
            payload.retain_stack = true;
            payload.notes.push(
                "its stack stays in the account with every resource, outside the set (retain_stacks_on_delete)".into(),
            );
        } else {
            plan.changes = diff::removals(&old);
            plan.security = diff::security_changes(&old, &Value::Null);
        }
    } else if preview.instances_inoperable.contains(key) {
        payload.notes.push(
            "INOPERABLE: CloudFormation leaves it out of every operation; delete it with `aws cloudformation delete-stack-instances --retain-stacks`, then apply again".into(),
        );
    } else if preview.updates_set() {
        plan.action = Action::Update;
        plan.changes = diff::resource_changes(&old, &new, &known);
        plan.security = diff::security_changes(&old, &new);
        payload.parameter_changes = preview.parameter_changes.clone();
        if outdated {
            payload
                .notes
                .push(outdated_note(instance, "the update reaches it too"));
        }
    } else if outdated {
        plan.action = Action::Retry;
        payload.notes.push(outdated_note(
            instance,
            "retried alone, with the set's template and parameters",
        ));
    }
    plan.engine = EnginePlan::StackSets(payload);
    plan
}

fn outdated_note(instance: Option<&InstanceSummary>, then: &str) -> String {
    let reason = instance
        .and_then(|i| i.status_reason.as_deref())
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    format!("OUTDATED{reason}; {then}")
}

/// Every target's instance, sorted as the display wants it: by account, then in the
/// configuration's order of regions (regions no longer configured last).
pub fn order(keys: &mut [(String, String)], regions: &[String]) {
    let index = |r: &str| regions.iter().position(|x| x == r).unwrap_or(usize::MAX);
    keys.sort_by(|a, b| (&a.0, index(&a.1), &a.1).cmp(&(&b.0, index(&b.1), &b.1)));
}
