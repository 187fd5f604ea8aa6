//! What the shared commands ask an engine to do: which command ([`Operation`]) and the work
//! an engine does once for every target ([`AllTargets`]).

use super::{Inventory, StackFailure, TargetPlan};
use crate::runner::{Reports, Target};

/// The command an engine works for (which targets it has).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Plan,
    Apply,
    Destroy,
    Status,
    Drift,
}

/// The work an engine does once for every target (see `Engine::run_all`).
pub enum AllTargets<'a> {
    Apply {
        plans: &'a Reports<TargetPlan>,
    },
    Destroy {
        found: &'a [(Target, Result<Option<Inventory>, StackFailure>)],
    },
    Drift,
}
