//! Deploy: one CloudFormation stack per region, created and updated through change sets, all
//! regions in parallel.
//!
//! Every function that talks to CloudFormation takes the client (`&aws_sdk_cloudformation::Client`)
//! as an argument, so the same code runs against AWS, the moto emulator and
//! `aws-smithy-mocks` sequences (see `tests/`).
//!
//! - [`model`]: what a plan is (actions, resource and security changes, summaries), shared by
//!   the operations, the display and the plan file.
//! - [`plan`]: per region a change set (CREATE or UPDATE), waited for and described.
//! - [`apply`]: shows the plan, asks, executes every region ([`execute`]) and reports each.
//! - [`destroy`], [`status`], [`drift`]: the rest of a stack's life.
//! - [`principals`]: cStore-style access lists resolved to IAM unique IDs.
//! - [`security`]: statements and principals added or removed, from the templates.
//!
//! This file only declares and re-exports: submodules never import from it, so that the
//! graph of deploy's submodules has no cycle.

pub mod apply;
pub mod cfn;
pub mod destroy;
pub mod display;
pub mod drift;
pub mod error;
pub mod execute;
pub mod model;
pub mod plan;
pub mod planfile;
pub mod principals;
pub mod security;
pub mod session;
pub mod status;
pub mod wait;

#[cfg(test)]
mod tests;

pub use apply::cmd_apply;
pub use destroy::cmd_destroy;
pub use drift::cmd_drift;
pub use error::{DeployError, PrincipalProblem, RegionFailure};
pub use plan::cmd_plan;
pub use session::{Session, Target};
pub use status::cmd_status;
