//! Failures CloudFormation states only in words (an operation result's StatusReason),
//! recognised so that the report can name the role and account and say what to do.

use serde::Serialize;

/// A failure CloudFormation states in words, recognised so that it can be named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InstanceProblem {
    /// `Account A should have 'EXEC' role with trust relationship to Role 'ADMIN'.`: the
    /// execution role is missing in A, or does not trust the administration role (or the
    /// administration role itself is missing).
    ExecutionRoleUnusable {
        account: String,
        execution_role: String,
        administration_role: String,
    },
}

impl InstanceProblem {
    pub fn recognise(reason: &str) -> Option<InstanceProblem> {
        let rest = reason.trim().strip_prefix("Account ")?;
        let (account, rest) = rest.split_once(" should have '")?;
        let (execution_role, rest) = rest.split_once("' role with trust relationship to Role '")?;
        let administration_role = rest.split('\'').next()?;
        Some(InstanceProblem::ExecutionRoleUnusable {
            account: account.to_string(),
            execution_role: execution_role.to_string(),
            administration_role: administration_role.to_string(),
        })
    }

    /// What it means and what to do, in one sentence.
    pub fn explain(&self) -> String {
        match self {
            InstanceProblem::ExecutionRoleUnusable {
                account,
                execution_role,
                administration_role,
            } => format!(
                "account {account} has no role `{execution_role}` that trusts the administration role `{administration_role}`: create it there (AWS's template AWSCloudFormationStackSetExecutionRole.yml), or fix its trust policy; if every account says so, the administration role itself is missing"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_execution_role_message_is_recognised() {
        let p = InstanceProblem::recognise(
            "Account 111122223333 should have 'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role 'AWSCloudFormationStackSetAdministrationRole'.",
        );
        assert_eq!(
            p,
            Some(InstanceProblem::ExecutionRoleUnusable {
                account: "111122223333".into(),
                execution_role: "AWSCloudFormationStackSetExecutionRole".into(),
                administration_role: "AWSCloudFormationStackSetAdministrationRole".into(),
            })
        );
        assert!(
            p.unwrap()
                .explain()
                .contains("account 111122223333 has no role")
        );
        assert_eq!(
            InstanceProblem::recognise("Resource handler returned message: bucket exists"),
            None
        );
    }
}
