//! The preview StackSets lacks: what an apply would change, before it changes anything.
//!
//! This module computes the parts that are StackSets' own: the instances to add (desired
//! accounts × regions without an instance), to remove (instances no longer desired) and to
//! retry (OUTDATED), the parameter changes, and whether the set's template or settings change.
//! The resource-by-resource template diff (with replacement predicted from create-only
//! properties) and the security table belong to the shared plan model: [`Preview::templates`]
//! is the boundary where they plug in.

use super::describe::{InstanceSummary, StackSetInfo, describe_stack_set, list_instances};
use super::{InstanceKey, StackSetError, StackSetSpec, Targets};
use aws_sdk_cloudformation::Client;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A parameter that is added, removed or given another value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ParameterChange {
    pub key: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What `apply` would do to the stack set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    pub stack_set: String,
    /// The set exists already (otherwise it is created).
    pub exists: bool,
    /// `SERVICE_MANAGED` or `SELF_MANAGED`, as configured.
    pub permission_model: String,
    /// The existing set's permission model when it differs (apply refuses).
    pub existing_permission_model: Option<String>,
    pub template_changed: bool,
    pub parameter_changes: Vec<ParameterChange>,
    /// Other settings UpdateStackSet changes: description, tags, roles, automatic deployment.
    pub setting_changes: Vec<String>,
    pub instances_to_add: Vec<InstanceKey>,
    pub instances_to_remove: Vec<InstanceKey>,
    /// OUTDATED instances that stay desired: a rerun retries them (and only them).
    pub instances_to_retry: Vec<InstanceKey>,
    /// INOPERABLE instances: CloudFormation excludes them from updates.
    pub instances_inoperable: Vec<InstanceKey>,
    pub instances_unchanged: Vec<InstanceKey>,
    /// The OU each existing instance was deployed through (service-managed).
    pub instance_ous: BTreeMap<InstanceKey, String>,
    #[serde(skip)]
    current_template: Option<String>,
    #[serde(skip)]
    new_template: String,
    #[serde(skip)]
    home_region: String,
}

/// The templates the resource diff compares: DescribeStackSet's TemplateBody (none for a new
/// set) and the rendered stack-set template. Every instance runs the same template; the
/// IAM identities differ between the home region and the others (`Condition:
/// InHomeRegion`), which the per-target diff evaluates with `home_region`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplatePair<'a> {
    pub current: Option<&'a str>,
    pub new: &'a str,
    pub home_region: &'a str,
}

impl Preview {
    /// The set itself needs UpdateStackSet (template, parameters or settings), which updates
    /// every instance.
    pub fn updates_set(&self) -> bool {
        self.exists
            && (self.template_changed
                || !self.parameter_changes.is_empty()
                || !self.setting_changes.is_empty())
    }

    /// Anything at all to do.
    pub fn has_changes(&self) -> bool {
        !self.exists
            || self.updates_set()
            || !self.instances_to_add.is_empty()
            || !self.instances_to_remove.is_empty()
            || !self.instances_to_retry.is_empty()
    }

    /// The boundary for the shared plan model's resource-by-resource diff and security
    /// table, with replacement predicted from create-only properties.
    pub fn templates(&self) -> TemplatePair<'_> {
        TemplatePair {
            current: self.current_template.as_deref(),
            new: &self.new_template,
            home_region: &self.home_region,
        }
    }
}

/// Reads the set and its instances, and compares them with `spec`. `desired_accounts` are
/// the accounts the instances should be in: the self-managed accounts, or what the OUs
/// resolve to (`org_accounts::resolve_organizational_units`).
pub async fn preview(
    cf: &Client,
    spec: &StackSetSpec,
    desired_accounts: &[String],
) -> Result<Preview, StackSetError> {
    let current = describe_stack_set(cf, &spec.name).await?;
    let instances = match &current {
        Some(_) => list_instances(cf, &spec.name).await?,
        None => Vec::new(),
    };
    Ok(preview_from(
        spec,
        current.as_ref(),
        &instances,
        desired_accounts,
    ))
}

