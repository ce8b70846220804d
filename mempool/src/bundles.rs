//! The pending bundles: each whole, in arrival order, indexed by its transactions (so that a
//! validator refuses a block that splits one: [`ordo_chain::KnownBundles`]) and by the account
//! nonces they use (so that a single transaction cannot take a bundled transaction's nonce, nor
//! the reverse).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use indexmap::IndexMap;
use ordo_types::{Address, Block, Bundle, B256};

use crate::MempoolError;

/// An account's nonce in a namespace: (sender, namespace, nonce).
type NonceKey = (Address, u64, u64);

/// A bundle admitted to the pool.
#[derive(Clone, Debug)]
pub struct PendingBundle {
    /// The bundle.
    pub bundle: Arc<Bundle>,
    /// The sender of each transaction, in the bundle's submitted order.
    pub senders: Vec<Address>,
    /// Its `replacementUuid`, if any: a later bundle with the same one, whose first
    /// transaction has the same sender, replaces it.
    pub replacement: Option<String>,
}

impl PendingBundle {
    fn nonce_keys(&self) -> impl Iterator<Item = NonceKey> + '_ {
        self.bundle
            .txs()
            .iter()
            .zip(&self.senders)
            .map(|(tx, sender)| (*sender, tx.namespace(), tx.nonce()))
    }

    fn replacement_key(&self) -> Option<(Address, String)> {
        Some((*self.senders.first()?, self.replacement.clone()?))
    }
}

/// What became of a bundle that left the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleOutcome {
    /// A block placed it.
    Included {
        /// The block's height.
        height: u64,
    },
    /// Its terms ran out before a block placed it.
    Expired,
    /// A bundle with the same `replacementUuid` took its place.
    Replaced {
        /// The newer bundle.
        by: B256,
    },
    /// It can no longer land whole (one of its nonces was used outside it).
    Dropped {
        /// Why.
        reason: String,
    },
}

/// Where a bundle stands, as the pool knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleStatus {
    /// Waiting for a block.
    Pending,
    /// Gone, and why.
    Gone(BundleOutcome),
    /// Not known to the pool.
    Unknown,
}

/// How many outcomes of bundles that left the pool are remembered.
const OUTCOME_MEMORY: usize = 10_000;

fn payload_bytes(bundle: &Bundle) -> usize {
    bundle.txs().iter().map(|tx| tx.payload().len()).sum()
}

#[derive(Debug, Default)]
pub(crate) struct BundlePool {
    pending: IndexMap<B256, PendingBundle>,
    /// Transactions over all pending bundles.
    txs: usize,
    /// Payload bytes over all pending bundles.
    bytes: usize,
    by_tx: HashMap<B256, B256>,
    by_nonce: HashMap<NonceKey, B256>,
    by_replacement: HashMap<(Address, String), B256>,
    outcomes: HashMap<B256, BundleOutcome>,
    outcome_order: VecDeque<B256>,
}

impl BundlePool {
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    /// Transactions over all pending bundles.
    pub(crate) fn tx_count(&self) -> usize {
        self.txs
    }

    /// Payload bytes over all pending bundles.
    pub(crate) fn payload_bytes(&self) -> usize {
        self.bytes
    }

    /// The bundle transaction `hash` belongs to.
    pub(crate) fn bundle_of(&self, hash: &B256) -> Option<B256> {
        self.by_tx.get(hash).copied()
    }

    /// Whether a pending bundle uses `sender`'s `nonce` in `namespace`.
    pub(crate) fn uses_nonce(&self, sender: Address, namespace: u64, nonce: u64) -> bool {
        self.by_nonce.contains_key(&(sender, namespace, nonce))
    }

    /// Adds `bundle` (its transactions already checked one by one), replacing the pending
    /// bundle with the same replacement key. Refused when it is pending already, when one of
    /// its transactions is in another bundle, when another bundle uses one of its nonces, or
    /// when `max` bundles are pending. `Err((index, error))` names the transaction at fault.
    /// Returns the bundle it replaced.
    pub(crate) fn insert(
        &mut self,
        bundle: PendingBundle,
        max: usize,
    ) -> Result<Option<B256>, (Option<usize>, MempoolError)> {
        let hash = bundle.bundle.hash();
        // Pending, or gone for good: a replaced form gossiped back by a peer that had not
        // seen its replacement yet must not take the newer one's place again.
        if self.pending.contains_key(&hash) || self.outcomes.contains_key(&hash) {
            return Err((None, MempoolError::AlreadyKnown));
        }
        let replaced = bundle
            .replacement_key()
            .and_then(|key| self.by_replacement.get(&key).copied());
        for (i, (tx, key)) in bundle
            .bundle
            .txs()
            .iter()
            .zip(bundle.nonce_keys())
            .enumerate()
        {
            let other = |b: Option<&B256>| b.is_some_and(|b| Some(*b) != replaced);
            if other(self.by_tx.get(&tx.hash())) {
                return Err((Some(i), MempoolError::AlreadyKnown));
            }
            if other(self.by_nonce.get(&key)) {
                return Err((Some(i), MempoolError::NonceTaken { nonce: key.2 }));
            }
        }
        if replaced.is_none() && self.pending.len() >= max {
            return Err((None, MempoolError::Full));
        }
        if let Some(old) = replaced {
            self.remove(&old, BundleOutcome::Replaced { by: hash });
        }
        for (tx, key) in bundle.bundle.txs().iter().zip(bundle.nonce_keys()) {
            self.by_tx.insert(tx.hash(), hash);
            self.by_nonce.insert(key, hash);
        }
        if let Some(key) = bundle.replacement_key() {
            self.by_replacement.insert(key, hash);
        }
        self.txs += bundle.bundle.txs().len();
        self.bytes += payload_bytes(&bundle.bundle);
        self.pending.insert(hash, bundle);
        Ok(replaced)
    }

