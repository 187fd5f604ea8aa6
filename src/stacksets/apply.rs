//! Apply a preview: create or update the set with the configured operation preferences,
//! create the missing instances, retry only the OUTDATED ones, remove the unwanted ones (when
//! allowed), each operation polled to its end and reported per instance.

use super::describe::{InstanceSummary, list_instances};
use super::operation::{self, OperationOutcome, Polling, groups, keys};
use super::spec::ou_targets;
use super::{InstanceKey, Preview, StackSetError, StackSetSpec, Targets, sdk_error};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{CallAs, Parameter, PermissionModels};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What the caller allows beyond creating and updating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyOptions {
    /// Delete the instances the preview lists for removal (their stacks go, unless the
    /// configuration retains them; their buckets and keys stay by DeletionPolicy).
    pub remove_instances: bool,
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub stack_set: String,
    pub created: bool,
    pub updated: bool,
    /// Every operation, in the order run, each with its instances.
    pub operations: Vec<OperationOutcome>,
    /// Every instance of the set afterwards.
    pub instances: Vec<InstanceSummary>,
    /// Instances the preview wanted removed, left alone because removal was not allowed.
    pub not_removed: Vec<InstanceKey>,
}

impl ApplyReport {
    /// Instances that failed in an operation or are not CURRENT now.
    pub fn failed_instances(&self) -> BTreeSet<InstanceKey> {
        let mut out: BTreeSet<InstanceKey> = self
            .instances
            .iter()
            .filter(|i| i.is_unhealthy())
            .map(|i| i.key.clone())
            .collect();
        // The last operation that touched an instance decides; a later success clears it.
        let mut last: BTreeMap<&InstanceKey, bool> = BTreeMap::new();
        for op in &self.operations {
            for i in &op.instances {
                if i.result.is_some() {
                    last.insert(&i.key, i.failed());
                }
            }
        }
        out.extend(last.into_iter().filter(|(_, f)| *f).map(|(k, _)| k.clone()));
        out
    }

    /// Every operation succeeded and every instance is CURRENT.
    pub fn succeeded(&self) -> bool {
        self.operations
            .iter()
            .all(|o| o.operation.status == "SUCCEEDED")
            && self.failed_instances().is_empty()
    }
}

/// Checks that the administration role of a self-managed set exists (iam:GetRole with the
/// IAM client of the account the ARN names, usually the deploying one), before anything is
/// created: CloudFormation would only say so, per instance, in the middle of an operation.
pub async fn check_administration_role(
    iam: &aws_sdk_iam::Client,
    stack_set: &str,
    role_arn: &str,
) -> Result<(), StackSetError> {
    let account = role_arn.split(':').nth(4).unwrap_or_default().to_string();
    let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    match iam.get_role().role_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("NoSuchEntity") => {
            Err(StackSetError::AdministrationRoleMissing {
                stack_set: stack_set.to_string(),
                role_arn: role_arn.to_string(),
                account,
                message: e.message().unwrap_or("no such role").to_string(),
            })
        }
        Err(e) => Err(StackSetError::Aws {
            stack_set: stack_set.to_string(),
            operation: "GetRole (iam)",
            message: crate::aws::describe(&e),
        }),
    }
}

