//! What a network fixes at genesis (and the few limits each validator sets for itself): the
//! parameters every rule of the chain core is judged by.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use ordo_enc::dkg::Message;
use ordo_enc::{EncError, EncryptionKey};
use ordo_rollup_adapters::{AdapterError, Rollups};
use ordo_types::{Address, Auth, Decode, ErrorCode, Transaction, ValidatorSet};
use serde::{Deserialize, Serialize};

use crate::keygen::{EpochKey, Schedule, KEYGEN_NAMESPACE};
use crate::lane::KEYS_NAMESPACE;
use crate::ElectionParams;

/// Size limits of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlockLimits {
    /// Largest encoded block, in bytes.
    pub max_block_bytes: usize,
    /// Most transactions in a block.
    pub max_transactions: u32,
    /// Most encrypted transactions in a block: each is opened once the block is decided, at
    /// about a millisecond of one core (docs/ENCRYPTION.md).
    pub max_encrypted_transactions: u32,
}

impl Default for BlockLimits {
    fn default() -> Self {
        Self {
            max_block_bytes: 2 * 1024 * 1024,
            max_transactions: 2_000,
            max_encrypted_transactions: 256,
        }
    }
}

/// Why a transaction cannot be in a block of this chain, whatever the chain's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// No rollup is registered under the namespace.
    #[error("namespace {0} is not registered")]
    UnknownNamespace(u64),
    /// The namespace's rollup refuses it (its kind, encoding or chain id).
    #[error("refused by the rollup: {0}")]
    Rollup(#[from] AdapterError),
    /// An encrypted transaction sealed to a key the chain does not use now (or while it has
    /// none): an older epoch's, or one not generated yet.
    #[error("sealed to encryption key {sealed}; the chain's is {current:?}")]
    EncryptionKey {
        /// The key id in the envelope.
        sealed: u64,
        /// The chain's current key id, if it has one.
        current: Option<u64>,
    },
    /// An encrypted transaction whose envelope could never open: its key encapsulation is not
    /// a point of the group.
    #[error("envelope: {0}")]
    Envelope(EncError),
    /// A transaction in one of the chain's own namespaces that is not admitted there: not an
    /// EIP-712 key-generation message, or a released-key transaction (a proposer's own).
    #[error("the chain's own namespace: {0}")]
    System(String),
}

impl TxError {
    /// The code a client is refused with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownNamespace(_) => ErrorCode::UnknownNamespace,
            Self::Rollup(e) => e.code(),
            Self::EncryptionKey { current: None, .. } => ErrorCode::EncKeyUnavailable,
            Self::EncryptionKey { .. } => ErrorCode::WrongEncryptionKey,
            Self::Envelope(_) | Self::System(_) => ErrorCode::InvalidPayload,
        }
    }
}

/// The admission rules of a chain: its id, its registered rollups with their adapters, and
/// the encrypted lane's key. The mempool admits by them and validators refuse blocks by them,
/// so both read this one value.
///
/// The keys are the one state in it: the chain adds each ([`Admission::add_key`]) when a
/// decided block ends a key generation and moves the height being decided
/// ([`Admission::advance`]); every clone sees both.
#[derive(Clone, Debug)]
pub struct Admission {
    chain_id: u64,
    rollups: Rollups,
    keygen: Option<Schedule>,
    lane: Arc<RwLock<LaneKeys>>,
}

/// The encrypted lane's keys, by epoch (the current one, the one before for its last
/// released keys, and the next once generated), every key this node generated or replayed
/// by its commitment (for clients reading older blocks), and the height being decided.
#[derive(Debug, Default)]
struct LaneKeys {
    keys: BTreeMap<u64, Arc<EpochKey>>,
    history: BTreeMap<alloy_primitives::B256, Arc<EpochKey>>,
    next_height: u64,
}

impl Admission {
    /// The rules of chain `chain_id` with these registered rollups, taking no encrypted
    /// transactions.
    pub fn new(chain_id: u64, rollups: Rollups) -> Self {
        Self {
            chain_id,
            rollups,
            keygen: None,
            lane: Arc::new(RwLock::new(LaneKeys {
                next_height: 1,
                ..LaneKeys::default()
            })),
        }
    }

