//! The one integration test binary (as uv's `crates/uv/tests/it/main.rs`): every group of
//! integration tests is a module here, so the AWS SDK and the test support are compiled and
//! linked once, not once per test file.
//!
//! `cargo test --test it GROUP::` runs one group (e.g. `deploy_e2e::`, `stage_e2e::`); a new
//! group is a new module below plus its file. Shared code lives in `support`: every command
//! a test runs is built there (see docs/testing.md, "Hermetic commands").

mod support;

mod assume_role_e2e;
mod ci_examples;
mod cli_surface;
mod config_invalid;
mod config_robustness;
mod deploy_e2e;
mod docs_drift;
mod hermetic;
mod hostile;
mod judges;
mod output_conventions;
mod output_failures;
mod regions;
mod render_cli;
mod render_snapshots;
mod replacement_table;
mod setup_e2e;
mod stacksets_e2e;
mod stacksets_render;
mod stage_commands;
mod stage_e2e;
mod stage_queries;
mod startifact_interop;
mod terraform_cli;
mod terraform_e2e;
mod terraform_judges;
