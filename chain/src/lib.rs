//! The Ordo chain core: the state after each decided height and every rule a block is judged
//! by. Pure: no tokio, no I/O, no clock of its own; a node feeds it data and persists what it
//! returns.
//!
//! - [`ChainRules`]: what the genesis fixes (chain id, registered rollups and their
//!   [`Admission`] rules, the genesis committee, block limits, the L1's inclusion delay and
//!   elections). Given at construction; nothing defaults to accepting everything.
//! - [`Chain`]: the tip, the committee schedule and the elections pending, with three
//!   operations: [`Chain::build`] the next block from candidate transactions,
//!   [`Chain::check`] a received one (a validator votes for it only if this passes), and
//!   [`Chain::apply`] a decided one (returning the account nonces it moves).
//! - Account nonces ([`NonceReader`], [`NonceUpdate`]) count per sender per namespace,
//!   strictly in sequence; a forced Ethereum transaction uses its account's nonce as a
//!   mempool one does.
//! - Committees: [`elect`] from the stake table's events, proposers by [`select_proposer`]
//!   in proportion to voting power.
//!
//! # Invariants
//! - A block [`Chain::build`] returns passes [`Chain::check`] on the same chain and context.
//! - Two chains that applied the same blocks (and held the same elections) are equal in
//!   every answer, whatever order their mempools saw transactions in.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use ordo_chain::{Admission, BlockLimits, Chain, ChainRules, Context, NoBundles, NonceTable, Recover};
//! use ordo_rollup_adapters::{RegisteredRollup, Rollups};
//! use ordo_types::{Bytes, SecretKey, Transaction, Validator, ValidatorSet};
//!
//! let key = SecretKey::random();
//! let rollup = RegisteredRollup { namespace: 1, name: "demo".into(), adapter: "raw".into(), chain_id: None, encrypted: false };
//! let rules = Arc::new(ChainRules {
//!     admission: Admission::new(7, Rollups::new(&[rollup]).unwrap()),
//!     genesis_time_ms: 1_000,
//!     validators: ValidatorSet::new(vec![Validator::new(key.public_key(), 1)]).unwrap(),
//!     limits: BlockLimits::default(),
//!     max_clock_drift_ms: 2_000,
//!     l1: None,
//! });
//! let mut chain = Chain::new(rules);
//! let mut nonces = NonceTable::default();
//! let tx = Transaction::sign(1, 0, Bytes::from_static(b"hi"), &SecretKey::random(), 7);
//! let cx = Context { now_ms: 2_000, l1: None, senders: &Recover(7), nonces: &nonces, bundles: &NoBundles };
//! let proposer = chain.proposer(0).unwrap();
//! let block = chain.build(proposer, 0, vec![tx.into()], &cx).unwrap();
//! chain.check(&block, 0, &cx).unwrap();
//! let applied = chain.apply(&block, &cx).unwrap();
//! nonces.apply(&applied.nonces);
//! assert_eq!(chain.tip().height, 1);
//! assert_eq!(applied.nonces[0].next, 1);
//! ```

// Unit-test builds link the dev-dependencies that only integration tests use.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod block;
mod bundles;
mod chain;
mod election;
mod error;
pub mod keygen;
pub mod lane;
mod nonces;
mod proposer;
mod rules;

#[cfg(test)]
mod tests;

pub use bundles::{Candidate, KnownBundles, NoBundles};
pub use chain::{Applied, Chain, Context, Tip, KEEP_ORIGIN_FROM_ROUND};
pub use election::{elect, stake_table, ElectionParams, Staker};
pub use error::{BlockError, ChainError};
pub use keygen::{EpochKey, Keygen, KeygenEvent, KeygenParams, Schedule, KEYGEN_NAMESPACE};
pub use lane::{Releases, KEYS_NAMESPACE};
pub use nonces::{NonceReader, NonceTable, NonceUpdate, Recover, Senders};
pub use proposer::select as select_proposer;
pub use rules::{Admission, BlockLimits, ChainRules, L1Rules, TxError};
