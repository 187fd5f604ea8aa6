//! The deploy model, engine-neutral and a leaf of `deploy`: what a plan is ([`plan`]) and
//! what the other operations report per target ([`results`]) and their entries in the JSON
//! documents ([`entries`]), the data-loss guard
//! ([`guard`]) and the replacement predicted by `provision` merged into an engine's changes
//! ([`predicted`]). The engines produce it; the display, the JSON documents and the plan file
//! read it.

mod change;
mod entries;
pub mod guard;
mod operation;
mod plan;
pub mod predicted;
mod results;
mod stackset;

pub use change::{ChangeKind, ResourceChange};
pub use entries::*;
pub use guard::{DataLoss, Guarded};
pub use operation::*;
pub use plan::*;
pub use results::*;
pub use stackset::*;
