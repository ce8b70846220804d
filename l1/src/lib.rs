//! Ordo's access to its L1 (Ethereum, or Anvil locally).
//!
//! - [`deploy`] puts the four contracts (`StakeTable`, `Inbox`, `LightClient`, `BatchInbox`, bindings in
//!   `ordo-contracts`) on any Ethereum RPC endpoint and returns a [`Deployment`], which
//!   [`Deployment::write_json`] stores for nodes and tools to find.
//! - The [`calldata`] functions turn Ordo's own types into what the contracts take: a
//!   [`ValidatorSet`](ordo_types::ValidatorSet) into a light-client committee, a
//!   [`CommitCertificate`](ordo_types::CommitCertificate) into indexed signatures, two
//!   conflicting votes into slashing evidence, a consensus key into a proof of possession.
//!   The bytes signed are exactly those of `docs/FORMATS.md`, which the contracts check with
//!   `ecrecover`; fixtures generated from `ordo-types` pin that agreement in the Forge tests.
//! - [`L1Client`] talks to one or more RPC URLs with timeouts, retries and failover;
//!   [`Watcher`] reads `StakeTable` and `Inbox` events from confirmed blocks only and
//!   publishes them as an [`L1View`] (inbox items, stake events, recent block hashes).
//! - [`da`]: data availability, frames of the decided chain posted to `BatchInbox` in blobs or
//!   calldata and read back into the chain.
//! - [`Batcher`] posts the decided chain to `BatchInbox`, range after range, resuming from
//!   what the L1 holds (`ordo l1 batch`).
//! - [`spawn_anvil`] runs a local L1 from the repository's npm toolchain; [`process`] starts
//!   one as a child of a long-running tool and stops child processes gracefully.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ordo_l1::{deploy, spawn_anvil, DeployParams};
//! use ordo_types::{SecretKey, Validator, ValidatorSet};
//! use alloy::signers::local::PrivateKeySigner;
//!
//! let anvil = spawn_anvil()?; // killed when dropped
//! let deployer = PrivateKeySigner::from(anvil.first_key().clone());
//! let key = SecretKey::random();
//! let committee = ValidatorSet::new(vec![Validator::new(key.public_key(), 1)])?;
//! let params = DeployParams::devnet(7, &committee, deployer.address());
//! let deployment = deploy(&anvil.endpoint(), deployer, &params).await?;
//! deployment.write_json(std::path::Path::new("deployment.json"))?;
//! # Ok(()) }
//! ```

// Unit-test builds link the dev-dependencies that only integration tests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod anvil;
mod batcher;
pub mod calldata;
mod client;
pub mod da;
mod deploy;
mod error;
pub mod outage;
pub mod process;
mod relay;
mod stake;
mod watcher;

pub use alloy::signers::local::PrivateKeySigner;
pub use anvil::{anvil_path, spawn_anvil, spawn_anvil_mining, spawn_anvil_with, ANVIL_ENV};
pub use batcher::{
    pick_mode, post_costs, Batcher, BatcherConfig, BatcherMetrics, ChainSource, Pass, PostMode,
    MAX_CALLDATA_FRAME_LEN, MAX_IN_FLIGHT,
};
pub use client::{L1Client, RpcConfig};
pub use deploy::{
    deploy, CommitteeMember, DeployParams, Deployment, InboxParams, LightClientParams,
    StakeTableParams,
};
pub use error::L1Error;
pub use ordo_contracts::{BatchInbox, Inbox, LightClient, StakeTable};
pub use relay::{LightClientRelay, LightClientState};
pub use stake::{transfer, Staker, ValidatorStanding};
pub use watcher::{decode_logs, DecodedLogs, WatchConfig, WatchedContracts, Watcher};
