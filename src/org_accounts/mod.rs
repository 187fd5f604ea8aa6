//! AWS Organizations, as StackSets needs it: which accounts the configured organisational units
//! hold (nested OUs included), whether self-managed target accounts belong to the
//! organisation, and whether trusted access for StackSets is on.
//!
//! Every function takes the Organizations client as an argument (the caller decides which
//! account and credentials it speaks for: the management account or a delegated
//! administrator). Nothing here writes.

mod resolve;
#[cfg(test)]
mod tests;

pub use resolve::{MemberAccount, Resolution, accounts_under, resolve_organizational_units};

use crate::exit::{Classify, Exit};
use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use serde::Serialize;

/// The service principal of StackSets' trusted access (service-managed permissions).
pub const STACKSETS_SERVICE_PRINCIPAL: &str = "member.org.stacksets.cloudformation.amazonaws.com";

/// How to turn trusted access on. The CloudFormation call also creates the service-linked
/// roles StackSets needs, which enabling the service principal in Organizations alone does not.
pub const ENABLE_TRUSTED_ACCESS: &str = "aws cloudformation activate-organizations-access";

/// The organisation the credentials' account belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub id: String,
    /// The management account: service-managed stack sets never deploy to it.
    pub management_account: String,
}

/// What Organizations says about self-managed target accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "checked", rename_all = "snake_case")]
pub enum AccountsCheck {
    /// Every account is an active member of the organisation.
    Members { organization: String },
    /// The deploying account is in no organisation: self-managed stack sets do not need one,
    /// so membership means nothing here.
    NoOrganization,
    /// Organizations refused to answer (not the management account nor a delegated
    /// administrator): the accounts could not be checked.
    NotChecked { reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum OrgAccountsError {
    #[error(
        "organizational unit {ou} does not exist in organization {organization} (organizations:{operation}: {message})"
    )]
    OuNotFound {
        ou: String,
        organization: String,
        operation: &'static str,
        message: String,
    },
    #[error(
        "the deploying account is not in an AWS organization (organizations:{operation}); service-managed stack sets target the OUs of an organization"
    )]
    NotInOrganization { operation: &'static str },
    #[error("{} not in organization {organization}: {}", plural(accounts.len(), "account is", "accounts are"), accounts.join(", "))]
    AccountsOutside {
        accounts: Vec<String>,
        organization: String,
    },
    #[error("{} not active in organization {organization}: {}", plural(accounts.len(), "account is", "accounts are"), accounts.iter().map(|(a, s)| format!("{a} ({s})")).collect::<Vec<_>>().join(", "))]
    AccountsNotActive {
        /// (account, state)
        accounts: Vec<(String, String)>,
        organization: String,
    },
    #[error(
        "trusted access for CloudFormation StackSets is not enabled in organization {organization} ({STACKSETS_SERVICE_PRINCIPAL} is not among its enabled services): service-managed stack sets cannot deploy"
    )]
    TrustedAccessDisabled { organization: String },
    #[error("organizations:{operation}: access denied: {message}")]
    AccessDenied {
        operation: &'static str,
        message: String,
    },
    #[error("organizations:{operation}: {message}")]
    Aws {
        operation: &'static str,
        message: String,
    },
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

impl Classify for OrgAccountsError {
    fn exit(&self) -> Exit {
        match self {
            // The configuration names something the organisation does not have.
            OrgAccountsError::OuNotFound { .. }
            | OrgAccountsError::AccountsOutside { .. }
            | OrgAccountsError::AccountsNotActive { .. } => Exit::Invalid,
            _ => Exit::Failure,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            OrgAccountsError::OuNotFound { .. } => Some(
                "check `stacksets.targets.organizational_units` against `aws organizations list-organizational-units-for-parent` (an OU of another organization is not visible)".into(),
            ),
            OrgAccountsError::NotInOrganization { .. } => Some(
                "target `stacksets.targets.accounts` (self-managed) instead, or run from an organization's management account".into(),
            ),
            OrgAccountsError::AccountsOutside { .. } => Some(
                "remove them from `stacksets.targets.accounts`, or invite them into the organization first".into(),
            ),
            OrgAccountsError::AccountsNotActive { .. } => Some(
                "a suspended or closing account cannot receive stacks: remove it from `stacksets.targets.accounts`".into(),
            ),
            OrgAccountsError::TrustedAccessDisabled { .. } => Some(format!(
                "enable it once, from the management account: `{ENABLE_TRUSTED_ACCESS}` (or CloudFormation console → StackSets → Activate trusted access)"
            )),
            OrgAccountsError::AccessDenied { .. } => Some(
                "Organizations answers the management account and delegated administrators only: run from the management account, or register this account with `aws organizations register-delegated-administrator --service-principal member.org.stacksets.cloudformation.amazonaws.com`".into(),
            ),
            OrgAccountsError::Aws { .. } => None,
        }
    }
}

