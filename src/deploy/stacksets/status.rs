//! Each instance as it is: its status and reason, detailed status, drift status, and the
//! set's operation that last touched it.

use super::prepare;
use super::set::StackSets;
use crate::deploy::model::{LastOperation, StackStatus};
use crate::runner::Target;
use std::collections::BTreeMap;

pub fn instance_status(engine: &StackSets, target: &Target) -> StackStatus {
    let state = engine.state();
    let Some(i) = prepare::instance(&state.instances, target) else {
        return StackStatus::not_deployed(engine.name());
    };
    let last_operation = i.last_operation_id.as_ref().map(|id| {
        match state.operations.iter().find(|o| &o.operation_id == id) {
            Some(o) => LastOperation {
                id: id.clone(),
                action: o.action.clone(),
                status: o.status.clone(),
                ended: o.ended.clone(),
            },
            None => LastOperation {
                id: id.clone(),
                action: String::new(),
                status: String::new(),
                ended: None,
            },
        }
    });
    StackStatus {
        stack_name: engine.name().to_string(),
        deployed: true,
        status: Some(i.status.clone()),
        status_reason: i.status_reason.clone(),
        last_updated: last_operation.as_ref().and_then(|o| o.ended.clone()),
        termination_protection: None,
        drift_status: i.drift_status.clone(),
        detailed_status: i.detailed_status.clone(),
        last_operation,
        outputs: BTreeMap::new(),
    }
}
