//! Destroy: delete every instance (retaining their stacks when configured), then the set,
//! and list what stays in the target accounts: whole stacks when retained, otherwise the
//! resources whose `DeletionPolicy` keeps them (the buckets and keys, with their data).

use super::describe::{describe_stack_set, list_instances, next_token};
use super::operation::{self, OperationOutcome, Polling};
use super::spec::ou_targets;
use super::{InstanceKey, StackSetError, sdk_error};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{CallAs, StackSetOperationPreferences};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A resource of an instance's stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackResourceRef {
    pub logical_id: String,
    pub resource_type: String,
    /// The bucket name, key ID, policy ARN; unknown when the instance's stack was not read.
    pub physical_id: Option<String>,
}

/// What stays in an account and region after its instance is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetainedResources {
    #[serde(flatten)]
    pub key: InstanceKey,
    pub stack_id: Option<String>,
    /// RetainStacks: the whole stack stays, outside the set.
    pub whole_stack: bool,
    pub resources: Vec<StackResourceRef>,
}

/// What a destroy did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestroyReport {
    pub stack_set: String,
    /// There was a set to destroy.
    pub existed: bool,
    pub operations: Vec<OperationOutcome>,
    pub retained: Vec<RetainedResources>,
    /// Instances still there after the deletions: the set was not deleted.
    pub remaining: Vec<InstanceKey>,
    pub deleted: bool,
}

impl DestroyReport {
    pub fn succeeded(&self) -> bool {
        self.remaining.is_empty()
            && self
                .operations
                .iter()
                .all(|o| o.operation.status == "SUCCEEDED")
    }
}

/// Every resource of an instance's stack (ListStackResources, every page), read with a
/// CloudFormation client of the instance's account and region before the stack goes, so
/// that the report can name the retained buckets and keys.
pub async fn instance_resources(
    member_cf: &Client,
    stack_id: &str,
) -> Result<Vec<StackResourceRef>, StackSetError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = member_cf
            .list_stack_resources()
            .stack_name(stack_id)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(stack_id, "ListStackResources", &e))?;
        out.extend(
            page.stack_resource_summaries()
                .iter()
                .map(|r| StackResourceRef {
                    logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: r.resource_type().unwrap_or_default().to_string(),
                    physical_id: r.physical_resource_id().map(str::to_string),
                }),
        );
        match next_token(
            stack_id,
            "ListStackResources",
            token.as_deref(),
            page.next_token(),
        )? {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// Deletes every instance of the set `name`, then the set. `fallback_ous`: the configured
/// OUs, for instances whose OU CloudFormation does not report. `physical`: the resources of
/// instances read beforehand ([`instance_resources`]), to name what is retained.
pub async fn destroy(
    cf: &Client,
    name: &str,
    fallback_ous: &[String],
    retain_stacks: bool,
    physical: &BTreeMap<InstanceKey, Vec<StackResourceRef>>,
    polling: &Polling,
    progress: &dyn Fn(String),
) -> Result<DestroyReport, StackSetError> {
    let mut report = DestroyReport {
        stack_set: name.to_string(),
        existed: false,
        operations: Vec::new(),
        retained: Vec::new(),
        remaining: Vec::new(),
        deleted: false,
    };
    let Some(info) = describe_stack_set(cf, name).await? else {
        return Ok(report);
    };
    report.existed = true;
    let instances = list_instances(cf, name).await?;
    let deletion = Deletion {
        cf,
        name,
        service_managed: info.permission_model == "SERVICE_MANAGED",
        ous: organizational_units(&instances, &info, fallback_ous),
        retain_stacks,
    };
    report.operations = deletion
        .delete_instances(&instances, polling, progress)
        .await?;
    let after = list_instances(cf, name).await?;
    report.remaining = after.iter().map(|i| i.key.clone()).collect();
    let kept = retained_logical_ids(&info.template);
    report.retained = instances
        .iter()
        .filter(|i| !report.remaining.contains(&i.key))
        .map(|i| RetainedResources {
            key: i.key.clone(),
            stack_id: i.stack_id.clone(),
            whole_stack: retain_stacks,
            resources: retained(&kept, physical.get(&i.key), retain_stacks),
        })
        .collect();
    if report.remaining.is_empty() {
        progress(format!("deleting stack set {name}"));
        cf.delete_stack_set()
            .stack_set_name(name)
            .call_as(CallAs::SelfValue)
            .send()
            .await
            .map_err(|e| sdk_error(name, "DeleteStackSet", &e))?;
        report.deleted = true;
    }
    Ok(report)
}

/// The OUs a service-managed deletion names: the instances', else the set's, else the
/// configuration's.
fn organizational_units(
    instances: &[super::InstanceSummary],
    info: &super::StackSetInfo,
    fallback_ous: &[String],
) -> Vec<String> {
    let mut ous: BTreeSet<String> = instances
        .iter()
        .filter_map(|i| i.organizational_unit.clone())
        .collect();
    if ous.is_empty() {
        ous.extend(info.organizational_unit_ids.iter().cloned());
    }
    if ous.is_empty() {
        ous.extend(fallback_ous.iter().cloned());
    }
    ous.into_iter().collect()
}

/// How the set's instances are deleted.
struct Deletion<'a> {
    cf: &'a Client,
    name: &'a str,
    service_managed: bool,
    ous: Vec<String>,
    retain_stacks: bool,
}

