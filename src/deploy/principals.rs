//! cStore-style access lists: role, user and role-session names resolved to the IAM unique IDs
//! that `aws:userId` conditions match, plus the deploying identity and the account root, so
//! that nobody locks themselves out of their own bucket or key.

use super::error::{DeployError, PrincipalProblem};
use super::model::Principals;
use crate::config::Access;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};

/// The `aws:userId` pattern of the caller: an assumed role's sessions all share the role's
/// ID (`AROA…:*`, so another session of the same role is not locked out); a user or the root
/// is its own ID.
pub fn caller_pattern(user_id: &str, arn: &str) -> String {
    if arn.contains(":assumed-role/")
        && let Some((role_id, _session)) = user_id.split_once(':')
    {
        return format!("{role_id}:*");
    }
    user_id.to_string()
}

/// Resolves the access lists through IAM (`GetRole`, `GetUser`) and STS (`GetCallerIdentity`).
/// Fails on the first name that does not exist, naming it and its list.
pub async fn resolve(
    iam: &aws_sdk_iam::Client,
    sts: &aws_sdk_sts::Client,
    region: &str,
    access: &Access,
) -> Result<Principals, DeployError> {
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| DeployError::Identity {
            region: region.to_string(),
            message: crate::aws::describe(&e),
        })?;
    let account = me.account().unwrap_or_default().to_string();
    let arn = me.arn().unwrap_or_default().to_string();
    let user_id = me.user_id().unwrap_or_default().to_string();
    let mut p = Principals {
        account: account.clone(),
        deployer_arn: arn.clone(),
        entries: Vec::new(),
    };
    p.push(account.clone(), "account root".into());
    p.push(
        caller_pattern(&user_id, &arn),
        format!("deploying identity {arn}"),
    );
    for name in &access.roles {
        let id = role_id(iam, &account, "access.roles", name).await?;
        p.push(format!("{id}:*"), format!("role {name} (access.roles)"));
    }
    for name in &access.users {
        let id = user_id_of(iam, &account, "access.users", name).await?;
        p.push(id, format!("user {name} (access.users)"));
    }
    for entry in &access.role_users {
        // Validation guarantees ROLE/SESSION. Role names cannot contain `/` (paths are
        // separate) and session names allow only `[\w+=,.@-]`: the first `/` separates them.
        let (role, session) = entry.split_once('/').unwrap_or((entry.as_str(), ""));
        let id = role_id(iam, &account, "access.role_users", role).await?;
        p.push(
            format!("{id}:{session}"),
            format!("session {session} of role {role} (access.role_users)"),
        );
    }
    Ok(p)
}

async fn role_id(
    iam: &aws_sdk_iam::Client,
    account: &str,
    list: &str,
    name: &str,
) -> Result<String, DeployError> {
    match iam.get_role().role_name(name).send().await {
        Ok(out) => Ok(out
            .role()
            .map(|r| r.role_id().to_string())
            .unwrap_or_default()),
        Err(e) => Err(lookup_error(e, account, list, "role", "GetRole", name)),
    }
}

async fn user_id_of(
    iam: &aws_sdk_iam::Client,
    account: &str,
    list: &str,
    name: &str,
) -> Result<String, DeployError> {
    match iam.get_user().user_name(name).send().await {
        Ok(out) => Ok(out
            .user()
            .map(|u| u.user_id().to_string())
            .unwrap_or_default()),
        Err(e) => Err(lookup_error(e, account, list, "user", "GetUser", name)),
    }
}

fn lookup_error<E, R>(
    e: SdkError<E, R>,
    account: &str,
    list: &str,
    kind: &'static str,
    operation: &'static str,
    name: &str,
) -> DeployError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let missing = e.code() == Some("NoSuchEntity");
    DeployError::Principal(Box::new(PrincipalProblem {
        list: list.to_string(),
        kind,
        name: name.to_string(),
        operation,
        missing,
        account: account.to_string(),
        message: if missing {
            e.message().unwrap_or("NoSuchEntity").to_string()
        } else {
            crate::aws::describe(&e)
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_callers_keep_every_session_of_their_role() {
        assert_eq!(
            caller_pattern(
                "AROAEXAMPLE:alice@example.com",
                "arn:aws:sts::123456789012:assumed-role/DevOps/alice@example.com"
            ),
            "AROAEXAMPLE:*"
        );
        assert_eq!(
            caller_pattern("AIDAEXAMPLE", "arn:aws:iam::123456789012:user/bob"),
            "AIDAEXAMPLE"
        );
        assert_eq!(
            caller_pattern("123456789012", "arn:aws:iam::123456789012:root"),
            "123456789012"
        );
    }
}
