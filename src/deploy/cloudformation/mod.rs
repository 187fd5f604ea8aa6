//! The CloudFormation engine: one stack per region, created and updated through change sets,
//! all regions in parallel.
//!
//! Every function that talks to CloudFormation takes the client
//! (`&aws_sdk_cloudformation::Client`) as an argument, so the same code runs against AWS, the
//! moto emulator and `aws-smithy-mocks` sequences (see `tests/`).
//!
//! - [`engine`]: what the shared commands ask of an engine, done with CloudFormation.
//! - [`plan`]: per region a change set (CREATE or UPDATE), waited for and described.
//! - [`saved`]: the engine's part of a plan file, and its staleness checks.
//! - [`execute`]: executing a change set and waiting for the stack.
//! - [`import`]: an adopted bucket imported by an IMPORT change set before the update;
//!   [`import_apply`]: executing it, then planning the update.
//! - [`destroy`], [`status`], [`drift`]: the rest of a stack's life.
//! - [`security`]: statements and principals added or removed, from the templates.
//! - [`stack`]: reading a stack, the errors of a stack operation; [`wait`]: polling.
//! - [`target`]: what one region's stack should be.

pub mod destroy;
pub mod drift;
pub mod engine;
pub mod execute;
pub mod import;
pub mod import_apply;
pub mod plan;
pub mod saved;
pub mod security;
pub mod stack;
pub mod status;
pub mod target;
pub mod wait;

#[cfg(test)]
mod tests;

pub use engine::CloudFormation;
pub use target::StackTarget;
