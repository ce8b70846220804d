//! Ordo consensus: the Malachite (Tendermint) adapter that orders Ordo's blocks.
//!
//! - [`context`]: the Malachite `Context` — heights, votes, proposals, the committee — over
//!   `ordo-types`; the consensus value is the block hash, the body streams as proposal parts.
//! - Votes and proposals are signed over keccak256 digests an L1 contract can `ecrecover`
//!   (`docs/FORMATS.md`).
//! - Every rule is the chain core's (`ordo-chain`): the adapter asks it to build a proposal,
//!   to check a received one (an invalid one gets a nil vote) and to apply a decided one, and
//!   holds no rule of its own.
//! - A decided block, its commit certificate and the nonces it moves are written to the
//!   [`Store`] (redb) before consensus is told the decision is persisted; a block this node
//!   built for a (height, round) is stored before it is proposed, so a restarted proposer
//!   proposes the same block. Store writes run on the blocking pool; a failed one stops the
//!   node.
//! - A lagging node catches up through Malachite's value sync, served from the store.
//! - Malachite's network actor runs behind a guard (`guard.rs`) that bans a peer proven to
//!   misbehave on it: a forged validator proof, or a proposal stream the application refuses.
//! - With the `byzantine` feature, test faults (`ProposerFault`) make a validator misbehave.
//!
//! Start a node with [`start`].

// Unit-test builds link the dev-dependencies that only integration tests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod app;
#[cfg(feature = "byzantine")]
mod byzantine;
mod codec;
pub mod context;
mod convert;
mod engine;
mod guard;
mod keygen;
mod opening;
mod signing;
mod store;
mod streaming;
mod wire;

#[cfg(feature = "byzantine")]
pub use byzantine::ProposerFault;
pub use codec::OrdoCodec;
pub use engine::{
    start, ConsensusNode, ConsensusSettings, Equivocation, EvidenceVote, NodeStatus, TimingConfig,
};
pub use malachitebft_app_channel::app::net::Multiaddr;
pub use signing::{OrdoSigner, OrdoVerifier};
#[doc(hidden)]
pub use store::reencode_record;
pub use store::{DecidedBlock, Store, StoreError};
pub use wire::WireError;