    /// Removes a pending bundle, remembering `outcome`.
    pub(crate) fn remove(&mut self, hash: &B256, outcome: BundleOutcome) -> Option<PendingBundle> {
        let gone = self.pending.shift_remove(hash)?;
        self.txs -= gone.bundle.txs().len();
        self.bytes -= payload_bytes(&gone.bundle);
        for (tx, key) in gone.bundle.txs().iter().zip(gone.nonce_keys()) {
            self.by_tx.remove(&tx.hash());
            self.by_nonce.remove(&key);
        }
        if let Some(key) = gone.replacement_key() {
            if self.by_replacement.get(&key) == Some(hash) {
                self.by_replacement.remove(&key);
            }
        }
        if self.outcome_order.len() >= OUTCOME_MEMORY {
            if let Some(old) = self.outcome_order.pop_front() {
                self.outcomes.remove(&old);
            }
        }
        self.outcome_order.push_back(*hash);
        self.outcomes.insert(*hash, outcome);
        Some(gone)
    }

    /// Takes back a bundle whose admission did not complete (its journal write failed), as if
    /// it had never been offered: the client may offer it again.
    pub(crate) fn forget(&mut self, hash: &B256) {
        if self.remove(hash, BundleOutcome::Expired).is_some() {
            self.outcomes.remove(hash);
            self.outcome_order.retain(|h| h != hash);
        }
    }

    pub(crate) fn status(&self, hash: &B256) -> BundleStatus {
        if self.pending.contains_key(hash) {
            return BundleStatus::Pending;
        }
        self.outcomes
            .get(hash)
            .map_or(BundleStatus::Unknown, |o| BundleStatus::Gone(o.clone()))
    }

