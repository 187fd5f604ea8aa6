//! The stack set the engine drives: its configuration, clients, what `prepare` computed and
//! what the set's operations reported. The engine (`engine`) and the per-target readers
//! (`apply`, `destroy`, `drift`, `status`) all work on this one value.

use super::prepare::Prepared;
use crate::aws::Clients;
use crate::config::Config;
use crate::deploy::model::StackFailure;
use crate::stacksets::{
    self, ApplyReport, DestroyReport, DriftReport, InstanceSummary, OperationSummary, Polling,
    StackSetError, StackSetInfo,
};
use crate::ui::ProgressLine;
use std::sync::OnceLock;

pub struct StackSets {
    pub(super) clients: Clients,
    /// Clients in the target accounts: the setup role assumed there.
    pub(super) member: Clients,
    pub(super) cfg: Config,
    pub(super) prepared: Option<Prepared>,
    /// The set as it is (status, drift, destroy).
    pub(super) state: Option<SetState>,
    /// What the set's operations did (`None`: nothing to do), once run.
    pub(super) applied: OnceLock<Option<ApplyReport>>,
    pub(super) destroyed: OnceLock<Option<DestroyReport>>,
    pub(super) drifted: OnceLock<Option<DriftReport>>,
}

/// The set and its instances as they are.
#[derive(Debug, Clone, Default)]
pub struct SetState {
    pub info: Option<StackSetInfo>,
    pub instances: Vec<InstanceSummary>,
    /// Oldest first.
    pub operations: Vec<OperationSummary>,
}

impl SetState {
    pub async fn read(
        cf: &aws_sdk_cloudformation::Client,
        name: &str,
    ) -> Result<Self, StackSetError> {
        let Some(info) = stacksets::describe_stack_set(cf, name).await? else {
            return Ok(SetState::default());
        };
        Ok(SetState {
            instances: stacksets::list_instances(cf, name).await?,
            operations: stacksets::list_operations(cf, name).await?,
            info: Some(info),
        })
    }
}

impl StackSets {
    pub fn new(cfg: &Config, clients: &Clients) -> Self {
        let setup_role = cfg
            .stacksets
            .as_ref()
            .map(|s| s.setup_role_name.clone())
            .unwrap_or_else(|| crate::config::stacksets::DEFAULT_SETUP_ROLE.into());
        StackSets {
            member: clients.with_member_role(&setup_role),
            clients: clients.clone(),
            cfg: cfg.clone(),
            prepared: None,
            state: None,
            applied: OnceLock::new(),
            destroyed: OnceLock::new(),
            drifted: OnceLock::new(),
        }
    }

    pub(super) fn name(&self) -> &str {
        &self.cfg.stack_name
    }

    pub(super) fn home(&self) -> &str {
        self.cfg.home_region()
    }

    pub(super) fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        self.clients.cloudformation(self.home())
    }

    /// Short polls against an emulator or canned answers, AWS's otherwise.
    pub(super) fn polling(&self) -> Polling {
        if self.clients.is_local(self.home()) {
            Polling::emulator()
        } else {
            Polling::stack_set_operations()
        }
    }

    pub(super) fn failure(&self, message: impl Into<crate::runner::Failure>) -> StackFailure {
        StackFailure::new(self.name(), message)
    }

    pub(super) fn prepared(&self) -> Result<&Prepared, StackFailure> {
        self.prepared
            .as_ref()
            .ok_or_else(|| self.failure("the stack set was not planned"))
    }

    pub(super) fn state(&self) -> SetState {
        self.state.clone().unwrap_or_default()
    }
}

/// Opens the progress line of the set's operation when there is one to run.
pub type OpenLine<'a> = dyn Fn() -> ProgressLine + 'a;
