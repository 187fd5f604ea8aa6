//! Organisational units resolved to accounts, recursively: ListAccountsForParent and
//! ListOrganizationalUnitsForParent, every page, breadth first.

use super::{OrgAccountsError, Organization, sdk_error};
use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::ProvideErrorMetadata;
use aws_sdk_organizations::types::Account;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// More OUs than an organisation can have (Organizations allows 2,000 per organisation by
/// default, five levels deep): a bound against an API that never stops answering.
const MAX_OUS: usize = 10_000;

/// An account under a configured organisational unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberAccount {
    pub id: String,
    pub name: String,
    /// ACTIVE, SUSPENDED, PENDING_CLOSURE, ...
    pub state: String,
    /// The OU (or root) that holds it directly.
    pub parent: String,
    /// The configured OU it was reached from.
    pub target: String,
}

/// What the configured OUs hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    pub organization: Organization,
    /// The accounts StackSets deploys to, each once, by ID.
    pub accounts: Vec<MemberAccount>,
    /// Each configured OU with the IDs of the accounts under it (nested OUs included).
    pub by_target: BTreeMap<String, Vec<String>>,
    /// A target holds the management account, which StackSets never deploys to.
    pub management_account_skipped: bool,
}

impl Resolution {
    pub fn account_ids(&self) -> Vec<String> {
        self.accounts.iter().map(|a| a.id.clone()).collect()
    }
}

pub(super) fn account_state(a: &Account) -> String {
    #[allow(deprecated)] // `Status` is what older answers (and moto) carry when `State` is absent.
    let state = a
        .state()
        .map(|s| s.as_str().to_string())
        .or_else(|| a.status().map(|s| s.as_str().to_string()));
    state.unwrap_or_else(|| "UNKNOWN".into())
}

/// Resolves the configured OUs (or the root) to the accounts StackSets deploys to: every
/// account under each of them, nested OUs included, without the management account.
pub async fn resolve_organizational_units(
    org: &Client,
    organization: &Organization,
    targets: &[String],
) -> Result<Resolution, OrgAccountsError> {
    let mut by_target = BTreeMap::new();
    let mut accounts: BTreeMap<String, MemberAccount> = BTreeMap::new();
    let mut management_account_skipped = false;
    for target in targets {
        let under = accounts_under(org, organization, target).await?;
        let mut ids = Vec::new();
        for account in under {
            if account.id == organization.management_account {
                management_account_skipped = true;
                continue;
            }
            ids.push(account.id.clone());
            accounts.entry(account.id.clone()).or_insert(account);
        }
        ids.sort();
        by_target.insert(target.clone(), ids);
    }
    Ok(Resolution {
        organization: organization.clone(),
        accounts: accounts.into_values().collect(),
        by_target,
        management_account_skipped,
    })
}

/// Every account under `target` (an OU or the root), nested OUs included, in the order
/// found (breadth first). A target that does not exist is an error naming it.
pub async fn accounts_under(
    org: &Client,
    organization: &Organization,
    target: &str,
) -> Result<Vec<MemberAccount>, OrgAccountsError> {
    let mut queue = VecDeque::from([target.to_string()]);
    let mut visited = BTreeSet::new();
    let mut found = Vec::new();
    while let Some(parent) = queue.pop_front() {
        if !visited.insert(parent.clone()) {
            continue;
        }
        if visited.len() > MAX_OUS {
            return Err(OrgAccountsError::Aws {
                operation: "ListOrganizationalUnitsForParent",
                message: format!("more than {MAX_OUS} OUs under {target}; refusing to go on"),
            });
        }
        for a in list_accounts(org, organization, &parent).await? {
            found.push(MemberAccount {
                id: a.id().unwrap_or_default().to_string(),
                name: a.name().unwrap_or_default().to_string(),
                state: account_state(&a),
                parent: parent.clone(),
                target: target.to_string(),
            });
        }
        queue.extend(list_child_ous(org, organization, &parent).await?);
    }
    Ok(found)
}

/// `ParentNotFoundException` (and `ChildNotFoundException`, `OrganizationalUnitNotFoundException`,
/// which other calls use for the same thing) name the OU as missing.
fn not_found<E, R>(
    operation: &'static str,
    e: &aws_sdk_organizations::error::SdkError<E, R>,
    organization: &Organization,
    ou: &str,
) -> OrgAccountsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match e.code() {
        Some(
            "ParentNotFoundException"
            | "ChildNotFoundException"
            | "OrganizationalUnitNotFoundException",
        ) => OrgAccountsError::OuNotFound {
            ou: ou.to_string(),
            organization: organization.id.clone(),
            operation,
            message: e.message().unwrap_or("not found").to_string(),
        },
        _ => sdk_error(operation, e),
    }
}

async fn list_accounts(
    org: &Client,
    organization: &Organization,
    parent: &str,
) -> Result<Vec<Account>, OrgAccountsError> {
    const OP: &str = "ListAccountsForParent";
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = org
            .list_accounts_for_parent()
            .parent_id(parent)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| not_found(OP, &e, organization, parent))?;
        out.extend(page.accounts().iter().cloned());
        match next(OP, token.as_deref(), page.next_token())? {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

async fn list_child_ous(
    org: &Client,
    organization: &Organization,
    parent: &str,
) -> Result<Vec<String>, OrgAccountsError> {
    const OP: &str = "ListOrganizationalUnitsForParent";
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = org
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| not_found(OP, &e, organization, parent))?;
        out.extend(
            page.organizational_units()
                .iter()
                .filter_map(|ou| ou.id().map(str::to_string)),
        );
        match next(OP, token.as_deref(), page.next_token())? {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// The next page's token; the same token twice is an API that would loop forever.
fn next(
    operation: &'static str,
    previous: Option<&str>,
    next: Option<&str>,
) -> Result<Option<String>, OrgAccountsError> {
    match next.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) if Some(t) == previous => Err(OrgAccountsError::Aws {
            operation,
            message: "the same pagination token came back twice; stopping".into(),
        }),
        Some(t) => Ok(Some(t.to_string())),
    }
}
