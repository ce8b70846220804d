//! The encrypted lane at decision time: each validator's decryption shares ride on its
//! precommit (a vote extension), are checked before the precommit counts, and once a block is
//! decided combine into the keys that open its encrypted transactions.
//!
//! A precommit's extension holds the voter's shares for every encrypted transaction of the
//! block it commits to, one per key slot it holds ([`EpochKey::holders`]), in block order ([`ordo_enc::shares_to_bytes`]). A block without
//! encrypted transactions gets an extension of the slot indices alone.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use malachitebft_app_channel::app::types::core::SignedExtension;
use tokio::sync::{mpsc, watch};
use tracing::{error, info};

use crate::context::{OrdoContext, ValidatorAddress};
use crate::store::{Store, StoreError};
use ordo_chain::EpochKey;
use ordo_enc::{DecryptionKey, Identities, PublicSharing, Share, Shares};
use ordo_types::{Address, Block, Opened, OpenedEntry, Sealed, B256};

/// The chain's encryption key (its public sharing, and which shares each member holds), and
/// this node's shares of it.
#[derive(Clone)]
pub(crate) struct Decryption {
    /// The key, as the chain generated it.
    pub(crate) key: Arc<EpochKey>,
    /// This node's shares: one per key slot it holds (none for a full node).
    pub(crate) shares: Vec<Share>,
}

impl std::fmt::Debug for Decryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decryption")
            .field("key_id", &self.key.key_id)
            .field("shares", &self.shares.len())
            .finish_non_exhaustive()
    }
}

/// One encrypted transaction of a block, with what opening it needs.
#[derive(Debug, Clone)]
pub(crate) struct SealedEntry {
    namespace: u64,
    /// Its position among its namespace's entries.
    index: u32,
    identity: B256,
    sealed: Sealed,
}

/// A block's encrypted transactions, in block order, with their identities hashed once.
#[derive(Debug, Clone)]
pub(crate) struct SealedBlock {
    entries: Vec<SealedEntry>,
    identities: Identities,
}

impl SealedBlock {
    /// The encrypted transactions of `block`, whose senders `sender` gives (a transaction
    /// whose sender cannot be recovered is not in a valid block).
    pub(crate) fn of(
        block: &Block,
        chain_id: u64,
        sender: impl Fn(&ordo_types::Transaction) -> Option<Address>,
    ) -> Self {
        let mut entries = Vec::new();
        for group in &block.body.namespaces {
            for (i, entry) in group.entries.iter().enumerate() {
                let Some(tx) = entry.encrypted(group.namespace) else {
                    continue;
                };
                let (Some(sealed), Some(from)) = (tx.sealed(), sender(&tx)) else {
                    continue;
                };
                entries.push(SealedEntry {
                    namespace: group.namespace,
                    index: u32::try_from(i).unwrap_or(u32::MAX),
                    identity: sealed.identity(chain_id, group.namespace, from, tx.nonce()),
                    sealed,
                });
            }
        }
        let ids: Vec<B256> = entries.iter().map(|e| e.identity).collect();
        Self {
            identities: Identities::hash(&ids),
            entries,
        }
    }

    /// How many encrypted transactions.
    pub(crate) fn len(&self) -> usize {
        self.identities.len()
    }
}

impl Decryption {
    /// The share indices `validator` holds, if it is a member.
    fn slots_of(&self, validator: &Address) -> Option<&[u32]> {
        self.key.holders.get(validator).map(Vec::as_slice)
    }

    fn sharing(&self) -> &PublicSharing {
        &self.key.sharing
    }

    /// This node's extension for a precommit on `block`: its shares for each encrypted
    /// transaction.
    pub(crate) fn extension(&self, block: &SealedBlock) -> Bytes {
        let shares: Vec<Shares> = self
            .shares
            .iter()
            .map(|s| ordo_enc::sign_shares(s, &block.identities))
            .collect();
        Bytes::from(ordo_enc::shares_to_bytes(&shares))
    }

