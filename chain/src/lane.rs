//! The released keys of the encrypted lane, committed in later blocks, so that anyone holding
//! the chain (its L1 batches included) can check and open a block's encrypted transactions
//! with no share and no node.
//!
//! Once a block with encrypted transactions is decided, its precommits' shares combine into
//! one key per transaction (`consensus/src/opening.rs`). A later proposer commits them: for
//! each such height, one transaction in [`KEYS_NAMESPACE`], signed by the proposer, whose nonce
//! is the height and whose payload is the keys, 48 bytes each, in the order of the height's
//! encrypted transactions. A validator votes for a block only if each of these is from the
//! block's proposer, for a height still pending, in increasing order, with exactly the
//! height's count of keys, all valid under the chain's key for the height's identities (one
//! batched pairing check). Committing is not required: a height stays pending, for any later
//! proposer, for [`RELEASE_WINDOW`] heights.

use std::collections::BTreeMap;

use ordo_enc::{verify_keys, DecryptionKey, EncryptionKey, Identities, DECRYPTION_KEY_LEN};
use ordo_types::{Block, Bytes, Entry, SecretKey, Transaction, B256};

use crate::nonces::Senders;
use crate::BlockError;

/// The namespace of the proposers' released-key transactions (the last but one namespace id).
pub const KEYS_NAMESPACE: u64 = u64::MAX - 1;
/// How many heights a decided block's keys stay open to commit.
pub const RELEASE_WINDOW: u64 = 256;

/// The proposer's transaction committing the keys released for `height`.
pub fn release(
    height: u64,
    keys: &[DecryptionKey],
    proposer: &SecretKey,
    chain_id: u64,
) -> Transaction {
    let payload: Vec<u8> = keys.iter().flat_map(|k| k.to_bytes()).collect();
    Transaction::sign(
        KEYS_NAMESPACE,
        height,
        Bytes::from(payload),
        proposer,
        chain_id,
    )
}

/// The keys a released-key transaction's payload holds.
pub fn decode_keys(payload: &[u8]) -> Option<Vec<DecryptionKey>> {
    if !payload.len().is_multiple_of(DECRYPTION_KEY_LEN) {
        return None;
    }
    payload
        .chunks(DECRYPTION_KEY_LEN)
        .map(|k| DecryptionKey::from_bytes(k).ok())
        .collect()
}

/// The identities of `block`'s encrypted transactions (those sent through the L1 inbox too),
/// in block order.
pub fn identities(block: &Block, chain_id: u64, senders: &dyn Senders) -> Vec<B256> {
    let mut out = Vec::new();
    for group in &block.body.namespaces {
        for entry in &group.entries {
            let Some(tx) = entry.encrypted(group.namespace) else {
                continue;
            };
            if let (Some(sealed), Some(from)) = (tx.sealed(), senders.sender(&tx)) {
                out.push(sealed.identity(chain_id, group.namespace, from, tx.nonce()));
            }
        }
    }
    out
}

/// The decided heights whose keys are not committed yet, with their identities.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Releases {
    pending: BTreeMap<u64, Vec<B256>>,
}

impl Releases {
    /// The heights whose keys no block has committed yet, in order.
    pub fn pending(&self) -> impl Iterator<Item = u64> + '_ {
        self.pending.keys().copied()
    }

    /// Takes a decided block (of a chain whose lane is open at its height): its commitments
    /// end their heights' wait, its own encrypted transactions start one, and heights past the
    /// window are dropped.
    pub(crate) fn apply(&mut self, block: &Block, identities: Vec<B256>) {
        for tx in keys_entries(block) {
            self.pending.remove(&tx.nonce());
        }
        let height = block.header.height;
        if !identities.is_empty() {
            self.pending.insert(height, identities);
        }
        self.pending = self
            .pending
            .split_off(&height.saturating_sub(RELEASE_WINDOW - 1));
    }

    /// Checks `block`'s released-key transactions (see the module documentation).
    pub(crate) fn check(
        &self,
        block: &Block,
        key: Option<&EncryptionKey>,
        senders: &dyn Senders,
    ) -> Result<(), BlockError> {
        let mut after = 0;
        let (mut ids, mut keys) = (Vec::new(), Vec::new());
        for tx in keys_entries(block) {
            let height = tx.nonce();
            let refuse = |why: &str| BlockError::BadRelease {
                height,
                reason: why.to_owned(),
            };
            if senders.sender(tx) != Some(block.header.proposer) {
                return Err(refuse("not signed by the block's proposer"));
            }
            let Some(identities) = self.pending.get(&height).filter(|_| height > after) else {
                return Err(refuse("not a pending height, or out of order"));
            };
            after = height;
            let released = decode_keys(tx.payload()).ok_or_else(|| refuse("malformed keys"))?;
            if released.len() != identities.len() {
                return Err(refuse("not one key per encrypted transaction"));
            }
            ids.extend_from_slice(identities);
            keys.extend(released);
        }
        if keys.is_empty() {
            return Ok(());
        }
        let key = key.ok_or_else(|| BlockError::BadRelease {
            height: after,
            reason: "the chain has no key".into(),
        })?;
        if !verify_keys(
            &mut rand_010::rng(),
            &key.public,
            &Identities::hash(&ids),
            &keys,
        ) {
            return Err(BlockError::BadRelease {
                height: after,
                reason: "a key is not its identity's under the chain's key".into(),
            });
        }
        Ok(())
    }
}

/// `block`'s released-key transactions.
fn keys_entries(block: &Block) -> impl Iterator<Item = &Transaction> {
    block
        .body
        .namespaces
        .iter()
        .filter(|g| g.namespace == KEYS_NAMESPACE)
        .flat_map(|g| &g.entries)
        .filter_map(|e| match e {
            Entry::Signed(tx) => Some(tx),
            Entry::Forced(_) => None,
        })
}