/// Carries out `preview` (computed for `spec`): see the module documentation.
pub async fn apply(
    cf: &Client,
    spec: &StackSetSpec,
    preview: &Preview,
    options: ApplyOptions,
    polling: &Polling,
    progress: &dyn Fn(String),
) -> Result<ApplyReport, StackSetError> {
    if let Some(existing) = &preview.existing_permission_model {
        return Err(StackSetError::PermissionModelMismatch {
            stack_set: spec.name.clone(),
            existing: existing.clone(),
            wanted: preview.permission_model.clone(),
        });
    }
    let mut report = ApplyReport {
        stack_set: spec.name.clone(),
        created: false,
        updated: false,
        operations: Vec::new(),
        instances: Vec::new(),
        not_removed: Vec::new(),
    };
    if !preview.exists {
        progress(format!("creating stack set {}", spec.name));
        create_stack_set(cf, spec).await?;
        report.created = true;
    } else if preview.updates_set() {
        progress(format!("updating stack set {} (every instance)", spec.name));
        let id = update_stack_set(cf, spec, None).await?;
        let kept: Vec<InstanceKey> = preview
            .instances_unchanged
            .iter()
            .chain(&preview.instances_to_retry)
            .cloned()
            .collect();
        report
            .operations
            .push(operation::run(cf, &spec.name, &id, &kept, polling, progress).await?);
        report.updated = true;
    }
    // An update of the set already retried every OUTDATED instance.
    let retry = if report.updated {
        &[][..]
    } else {
        &preview.instances_to_retry[..]
    };
    let remove = if options.remove_instances {
        &preview.instances_to_remove[..]
    } else {
        report.not_removed = preview.instances_to_remove.clone();
        &[][..]
    };
    for (step, wanted) in [
        (Step::Create, &preview.instances_to_add[..]),
        (Step::Retry, retry),
        (Step::Delete, remove),
    ] {
        for (accounts, regions) in groups(wanted, &spec.regions) {
            progress(format!(
                "{}: {} × {}",
                step.label(),
                accounts.join(", "),
                regions.join(", ")
            ));
            let id = start(cf, spec, preview, step, &accounts, &regions).await?;
            let expected = keys(&accounts, &regions);
            report
                .operations
                .push(operation::run(cf, &spec.name, &id, &expected, polling, progress).await?);
        }
    }
    report.instances = list_instances(cf, &spec.name).await?;
    Ok(report)
}

/// An operation on some instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Create,
    Retry,
    Delete,
}

impl Step {
    fn label(self) -> &'static str {
        match self {
            Step::Create => "creating instances",
            Step::Retry => "retrying OUTDATED instances",
            Step::Delete => "deleting instances",
        }
    }
}

/// Starts `step` on `accounts` × `regions`; the operation's ID.
async fn start(
    cf: &Client,
    spec: &StackSetSpec,
    preview: &Preview,
    step: Step,
    accounts: &[String],
    regions: &[String],
) -> Result<String, StackSetError> {
    let ous = ous_of(preview, spec, accounts);
    match step {
        Step::Create => create_instances(cf, spec, accounts, regions).await,
        Step::Retry => {
            let scope = Scope {
                accounts,
                regions,
                ous: &ous,
            };
            update_stack_set(cf, spec, Some(scope)).await
        }
        Step::Delete => {
            super::destroy::delete_instances(
                cf,
                spec.permission_model() == PermissionModels::ServiceManaged,
                &spec.name,
                accounts,
                regions,
                &ous,
                spec.retain_stacks_on_delete,
                Some(spec.preferences.sdk()),
            )
            .await
        }
    }
}

/// Accounts and regions to narrow an update to (a retry).
struct Scope<'a> {
    accounts: &'a [String],
    regions: &'a [String],
    ous: &'a [String],
}

async fn create_stack_set(cf: &Client, spec: &StackSetSpec) -> Result<(), StackSetError> {
    let mut req = cf
        .create_stack_set()
        .stack_set_name(&spec.name)
        .description(&spec.description)
        .template_body(&spec.template)
        .set_parameters(Some(spec.sdk_parameters()))
        .set_capabilities(Some(spec.capabilities()))
        .set_tags(Some(spec.sdk_tags()))
        .permission_model(spec.permission_model())
        .set_auto_deployment(spec.sdk_auto_deployment())
        .call_as(CallAs::SelfValue);
    if let Targets::Accounts {
        administration_role_arn,
        execution_role_name,
        ..
    } = &spec.targets
    {
        req = req
            .administration_role_arn(administration_role_arn)
            .execution_role_name(execution_role_name);
    }
    req.send().await.map(|_| ()).map_err(|e| {
        role_error(spec, &e).unwrap_or_else(|| sdk_error(&spec.name, "CreateStackSet", &e))
    })
}

