//! Bundles in the chain core: what a proposer packs ([`Candidate`]) and what a validator knows
//! of the bundles pending in its mempool ([`KnownBundles`]).
//!
//! A bundle is entirely in one block or not at all; each part sits contiguously and in
//! submitted order inside its namespace's group (the body's placed bundles say where, and
//! [`ordo_types::Body::validate`] checks it), and only inside its terms. A transaction a
//! validator knows as part of a pending bundle may not land outside that bundle: a proposer
//! that splits a bundle, or slips one of its transactions into a block alone, gets no vote
//! from any validator that holds the bundle.

use std::sync::Arc;

use ordo_types::{Bundle, Transaction, B256};

/// What a proposer may put in a block, in the mempool's priority order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// A single transaction.
    Tx(Transaction),
    /// A bundle: all of it, or none.
    Bundle(Arc<Bundle>),
    /// The proposer's own released-key transaction ([`crate::lane::release`]): judged by the
    /// lane's rule, not as a user's transaction.
    Release(Transaction),
}

impl From<Transaction> for Candidate {
    fn from(tx: Transaction) -> Self {
        Self::Tx(tx)
    }
}

/// The bundles a validator holds pending, by their transactions.
pub trait KnownBundles {
    /// The bundle transaction `hash` belongs to, if this node holds one pending.
    fn bundle_of(&self, hash: &B256) -> Option<B256>;
}

/// Bundles by their transactions: transaction hash to bundle hash.
impl<S: std::hash::BuildHasher> KnownBundles for std::collections::HashMap<B256, B256, S> {
    fn bundle_of(&self, hash: &B256) -> Option<B256> {
        self.get(hash).copied()
    }
}

/// A node that knows no bundle (tools, tests, a node without a mempool).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoBundles;

impl KnownBundles for NoBundles {
    fn bundle_of(&self, _: &B256) -> Option<B256> {
        None
    }
}