    /// Whether `extension` is `validator`'s valid shares for `block`: exactly the slots it
    /// holds, each a valid share of every encrypted transaction.
    pub(crate) fn check(
        &self,
        validator: &Address,
        extension: &[u8],
        block: &SealedBlock,
    ) -> Result<Vec<Shares>, String> {
        let slots = self.slots_of(validator).ok_or("not a committee member")?;
        let shares = ordo_enc::shares_from_bytes(extension, block.len())
            .map_err(|_| "malformed shares".to_owned())?;
        if !shares.iter().map(|s| s.index).eq(slots.iter().copied()) {
            return Err(format!("shares for the wrong slots (holds {slots:?})"));
        }
        let mut rng = rand_010::rng();
        for s in &shares {
            if !ordo_enc::verify_shares(&mut rng, self.sharing(), &block.identities, s) {
                return Err(format!("a bad share for slot {}", s.index));
            }
        }
        Ok(shares)
    }

    /// Whether `extension` has the shape of `validator`'s shares for some block: one run per
    /// slot it holds, each its slot index then whole 48-byte points. What a node can check of
    /// an extension for a block it does not have yet.
    pub(crate) fn check_shape(&self, validator: &Address, extension: &[u8]) -> Result<(), String> {
        let slots = self.slots_of(validator).ok_or("not a committee member")?;
        let count = slots.len();
        let each = extension.len().checked_div(count).unwrap_or(0);
        let fits = count == 0 && extension.is_empty()
            || each >= 4
                && each * count == extension.len()
                && (each - 4) % ordo_enc::DECRYPTION_KEY_LEN == 0;
        let indices_match = extension
            .chunks(each.max(1))
            .map(|c| {
                c.get(..4)
                    .map(|i| u32::from_be_bytes([i[0], i[1], i[2], i[3]]))
            })
            .eq(slots.iter().copied().map(Some));
        if fits && (count == 0 || indices_match) {
            Ok(())
        } else {
            Err(format!("not shares for its slots {slots:?}"))
        }
    }

    /// Opens `block`'s encrypted transactions with the checked shares of the validators whose
    /// precommits decided it; `None` when they hold fewer slots than the threshold.
    pub(crate) fn open(&self, block: &SealedBlock, shares: &[Shares]) -> Option<Vec<OpenedEntry>> {
        let holders: Vec<&Shares> = shares.iter().collect();
        if holders.len() < self.sharing().required() as usize {
            return None;
        }
        let keys = ordo_enc::combine(self.sharing(), &holders)?;
        let open = |(e, key): (&SealedEntry, &DecryptionKey)| OpenedEntry {
            namespace: e.namespace,
            index: e.index,
            identity: e.identity,
            key: key.to_bytes().to_vec().into(),
            outcome: match ordo_enc::open(key, &e.sealed) {
                Ok(payload) => Opened::Plaintext(payload),
                Err(why) => Opened::Failure(why.into()),
            },
        };
        // Opening costs a pairing each: spread it over the cores.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = block.entries.len().div_ceil(threads).max(1);
        let pairs: Vec<_> = block.entries.iter().zip(&keys).collect();
        std::thread::scope(|scope| {
            let parts: Vec<_> = pairs
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().copied().map(open).collect::<Vec<_>>()))
                .collect();
            let mut opened = Vec::with_capacity(pairs.len());
            for part in parts {
                opened.extend(part.join().ok()?);
            }
            Some(opened)
        })
    }
}

/// A precommit extension already checked, with its shares.
pub(crate) struct CheckedShares {
    pub(crate) extension: Bytes,
    pub(crate) shares: Vec<Shares>,
}

/// A decided block to open, with the precommits that decided it.
pub(crate) struct OpenJob {
    pub(crate) height: u64,
    pub(crate) block: Arc<SealedBlock>,
    pub(crate) extensions: Vec<(ValidatorAddress, SignedExtension<OrdoContext>)>,
    /// Those extensions this node checked when their precommits arrived, by voter.
    pub(crate) checked: std::collections::HashMap<Address, CheckedShares>,
    /// The key it opens with, and this node's shares.
    pub(crate) decryption: Arc<Decryption>,
    /// When this node learnt of the decision.
    pub(crate) decided_at: Instant,
}

