//! The deploy model, engine-neutral and a leaf of `deploy`: what a plan is ([`plan`]) and
//! what the other operations report per target ([`results`]). The engines produce it; the
//! display, the JSON documents and the plan file read it.

mod operation;
mod plan;
mod results;
mod stackset;

pub use operation::*;
pub use plan::*;
pub use results::*;
pub use stackset::*;
