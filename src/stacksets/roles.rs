//! The execution role of a self-managed set, checked in a target account before anything is
//! created: CloudFormation would only find out in the middle of an operation, per instance
//! ("Account A should have 'EXEC' role with trust relationship to Role 'ADMIN'").

use crate::aws::SdkResultExt;
use serde_json::Value;

/// What a target account's execution role allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleCheck {
    /// It exists and trusts the administration role (or its account).
    Trusted,
    /// There is no such role.
    Missing,
    /// It exists, but its trust policy names neither the administration role nor its account.
    Untrusted,
    /// The role could not be read (the account cannot be entered, access denied): why.
    NotChecked(String),
}

/// Reads `role_name` with an IAM client of the target account (`iam:GetRole`) and checks its
/// trust policy against `administration_role_arn`.
pub async fn check_execution_role(
    iam: &aws_sdk_iam::Client,
    role_name: &str,
    administration_role_arn: &str,
) -> RoleCheck {
    let out = match iam
        .get_role()
        .role_name(role_name)
        .send()
        .await
        .classify("iam:GetRole", iam)
    {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return RoleCheck::Missing,
        Err(e) => return RoleCheck::NotChecked(e.to_string()),
    };
    let Some(document) = out.role().and_then(|r| r.assume_role_policy_document()) else {
        return RoleCheck::NotChecked("iam:GetRole returned no trust policy".into());
    };
    match serde_json::from_str::<Value>(&percent_decode(document)) {
        Ok(policy) if trusts(&policy, administration_role_arn) => RoleCheck::Trusted,
        Ok(_) => RoleCheck::Untrusted,
        Err(e) => RoleCheck::NotChecked(format!("its trust policy is not JSON: {e}")),
    }
}

/// Whether a trust policy lets the administration role assume the role: an `Allow` of
/// `sts:AssumeRole` to the role's ARN, its account (ID or root ARN) or anyone.
pub fn trusts(policy: &Value, administration_role_arn: &str) -> bool {
    let account = administration_role_arn
        .split(':')
        .nth(4)
        .unwrap_or_default();
    let root_suffix = format!(":iam::{account}:root");
    let statements = match &policy["Statement"] {
        Value::Array(items) => items.iter().collect::<Vec<_>>(),
        single @ Value::Object(_) => vec![single],
        _ => vec![],
    };
    statements.into_iter().any(|s| {
        s["Effect"] == "Allow"
            && strings(&s["Action"])
                .iter()
                .any(|a| matches!(a.as_str(), "sts:AssumeRole" | "sts:*" | "*"))
            && strings(&s["Principal"]["AWS"]).iter().any(|p| {
                p == administration_role_arn
                    || p == account
                    || p == "*"
                    || (p.starts_with("arn:") && p.ends_with(&root_suffix))
            })
    })
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// IAM returns policy documents URL-encoded.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ADMIN: &str =
        "arn:aws:iam::999988887777:role/AWSCloudFormationStackSetAdministrationRole";

    #[test]
    fn the_administration_role_or_its_account_is_trusted() {
        let policy = |principal: Value| {
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})
        };
        assert!(trusts(&policy(json!(ADMIN)), ADMIN));
        assert!(trusts(
            &policy(json!("arn:aws:iam::999988887777:root")),
            ADMIN
        ));
        assert!(trusts(
            &policy(json!(["111122223333", "999988887777"])),
            ADMIN
        ));
        assert!(!trusts(
            &policy(json!("arn:aws:iam::111122223333:root")),
            ADMIN
        ));
        let service = json!({"Statement": {"Effect": "Allow",
            "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}});
        assert!(!trusts(&service, ADMIN));
        assert_eq!(
            percent_decode("%7B%22a%22%3A%201%7D"),
            r#"{"a": 1}"#,
            "IAM's URL encoding"
        );
    }
}