/// Opens decided blocks in decision order, off the consensus path, so the next height does
/// not wait for the pairings: checks each block's shares, combines and opens, stores the
/// outcomes (`opened` table), then moves `opened` to the block's height.
pub(crate) async fn run_opener(
    store: Store,
    mut jobs: mpsc::UnboundedReceiver<OpenJob>,
    opened: watch::Sender<u64>,
) {
    while let Some(job) = jobs.recv().await {
        let (d, store, height) = (Arc::clone(&job.decryption), store.clone(), job.height);
        let done = tokio::task::spawn_blocking(move || {
            if job.block.len() == 0 {
                return Ok(Some(0));
            }
            let shares: Vec<Shares> = job
                .extensions
                .iter()
                .filter_map(|(a, e)| match job.checked.get(&a.0) {
                    Some(c) if c.extension == e.message => Some(c.shares.clone()),
                    _ => d.check(&a.0, &e.message, &job.block).ok(),
                })
                .flatten()
                .collect();
            let Some(entries) = d.open(&job.block, &shares) else {
                return Ok(None);
            };
            store.put_opened(height, &entries)?;
            let open_us = job.decided_at.elapsed().as_micros();
            info!(target: "ordo::consensus", height, opened = entries.len(), open_us, "opened");
            Ok::<_, StoreError>(Some(entries.len()))
        })
        .await;
        match done {
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => {
                error!(target: "ordo::consensus", height, "too few valid decryption shares to open the block's encrypted transactions");
            }
            Ok(Err(e)) => {
                error!(target: "ordo::consensus", height, error = %e, "storing what a block opened to")
            }
            Err(e) => error!(target: "ordo::consensus", height, error = %e, "opening task"),
        }
        opened.send_replace(height);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ordo_types::{SecretKey, Validator, ValidatorSet};

    /// A committee of powers 2, 1, 1 (share indices 0 and 3, 1, 2: a key generation places
    /// slots in no particular order) and its key dealt to them.
    fn setup() -> (ValidatorSet, Vec<SecretKey>, Vec<Decryption>) {
        let keys: Vec<SecretKey> = (0..3).map(|_| SecretKey::random()).collect();
        let set = ValidatorSet::new(
            keys.iter()
                .zip([2, 1, 1])
                .map(|(k, p)| Validator::new(k.public_key(), p))
                .collect(),
        )
        .unwrap();
        let (sharing, shares) = ordo_enc::deal(&mut rand_010::rng(), 4);
        let slots = [vec![0, 3], vec![1], vec![2]];
        let key = Arc::new(EpochKey {
            key_id: 1,
            epoch: 0,
            sharing,
            holders: set
                .validators()
                .iter()
                .zip(slots.clone())
                .map(|(v, s)| (v.address, s))
                .collect(),
            from_height: 1,
        });
        let holders = slots
            .iter()
            .map(|mine| Decryption {
                key: Arc::clone(&key),
                shares: shares
                    .iter()
                    .filter(|s| mine.contains(&s.index.get()))
                    .cloned()
                    .collect(),
            })
            .collect();
        (set, keys, holders)
    }

    fn block_of(ids: usize) -> SealedBlock {
        let ids: Vec<B256> = (0..ids).map(|i| B256::with_last_byte(i as u8)).collect();
        SealedBlock {
            entries: Vec::new(),
            identities: Identities::hash(&ids),
        }
    }

    #[test]
    fn a_members_shares_have_its_shape_and_check_and_others_do_not() {
        let (set, _, holders) = setup();
        let block = block_of(3);
        for (v, holder) in set.validators().iter().zip(&holders) {
            let extension = holder.extension(&block);
            assert!(holder.check_shape(&v.address, &extension).is_ok());
            let shares = holder.check(&v.address, &extension, &block).unwrap();
            assert_eq!(shares.len(), holder.shares.len());
            // Nothing, another member's shares, or a cut one: refused.
            let other =
                &set.validators()[(set.validators().iter().position(|w| w == v).unwrap() + 1) % 3];
            assert!(holder.check_shape(&v.address, &[]).is_err());
            assert!(holder.check_shape(&other.address, &extension).is_err());
            assert!(holder
                .check_shape(&v.address, &extension[..extension.len() - 1])
                .is_err());
            assert!(holder.check(&other.address, &extension, &block).is_err());
        }
        // Well formed but not valid: shares of another block's identities.
        let (v, holder) = (&set.validators()[0], &holders[0]);
        let wrong = holder.extension(&block_of(4));
        let wrong = &wrong[..]; // four identities' worth: the wrong length for three
        assert!(holder.check(&v.address, wrong, &block).is_err());
        let mut forged = holder.extension(&block).to_vec();
        forged.swap(10, 60);
        assert!(holder.check_shape(&v.address, &forged).is_ok());
        assert!(holder.check(&v.address, &forged, &block).is_err());
    }
}
