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
//!
//! [`Follower`] follows the lane over decided blocks alone (a rebuild from the L1): the key
//! from the key-generation transactions, each height's openings from its committed keys.

use std::collections::BTreeMap;

use ordo_enc::{verify_keys, DecryptionKey, EncryptionKey, Identities, DECRYPTION_KEY_LEN};
use ordo_types::{
    Block, Bytes, Entry, Opened, OpenedEntry, SecretKey, Transaction, ValidatorSet, B256,
};

use crate::keygen::{self, Keygen, KeygenEvent, Schedule};
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
    sealed_entries(block, chain_id, senders)
        .into_iter()
        .map(|e| e.identity)
        .collect()
}

/// `block`'s encrypted transactions whose senders recover, in block order.
fn sealed_entries(block: &Block, chain_id: u64, senders: &dyn Senders) -> Vec<Waiting> {
    let mut out = Vec::new();
    for group in &block.body.namespaces {
        for (i, entry) in group.entries.iter().enumerate() {
            let Some(tx) = entry.encrypted(group.namespace) else {
                continue;
            };
            if let (Some(sealed), Some(from)) = (tx.sealed(), senders.sender(&tx)) {
                out.push(Waiting {
                    namespace: group.namespace,
                    index: u32::try_from(i).unwrap_or(u32::MAX),
                    identity: sealed.identity(chain_id, group.namespace, from, tx.nonce()),
                    sealed,
                });
            }
        }
    }
    out
}

/// The decided heights whose keys are not committed yet, with their identities and the key
/// (of the height's epoch) they open under.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Releases {
    pending: BTreeMap<u64, (Vec<B256>, EncryptionKey)>,
}

