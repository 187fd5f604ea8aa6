//! The deploy model, engine-neutral and a leaf of `deploy`: what a plan is ([`plan`]) and
//! what the other operations report per target ([`results`]), the data-loss guard
//! ([`guard`]) and the replacement predicted by `provision` merged into an engine's changes
//! ([`predicted`]). The engines produce it; the display, the JSON documents and the plan file
//! read it.

mod change;
pub mod guard;
mod operation;
mod plan;
pub mod predicted;
mod results;
mod stackset;

pub use change::{ChangeKind, ResourceChange};
pub use guard::{DataLoss, Guarded};
pub use operation::*;
pub use plan::*;
pub use results::*;
pub use stackset::*;
