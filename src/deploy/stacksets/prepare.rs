//! What `plan` and `apply` need before any target: the template rendered, the deploying
//! account, the organisation's checks (trusted access and OUs, or the accounts' membership
//! and roles), the set and its instances read, the preview computed and turned into every
//! target's plan. Anything wrong with the set as a whole stops the command here, once.

use super::plan::{self, Templates as Pair};
use crate::aws::{Clients, SdkResultExt};
use crate::config::Config;
use crate::deploy::cloudformation::security;
use crate::deploy::error::DeployError;
use crate::deploy::model::{SetAccount, StackSetOverview, TargetPlan};
use crate::exit::UsageError;
use crate::org_accounts::{self, AccountsCheck};
use crate::render::{self, Templates};
use crate::runner::Target;
use crate::stacksets::{
    self, InstanceSummary, OperationSummary, Preview, RoleCheck, StackSetError, StackSetSpec,
    Targets,
};
use std::collections::BTreeMap;
use std::path::Path;

/// Everything a plan of the set is made of.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub spec: StackSetSpec,
    pub preview: Preview,
    /// Every target's plan, in display order (accounts, then the configuration's regions).
    pub plans: Vec<(Target, TargetPlan)>,
    pub overview: StackSetOverview,
    /// What a saved plan is checked against.
    pub fingerprint: Fingerprint,
}

/// What a plan of the set depends on beyond the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// SHA-256 of the rendered template.
    pub template_sha256: String,
    /// SHA-256 of the set's template now (None: no set).
    pub set_template_sha256: Option<String>,
    /// The set's most recent operation (another apply since moves it).
    pub last_operation_id: Option<String>,
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The accounts the set should reach, and what was found out on the way.
struct Reach {
    accounts: Vec<SetAccount>,
    by_ou: BTreeMap<String, Vec<String>>,
    management_account_skipped: Option<String>,
    notes: Vec<String>,
}