impl Releases {
    /// The heights whose keys no block has committed yet, in order.
    pub fn pending(&self) -> impl Iterator<Item = u64> + '_ {
        self.pending.keys().copied()
    }

    /// Takes a decided block: its commitments end their heights' wait, its own encrypted
    /// transactions (with the key of its height, where the lane is open) start one, and
    /// heights past the window are dropped.
    pub(crate) fn apply(
        &mut self,
        block: &Block,
        identities: Vec<B256>,
        key: Option<EncryptionKey>,
    ) {
        for tx in keys_entries(block) {
            self.pending.remove(&tx.nonce());
        }
        let height = block.header.height;
        if let (false, Some(key)) = (identities.is_empty(), key) {
            self.pending.insert(height, (identities, key));
        }
        self.pending = self
            .pending
            .split_off(&height.saturating_sub(RELEASE_WINDOW - 1));
    }

    /// Checks `block`'s released-key transactions (see the module documentation).
    pub(crate) fn check(&self, block: &Block, senders: &dyn Senders) -> Result<(), BlockError> {
        let mut after = 0;
        // The keys to check, batched per epoch key.
        let mut batches: Vec<(&EncryptionKey, Vec<B256>, Vec<DecryptionKey>)> = Vec::new();
        for tx in keys_entries(block) {
            let height = tx.nonce();
            let refuse = |why: &str| BlockError::BadRelease {
                height,
                reason: why.to_owned(),
            };
            if senders.sender(tx) != Some(block.header.proposer) {
                return Err(refuse("not signed by the block's proposer"));
            }
            let Some((identities, key)) = self.pending.get(&height).filter(|_| height > after)
            else {
                return Err(refuse("not a pending height, or out of order"));
            };
            after = height;
            let released = decode_keys(tx.payload()).ok_or_else(|| refuse("malformed keys"))?;
            if released.len() != identities.len() {
                return Err(refuse("not one key per encrypted transaction"));
            }
            match batches.last_mut() {
                Some((k, ids, keys)) if *k == key => {
                    ids.extend_from_slice(identities);
                    keys.extend(released);
                }
                _ => batches.push((key, identities.clone(), released)),
            }
        }
        for (key, ids, keys) in batches {
            if !verify_keys(
                &mut rand_010::rng(),
                &key.public,
                &Identities::hash(&ids),
                &keys,
            ) {
                return Err(BlockError::BadRelease {
                    height: after,
                    reason: "a key is not its identity's under the epoch's key".into(),
                });
            }
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

/// One encrypted transaction of a block, with what opening it needs.
#[derive(Clone, Debug)]
struct Waiting {
    namespace: u64,
    index: u32,
    identity: B256,
    sealed: ordo_types::Sealed,
}

/// The encrypted lane followed over decided blocks alone, as a rebuild from the L1 does: it
/// generates each key as the chain did (the key-generation transactions are in the blocks),
/// and opens each height's encrypted transactions once a later block commits their keys,
/// checked against the key of that height's epoch. Nothing here asks a node. With elections
/// the caller gives each epoch's committee ([`Self::set_committee`]) before its round starts,
/// as the stake table elects it.
#[derive(Clone, Debug)]
pub struct Follower {
    chain_id: u64,
    keygen: Keygen,
    /// Committees by the first epoch they decide (the genesis committee from epoch 0).
    committees: BTreeMap<u64, ValidatorSet>,
    /// The generated keys by epoch, with the first height each opens.
    keys: BTreeMap<u64, (EncryptionKey, u64)>,
    waiting: BTreeMap<u64, (EncryptionKey, Vec<Waiting>)>,
}

/// What a block let a [`Follower`] open: per height, in order, its encrypted transactions'
/// openings; none for a height whose keys no block committed within [`RELEASE_WINDOW`].
pub type Openings = Vec<(u64, Vec<OpenedEntry>)>;

impl Follower {
    /// A follower of chain `chain_id`, whose genesis `committee` generates the keys on
    /// `schedule`.
    pub fn new(schedule: Schedule, committee: ValidatorSet, chain_id: u64) -> Self {
        Self {
            chain_id,
            keygen: Keygen::new(schedule, committee.clone()),
            committees: BTreeMap::from([(0, committee)]),
            keys: BTreeMap::new(),
            waiting: BTreeMap::new(),
        }
    }

    /// The committee of `epoch`, as elected (with elections); it runs the round generating
    /// the epoch's key.
    pub fn set_committee(&mut self, epoch: u64, committee: ValidatorSet) {
        self.committees.insert(epoch, committee);
    }

    /// The committee deciding `epoch`, as far as this follower was told.
    pub fn committee(&self, epoch: u64) -> &ValidatorSet {
        self.committees
            .range(..=epoch)
            .next_back()
            .map(|(_, c)| c)
            .unwrap_or_else(|| unreachable!("the genesis committee is at epoch 0"))
    }

    /// Whether `height` has encrypted transactions waiting for their keys.
    pub fn is_waiting(&self, height: u64) -> bool {
        self.waiting.contains_key(&height)
    }

    /// Takes the next decided block (in height order, from height 1): what it lets open.
    pub fn apply(&mut self, block: &Block, senders: &dyn Senders) -> Openings {
        let height = block.header.height;
        if let Some(epoch) = self.keygen.starts_at(height) {
            let committee = self.committee(epoch).clone();
            self.keygen.begin(epoch, Some(committee));
        }
        if let Some(KeygenEvent::Generated(key)) =
            self.keygen.apply(height, &keygen::messages(block, senders))
        {
            self.keys
                .insert(key.epoch, (key.encryption_key(), key.from_height));
        }
        let mut out = Vec::new();
        for tx in keys_entries(block) {
            let Some((key, waiting)) = self.waiting.remove(&tx.nonce()) else {
                continue;
            };
            match open_committed(&key, tx, &waiting, senders, block) {
                Some(opened) => out.push((tx.nonce(), opened)),
                None => {
                    self.waiting.insert(tx.nonce(), (key, waiting));
                }
            }
        }
        let epoch = self.keygen.schedule().epoch(height);
        if let Some((key, _)) = self.keys.get(&epoch).filter(|(_, from)| height >= *from) {
            let mine = sealed_entries(block, self.chain_id, senders);
            if !mine.is_empty() {
                self.waiting.insert(height, (*key, mine));
            }
        }
        let kept = self
            .waiting
            .split_off(&height.saturating_sub(RELEASE_WINDOW - 1));
        out.extend(
            std::mem::replace(&mut self.waiting, kept)
                .into_keys()
                .map(|h| (h, Vec::new())),
        );
        out.sort_by_key(|(h, _)| *h);
        out
    }
}

/// The openings of `waiting` with the keys `tx` commits, when it is the proposer's and the
/// keys check against `key`.
fn open_committed(
    key: &EncryptionKey,
    tx: &Transaction,
    waiting: &[Waiting],
    senders: &dyn Senders,
    block: &Block,
) -> Option<Vec<OpenedEntry>> {
    if senders.sender(tx) != Some(block.header.proposer) {
        return None;
    }
    let keys = decode_keys(tx.payload()).filter(|k| k.len() == waiting.len())?;
    let ids: Vec<B256> = waiting.iter().map(|w| w.identity).collect();
    if !verify_keys(
        &mut rand_010::rng(),
        &key.public,
        &Identities::hash(&ids),
        &keys,
    ) {
        return None;
    }
    Some(
        waiting
            .iter()
            .zip(&keys)
            .map(|(w, k)| OpenedEntry {
                namespace: w.namespace,
                index: w.index,
                identity: w.identity,
                key: Bytes::copy_from_slice(&k.to_bytes()),
                outcome: match ordo_enc::open(k, &w.sealed) {
                    Ok(plaintext) => Opened::Plaintext(plaintext),
                    Err(why) => Opened::Failure(why.into()),
                },
            })
            .collect(),
    )
}
