//! cStore-style access lists: role, user and role-session names resolved to the IAM unique IDs
//! that `aws:userId` conditions match, plus the deploying identity and the account root, so
//! that nobody locks themselves out of their own bucket or key.

use super::error::{DeployError, PrincipalProblem};
use super::model::Principals;
use crate::aws::{AwsError, SdkResultExt};
use crate::config::Access;

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
    access: &Access,
) -> Result<Principals, DeployError> {
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .classify("sts:GetCallerIdentity", sts)
        .map_err(DeployError::Identity)?;
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
    let out = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .classify("iam:GetRole", iam)
        .map_err(|e| lookup_error(e, account, list, "role", name))?;
    Ok(out
        .role()
        .map(|r| r.role_id().to_string())
        .unwrap_or_default())
}

async fn user_id_of(
    iam: &aws_sdk_iam::Client,
    account: &str,
    list: &str,
    name: &str,
) -> Result<String, DeployError> {
    let out = iam
        .get_user()
        .user_name(name)
        .send()
        .await
        .classify("iam:GetUser", iam)
        .map_err(|e| lookup_error(e, account, list, "user", name))?;
    Ok(out
        .user()
        .map(|u| u.user_id().to_string())
        .unwrap_or_default())
}

fn lookup_error(
    error: AwsError,
    account: &str,
    list: &str,
    kind: &'static str,
    name: &str,
) -> DeployError {
    DeployError::Principal(Box::new(PrincipalProblem {
        list: list.to_string(),
        kind,
        name: name.to_string(),
        account: account.to_string(),
        error,
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
