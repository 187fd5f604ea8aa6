//! Deploy: the storage in every target (account × region), through an engine.
//!
//! The shared part is engine-neutral: the session (configuration, targets, clients), the model
//! of a plan and of the other operations' results ([`model`]), the display ([`display`]), the
//! saved-plan envelope ([`planfile`]), the access lists ([`principals`]), and the commands —
//! [`plan`], [`apply`], [`destroy`], [`status`], [`drift`] — which run the targets through the
//! per-target runner (`crate::runner`). What is engine-specific sits behind [`engine::Engine`]:
//! [`cloudformation`], one stack per region through change sets, and [`stacksets`], one stack
//! set with an instance per account and region.
//!
//! This file only declares and re-exports: submodules never import from it, so that the
//! graph of deploy's submodules has no cycle.

pub mod apply;
pub mod cloudformation;
pub mod destroy;
pub mod display;
pub mod drift;
pub mod engine;
pub mod error;
pub mod model;
pub mod plan;
pub mod planfile;
pub mod principals;
pub mod retained;
pub mod session;
pub mod stacksets;
pub mod status;
pub mod terraform;

/// Reading CloudFormation templates (short-form tags in long form) and their policy
/// statements: also what the engines' parity is checked with.
pub use cloudformation::security;

pub use apply::cmd_apply;
pub use destroy::cmd_destroy;
pub use drift::cmd_drift;
pub use engine::Engine;
pub use error::{DeployError, PrincipalProblem};
pub use model::EngineKind;
pub use plan::cmd_plan;
pub use session::Session;
pub use status::cmd_status;