    /// These rules with the encrypted lane: the committee generates its keys on the chain
    /// ([`crate::keygen`]) on `schedule`, and its validators' key-generation transactions
    /// are admitted.
    pub fn with_keygen(self, schedule: Schedule) -> Self {
        Self {
            keygen: Some(schedule),
            ..self
        }
    }

    /// When the committee generates the lane's keys, with the lane.
    pub fn keygen(&self) -> Option<Schedule> {
        self.keygen
    }

    fn lane(&self) -> std::sync::RwLockReadGuard<'_, LaneKeys> {
        self.lane.read().unwrap_or_else(|e| e.into_inner())
    }

    fn lane_mut(&self) -> std::sync::RwLockWriteGuard<'_, LaneKeys> {
        self.lane.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `key`, just generated, for its epoch, in every clone of these rules; keys of
    /// epochs before the one before it are dropped.
    pub fn add_key(&self, key: Arc<EpochKey>) {
        let mut lane = self.lane_mut();
        let keep = key.epoch.saturating_sub(1);
        lane.history
            .insert(key.encryption_key().commitment(), Arc::clone(&key));
        lane.keys.insert(key.epoch, key);
        lane.keys = lane.keys.split_off(&keep);
    }

    /// Moves the height being decided to `next` (the chain does, as it applies blocks).
    pub fn advance(&self, next: u64) {
        self.lane_mut().next_height = next;
    }

    /// The height being decided.
    pub fn next_height(&self) -> u64 {
        self.lane().next_height
    }

    /// The key that opens the encrypted transactions of a block at `height`: its epoch's,
    /// from the height it serves.
    pub fn key_at(&self, height: u64) -> Option<Arc<EpochKey>> {
        let epoch = self.keygen?.epoch(height);
        self.lane()
            .keys
            .get(&epoch)
            .filter(|k| k.from_height <= height)
            .cloned()
    }

    /// The key whose commitment (`EncryptionKey::commitment`, what headers name) is
    /// `commitment`, among those this node generated or replayed since it started.
    pub fn key_by_commitment(&self, commitment: &alloy_primitives::B256) -> Option<Arc<EpochKey>> {
        self.lane().history.get(commitment).cloned()
    }

    /// The key clients seal to now, once generated: the current epoch's, or the next one's
    /// in the epoch's last key-generation window ([`Schedule::sealing_epoch`]).
    pub fn sealing_key(&self) -> Option<Arc<EpochKey>> {
        let lane = self.lane();
        let epoch = self.keygen?.sealing_epoch(lane.next_height);
        lane.keys.get(&epoch).cloned()
    }

    /// The key encrypted transactions are sealed to now, once the chain has one.
    pub fn encryption(&self) -> Option<EncryptionKey> {
        self.sealing_key().map(|k| k.encryption_key())
    }

    /// The chain id transactions are signed for.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The registered rollups.
    pub fn rollups(&self) -> &Rollups {
        &self.rollups
    }

    /// Whether a rollup is registered under `namespace` (or it is one of the encrypted lane's
    /// own namespaces, on a chain with the lane).
    pub fn is_registered(&self, namespace: u64) -> bool {
        self.rollups.get(namespace).is_some()
            || matches!(namespace, KEYGEN_NAMESPACE | KEYS_NAMESPACE) && self.keygen.is_some()
    }

    /// Checks that `tx` may be admitted now: [`Self::check_at`], except that an encrypted one
    /// must be sealed to the key clients seal to now ([`Self::sealing_key`]).
    pub fn check(&self, tx: &Transaction) -> Result<(), TxError> {
        self.check_with(tx, self.sealing_key())
    }

    /// Checks that `tx` may be in a block at `height` at all: its namespace is registered and
    /// its rollup takes it. An encrypted one goes to a rollup registered as taking them,
    /// sealed to the key of the height ([`Self::key_at`]), with a key encapsulation that can
    /// open (its content is the rollup's to judge once open). No signature work.
    pub fn check_at(&self, tx: &Transaction, height: u64) -> Result<(), TxError> {
        self.check_with(tx, self.key_at(height))
    }

    fn check_with(&self, tx: &Transaction, key: Option<Arc<EpochKey>>) -> Result<(), TxError> {
        if self.keygen.is_some() {
            match tx.namespace() {
                KEYGEN_NAMESPACE if !matches!(tx.auth(), Auth::Eip712(_)) => {
                    return Err(TxError::System("not an EIP-712 transaction".into()));
                }
                KEYGEN_NAMESPACE => {
                    return Message::decode(tx.payload())
                        .map(drop)
                        .map_err(|e| TxError::System(e.to_string()));
                }
                KEYS_NAMESPACE => {
                    return Err(TxError::System(
                        "released keys are committed by proposers, not submitted".into(),
                    ));
                }
                _ => {}
            }
        }
        let adapter = self
            .rollups
            .get(tx.namespace())
            .ok_or(TxError::UnknownNamespace(tx.namespace()))?;
        let takes_encrypted = self
            .rollups
            .registration(tx.namespace())
            .is_some_and(|r| r.encrypted);
        match tx.sealed() {
            Some(sealed) if takes_encrypted => {
                let current = key.map(|k| k.key_id);
                if current != Some(sealed.key_id) {
                    return Err(TxError::EncryptionKey {
                        sealed: sealed.key_id,
                        current,
                    });
                }
                ordo_enc::check_kem(&sealed).map_err(TxError::Envelope)
            }
            _ => Ok(adapter.check(tx)?),
        }
    }

    /// The account (sender, nonce) a forced entry of `namespace` uses, when its payload is a
    /// transaction the namespace's rollup takes (see
    /// [`RollupAdapter::forced_account`](ordo_rollup_adapters::RollupAdapter::forced_account)).
    pub fn forced_account(&self, namespace: u64, payload: &[u8]) -> Option<(Address, u64)> {
        // A sealed transaction sent through the L1 inbox uses its sender's account, as it
        // would submitted: the same envelope cannot then also land through the mempool.
        if let Ok(tx) = Transaction::decode(payload) {
            if tx.sealed().is_some() && tx.namespace() == namespace {
                return Some((tx.recover_sender(self.chain_id).ok()?, tx.nonce()));
            }
        }
        self.rollups.get(namespace)?.forced_account(payload)
    }
}

