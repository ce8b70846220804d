//! Ordo consensus: the Malachite (Tendermint) application that orders Ordo's blocks.
//!
//! - [`context`]: the Malachite `Context` — heights, votes, proposals, the committee — over
//!   `ordo-types`; the consensus value is the block hash, the body streams as proposal parts.
//! - Votes and proposals are signed over keccak256 digests an L1 contract can `ecrecover`
//!   (`docs/FORMATS.md`).
//! - A received proposal is checked by `ordo-builder` before this node votes for it; an invalid
//!   one gets a nil vote.
//! - A decided block and its commit certificate are written to the [`Store`] (redb) before
//!   consensus is told the decision is persisted; a block this node built for a (height, round)
//!   is stored before it is proposed, so a restarted proposer proposes the same block.
//! - A lagging node catches up through Malachite's value sync, served from the store.
//!
//! Start a node with [`start`].

mod app;
mod codec;
pub mod context;
mod election;
mod engine;
mod proposer;
mod signing;
mod store;
mod streaming;
mod wire;

pub use codec::OrdoCodec;
pub use election::{elect, ElectionParams};
pub use engine::{
    start, ConsensusNode, ConsensusSettings, Equivocation, EvidenceVote, L1Settings, NodeStatus,
    ProposerFault, TimingConfig,
};
pub use malachitebft_app_channel::app::net::Multiaddr;
pub use proposer::select as select_proposer;
pub use signing::{OrdoSigner, OrdoVerifier};
pub use store::{DecidedBlock, Store, StoreError};
pub use wire::WireError;
