//! `setup --all-accounts`: the targets are every region of every account the stack set
//! deploys to (its `accounts`, or the accounts its OUs resolve to, nested OUs included),
//! reached through the setup role assumed in each (`stacksets.setup_role_name`).

use super::OrgError;
use crate::aws::Clients;
use crate::config::Config;
use crate::org_accounts;
use crate::runner::Target;
use std::path::Path;

/// The clients (the setup role assumed in each account) and the targets, account by account
/// in the configuration's order of regions.
pub async fn targets(
    cfg: &Config,
    clients: &Clients,
    file: &Path,
) -> Result<(Clients, Vec<Target>), OrgError> {
    let Some(stacksets) = &cfg.stacksets else {
        return Err(OrgError::Input(format!(
            "{}: --all-accounts needs `engine: stacksets` and its `stacksets:` section (the accounts to set up)",
            file.display()
        )));
    };
    let accounts = match stacksets.targets.accounts.is_empty() {
        false => stacksets.targets.accounts.clone(),
        true => {
            let org = clients.organizations(cfg.home_region());
            let organization = org_accounts::describe_organization(&org).await?;
            let ous = &stacksets.targets.organizational_units;
            let resolved =
                org_accounts::resolve_organizational_units(&org, &organization, ous).await?;
            resolved.accounts.into_iter().map(|a| a.id).collect()
        }
    };
    let targets = accounts
        .iter()
        .flat_map(|a| cfg.regions.iter().map(|r| Target::in_account(a, r)))
        .collect();
    Ok((
        clients.with_member_role(&stacksets.setup_role_name),
        targets,
    ))
}