/// Classifies an SDK error of `operation` (the codes every Organizations call shares).
pub(crate) fn sdk_error<E, R>(operation: &'static str, e: &SdkError<E, R>) -> OrgAccountsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let message = crate::aws::describe(e);
    match e.code() {
        Some("AWSOrganizationsNotInUseException") => {
            OrgAccountsError::NotInOrganization { operation }
        }
        Some("AccessDeniedException") => OrgAccountsError::AccessDenied { operation, message },
        _ => OrgAccountsError::Aws { operation, message },
    }
}

/// The organisation of the credentials' account.
pub async fn describe_organization(org: &Client) -> Result<Organization, OrgAccountsError> {
    let out = org
        .describe_organization()
        .send()
        .await
        .map_err(|e| sdk_error("DescribeOrganization", &e))?;
    let o = out.organization();
    Ok(Organization {
        id: o.and_then(|o| o.id()).unwrap_or_default().to_string(),
        management_account: o
            .and_then(|o| o.master_account_id())
            .unwrap_or_default()
            .to_string(),
    })
}

/// Whether trusted access for StackSets is enabled (service-managed permissions need it).
pub async fn require_stacksets_trusted_access(
    org: &Client,
    organization: &Organization,
) -> Result<(), OrgAccountsError> {
    let mut token: Option<String> = None;
    loop {
        let page = org
            .list_aws_service_access_for_organization()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| sdk_error("ListAWSServiceAccessForOrganization", &e))?;
        if page
            .enabled_service_principals()
            .iter()
            .any(|p| p.service_principal() == Some(STACKSETS_SERVICE_PRINCIPAL))
        {
            return Ok(());
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Err(OrgAccountsError::TrustedAccessDisabled {
                organization: organization.id.clone(),
            });
        }
    }
}

/// Checks that every self-managed target account is an active member of the organisation.
/// An account outside it, or not active, is an error naming it; an account in no
/// organisation, or credentials Organizations does not answer, leave the check undone.
pub async fn check_accounts(
    org: &Client,
    accounts: &[String],
) -> Result<AccountsCheck, OrgAccountsError> {
    let organization = match describe_organization(org).await {
        Ok(o) => o,
        Err(OrgAccountsError::NotInOrganization { .. }) => {
            return Ok(AccountsCheck::NoOrganization);
        }
        Err(OrgAccountsError::AccessDenied { message, .. }) => {
            return Ok(AccountsCheck::NotChecked { reason: message });
        }
        Err(e) => return Err(e),
    };
    let mut outside = Vec::new();
    let mut inactive = Vec::new();
    for account in accounts {
        match org.describe_account().account_id(account).send().await {
            Ok(out) => {
                let state = out
                    .account()
                    .map(resolve::account_state)
                    .unwrap_or_default();
                if state != "ACTIVE" {
                    inactive.push((account.clone(), state));
                }
            }
            Err(e) if e.code() == Some("AccountNotFoundException") => outside.push(account.clone()),
            Err(e) => match sdk_error("DescribeAccount", &e) {
                OrgAccountsError::AccessDenied { message, .. } => {
                    return Ok(AccountsCheck::NotChecked { reason: message });
                }
                other => return Err(other),
            },
        }
    }
    if !outside.is_empty() {
        return Err(OrgAccountsError::AccountsOutside {
            accounts: outside,
            organization: organization.id,
        });
    }
    if !inactive.is_empty() {
        return Err(OrgAccountsError::AccountsNotActive {
            accounts: inactive,
            organization: organization.id,
        });
    }
    Ok(AccountsCheck::Members {
        organization: organization.id,
    })
}