/// [`preview`] on what was read (pure).
pub fn preview_from(
    spec: &StackSetSpec,
    current: Option<&StackSetInfo>,
    instances: &[InstanceSummary],
    desired_accounts: &[String],
) -> Preview {
    let wanted_model = spec.permission_model().as_str().to_string();
    let desired: BTreeSet<InstanceKey> = desired_accounts
        .iter()
        .flat_map(|a| spec.regions.iter().map(move |r| InstanceKey::new(a, r)))
        .collect();
    let existing: BTreeMap<&InstanceKey, &InstanceSummary> =
        instances.iter().map(|i| (&i.key, i)).collect();
    let mut preview = Preview {
        stack_set: spec.name.clone(),
        exists: current.is_some(),
        existing_permission_model: current
            .filter(|c| c.permission_model != wanted_model)
            .map(|c| c.permission_model.clone()),
        permission_model: wanted_model,
        template_changed: current.is_some_and(|c| c.template != spec.template),
        parameter_changes: current
            .map(|c| parameter_changes(&c.parameters, &spec.parameters))
            .unwrap_or_default(),
        setting_changes: current
            .map(|c| setting_changes(c, spec))
            .unwrap_or_default(),
        instances_to_add: desired
            .iter()
            .filter(|k| !existing.contains_key(k))
            .cloned()
            .collect(),
        instances_to_remove: existing
            .keys()
            .filter(|k| !desired.contains(**k))
            .map(|k| (*k).clone())
            .collect(),
        instances_to_retry: Vec::new(),
        instances_inoperable: Vec::new(),
        instances_unchanged: Vec::new(),
        instance_ous: instances
            .iter()
            .filter_map(|i| Some((i.key.clone(), i.organizational_unit.clone()?)))
            .collect(),
        current_template: current.map(|c| c.template.clone()),
        new_template: spec.template.clone(),
        home_region: spec.home_region.clone(),
    };
    for (key, instance) in &existing {
        if !desired.contains(*key) {
            continue;
        }
        if instance.status == "INOPERABLE" {
            preview.instances_inoperable.push((*key).clone());
        } else if instance.needs_retry() {
            preview.instances_to_retry.push((*key).clone());
        } else {
            preview.instances_unchanged.push((*key).clone());
        }
    }
    preview
}

fn parameter_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<ParameterChange> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| ParameterChange {
            key: k.clone(),
            old: old.get(k).cloned(),
            new: new.get(k).cloned(),
        })
        .collect()
}

/// Settings that differ. Fields an answer leaves out (an emulator's) are not counted as
/// changes: only what CloudFormation reports can be compared.
fn setting_changes(current: &StackSetInfo, spec: &StackSetSpec) -> Vec<String> {
    let mut out = Vec::new();
    if current
        .description
        .as_deref()
        .is_some_and(|d| d != spec.description)
    {
        out.push("description".to_string());
    }
    if current.tags != spec.tags {
        out.push("tags".to_string());
    }
    match &spec.targets {
        Targets::Accounts {
            administration_role_arn,
            execution_role_name,
            ..
        } => {
            if current
                .administration_role_arn
                .as_ref()
                .is_some_and(|a| a != administration_role_arn)
            {
                out.push(format!("administration role → {administration_role_arn}"));
            }
            if current
                .execution_role_name
                .as_ref()
                .is_some_and(|e| e != execution_role_name)
            {
                out.push(format!("execution role → {execution_role_name}"));
            }
        }
        Targets::OrganizationalUnits {
            auto_deployment, ..
        } => {
            let wanted = auto_deployment
                .map(|a| (a.enabled, a.enabled && a.retain_stacks_on_account_removal))
                .unwrap_or((false, false));
            if let Some((enabled, retain)) = current.auto_deployment
                && (enabled, enabled && retain) != wanted
            {
                out.push(format!(
                    "automatic deployment → {}",
                    match wanted {
                        (false, _) => "off",
                        (true, false) => "on",
                        (true, true) => "on, stacks retained on account removal",
                    }
                ));
            }
        }
    }
    out
}
