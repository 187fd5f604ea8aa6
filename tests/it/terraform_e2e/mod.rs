//! End to end with Terraform on the emulator: one moto server of its own for the
//! whole group (`support::dedicated`).
//!
//! - Every example's rendered module is applied by a plain `terraform apply`, all examples at
//!   once (`deployments.rs`); then the deployed state is read back through the SDK and checked
//!   against the configuration (`state.rs`), a second plan must change nothing, and that plan
//!   must describe what the CloudFormation template describes (`parity.rs`).
//! - With access lists, the deploying identity still manages the KMS key (`key.rs`).
//! - The engine through the real binary (`engine.rs`): hand-made buckets adopted (`adopted.rs`),
//!   apply, a second plan, a change planned,
//!   saved and applied, drift, one region's emulator stopped and back, destroy.
//! - The driver (`provision::terraform`) runs init, plan, show, apply (interrupted once, and
//!   meeting a held lock), a second plan and destroy on a deployment of its own (`driver.rs`).
//!
//! The emulator is reached through `AWS_ENDPOINT_URL` only: nothing emulator-specific is in the
//! rendered module (docs/engines.md).

// libtest runs tests in the order of their names, two at a time on CI's two cores: the driver's
// own deployment comes first, beside the shared deployment of the examples, and the checks of
// the examples (key, parity, state) follow.
mod adopted;
mod deployments;
mod driver;
mod engine;
mod key;
mod parity;
mod state;
