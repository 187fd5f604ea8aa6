//! The StackSets engine (`engine: stacksets`): one CloudFormation stack set whose stack
//! instances are the storage in every target account and region, driven through the
//! StackSets driver (`crate::stacksets`) and AWS Organizations (`crate::org_accounts`).
//!
//! A target is a stack instance (account × region). What StackSets does once for the whole
//! set — resolving the OUs, the preview, the operation that creates or updates every
//! instance, the deletion, drift detection — happens once per command ([`prepare`],
//! [`engine::StackSets::run_all`]); each target's result is then read from it, so that the
//! shared commands report every instance through the runner like any other target.
//!
//! - [`set`]: the stack set the engine drives (clients, what was prepared, what ran).
//! - [`engine`]: what the shared commands ask of an engine, done with StackSets.
//! - [`prepare`]: the organisation's checks, the targets, the preview (`plan`, `apply`).
//! - [`plan`]: each instance's plan: action, template diff, security changes, notes.
//! - [`diff`]: the template diff of one instance (conditions evaluated for its region).
//! - [`overview`]: the set as a whole in the plan's text (targets resolved, pacing).
//! - [`saved`]: the engine's part of a plan file, and why one goes stale.
//! - [`apply`], [`destroy`], [`status`], [`drift`]: each target's result of the set's operation.

pub mod apply;
pub mod destroy;
pub mod diff;
pub mod drift;
pub mod engine;
pub mod overview;
pub mod plan;
pub mod prepare;
pub mod saved;
pub mod set;
pub mod status;

#[cfg(test)]
mod tests;

pub use set::StackSets;