/// UpdateStackSet: the whole set (`scope` None: new template, parameters and settings, every
/// instance), or a retry of some instances with the template and parameters they should
/// already have.
async fn update_stack_set(
    cf: &Client,
    spec: &StackSetSpec,
    scope: Option<Scope<'_>>,
) -> Result<String, StackSetError> {
    let mut req = cf
        .update_stack_set()
        .stack_set_name(&spec.name)
        .description(&spec.description)
        .set_capabilities(Some(spec.capabilities()))
        .set_tags(Some(spec.sdk_tags()))
        .operation_preferences(spec.preferences.sdk())
        .permission_model(spec.permission_model())
        .set_auto_deployment(spec.sdk_auto_deployment())
        .call_as(CallAs::SelfValue);
    req = match &scope {
        None => req
            .template_body(&spec.template)
            .set_parameters(Some(spec.sdk_parameters())),
        Some(_) => req.use_previous_template(true).set_parameters(Some(
            spec.parameters
                .keys()
                .map(|k| {
                    Parameter::builder()
                        .parameter_key(k)
                        .use_previous_value(true)
                        .build()
                })
                .collect(),
        )),
    };
    if let Targets::Accounts {
        administration_role_arn,
        execution_role_name,
        ..
    } = &spec.targets
    {
        req = req
            .administration_role_arn(administration_role_arn)
            .execution_role_name(execution_role_name);
    }
    if let Some(s) = &scope {
        req = req.set_regions(Some(s.regions.to_vec()));
        req = match &spec.targets {
            Targets::Accounts { .. } => req.set_accounts(Some(s.accounts.to_vec())),
            Targets::OrganizationalUnits { .. } => {
                req.deployment_targets(ou_targets(s.ous, s.accounts))
            }
        };
    }
    match req.send().await {
        Ok(out) => Ok(out.operation_id().unwrap_or_default().to_string()),
        Err(e) => Err(match role_error(spec, &e) {
            Some(err) => err,
            None => operation::start_error(cf, &spec.name, "UpdateStackSet", &e).await,
        }),
    }
}

async fn create_instances(
    cf: &Client,
    spec: &StackSetSpec,
    accounts: &[String],
    regions: &[String],
) -> Result<String, StackSetError> {
    let mut req = cf
        .create_stack_instances()
        .stack_set_name(&spec.name)
        .set_regions(Some(regions.to_vec()))
        .operation_preferences(spec.preferences.sdk())
        .call_as(CallAs::SelfValue);
    req = match &spec.targets {
        Targets::Accounts { .. } => req.set_accounts(Some(accounts.to_vec())),
        // Every configured OU: CloudFormation creates the instances that are missing.
        Targets::OrganizationalUnits { ous, .. } => req.deployment_targets(ou_targets(ous, &[])),
    };
    match req.send().await {
        Ok(out) => Ok(out.operation_id().unwrap_or_default().to_string()),
        Err(e) => Err(operation::start_error(cf, &spec.name, "CreateStackInstances", &e).await),
    }
}

/// A ValidationError naming the administration role: CloudFormation cannot use it.
fn role_error<E: ProvideErrorMetadata>(
    spec: &StackSetSpec,
    e: &aws_sdk_cloudformation::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> Option<StackSetError> {
    let Targets::Accounts {
        administration_role_arn,
        ..
    } = &spec.targets
    else {
        return None;
    };
    let message = e.message()?;
    let name = administration_role_arn
        .rsplit('/')
        .next()
        .unwrap_or_default();
    (e.code() == Some("ValidationError")
        && (message.contains(administration_role_arn.as_str()) || message.contains(name)))
    .then(|| StackSetError::AdministrationRoleUnusable {
        stack_set: spec.name.clone(),
        role_arn: administration_role_arn.clone(),
        message: message.to_string(),
    })
}

/// The OUs through which `accounts` were deployed (service-managed), else the configured OUs.
fn ous_of(preview: &Preview, spec: &StackSetSpec, accounts: &[String]) -> Vec<String> {
    let found: BTreeSet<String> = preview
        .instance_ous
        .iter()
        .filter(|(k, _)| accounts.contains(&k.account))
        .map(|(_, ou)| ou.clone())
        .collect();
    if found.is_empty() {
        spec.organizational_units().to_vec()
    } else {
        found.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_with_the_same_regions_share_an_operation() {
        let k = |a: &str, r: &str| InstanceKey::new(a, r);
        let order = ["us-east-1", "eu-west-1", "eu-north-1"].map(String::from);
        let g = groups(
            &[
                k("111111111111", "eu-west-1"),
                k("111111111111", "us-east-1"),
                k("222222222222", "us-east-1"),
                k("222222222222", "eu-west-1"),
                k("333333333333", "eu-north-1"),
            ],
            &order,
        );
        assert_eq!(
            g,
            [
                (
                    vec!["333333333333".to_string()],
                    vec!["eu-north-1".to_string()]
                ),
                (
                    vec!["111111111111".to_string(), "222222222222".to_string()],
                    vec!["us-east-1".to_string(), "eu-west-1".to_string()]
                ),
            ]
        );
    }
}