    /// The pending bundles, oldest first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &PendingBundle> {
        self.pending.values()
    }

    /// Applies a decided block: removes the bundles it placed, those it made impossible (a
    /// transaction or nonce of theirs used outside them: `next_nonce` is the decided next
    /// nonce of an account) and those whose terms no later block meets. Returns the hashes
    /// removed.
    pub(crate) fn on_decided(
        &mut self,
        block: &Block,
        next_nonce: impl Fn(&Address, u64) -> u64,
    ) -> Vec<B256> {
        let height = block.header.height;
        let mut gone: Vec<(B256, BundleOutcome)> = block
            .body
            .bundles
            .iter()
            .map(|b| (b.hash(), BundleOutcome::Included { height }))
            .filter(|(hash, _)| self.pending.contains_key(hash))
            .collect();
        for (hash, pending) in &self.pending {
            if gone.iter().any(|(h, _)| h == hash) {
                continue;
            }
            let stale = pending
                .nonce_keys()
                .any(|(sender, ns, nonce)| next_nonce(&sender, ns) > nonce);
            let outcome = if stale {
                BundleOutcome::Dropped {
                    reason: "one of its nonces was used outside it".into(),
                }
            } else if pending
                .bundle
                .terms()
                .expired(height.saturating_add(1), block.header.timestamp_ms)
            {
                BundleOutcome::Expired
            } else {
                continue;
            };
            gone.push((*hash, outcome));
        }
        gone.into_iter()
            .filter_map(|(hash, outcome)| self.remove(&hash, outcome).map(|_| hash))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordo_types::{Body, BundleTerms, Bytes, Header, SecretKey, Transaction};

    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

    fn pending(
        txs: Vec<(&SecretKey, u64, u64)>,
        uuid: Option<&str>,
        max_height: u64,
    ) -> PendingBundle {
        let signed: Vec<Transaction> = txs
            .iter()
            .map(|(key, ns, nonce)| {
                // A payload of its own, so that equal (sender, nonce) pairs differ.
                let salt = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Transaction::sign(
                    *ns,
                    *nonce,
                    Bytes::from(salt.to_be_bytes().to_vec()),
                    key,
                    7,
                )
            })
            .collect();
        let terms = BundleTerms {
            max_height,
            ..BundleTerms::default()
        };
        PendingBundle {
            bundle: Arc::new(Bundle::new(terms, signed).unwrap()),
            senders: txs.iter().map(|(key, _, _)| key.address()).collect(),
            replacement: uuid.map(str::to_owned),
        }
    }

    fn block(height: u64, bundles: Vec<ordo_types::PlacedBundle>) -> Block {
        let body = Body {
            namespaces: Vec::new(),
            bundles,
        };
        let header = Header {
            chain_id: 7,
            height,
            epoch: 0,
            timestamp_ms: 1_000,
            parent_hash: B256::ZERO,
            proposer: Address::ZERO,
            namespace_root: B256::ZERO,
            tx_count: 0,
            validators_hash: B256::ZERO,
            next_validators_hash: B256::ZERO,
            l1_origin_number: 0,
            l1_origin_hash: B256::ZERO,
            inbox_cursor: 0,
            bundle_root: body.bundle_root(),
            encryption_key_hash: B256::ZERO,
        };
        Block { header, body }
    }

    #[test]
    fn nonces_and_transactions_belong_to_one_bundle_and_a_replacement_frees_them() {
        let (alice, bob) = (SecretKey::random(), SecretKey::random());
        let mut pool = BundlePool::default();
        let first = pending(vec![(&alice, 1, 0), (&bob, 2, 0)], Some("u"), 0);
        let first_hash = first.bundle.hash();
        let first_again = first.clone();
        assert_eq!(pool.insert(first.clone(), 10), Ok(None));
        assert_eq!(
            pool.insert(first, 10),
            Err((None, MempoolError::AlreadyKnown))
        );
        // Another bundle using Bob's nonce 0 (without the replacement key) is refused at that part.
        let clash = pending(vec![(&alice, 3, 0), (&bob, 2, 0)], None, 0);
        assert_eq!(
            pool.insert(clash, 10),
            Err((Some(1), MempoolError::NonceTaken { nonce: 0 }))
        );
        assert!(pool.uses_nonce(bob.address(), 2, 0));
        // Same uuid, same first sender: replaces, and may reuse the old bundle's nonces.
        let newer = pending(
            vec![(&alice, 1, 0), (&bob, 2, 0), (&bob, 2, 1)],
            Some("u"),
            0,
        );
        let newer_hash = newer.bundle.hash();
        assert_eq!(pool.insert(newer, 10), Ok(Some(first_hash)));
        assert_eq!(
            pool.status(&first_hash),
            BundleStatus::Gone(BundleOutcome::Replaced { by: newer_hash })
        );
        assert_eq!((pool.len(), pool.tx_count()), (1, 3));
        assert!(pool.uses_nonce(bob.address(), 2, 1));
        // The first form, back by gossip from a peer that had not seen the newer one.
        assert_eq!(
            pool.insert(first_again, 10),
            Err((None, MempoolError::AlreadyKnown))
        );
        // The same uuid from another first sender is another bundle, and clashes.
        let other_sender = pending(vec![(&bob, 2, 0)], Some("u"), 0);
        assert!(pool.insert(other_sender, 10).is_err());
        assert_eq!(
            pool.insert(pending(vec![(&bob, 5, 0)], None, 0), 1),
            Err((None, MempoolError::Full))
        );
    }

    #[test]
    fn a_decided_block_removes_what_it_placed_made_stale_or_outlived() {
        let (alice, bob, carol) = (
            SecretKey::random(),
            SecretKey::random(),
            SecretKey::random(),
        );
        let mut pool = BundlePool::default();
        let placed = pending(vec![(&alice, 1, 0)], None, 0);
        let stale = pending(vec![(&bob, 1, 0)], None, 0);
        let expiring = pending(vec![(&carol, 1, 0)], None, 5);
        let (p, s, e) = (
            placed.bundle.hash(),
            stale.bundle.hash(),
            expiring.bundle.hash(),
        );
        for b in [placed.clone(), stale, expiring] {
            pool.insert(b, 10).unwrap();
        }
        let bob_used = |sender: &Address, _: u64| u64::from(*sender == bob.address());
        let mut gone = pool.on_decided(&block(5, vec![placed.bundle.placed(|_| 0)]), bob_used);
        gone.sort();
        let mut expected = vec![p, s, e];
        expected.sort();
        assert_eq!(gone, expected);
        assert_eq!(
            pool.status(&p),
            BundleStatus::Gone(BundleOutcome::Included { height: 5 })
        );
        assert!(matches!(
            pool.status(&s),
            BundleStatus::Gone(BundleOutcome::Dropped { .. })
        ));
        assert_eq!(pool.status(&e), BundleStatus::Gone(BundleOutcome::Expired));
        assert_eq!(pool.bundle_of(&placed.bundle.txs()[0].hash()), None);
        assert_eq!((pool.len(), pool.tx_count()), (0, 0));
    }
}
