//! `provision`: render, deploy and use multi-region artifact storage on AWS.
//!
//! `main.rs` only calls [`run`]. The module graph has no cycles (docs/architecture.md; a unit
//! test checks it): leaves (`exit`, `cli`, `config`, `ui`, `aws`, `startifact`), the
//! `context` every command gets, the domains (`render`, `deploy`, `org`, `stage`), and the
//! command layer (`commands`) that dispatches and owns the aggregate error.

pub mod adopt;
pub mod aws;
pub mod cancel;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod deploy;
pub mod docs;
pub mod document;
pub mod exit;
pub mod org;
pub mod org_accounts;
pub mod region;
pub mod render;
pub mod replacement;
pub mod runner;
pub mod stacksets;
pub mod stage;
pub mod startifact;
pub mod terraform;
pub mod text;
pub mod ui;

#[cfg(test)]
mod module_graph;
#[cfg(test)]
mod testing;

pub use commands::run;