/// The L1 side of the rules: force inclusion and elections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L1Rules {
    /// L1 blocks from an inbox item's block to its deadline (the `Inbox`'s `inclusionDelay`).
    pub inclusion_delay: u64,
    /// How far above this validator's confirmed L1 block a proposed origin may be (its own
    /// setting, at most `inclusion_delay`, so that every item due at an origin it accepts is
    /// one it has read).
    pub origin_tolerance: u64,
    /// Elections from the stake table; `None` keeps the genesis committee.
    pub election: Option<ElectionParams>,
}

/// Everything the chain core judges blocks by, fixed for the life of a node.
#[derive(Clone, Debug)]
pub struct ChainRules {
    /// Chain id and registered rollups.
    pub admission: Admission,
    /// Genesis time: the first block's timestamp must be after it.
    pub genesis_time_ms: u64,
    /// The genesis committee.
    pub validators: ValidatorSet,
    /// Block size limits.
    pub limits: BlockLimits,
    /// How far ahead of this validator's clock a block's timestamp may be.
    pub max_clock_drift_ms: u64,
    /// The L1, when the genesis names one (force inclusion and L1 origins are then live).
    pub l1: Option<L1Rules>,
}

impl ChainRules {
    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.admission.chain_id()
    }

    /// The election parameters, when committees are elected.
    pub fn election(&self) -> Option<&ElectionParams> {
        self.l1.as_ref()?.election.as_ref()
    }

    /// The epoch of `height` (always 0 without elections).
    pub fn epoch(&self, height: u64) -> u64 {
        self.election().map_or(0, |e| e.epoch(height.max(1)))
    }
}
