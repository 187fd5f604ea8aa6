//! The Terraform engine: the rendered root module, one state for every region, planned,
//! applied and destroyed through the Terraform CLI (`crate::terraform`), behind the engine
//! seam (`deploy::engine::Engine`).
//!
//! Terraform plans and applies every region in one run; the seam asks per target. So the
//! engine runs Terraform once per command and hands each target its region's part: the plan
//! split by provider alias (`plan.rs`), the apply's events and errors by region, the state's
//! resources by region (`inspect.rs`). Adopted buckets are imported (`adopted.rs`,
//! `imports.rs`).

pub mod adopted;
pub mod engine;
pub mod imports;
mod inspect;
pub mod plan;
mod progress;
pub mod saved;
mod saved_plans;
pub mod security;

pub use engine::TerraformEngine;