impl Deletion<'_> {
    /// DeleteStackInstances per group of accounts with the same regions (one over every OU
    /// and region when service-managed), each operation waited for.
    async fn delete_instances(
        &self,
        instances: &[super::InstanceSummary],
        polling: &Polling,
        progress: &dyn Fn(String),
    ) -> Result<Vec<OperationOutcome>, StackSetError> {
        let (cf, name) = (self.cf, self.name);
        let mut operations = Vec::new();
        for (accounts, regions) in deletion_groups(instances, self.service_managed) {
            progress(format!(
                "deleting instances{}: {} × {}",
                if self.retain_stacks {
                    " (stacks retained)"
                } else {
                    ""
                },
                if self.service_managed {
                    &self.ous
                } else {
                    &accounts
                }
                .join(", "),
                regions.join(", ")
            ));
            // Every account of the OUs: no account filter.
            let narrowed: &[String] = if self.service_managed { &[] } else { &accounts };
            let id = delete_instances(
                cf,
                self.service_managed,
                name,
                narrowed,
                &regions,
                &self.ous,
                self.retain_stacks,
                None,
            )
            .await?;
            let expected = operation::keys(&accounts, &regions);
            operations.push(operation::run(cf, name, &id, &expected, polling, progress).await?);
        }
        Ok(operations)
    }
}

/// The deletions: accounts with the same regions together (self-managed), or one
/// operation over every OU and region (service-managed: the OUs name the accounts).
fn deletion_groups(
    instances: &[super::InstanceSummary],
    service_managed: bool,
) -> Vec<(Vec<String>, Vec<String>)> {
    let keys: Vec<InstanceKey> = instances.iter().map(|i| i.key.clone()).collect();
    let order: Vec<String> = keys
        .iter()
        .map(|k| k.region.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let groups = operation::groups(&keys, &order);
    if service_managed && !groups.is_empty() {
        let accounts = groups.into_iter().flat_map(|(a, _)| a).collect();
        vec![(accounts, order)]
    } else {
        groups
    }
}

/// What stays of one instance: every resource of a retained stack, else those whose
/// DeletionPolicy keeps them (by logical ID when the stack was not read).
fn retained(
    kept: &BTreeMap<String, String>,
    known: Option<&Vec<StackResourceRef>>,
    retain_stacks: bool,
) -> Vec<StackResourceRef> {
    match known {
        Some(resources) => resources
            .iter()
            .filter(|r| retain_stacks || kept.contains_key(&r.logical_id))
            .cloned()
            .collect(),
        None if retain_stacks => Vec::new(),
        None => kept
            .iter()
            .map(|(logical_id, resource_type)| StackResourceRef {
                logical_id: logical_id.clone(),
                resource_type: resource_type.clone(),
                physical_id: None,
            })
            .collect(),
    }
}

/// DeleteStackInstances for `accounts` × `regions` (self-managed) or the OUs' accounts ×
/// `regions` (service-managed, narrowed to `accounts` when given).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn delete_instances(
    cf: &Client,
    service_managed: bool,
    name: &str,
    accounts: &[String],
    regions: &[String],
    ous: &[String],
    retain_stacks: bool,
    preferences: Option<StackSetOperationPreferences>,
) -> Result<String, StackSetError> {
    let mut req = cf
        .delete_stack_instances()
        .stack_set_name(name)
        .set_regions(Some(regions.to_vec()))
        .retain_stacks(retain_stacks)
        .set_operation_preferences(preferences)
        .call_as(CallAs::SelfValue);
    req = if service_managed {
        req.deployment_targets(ou_targets(ous, accounts))
    } else {
        req.set_accounts(Some(accounts.to_vec()))
    };
    match req.send().await {
        Ok(out) => Ok(out.operation_id().unwrap_or_default().to_string()),
        Err(e) => Err(operation::start_error(cf, name, "DeleteStackInstances", &e).await),
    }
}

/// The resources of `template` that outlive their stack (`DeletionPolicy: Retain` or
/// `RetainExceptOnCreate`), by logical ID, with their type.
pub fn retained_logical_ids(template: &str) -> BTreeMap<String, String> {
    let doc: Value = serde_saphyr::from_str(template).unwrap_or(Value::Null);
    doc.get("Resources")
        .and_then(Value::as_object)
        .map(|resources| {
            resources
                .iter()
                .filter(|(_, r)| {
                    matches!(
                        r.get("DeletionPolicy").and_then(Value::as_str),
                        Some("Retain" | "RetainExceptOnCreate")
                    )
                })
                .map(|(id, r)| {
                    (
                        id.clone(),
                        r.get("Type")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retained_resources_come_from_the_deletion_policies() {
        let t = "Resources:\n  Key:\n    Type: AWS::KMS::Key\n    DeletionPolicy: Retain\n  Bucket:\n    Type: AWS::S3::Bucket\n    DeletionPolicy: Retain\n    Properties:\n      BucketName: !Sub \"a-${AWS::Region}\"\n  BucketNameParameter:\n    Type: AWS::SSM::Parameter\n";
        let kept = retained_logical_ids(t);
        assert_eq!(
            kept.into_iter().collect::<Vec<_>>(),
            [
                ("Bucket".to_string(), "AWS::S3::Bucket".to_string()),
                ("Key".to_string(), "AWS::KMS::Key".to_string())
            ]
        );
    }
}
