//! Integration tests of `ordo-l1` (one binary, as the workspace convention has it):
//! - `fixtures`: generates the Forge fixtures from `ordo-types` and fails when the committed
//!   ones differ, so Solidity and Rust provably agree on the signed bytes;
//! - `anvil`: deploys to a real Anvil and drives the contracts through the bindings;
//! - `da`: a batch posted to `BatchInbox` in blob and calldata frames reads back exactly; a
//!   forged batch for the same certified range is ignored, an uncertified range refused; the
//!   batcher: resume, a half-posted range, a reorg, a stuck post, a 2 MiB block, a blob archive;
//! - `gas`: `submitBlock` gas from Anvil receipts for committees of 4, 20 and 100;
//! - `watcher`: the L1 client and event watcher: confirmation depth, an outage, reorgs below
//!   and above the depth, failover.
//!
//! The Anvil tests need the repository's npm toolchain: run `npm ci` in the repository root.

// An integration test links every dependency of its package.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod anvil;
mod common;
mod da;
mod fixtures;
mod gas;
mod watcher;
