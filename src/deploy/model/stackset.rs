//! The StackSets engine's part of the plan model: per target (stack instance) what the
//! instance is now and the notes the display prints under it, and the stack set as a whole —
//! its targets resolved, what changes set-wide, how operations are paced.

use crate::org_accounts::MemberAccount;
use crate::stacksets::spec::Preferences;
use crate::stacksets::{OperationSummary, ParameterChange, RunningOperation};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the StackSets engine keeps of one target's plan: the instance as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct StackSetPlan {
    /// The instance now: CURRENT, OUTDATED or INOPERABLE (absent: no instance yet).
    pub instance_status: Option<String>,
    /// Why it is not CURRENT, in CloudFormation's words.
    pub status_reason: Option<String>,
    /// The OU the instance was deployed through (service-managed).
    pub organizational_unit: Option<String>,
    /// The set's parameters that change (the same for every instance the update reaches).
    pub parameter_changes: Vec<ParameterChange>,
    /// Deleting the instance keeps its stack (`retain_stacks_on_delete`).
    pub retain_stack: bool,
    /// What the display says under the target beyond its resource changes.
    pub notes: Vec<String>,
}

/// An account the stack set deploys to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SetAccount {
    pub id: String,
    /// The account's name in the organisation (when Organizations was asked).
    pub name: Option<String>,
    /// The configured OU it was reached through (service-managed).
    pub organizational_unit: Option<String>,
    /// The OU that holds it directly, when nested below the configured one.
    pub nested_in: Option<String>,
}

impl SetAccount {
    pub fn of(member: &MemberAccount) -> Self {
        SetAccount {
            id: member.id.clone(),
            name: Some(member.name.clone()).filter(|n| !n.is_empty()),
            organizational_unit: Some(member.target.clone()),
            nested_in: Some(member.parent.clone()).filter(|p| *p != member.target),
        }
    }
}

/// The stack set as a whole, as `plan` shows it above the instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct StackSetOverview {
    pub name: String,
    /// `SERVICE_MANAGED` (organizational units) or `SELF_MANAGED` (accounts).
    pub permission_model: String,
    /// The set exists (otherwise `apply` creates it).
    pub exists: bool,
    /// Its template changes (UpdateStackSet reaches every instance).
    pub template_changed: bool,
    pub parameter_changes: Vec<ParameterChange>,
    /// Other settings that change: description, tags, roles, automatic deployment.
    pub setting_changes: Vec<String>,
    /// The configured OUs with the accounts under each (nested OUs included).
    pub organizational_units: BTreeMap<String, Vec<String>>,
    /// The accounts the instances should be in.
    pub accounts: Vec<SetAccount>,
    /// The management account sits under a target OU: StackSets never deploys there.
    pub management_account_skipped: Option<String>,
    /// The regions, in the order operations visit them, and the pacing.
    pub preferences: Preferences,
    /// An operation running now: `apply` refuses until it ends.
    pub running_operation: Option<RunningOperation>,
    /// The set's most recent operation.
    pub last_operation: Option<OperationSummary>,
    /// What could not be checked, and other remarks.
    pub notes: Vec<String>,
}
