//! The rollup side of Ordo: how a rollup reads its own transactions back from the shared
//! sequencer, trusting nothing but the committee it started from.
//!
//! - [`NamespaceBlock`] / [`NamespaceRange`]: the JSON a node serves per namespace
//!   (`GET /v1/namespaces/{ns}/blocks/{height}`, `.../blocks?from=&to=`, and the
//!   `.../stream?from=` Server-Sent Events). `ordo-builder` produces them from decided blocks;
//!   this crate is the one definition both sides read.
//! - [`Verifier`]: checks a slice offline. The header must hash to the hash the commit
//!   certificate signs, the certificate must carry valid precommits from more than 2/3 of the
//!   trusted validator set's voting power, and the namespace proof must show against the
//!   header's `namespace_root` that the entries are all of the namespace's entries, in order
//!   (or that it has none). Anything else is refused with a [`ClientError`] saying why.
//! - [`RollupClient`]: fetches blocks, ranges and a resumable stream from any node over HTTP
//!   and hands out only [`VerifiedNamespaceBlock`]s. Its trust root is a [`Genesis`] (or a
//!   validator set from a given height) the user supplies, never what the node says. To read a
//!   height a later committee decided, it walks the certified [`Handover`]s from its root
//!   (`GET /v1/handovers`, up to [`MAX_HANDOVERS`] per request), each checked by
//!   [`Verifier::hand_over`], so it may start reading anywhere.
//! - [`RollupAdapter`]: how a kind of rollup checks transactions and renders its entries;
//!   [`RawAdapter`] treats payloads as opaque bytes, [`EvmAdapter`] takes signed Ethereum
//!   transactions for its chain id. [`Rollups`] maps a network's namespaces to adapters.
//! - [`EvmEngine`]: replays verified EVM namespace blocks into an execution node (Anvil with
//!   mining off), one L2 block per Ordo block with transactions (`ordo rollup run`).
//!
//! # Invariants
//! - A [`VerifiedNamespaceBlock`] exists only if [`Verifier::verify`] accepted it.
//! - A client stream hands out consecutive heights, each extending the previous block, with
//!   no gap and no repeat, across reconnections.
//! - The stream parser holds at most one event (bounded) in memory.
//!
//! # Example
//! ```no_run
//! use futures_util::StreamExt;
//! use ordo_rollup_adapters::{Genesis, RollupClient};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let genesis = Genesis::load("genesis.json".as_ref())?;
//! let mut client = RollupClient::from_genesis("http://127.0.0.1:8650", &genesis);
//! let one = client.block(7, 12).await?; // namespace 7 at height 12, verified
//! println!("{} transactions", one.entries().len());
//! let mut blocks = std::pin::pin!(client.stream(7, 1));
//! while let Some(block) = blocks.next().await {
//!     let block = block?; // a verification failure ends the stream with its reason
//!     println!("height {}: {:?}", block.height(), block.tx_hashes());
//! }
//! # Ok(())
//! # }
//! ```

// Unit-test builds link the dev-dependencies that only integration tests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod adapter;
mod client;
mod engine;
mod error;
mod sse;
mod verify;
mod wire;

#[cfg(test)]
mod testutil;

pub use adapter::{adapter_for, AdapterError, EvmAdapter, RawAdapter, RollupAdapter, Rollups};
pub use client::RollupClient;
pub use engine::{Applied, EngineError, EvmEngine};
pub use error::{ClientError, GenesisError};
pub use verify::{
    delivery_order, Delivered, Genesis, RegisteredRollup, VerifiedNamespaceBlock, Verifier,
};
pub use wire::{
    ApiErrorBody, Handover, Handovers, NamespaceBlock, NamespaceRange, MAX_HANDOVERS, MAX_RANGE,
};