/// Prepares a plan of the whole set. `member` hands out clients in the target accounts
/// (the setup role assumed there).
pub async fn prepare(
    clients: &Clients,
    member: &Clients,
    cfg: &Config,
    templates_dir: Option<&Path>,
) -> Result<Prepared, DeployError> {
    let templates = Templates::load(templates_dir)?;
    let template = render::stack_set(cfg, &templates)?;
    let home = cfg.home_region();
    let caller = caller_account(clients, home).await?;
    let spec = StackSetSpec::from_config(cfg, &template, BTreeMap::new(), &caller)
        .ok_or_else(|| UsageError::new("`engine: stacksets` needs a `stacksets:` section"))?;
    let reach = match &spec.targets {
        Targets::OrganizationalUnits { ous, .. } => {
            organizational_units(clients, home, ous).await?
        }
        Targets::Accounts {
            accounts,
            administration_role_arn,
            execution_role_name,
        } => {
            let roles = Roles {
                administration: administration_role_arn,
                execution: execution_role_name,
                caller: &caller,
            };
            self_managed(clients, member, &spec.name, home, accounts, roles).await?
        }
    };
    let cf = clients.cloudformation(home);
    let current = stacksets::describe_stack_set(&cf, &spec.name).await?;
    let (instances, operations) = match &current {
        Some(_) => (
            stacksets::list_instances(&cf, &spec.name).await?,
            stacksets::list_operations(&cf, &spec.name).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let ids: Vec<String> = reach.accounts.iter().map(|a| a.id.clone()).collect();
    let preview = stacksets::preview_from(&spec, current.as_ref(), &instances, &ids);
    if let Some(existing) = &preview.existing_permission_model {
        return Err(StackSetError::PermissionModelMismatch {
            stack_set: spec.name.clone(),
            existing: existing.clone(),
            wanted: preview.permission_model.clone(),
        }
        .into());
    }
    let pair = templates_of(&preview)?;
    let plans = plan::target_plans(&spec, &preview, &instances, &pair, &cfg.regions);
    let fingerprint = Fingerprint {
        template_sha256: sha256_hex(&spec.template),
        set_template_sha256: preview.templates().current.map(sha256_hex),
        last_operation_id: operations.last().map(|o| o.operation_id.clone()),
    };
    let overview = overview(&spec, &preview, reach, &operations);
    Ok(Prepared {
        spec,
        preview,
        plans,
        overview,
        fingerprint,
    })
}

/// The account of the credentials (the default administration role lives there).
async fn caller_account(clients: &Clients, home: &str) -> Result<String, DeployError> {
    let sts = clients.sts(home);
    let who = sts
        .get_caller_identity()
        .send()
        .await
        .classify("sts:GetCallerIdentity", &sts)
        .map_err(DeployError::Identity)?;
    Ok(who.account().unwrap_or_default().to_string())
}

/// The current and new templates, parsed.
fn templates_of(preview: &Preview) -> Result<Pair, DeployError> {
    let t = preview.templates();
    let parse = |body: &str, what: &str| {
        security::parse_template(body).map_err(|m| {
            DeployError::from(StackSetError::Aws {
                stack_set: preview.stack_set.clone(),
                operation: "DescribeStackSet",
                message: format!("{what}: {m}"),
            })
        })
    };
    Ok(Pair {
        current: t
            .current
            .map(|c| parse(c, "the set's template"))
            .transpose()?,
        new: parse(t.new, "the rendered template")?,
    })
}

/// Service-managed: trusted access on, every OU resolved to its accounts (nested OUs
/// included, the management account never).
async fn organizational_units(
    clients: &Clients,
    home: &str,
    ous: &[String],
) -> Result<Reach, DeployError> {
    let org = clients.organizations(home);
    let organization = org_accounts::describe_organization(&org).await?;
    org_accounts::require_stacksets_trusted_access(&org, &organization).await?;
    let resolution = org_accounts::resolve_organizational_units(&org, &organization, ous).await?;
    let mut notes = Vec::new();
    for (ou, accounts) in &resolution.by_target {
        if accounts.is_empty() {
            notes.push(format!("{ou} holds no account (nested OUs included)"));
        }
    }
    Ok(Reach {
        accounts: resolution.accounts.iter().map(SetAccount::of).collect(),
        by_ou: resolution.by_target.clone(),
        management_account_skipped: resolution
            .management_account_skipped
            .then(|| organization.management_account.clone()),
        notes,
    })
}

/// The roles of a self-managed set.
struct Roles<'a> {
    administration: &'a str,
    execution: &'a str,
    caller: &'a str,
}

/// Self-managed: the accounts' membership of the organisation (when there is one and it
/// answers), the administration role, and the execution role in every target account.
async fn self_managed(
    clients: &Clients,
    member: &Clients,
    stack_set: &str,
    home: &str,
    accounts: &[String],
    roles: Roles<'_>,
) -> Result<Reach, DeployError> {
    let mut notes = Vec::new();
    match org_accounts::check_accounts(&clients.organizations(home), accounts).await? {
        AccountsCheck::Members { .. } => {}
        AccountsCheck::NoOrganization => notes.push(
            "the deploying account is in no organization: the accounts' membership was not checked"
                .into(),
        ),
        AccountsCheck::NotChecked { reason } => notes.push(format!(
            "the accounts' membership of the organization was not checked: {reason}"
        )),
    }
    let admin_account = roles.administration.split(':').nth(4).unwrap_or_default();
    if admin_account == roles.caller {
        stacksets::check_administration_role(&clients.iam(home), stack_set, roles.administration)
            .await?;
    } else {
        notes.push(format!(
            "the administration role {} is in another account than the deploying one ({}): not checked",
            roles.administration, roles.caller
        ));
    }
    let (mut missing, mut untrusted) = (Vec::new(), Vec::new());
    for account in accounts {
        let at = if account == roles.caller {
            Target::region(home)
        } else {
            Target::in_account(account, home)
        };
        let iam = member.iam(at);
        match stacksets::check_execution_role(&iam, roles.execution, roles.administration).await {
            RoleCheck::Trusted => {}
            RoleCheck::Missing => missing.push(account.clone()),
            RoleCheck::Untrusted => untrusted.push(account.clone()),
            RoleCheck::NotChecked(why) => notes.push(format!(
                "the execution role `{}` in {account} was not checked: {why}",
                roles.execution
            )),
        }
    }
    if !missing.is_empty() || !untrusted.is_empty() {
        return Err(StackSetError::ExecutionRoles {
            stack_set: stack_set.to_string(),
            role: roles.execution.to_string(),
            administration_role: roles.administration.to_string(),
            missing,
            untrusted,
        }
        .into());
    }
    Ok(Reach {
        accounts: accounts
            .iter()
            .map(|id| SetAccount {
                id: id.clone(),
                name: None,
                organizational_unit: None,
                nested_in: None,
            })
            .collect(),
        by_ou: BTreeMap::new(),
        management_account_skipped: None,
        notes,
    })
}

fn overview(
    spec: &StackSetSpec,
    preview: &Preview,
    reach: Reach,
    operations: &[OperationSummary],
) -> StackSetOverview {
    StackSetOverview {
        name: spec.name.clone(),
        permission_model: preview.permission_model.clone(),
        exists: preview.exists,
        template_changed: preview.template_changed,
        parameter_changes: preview.parameter_changes.clone(),
        setting_changes: preview.setting_changes.clone(),
        organizational_units: reach.by_ou,
        accounts: reach.accounts,
        management_account_skipped: reach.management_account_skipped,
        preferences: spec.preferences.clone(),
        running_operation: operations
            .iter()
            .rev()
            .find(|o| o.is_running())
            .map(OperationSummary::running),
        last_operation: operations.last().cloned(),
        notes: reach.notes,
    }
}

/// The instance of a target, if there is one.
pub fn instance<'a>(
    instances: &'a [InstanceSummary],
    target: &Target,
) -> Option<&'a InstanceSummary> {
    instances
        .iter()
        .find(|i| Some(&i.key.account) == target.account.as_ref() && i.key.region == target.region)
}
